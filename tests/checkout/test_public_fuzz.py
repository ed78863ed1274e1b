"""A small fuzz of the public checkout endpoints: junk tokens and junk bodies never 500.

Hypothesis throws malformed tokens (any text, NUL and odd prefixes included)
at hydrate, status and pay, and malformed JSON values at a real session's pay;
every answer must be a 4xx in the error envelope or a documented 200.
"""

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.checkout.factories import make_session

pytestmark = pytest.mark.django_db(databases="__all__")

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

tokens = st.one_of(
    st.text(min_size=1, max_size=80).filter(
        lambda t: "/" not in t and t.strip() not in ("", ".", "..")),
    st.builds(lambda p, r: p + r, st.sampled_from(["cs_test_", "cs_live_", "cs_", "pk_test_"]),
              st.text(max_size=40).filter(lambda t: "/" not in t)),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=4),
    max_leaves=12,
)
bodies = st.one_of(
    json_values.map(json.dumps),
    st.fixed_dictionaries({}, optional={
        "email": json_values, "phone": json_values, "rail": json_values, "otp": json_values,
        "card": st.one_of(json_values, st.fixed_dictionaries({}, optional={
            "number": json_values, "expMonth": json_values, "expYear": json_values,
            "cvc": json_values}))}).map(json.dumps),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
)


def assert_clean(response, *ok):
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert response.json()["error"]["type"], response.content
    else:
        assert response.status_code in ok, response.content


@FUZZ
@given(token=tokens)
def test_junk_tokens_are_clean_404s(token):
    client = APIClient()
    base = f"/v1/public/checkout/{quote(token, safe='')}"
    for response in (client.get(base), client.get(f"{base}/status"),
                     client.post(f"{base}/pay", {}, format="json")):
        assert_clean(response)


@FUZZ
@given(raw=bodies)
def test_junk_pay_bodies_are_clean_4xx(api, raw):
    token = make_session(api, amount=5000)["token"]
    response = APIClient().generic("POST", f"/v1/public/checkout/{token}/pay", raw,
                                   content_type="application/json")
    assert_clean(response, 200)


@pytest.mark.parametrize("path", ["/checkout/cs_test_%00", "/checkout/cs_test_%00/otp"])
def test_a_nul_in_the_hosted_pages_token_is_a_clean_404(client, path):
    assert client.get(path).status_code == 404
    assert client.post(path, {"email": "a@b.co"}).status_code == 404


def test_nul_in_the_hosted_pages_form_is_a_form_error_not_a_500(api, client):
    token = make_session(api, amount=5000)["token"]
    response = client.post(f"/checkout/{token}", {
        "email": "a\x00@b.co", "phone": "0803\x00", "rail": "card",
        "number": "4242\x004242", "exp": "12/34", "cvc": "1\x0023"})
    assert response.status_code < 500, response.status_code  # the form, with its errors
