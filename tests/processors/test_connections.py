"""A merchant's processor connection: the secret is stored encrypted (never in the column,
never in a log or a repr), readable across a key rotation, refused clearly under a key the
server no longer holds; the client live rails get is one query; "Test connection" asks the
processor (the Paystack stand-in) and says what it answered."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from django.db import connections
from django.test.utils import CaptureQueriesContext

from billing.models import ProcessorConnection
from billing.processors.connections import (
    connection_of,
    processor_check,
    processor_connect,
    processor_disconnect,
    processor_for,
    processor_required_message,
    processor_secrets_rotate,
    processor_webhook_secret,
)
from billing.processors.paystack import Paystack
from duro.crypto import SecretUnreadable
from duro.errors import Invalid
from duro.modes import mode_context

pytestmark = pytest.mark.django_db(databases="__all__")

SECRET = "sk_live_4f8e2c1d9b7a6e5f4c3b2a1908f7e6d5c4b3a291"


@pytest.fixture(autouse=True)
def _encryption_key(settings):
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]


@pytest.fixture
def merchant(make_merchant):
    return make_merchant("Mama Put").merchant


def stored(merchant_id: str) -> ProcessorConnection:
    with mode_context("live"):
        return ProcessorConnection.objects.get(pk=merchant_id)


def test_the_secret_is_stored_encrypted_and_shown_only_as_a_hint(merchant):
    shown = processor_connect(merchant_id=merchant.id, processor="paystack", secret=SECRET,
                              by="ada@mamaput.ng")

    row = stored(merchant.id)
    assert SECRET not in row.secret_encrypted and SECRET[8:24] not in row.secret_encrypted
    assert row.secret_hint == "sk_live_…a291" == shown.secret_hint
    assert row.processor == "paystack" and row.connected_by == "ada@mamaput.ng"
    assert row.webhook_secret_encrypted == "" and row.last_check_ok is None
    assert SECRET not in repr(shown) and SECRET not in repr(row) and SECRET not in str(row)
    assert shown.as_json() == {"merchantId": merchant.id, "processor": "paystack",
                               "connected": True}
    with mode_context("test"):  # test mode always uses the sandbox: nothing there
        assert not ProcessorConnection.objects.exists()
    view = connection_of(merchant.id)
    assert view is not None and view.label == "Paystack"
    assert SECRET not in repr(view)


def test_the_live_rails_get_a_client_holding_the_secret_in_one_query(merchant):
    assert processor_for(merchant.id) is None
    processor_connect(merchant_id=merchant.id, processor="paystack", secret=SECRET)

    with CaptureQueriesContext(connections["live"]) as queries:
        client = processor_for(merchant.id)
    assert len(queries) == 1
    assert isinstance(client, Paystack)
    assert client._secret == SECRET and SECRET not in repr(client)
    assert processor_webhook_secret(merchant.id) == SECRET  # Paystack signs with the key


def test_connecting_again_replaces_the_key_and_disconnecting_forgets_it(merchant):
    processor_connect(merchant_id=merchant.id, processor="paystack", secret=SECRET)
    other = "sk_test_" + "b" * 40
    processor_connect(merchant_id=merchant.id, processor="paystack", secret=f"  {other}\n")

    assert stored(merchant.id).secret_hint == "sk_test_…bbbb"
    assert processor_for(merchant.id)._secret == other  # type: ignore[union-attr]
    assert processor_disconnect(merchant_id=merchant.id) is True
    assert processor_for(merchant.id) is None and connection_of(merchant.id) is None
    assert processor_disconnect(merchant_id=merchant.id) is False


@pytest.mark.parametrize(("processor", "secret", "code", "words"), [
    ("stripe", SECRET, "processor_unknown", "Unknown processor 'stripe'"),
    ("paystack", "pk_live_4f8e2c1d9b7a6e5f4c3b2a1908f7e6d5", "processor_secret_public",
     "That is a public key"),
    ("paystack", "live_4f8e2c1d9b7a6e5f4c3b2a19", "processor_secret_invalid",
     "starts with sk_live_"),
    ("paystack", "sk_live_short", "processor_secret_invalid", "does not look like"),
    ("paystack", "", "processor_secret_invalid", "does not look like"),
])
def test_a_wrong_name_or_key_shape_is_refused_and_nothing_stored(merchant, processor, secret,
                                                                 code, words):
    with pytest.raises(Invalid) as refused:
        processor_connect(merchant_id=merchant.id, processor=processor, secret=secret)
    assert refused.value.code == code and words in refused.value.message
    if secret:
        assert secret not in refused.value.message
    assert connection_of(merchant.id) is None


def test_a_key_rotation_keeps_every_connection_readable(merchant, make_merchant, settings):
    old, new = settings.DURO_ENCRYPTION_KEY[0], Fernet.generate_key().decode()
    second = make_merchant("Bukka Hut").merchant
    processor_connect(merchant_id=merchant.id, processor="paystack", secret=SECRET)
    processor_connect(merchant_id=second.id, processor="paystack", secret="sk_live_" + "c" * 40)
    before = stored(merchant.id).secret_encrypted

    settings.DURO_ENCRYPTION_KEY = [new, old]  # the new key encrypts, both decrypt
    assert processor_for(merchant.id)._secret == SECRET  # type: ignore[union-attr]
    assert processor_secrets_rotate() == 2
    assert stored(merchant.id).secret_encrypted != before

    settings.DURO_ENCRYPTION_KEY = [new]  # the old key is gone
    assert processor_for(merchant.id)._secret == SECRET  # type: ignore[union-attr]
    assert processor_for(second.id)._secret == "sk_live_" + "c" * 40  # type: ignore[union-attr]


def test_under_a_key_the_server_does_not_hold_the_secret_is_refused_clearly(merchant,
                                                                            settings):
    processor_connect(merchant_id=merchant.id, processor="paystack", secret=SECRET)
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]

    with pytest.raises(SecretUnreadable, match="DURO_ENCRYPTION_KEY"):
        processor_for(merchant.id)
    ok, message = processor_check(merchant.id)
    assert not ok and "cannot be decrypted" in message and "connect the processor again" in message
    assert stored(merchant.id).last_check_ok is False


def test_test_connection_asks_paystack_with_the_stored_key(merchant, paystack_standin,
                                                           settings):
    settings.DURO_PAYSTACK_BASE_URL = paystack_standin.url
    assert processor_check(merchant.id) == (False,
                                            "No processor is connected: connect one first.")
    processor_connect(merchant_id=merchant.id, processor="paystack",
                      secret=paystack_standin.secret_key)

    assert processor_check(merchant.id) == (True, "Paystack accepted the key.")
    [asked] = paystack_standin.at("GET", "/balance")
    assert asked.headers["Authorization"] == f"Bearer {paystack_standin.secret_key}"
    row = stored(merchant.id)
    assert row.last_check_ok is True and row.last_checked_at is not None

    processor_connect(merchant_id=merchant.id, processor="paystack",
                      secret="sk_test_" + "0" * 40)  # not the account's key
    ok, message = processor_check(merchant.id)
    assert not ok and message.startswith("Paystack refused the key")
    assert stored(merchant.id).last_check_ok is False


def test_test_connection_says_when_paystack_cannot_be_reached(merchant, paystack_standin,
                                                              settings):
    settings.DURO_PAYSTACK_BASE_URL = paystack_standin.url
    processor_connect(merchant_id=merchant.id, processor="paystack",
                      secret=paystack_standin.secret_key)
    paystack_standin.fail_next("/balance", 503, method="GET")

    ok, message = processor_check(merchant.id)
    assert not ok and message == ("Paystack could not be reached just now: try again in a "
                                  "minute.")


def test_nothing_logs_the_secret(merchant, paystack_standin, settings, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    settings.DURO_PAYSTACK_BASE_URL = paystack_standin.url
    connections["live"].force_debug_cursor = True  # log every query, as DEBUG does
    try:
        processor_connect(merchant_id=merchant.id, processor="paystack",
                          secret=paystack_standin.secret_key)
        processor_check(merchant.id)
        processor_for(merchant.id)
    finally:
        connections["live"].force_debug_cursor = False
    assert "billing_processorconnection" in caplog.text  # the queries are logged …
    assert paystack_standin.secret_key not in caplog.text  # … without the key
    assert paystack_standin.secret_key[8:] not in caplog.text


def test_the_message_of_a_live_pay_without_a_processor_says_what_to_do():
    assert processor_required_message() == (
        "Live payments need a connected processor: connect Paystack or Flutterwave in the "
        "dashboard (Developers → Processor).")
    assert "connect Paystack in the dashboard" in processor_required_message("paystack")
