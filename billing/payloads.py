"""Billing objects as camelCase dicts for event ``data`` (and anything else that sends JSON).

Each function renders through the API's output serializer, so a webhook
carries exactly what ``GET /v1/…`` returns; only ``metadata`` keys are kept
as the merchant wrote them. The checkout pay flow uses these too::

    event_emit(merchant_id=m, type="subscription_created", data={
        "subscription": subscription_payload(sub), "customer": customer_payload(cus),
        "invoice": invoice_payload(inv), "payment": payment_payload(pay),
    })
"""

from __future__ import annotations

from djangorestframework_camel_case.util import camelize

from billing.models import Customer, Invoice, PaymentAttempt, Subscription
from billing.serializers import CustomerOutput, InvoiceOutput, PaymentOutput, SubscriptionOutput

_CAMEL = {"no_underscore_before_number": True}


def _camel(data: dict) -> dict:
    return camelize(dict(data), **_CAMEL)


def customer_payload(customer: Customer) -> dict:
    return _camel(CustomerOutput(customer).data)


def subscription_payload(subscription: Subscription) -> dict:
    data = SubscriptionOutput(subscription).data
    metadata = data.pop("metadata", {})
    return {**_camel(data), "metadata": metadata}


def payment_payload(payment: PaymentAttempt) -> dict:
    return _camel(PaymentOutput(payment).data)


def invoice_payload(invoice: Invoice, payments: list[PaymentAttempt] | None = None) -> dict:
    """The invoice with its payments; pass ``payments`` when known, to skip a query."""
    serializer = InvoiceOutput(invoice)
    if payments is None:
        return _camel(serializer.data)
    serializer.fields.pop("payments")
    return _camel({**serializer.data, "payments": [PaymentOutput(p).data for p in payments]})


def renewal_payload(*, subscription: Subscription, invoice: Invoice | None = None,
                    payment: PaymentAttempt | None = None,
                    payments: list[PaymentAttempt] | None = None) -> dict:
    """The ``data`` of a subscription event: subscription, customer, invoice, payment.

    ``payments`` lists the invoice's attempts when the caller knows them all."""
    data = {"subscription": subscription_payload(subscription),
            "customer": customer_payload(subscription.customer)}
    if invoice is not None:
        data["invoice"] = invoice_payload(invoice, payments)
    if payment is not None:
        data["payment"] = payment_payload(payment)
    return data
