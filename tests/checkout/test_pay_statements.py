"""What one sandbox card pay costs the database: two transactions and a fixed number of
statements (bench/pay.py measures the same at the server, under load).

Counted on a merchant that has paid once already (its invoice counter exists, its tax
details are cached), for a payer Duro has not seen: the usual pay."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from checkout.models import CheckoutSession
from duro.modes import mode_context
from tests.checkout.factories import make_session, pay

# BEGIN/COMMIT are only sent outside the test's own transaction.
pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

CLAIM = [  # lock the session, check the rail is on, find the payer, open the attempt
    "BEGIN", "SELECT checkout_checkoutsession", "SELECT billing_railsettings",
    "SELECT billing_customer", "INSERT billing_paymentattempt",
    "UPDATE checkout_checkoutsession", "COMMIT",
]
CHARGE = ["INSERT billing_sandboxcharge"]  # the sandbox's ledger, standing for the processor
SETTLE = [  # re-read under lock, create what the pay bought, complete, events
    "BEGIN", "SELECT checkout_checkoutsession", "SELECT billing_paymentattempt",
    "SELECT billing_customer", "SAVEPOINT", "INSERT billing_customer", "RELEASE",
    "INSERT billing_card", "INSERT billing_subscription", "UPDATE billing_invoicecounter",
    "INSERT billing_invoice", "UPDATE billing_paymentattempt",
    "UPDATE checkout_checkoutsession", "INSERT webhooks_event",
    "SELECT webhooks_webhookendpoint", "COMMIT",
]


def _shape(sql: str) -> str:
    """``SELECT billing_customer`` for a statement: its verb and first table."""
    words = sql.replace('"', "").split()
    verb = words[0].upper()
    if verb in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
        return verb
    table = {"SELECT": "FROM", "INSERT": "INTO", "UPDATE": "UPDATE"}.get(verb)
    return f"{verb} {words[words.index(table) + 1]}" if table in words else verb


def test_a_card_pay_is_two_transactions_with_the_charge_between(api):
    public = APIClient()
    assert pay(public, make_session(api)["token"]).json()["data"]["status"] == "completed"
    session = make_session(api)

    with CaptureQueriesContext(connections["test"]) as store, \
            CaptureQueriesContext(connections["default"]) as core:
        response = pay(public, session["token"], email="grace@example.com",
                       phone="0803 765 4321")

    assert response.json()["data"]["status"] == "completed", response.content
    assert [_shape(q["sql"]) for q in store.captured_queries] == CLAIM + CHARGE + SETTLE
    # The merchant's zone and tax details come from the cache: the core store is not asked.
    assert core.captured_queries == []
    with mode_context("test"):
        assert CheckoutSession.objects.get(pk=session["id"]).status == "completed"
