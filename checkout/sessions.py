"""Checkout session services (writes): create, expire, and write down expiries.

    session = session_create(merchant=m, plan_id="pln_…", success_url="https://…")
    session_expire(session=session)

Reads live in :mod:`checkout.selectors`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError
from django.utils import timezone

from billing.coupons import coupon_usable
from billing.models import Plan
from checkout.models import CheckoutSession
from checkout.tokens import new_reference, new_token
from duro.db import atomic
from duro.errors import Gone, Invalid
from duro.models import Merchant
from duro.modes import current_mode

DEFAULT_EXPIRY = timedelta(hours=24)


def session_create(*, merchant: Merchant, plan_id: str | None = None, amount: int | None = None,
                   currency: str | None = None, description: str = "", success_url: str = "",
                   cancel_url: str = "", customer_email: str = "", customer_phone: str = "",
                   metadata: dict | None = None, expires_at: datetime | None = None,
                   coupon_code: str = "", allow_coupons: bool = False) -> CheckoutSession:
    plan = None
    if plan_id:
        plan = Plan.objects.filter(merchant_id=merchant.id, pk=plan_id).first()
        if plan is None:
            raise Invalid(f"No such plan: {plan_id!r}.", param="plan_id", code="resource_missing")
        if not plan.active:
            raise Invalid("This plan is inactive.", param="plan_id", code="plan_inactive")
        amount, currency = plan.amount, plan.currency
        description = description or plan.description
    if amount is None:  # the serializer guarantees a plan or an amount
        raise Invalid("Give either planId or a one-off amount.", param="plan_id")
    currency = currency or merchant.default_currency
    # Checked now (unknown, inactive, expired, used up, another currency), and again by
    # the pay's claim under the coupon's lock: it may run out or expire meanwhile.
    coupon = coupon_usable(merchant_id=merchant.id, code=coupon_code, currency=currency,
                           now=timezone.now()) if coupon_code else None
    for _ in range(5):
        mode = current_mode()
        try:
            with atomic():
                return CheckoutSession.objects.create(
                    merchant_id=merchant.id, merchant_name=merchant.name, token=new_token(mode),
                    reference=new_reference(), plan=plan, amount=amount,
                    currency=currency, description=description, coupon=coupon,
                    allow_coupons=allow_coupons and coupon is None,
                    success_url=success_url, cancel_url=cancel_url,
                    customer_email=customer_email, customer_phone=customer_phone,
                    metadata=metadata or {},
                    expires_at=expires_at or timezone.now() + DEFAULT_EXPIRY,
                )
        except IntegrityError:  # a reference collision: astronomically rare, retry
            continue
    raise RuntimeError("Could not mint a unique session reference")


def session_expire(*, session: CheckoutSession) -> CheckoutSession:
    with atomic():
        session = CheckoutSession.objects.select_for_update().get(pk=session.pk)
        if session.status != CheckoutSession.Status.OPEN:
            raise Invalid(f"Only an open session can be expired; this one is {session.status}.",
                           code="session_not_open", param="id")
        session.status = CheckoutSession.Status.EXPIRED
        session.expires_at = min(session.expires_at, timezone.now())
        session.save(update_fields=["status", "expires_at"])
    return session


def sessions_expire_due(*, now: datetime | None = None) -> int:
    """Write down the expiry of open sessions past their time (readers already see it)."""
    now = now or timezone.now()
    return CheckoutSession.objects.filter(
        status=CheckoutSession.Status.OPEN, expires_at__lte=now).update(
        status=CheckoutSession.Status.EXPIRED)


def session_coupon_apply(*, session_id: str, code: str) -> CheckoutSession:
    """The hosted page's "Promo code" (``allow_coupons``): the code the customer typed is
    checked (a 400 naming ``couponCode`` as the pay's) and kept, so that the page shows the
    discounted price before anything is charged. The pay checks it again, under its lock."""
    now = timezone.now()
    code = (code or "").strip()[:64]
    with atomic():
        session = CheckoutSession.objects.select_for_update().get(pk=session_id)
        if session.status == CheckoutSession.Status.EXPIRED or session.is_expired(now):
            raise Gone("This checkout session has expired.", code="session_expired")
        if not session.allow_coupons:
            raise Invalid("This checkout takes no promo code.", code="coupons_not_allowed",
                          param="coupon_code")
        if session.status != CheckoutSession.Status.OPEN:
            raise Invalid("A payment is in progress; the promo code cannot change now.",
                          code="session_not_open", param="coupon_code")
        if not code:
            raise Invalid("Enter a promo code.", code="invalid_coupon", param="coupon_code")
        held = CheckoutSession.objects.filter(  # as checkout.pay.coupons_in_flight
            status=CheckoutSession.Status.PROCESSING, expires_at__gt=now).exclude(pk=session.pk)
        session.coupon = coupon_usable(
            merchant_id=session.merchant_id, code=code, currency=session.currency, now=now,
            in_flight=lambda c: held.filter(coupon_id=c.id).count())
        session.save(update_fields=["coupon"])
    return session
