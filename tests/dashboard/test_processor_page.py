"""Developers → Processor: owners connect and disconnect the live processor, developers look
and test it, support never sees it; the secret is a password field, stored encrypted and
never shown again; "Test connection" asks the Paystack stand-in; the form needs its CSRF
token; a merchant never reaches another's connection."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from billing.models import ProcessorConnection
from billing.processors.connections import connection_of, processor_connect, processor_for
from duro.models import Membership
from duro.modes import mode_context
from tests.dashboard.conftest import owner_client, staff_client
from tests.standins.paystack import paystack_standin_fixture  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(databases="__all__")

URL = "/admin/billing/processorconnection/"
WRONG_KEY = "sk_live_" + "0" * 40


@pytest.fixture(autouse=True)
def _processor_settings(settings, paystack_standin):
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.DURO_PAYSTACK_BASE_URL = paystack_standin.url


def connect(client, secret: str, **extra):
    return client.post(URL, {"connect": "1", "processor": "paystack", "secret": secret,
                             **extra})


def stored(merchant) -> ProcessorConnection | None:
    with mode_context("live"):
        return ProcessorConnection.objects.filter(pk=merchant.merchant.id).first()


def test_owner_connects_and_the_secret_is_never_shown_again(two_merchants, paystack_standin):
    a, _ = two_merchants
    client = owner_client(a)
    secret = paystack_standin.secret_key
    empty = client.get(URL).content.decode()
    assert 'id="duro-processor-none"' in empty
    assert '<input type="password" name="secret"' in empty
    assert "Processor" in client.get(reverse("admin:index")).content.decode()

    response = connect(client, secret)
    assert response.status_code == 302 and response["Location"] == URL
    # an error report of this request would leave the secret out
    assert set(response.wsgi_request.sensitive_post_parameters) >= {"secret", "webhook_secret"}
    page = client.get(URL).content.decode()
    hint = f"sk_test_…{secret[-4:]}"
    assert f"Paystack connected ({hint})" in page and "will not be shown again" in page
    assert f"<code>{hint}</code>" in page and f"by {a.admin_user}" in page
    assert secret not in page and secret[8:] not in page
    assert "test environment and move no real money" in page  # an sk_test_ key
    row = stored(a)
    assert row is not None and secret not in row.secret_encrypted
    assert processor_for(a.merchant.id)._secret == secret  # type: ignore[union-attr]


def test_test_connection_says_what_paystack_answered(two_merchants, paystack_standin):
    a, _ = two_merchants
    client = owner_client(a)
    connect(client, paystack_standin.secret_key)

    page = client.post(URL, {"check": "1"}, follow=True).content.decode()
    assert "Paystack accepted the key." in page and ": accepted" in page
    assert len(paystack_standin.at("GET", "/balance")) == 1

    connect(client, WRONG_KEY)
    page = client.post(URL, {"check": "1"}, follow=True).content.decode()
    assert "Paystack refused the key" in page and ": failed" in page
    assert WRONG_KEY not in page


def test_a_key_of_the_wrong_shape_is_refused_and_not_echoed(two_merchants):
    a, _ = two_merchants
    response = connect(owner_client(a), "pk_live_4f8e2c1d9b7a6e5f4c3b2a19")
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="duro-processor-error"' in html and "That is a public key" in html
    assert "pk_live_4f8e2c1d9b7a6e5f4c3b2a19" not in html
    assert stored(a) is None


def test_without_an_encryption_key_the_page_says_what_the_operator_must_set(two_merchants,
                                                                          settings):
    a, _ = two_merchants
    settings.DEBUG, settings.DURO_ENCRYPTION_KEY = False, []
    response = connect(owner_client(a), WRONG_KEY)
    assert response.status_code == 503
    assert "DURO_ENCRYPTION_KEY must be set" in response.content.decode()
    assert WRONG_KEY not in response.content.decode() and stored(a) is None


def test_owner_disconnects(two_merchants, paystack_standin):
    a, _ = two_merchants
    client = owner_client(a)
    connect(client, paystack_standin.secret_key)
    page = client.post(URL, {"disconnect": "1"}, follow=True).content.decode()
    assert "Processor disconnected" in page and 'id="duro-processor-none"' in page
    assert stored(a) is None and processor_for(a.merchant.id) is None


def test_developers_look_and_test_only_owners_connect(two_merchants, paystack_standin):
    a, _ = two_merchants
    processor_connect(merchant_id=a.merchant.id, processor="paystack",
                      secret=paystack_standin.secret_key)
    developer = staff_client(a, Membership.Role.DEVELOPER)
    html = developer.get(URL).content.decode()
    assert 'id="duro-processor-check"' in html and 'id="duro-processor-hint"' in html
    assert 'name="secret"' not in html and 'id="duro-processor-disconnect"' not in html
    assert "Only owners connect or disconnect the processor." in html
    checked = developer.post(URL, {"check": "1"}, follow=True).content.decode()
    assert "Paystack accepted the key." in checked
    assert connect(developer, WRONG_KEY).status_code == 403
    assert developer.post(URL, {"disconnect": "1"}).status_code == 403
    assert processor_for(a.merchant.id)._secret == paystack_standin.secret_key  # type: ignore[union-attr]

    support = staff_client(a, Membership.Role.SUPPORT)
    assert support.get(URL).status_code == 403
    assert support.post(URL, {"check": "1"}).status_code == 403
    assert URL not in support.get(reverse("admin:index")).content.decode()


def test_the_form_needs_its_csrf_token(two_merchants, paystack_standin):
    a, _ = two_merchants
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username=a.admin_user))
    assert connect(client, paystack_standin.secret_key).status_code == 403
    assert stored(a) is None
    assert 'name="csrfmiddlewaretoken"' in client.get(URL).content.decode()
    token = client.cookies["csrftoken"].value
    assert connect(client, paystack_standin.secret_key,
                   csrfmiddlewaretoken=token).status_code == 302
    assert stored(a) is not None


def test_test_mode_says_it_always_uses_the_sandbox(two_merchants, paystack_standin):
    a, _ = two_merchants
    client = owner_client(a)
    connect(client, paystack_standin.secret_key)
    test_page = client.get(URL).content.decode()
    assert "Test mode always uses Duro's sandbox" in test_page
    client.post(reverse("admin:duro_mode"), {"mode": "live"})
    live_page = client.get(URL).content.decode()
    assert "LIVE DATA" in live_page and 'id="duro-processor-test-mode"' not in live_page
    assert 'id="duro-processor-hint"' in live_page  # one connection, whichever the switch
    with mode_context("test"):
        assert not ProcessorConnection.objects.exists()


def test_a_merchant_never_sees_or_changes_anothers_connection(two_merchants, paystack_standin):
    a, b = two_merchants
    processor_connect(merchant_id=b.merchant.id, processor="paystack",
                      secret=paystack_standin.secret_key)
    client = owner_client(a)
    page = client.get(URL).content.decode()
    assert b.merchant.id not in page and 'id="duro-processor-none"' in page
    client.post(reverse("admin:duro_mode"), {"mode": "live"})
    change = reverse("admin:billing_processorconnection_change", args=[quote(b.merchant.id)])
    for url in (change, change.replace("/change/", "/history/"),
                change.replace("/change/", "/delete/")):
        assert client.get(url).status_code in (403, 404), url
    # the form names no merchant: whatever a request adds, it is A's own connection
    client.post(URL, {"disconnect": "1", "merchant_id": b.merchant.id})
    client.post(URL, {"check": "1", "merchant_id": b.merchant.id})
    connect(client, WRONG_KEY, merchant_id=b.merchant.id, merchant=b.merchant.id)
    assert processor_for(b.merchant.id)._secret == paystack_standin.secret_key  # type: ignore[union-attr]
    b_view = connection_of(b.merchant.id)
    assert b_view is not None and b_view.last_checked_at is None
    assert connection_of(a.merchant.id).secret_hint == "sk_live_…0000"  # type: ignore[union-attr]
    assert client.post(URL, {"action": "delete_selected",
                             "_selected_action": [b.merchant.id]}).status_code == 400
    own = reverse("admin:billing_processorconnection_change", args=[quote(a.merchant.id)])
    assert client.get(own)["Location"] == URL


def test_an_operator_picks_a_merchant_first(two_merchants, django_user_model,
                                            paystack_standin):
    a, _ = two_merchants
    operator = django_user_model.objects.create_superuser("op", "op@duro.test", "pw-op-12345")
    client = Client()
    client.force_login(operator)
    page = client.get(URL).content.decode()
    assert "switch to a merchant in the header first" in page and 'name="secret"' not in page
    client.post(reverse("admin:duro_merchant"), {"merchant": a.merchant.id})
    assert connect(client, paystack_standin.secret_key).status_code == 302
    assert connection_of(a.merchant.id).connected_by == "op"  # type: ignore[union-attr]


def test_the_page_shows_the_webhook_url_to_paste_at_the_processor(two_merchants,
                                                                  paystack_standin, settings):
    settings.DURO_PUBLIC_URL = "https://pay.acme.ng"
    a, _ = two_merchants
    client = owner_client(a)
    before = client.get(URL).content.decode()  # not connected: where each would send
    for name in ("paystack", "flutterwave"):
        assert f"https://pay.acme.ng/v1/processors/{name}/{a.merchant.id}/events" in before
    connect(client, paystack_standin.secret_key)
    page = client.get(URL).content.decode()
    assert f"https://pay.acme.ng/v1/processors/paystack/{a.merchant.id}/events" in page
    assert "/v1/processors/flutterwave/" not in page
    assert "Live Webhook URL" in page
