"""The hosted page as the appearance builder previews it: a draft look on a sample session.

Checkout owns the page, so it renders the builder's preview too and passes the
renderer down to appearance when the apps are ready (:mod:`appearance.preview`):

    preview_response(request, merchant=merchant, appearance=draft)

The session is a plausible open plan session in test mode that is never saved.
The response is the real ``checkout/page.html`` under the page's own
Content-Security-Policy, except that Duro's admin (same origin) may frame it.
"""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from appearance.selectors import Appearance
from billing.models import Plan
from checkout.models import CheckoutSession
from checkout.views import content_security_policy, page_context
from duro.models import Merchant
from duro.modes import TEST, mode_context


def sample_session(merchant: Merchant) -> CheckoutSession:
    """A plausible open plan session for the preview. Unsaved: nothing is written."""
    plan = Plan(id="pln_preview", merchant_id=merchant.id, name="Gold Membership",
                description="Unlimited classes, cancel any time", amount=1_500_000,
                currency=merchant.default_currency, interval="monthly")
    return CheckoutSession(
        id="cks_preview", merchant_id=merchant.id, merchant_name=merchant.name,
        token="cs_test_preview", reference="DURO-PREVIEW", plan=plan, amount=plan.amount,
        currency=plan.currency, cancel_url="https://example.com/cart",
        expires_at=timezone.now() + timedelta(hours=24))


def preview_response(request: HttpRequest, *, merchant: Merchant,
                     appearance: Appearance) -> HttpResponse:
    """The hosted page's form state for ``merchant``, themed by ``appearance``."""
    # A test-mode sample: the router wants a mode even for an unsaved instance.
    with mode_context(TEST):
        session = sample_session(merchant)
        context = {**page_context(session, appearance=appearance), "preview": True,
                   "values": {"email": "", "phone": ""}}
        response = render(request, "checkout/page.html", context)
    response["Content-Security-Policy"] = content_security_policy([], ancestors="'self'")
    response["X-Frame-Options"] = "SAMEORIGIN"
    response["Cache-Control"] = "no-store"
    return response
