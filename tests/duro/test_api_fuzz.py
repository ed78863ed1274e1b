"""Schemathesis against the live document, in-process, on PostgreSQL: every operation.

Every case is generated from ``/v1/openapi.json`` and sent to the WSGI app with
a fixture merchant's test secret key; every schemathesis check runs on every
answer (no server error, body and headers as documented, no undocumented
status, valid input accepted, invalid input rejected, …). The public checkout
endpoints get a real session's token for half their cases (the other half
keep the generated junk token), so pays, hydrates and status calls reach real
sessions. A fixed seed and example count keep it inside the CI budget:
``MAX_EXAMPLES`` per operation, ≥ 1,000 cases in all.

Run it alone (PostgreSQL as in the README)::

    DATABASE_URL=postgres://… ./dev test tests/duro/test_api_fuzz.py -q
"""

from __future__ import annotations

import zlib

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from duro.wsgi import application
from tests.checkout.factories import make_plan, make_session

MAX_EXAMPLES = 30
SEED = 1212

# Valid by the schema yet refused by a rule no JSON schema states; for these operations
# alone a 400 (and for the pay 402/410) still counts as a clear answer to valid data:
BUSINESS_RULES = {
    "POST /v1/checkout/sessions": "either planId or amount; expiresAt 30 min–24 h ahead; "
                                  "couponCode names a usable coupon, not with allowCoupons",
    "POST /v1/coupons": "exactly one of percentOff and amountOff (with currency, and "
                        "currency only with it); durationInPeriods only with repeating; a "
                        "code the merchant does not have yet",
    "POST /v1/public/checkout/{token}/pay": "a card that passes Luhn, unexpired; a real email; "
                                            "a rail offered for the currency; a mobile-money "
                                            "phone of the provider's country; a couponCode "
                                            "only where allowCoupons, naming a usable one",
    "POST /v1/webhook-endpoints": "a host that resolves to a public address",
    "POST /v1/refunds": "paymentId names a succeeded payment (an unknown one is a 400 "
                        "resource_missing naming it), never more than is left",
    "POST /v1/public/checkout/{token}/simulate": "a test session whose transfer is awaited",
    "POST /v1/public/invoices/{token}/simulate": "a test invoice whose transfer is awaited",
    "PATCH /v1/merchant": "each allowed origin an exact scheme://host[:port] (https in live)",
    "POST /v1/public/checkout/{token}/identity": "an email address Django's validator takes",
    "POST /v1/public/checkout/{token}/identity/verify": "the code emailed for this challenge",
}
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]

CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "operations": [
        {"include-name": name,
         "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400",
                                                                       "402", "410"]}}}
        for name in BUSINESS_RULES],
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True,
                   # NUL is refused by design (PostgreSQL cannot store it); the regression
                   # tests in test_hostile_input.py prove it is a 400 naming the field.
                   "allow-x00": False,
                   # Unknown query parameters are ignored, as documented in the README.
                   "allow-extra-parameters": False},
})
schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", application, config=CONFIG)

REAL = {"token": None}
CASES = {"count": 0}


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    """Half the public cases use a real open session's token instead of generated text."""
    token = REAL["token"]
    generated = (path_parameters or {}).get("token")
    if token and generated is not None and zlib.crc32(str(generated).encode(errors="replace")) % 2:
        path_parameters["token"] = token
    return path_parameters


@pytest.fixture
def secret(acme, api):
    """The fixture merchant's test secret key, and a real open session for the public calls.

    The WSGI handler closes the database connection after each request; inside the
    test's transaction it must not (Django's own test client disconnects it too)."""
    make_plan(api)
    REAL["token"] = make_session(api)["token"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield acme.keys["test"]["secret"]
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        REAL["token"] = None


@pytest.mark.postgres
@pytest.mark.django_db(databases="__all__")
@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_every_operation_keeps_its_documented_promises(case, secret):
    CASES["count"] += 1
    case.call_and_validate(headers={"Authorization": f"Bearer {secret}"})


@pytest.mark.postgres
def test_the_fuzz_sent_at_least_a_thousand_cases():
    """Runs after the fuzz (file order); a run that selected it alone proves nothing."""
    if not CASES["count"]:
        pytest.skip("the fuzz did not run in this session")
    print(f"schemathesis: {CASES['count']} cases")
    assert CASES["count"] >= 1000, CASES
