"""``GET /v1/public/appearance/{publishable key}``: published tokens, nothing else."""

import pytest
from rest_framework.test import APIClient

from appearance.services import store_config_draft_update
from duro.keys import key_resolve, key_revoke
from duro.models import ApiKey

pytestmark = pytest.mark.django_db(databases="__all__")


def test_published_tokens_by_publishable_key(acme, brand):
    brand(brand_color="#7b1fa2", headline="Published", font="rounded")
    store_config_draft_update(merchant=acme.merchant, changes={"headline": "Secret draft",
                                                               "brand_color": "#c62828"})
    for mode in ("test", "live"):
        response = APIClient().get(f"/v1/public/appearance/{acme.keys[mode]['publishable']}")
        assert response.status_code == 200
        data = response.json()["data"]
        assert data["merchant"] == {"name": "Acme Gym"} and data["version"] == 1
        assert data["colors"]["brand"] == "#7b1fa2" and data["font"]["key"] == "rounded"
        assert data["copy"]["headline"] == "Published"
        assert data["cssVariables"]["--duro-brand-text"] == "#ffffff"
        assert data["themeUrl"].endswith(f"/appearance/theme/{acme.merchant.id}/1.css")
        assert "Secret draft" not in response.content.decode()
        assert "#c62828" not in response.content.decode()


def test_a_merchant_who_never_branded_gets_the_defaults(acme):
    data = APIClient().get(f"/v1/public/appearance/{acme.keys['test']['publishable']}").json()
    assert data["data"]["version"] is None and data["data"]["colors"]["brand"] == "#0b6e4f"


@pytest.mark.parametrize("which", ["secret", "unknown", "revoked"])
def test_secret_unknown_or_revoked_keys_are_404(acme, which):
    key = {"secret": acme.keys["test"]["secret"], "unknown": "pk_test_" + "x" * 40,
           "revoked": acme.keys["test"]["publishable"]}[which]
    if which == "revoked":
        key_revoke(key=key_resolve(key, kind=ApiKey.Kind.PUBLISHABLE))
    response = APIClient().get(f"/v1/public/appearance/{key}")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"
