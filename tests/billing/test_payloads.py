"""Event payloads say exactly what the API says about the same objects."""

from datetime import UTC, datetime

import pytest
from djangorestframework_camel_case.util import camelize

from billing.models import Invoice, Subscription
from billing.payloads import customer_payload, invoice_payload, subscription_payload
from billing.renewals import renewals_run
from billing.serializers import CustomerOutput, InvoiceOutput, SubscriptionOutput
from duro.modes import mode_context
from tests.billing.conftest import subscribe

pytestmark = pytest.mark.django_db(databases="__all__")


def _api(serializer) -> dict:
    return camelize(dict(serializer.data), no_underscore_before_number=True)


@pytest.mark.parametrize("authorization", ["sbx_ok_a", "sbx_fail_b"])
def test_payloads_match_the_api_output(merchant, authorization):
    sub = subscribe(merchant.id, authorization=authorization)
    with mode_context("test"):
        Subscription.objects.filter(pk=sub.pk).update(metadata={"order_id": "A-1"})
        renewals_run(now=datetime(2025, 2, 20, tzinfo=UTC))
        sub = Subscription.objects.select_related("card", "customer").get(pk=sub.pk)
        expected = _api(SubscriptionOutput(sub))
        expected["metadata"] = {"order_id": "A-1"}  # merchant keys stay as written
        assert subscription_payload(sub) == expected
        assert customer_payload(sub.customer) == _api(CustomerOutput(sub.customer))
        for invoice in Invoice.objects.filter(subscription=sub):
            assert invoice_payload(invoice) == _api(InvoiceOutput(invoice))
