"""Secret-key authentication: the prefix sets the mode; secrets are never stored plain."""

from datetime import timedelta

import pytest
from django.db import connections

from duro.keys import key_resolve, key_revoke, key_roll
from duro.models import ApiKey
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(databases="__all__")


def test_test_key_is_test_mode_and_live_key_is_live_mode(acme):
    for mode in ("test", "live"):
        response = client_for(acme.keys[mode]["secret"]).get("/v1/merchant")
        assert response.status_code == 200, response.content
        assert response.json()["data"] == {
            "id": acme.merchant.id, "name": "Acme Gym", "mode": mode,
            "supportEmail": "owner@acme.test", "timezone": "Africa/Lagos",
            "defaultCurrency": "NGN", "checkout": {"allowedOrigins": []},
            "tax": {"legalName": "", "address": "", "taxId": "", "vatRate": None},
        }


@pytest.mark.parametrize("header", [
    None,
    "Bearer sk_test_" + "x" * 40,
    "Bearer nonsense",
    "Basic dXNlcjpwYXNz",
])
def test_missing_or_unknown_key_is_401(acme, header):
    client = client_for("unused")
    client.credentials(**({"HTTP_AUTHORIZATION": header} if header else {}))
    response = client.get("/v1/merchant")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_revoked_key_is_401(acme):
    key = key_resolve(acme.keys["test"]["secret"])
    key_revoke(key=key)
    response = client_for(acme.keys["test"]["secret"]).get("/v1/merchant")
    assert response.status_code == 401


def test_publishable_key_is_403(acme):
    response = client_for(acme.keys["test"]["publishable"]).get("/v1/merchant")
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"


def test_roll_with_grace_keeps_old_key_until_it_ends(acme, time_machine=None):
    old_plain = acme.keys["test"]["secret"]
    old = key_resolve(old_plain)
    new_plain, _ = key_roll(key=old, grace=timedelta(hours=1))
    assert client_for(old_plain).get("/v1/merchant").status_code == 200
    assert client_for(new_plain).get("/v1/merchant").status_code == 200
    ApiKey.objects.filter(pk=old.pk).update(expires_at=old.created_at)
    assert client_for(old_plain).get("/v1/merchant").status_code == 401


def test_roll_without_grace_ends_old_key_now(acme):
    old_plain = acme.keys["live"]["secret"]
    new_plain, _ = key_roll(key=key_resolve(old_plain))
    assert client_for(old_plain).get("/v1/merchant").status_code == 401
    assert client_for(new_plain).get("/v1/merchant").json()["data"]["mode"] == "live"


def test_last_used_is_recorded(acme):
    client_for(acme.keys["test"]["secret"]).get("/v1/merchant")
    assert key_resolve(acme.keys["test"]["secret"]).last_used_at is not None


def test_no_plain_secret_key_in_the_database(acme):
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT * FROM duro_apikey")
        dump = repr(cursor.fetchall())
    for mode in ("test", "live"):
        assert acme.keys[mode]["secret"] not in dump
        assert acme.keys[mode]["secret"][8:] not in dump
        assert acme.keys[mode]["publishable"] in dump  # publishable keys are public
    assert len(acme.keys["test"]["secret"]) >= len("sk_test_") + 32


def test_a_key_is_rolled_once_even_when_asked_twice(acme):
    old = key_resolve(acme.keys["test"]["secret"])
    key_roll(key=old, grace=timedelta(hours=1))
    with pytest.raises(ValueError, match="not rolled yet"):
        key_roll(key=old, grace=timedelta(hours=1))
    assert ApiKey.objects.filter(merchant=acme.merchant, mode="test", kind="secret").count() == 2
