"""Pay limits stop card testing without locking out real customers.

Only pays that reach the rail count; card testing is limited per card
fingerprint and per token; the per-IP ceiling is high because many Nigerian
mobile customers share one carrier-grade-NAT address. A 429 says when to
come back (``Retry-After``). HSTS rides on every https answer.
"""

import pytest
from rest_framework.test import APIClient

from tests.checkout.factories import card, make_plan, make_session, pay

pytestmark = pytest.mark.django_db(databases="__all__")

DECLINED = "4000 0000 0000 0002"


def luhn(prefix: str) -> str:
    """``prefix`` plus the check digit that makes a valid card number."""
    total = 0
    for i, d in enumerate(reversed(prefix)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return prefix + str((10 - total % 10) % 10)


def test_pays_that_fail_validation_do_not_spend_the_tokens_budget(api, settings):
    token = make_session(api)["token"]
    client = APIClient()
    for _ in range(settings.DURO_PAY_RATE_PER_TOKEN + 5):
        assert client.post(f"/v1/public/checkout/{token}/pay", {}, format="json"
                           ).status_code == 400
    response = pay(client, token)
    assert response.status_code == 200, response.content
    assert response.json()["data"]["status"] == "completed"


def test_a_429_says_when_to_retry(api, settings):
    settings.DURO_PAY_RATE_PER_TOKEN = 2
    token = make_session(api)["token"]
    client = APIClient()
    for _ in range(2):
        assert pay(client, token, card=card(DECLINED)).status_code == 200
    response = pay(client, token, card=card(DECLINED))
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "rate_limit_error"
    assert 0 < int(response["Retry-After"]) <= settings.DURO_PAY_RATE_WINDOW


def test_one_card_tried_across_many_sessions_is_limited_by_its_fingerprint(api, settings):
    settings.DURO_PAY_RATE_PER_CARD = 3
    plan = make_plan(api)
    answers = []
    for n in range(4):
        token = make_session(api, planId=plan["id"])["token"]
        client = APIClient(REMOTE_ADDR=f"198.51.100.{n + 1}")  # a tester rotating addresses
        answers.append(pay(client, token, email=f"t{n}@example.com",
                           card=card(DECLINED)).status_code)
    assert answers == [200, 200, 200, 429]
    token = make_session(api, planId=plan["id"])["token"]
    assert pay(APIClient(), token).status_code == 200  # another card is not held back


def test_customers_behind_one_nat_address_are_not_locked_out(api, settings):
    assert settings.DURO_PAY_RATE_PER_IP >= 300
    settings.DURO_PAY_RATE_PER_IP = 300
    plan = make_plan(api)
    shared = APIClient(REMOTE_ADDR="102.89.0.1")  # one carrier-grade NAT address
    for n in range(25):
        token = make_session(api, planId=plan["id"])["token"]
        response = pay(shared, token, email=f"c{n}@example.com",
                       card=card(luhn(f"5555555555{n:05d}")))
        assert response.status_code == 200, (n, response.content)


def test_hsts_on_https_only(client, settings):
    secure = client.get("/healthz", secure=True)
    max_age = int(secure["Strict-Transport-Security"].split("max-age=")[1].split(";")[0])
    assert max_age >= 31_536_000
    assert "Strict-Transport-Security" not in client.get("/healthz", secure=False)
    assert "Strict-Transport-Security" in client.get("/v1/merchant", secure=True)
