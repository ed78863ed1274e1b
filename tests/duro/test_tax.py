"""A merchant's tax details: PATCH /v1/merchant {"tax": …}, GET shows them, and the cache
every new invoice reads."""

from decimal import Decimal

import pytest

from duro.errors import Invalid
from duro.tax import TaxDetails, tax_details, tax_details_many, vat_rate_clean

pytestmark = pytest.mark.django_db(databases="__all__")

TAX = {"legalName": "Acme Gym Limited", "address": "12 Marina, Lagos",
       "taxId": "TIN-0123456", "vatRate": "7.5"}


def test_patch_sets_the_tax_details_get_shows_them_in_both_modes(
        acme, api, live_api, django_capture_on_commit_callbacks):
    assert api.get("/v1/merchant").json()["data"]["tax"] == {
        "legalName": "", "address": "", "taxId": "", "vatRate": None}
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch("/v1/merchant", {"tax": TAX}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["data"]["tax"] == TAX
    assert live_api.get("/v1/merchant").json()["data"]["tax"] == TAX
    assert tax_details(acme.merchant.id) == TaxDetails(
        legal_name="Acme Gym Limited", address="12 Marina, Lagos", tax_id="TIN-0123456",
        vat_rate=Decimal("7.5"))

    # a partial change keeps the rest; null clears the rate
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch("/v1/merchant", {"tax": {"vatRate": None}}, format="json")
    assert response.json()["data"]["tax"] == {**TAX, "vatRate": None}
    assert tax_details(acme.merchant.id).vat_rate is None
    with django_capture_on_commit_callbacks(execute=True):
        api.patch("/v1/merchant", {"tax": {"vatRate": "100", "legalName": "  Acme Ltd "}},
                  format="json")
    assert api.get("/v1/merchant").json()["data"]["tax"]["vatRate"] == "100"
    assert tax_details_many([acme.merchant.id])[acme.merchant.id].legal_name == "Acme Ltd"


@pytest.mark.parametrize("value", ["101", "-1", "7.555", "abc", "NaN", "Infinity", 7.5, 7,
                                   True, ["7.5"], "", " 7.5", "1e1", "100.01", "007.5"])
def test_patch_refuses_a_rate_outside_0_to_100_or_with_more_than_2_decimals(acme, api, value):
    response = api.patch("/v1/merchant", {"tax": {"vatRate": value}}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == "tax.vatRate"
    assert api.get("/v1/merchant").json()["data"]["tax"]["vatRate"] is None


@pytest.mark.parametrize("body,param", [
    ({"tax": None}, "tax"),
    ({"tax": "7.5"}, "tax"),
    ({"tax": {"rate": "7.5"}}, "tax.rate"),
    ({"tax": {"legalName": 5}}, "tax.legalName"),
    ({"tax": {"taxId": None}}, "tax.taxId"),
    ({"tax": {"address": "x" * 501}}, "tax.address"),
    ({"tax": {"taxId": "x" * 65}}, "tax.taxId"),
    # nothing is stored when one part is wrong
    ({"tax": {"legalName": "Acme Ltd", "vatRate": "200"}}, "tax.vatRate"),
])
def test_patch_refuses_bad_tax_details(acme, api, body, param):
    response = api.patch("/v1/merchant", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == param
    assert api.get("/v1/merchant").json()["data"]["tax"]["legalName"] == ""


@pytest.mark.parametrize("value,rate", [("7.5", Decimal("7.50")), ("0", Decimal("0")),
                                        ("7.50", Decimal("7.5")), ("100.00", Decimal(100)),
                                        ("0.05", Decimal("0.05")), (None, None)])
def test_a_rate_is_a_percentage_with_at_most_2_decimals(value, rate):
    assert vat_rate_clean(value) == rate
    with pytest.raises(Invalid):
        vat_rate_clean("0.001")


def test_many_merchants_cost_one_query(make_merchant, django_assert_num_queries):
    ids = [make_merchant(f"M{i}").merchant.id for i in range(3)]
    with django_assert_num_queries(1):
        assert set(tax_details_many(ids)) == set(ids)
    with django_assert_num_queries(0):  # cached now
        tax_details_many(ids)
