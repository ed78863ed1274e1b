"""Coupon services (API.md §13): create, deactivate, the checks a code must pass, and a
redemption.

    coupon = coupon_create(merchant_id=m, code="launch20", percent_off=20, duration="once")
    coupon = coupon_usable(merchant_id=m, code="LAUNCH20", currency="NGN", now=now,
                           param="coupon_code")      # or Invalid naming the param
    coupon_redeem(coupon_id=coupon.id)                 # in the pay's settle transaction

A code is kept upper-case and is unique per merchant whatever its case. A coupon is
*usable* while it is active, before ``expires_at``, below ``max_redemptions`` and, for a
fixed amount, in the session's currency.

When a redemption counts: a pay's claim checks the coupon under its row lock and counts
the pays already in flight with it (checkout.pay), so that no more pays than redemptions
left are ever charged with it; the pay's settle then redeems under the same lock
(:func:`coupon_redeem`) and honours the discount the customer was shown and charged even
if the coupon expired or was deactivated meanwhile (its money has moved: refusing the
coupon then would mean charging a price the customer never saw).
"""

from __future__ import annotations

import re
from datetime import datetime

from django.db import IntegrityError
from django.db.models import F

from billing.models import Coupon, Subscription
from billing.pauses import locked_subscription
from billing.plan_switch import plan_updated
from duro.db import atomic
from duro.errors import Conflict, Invalid, NotFound

CODE_RE = re.compile(r"^[A-Za-z0-9_-]{3,64}$")


def normalise_code(code: str) -> str:
    return (code or "").strip().upper()


def coupon_create(*, merchant_id: str, code: str, duration: str,
                  percent_off: int | None = None, amount_off: int | None = None,
                  currency: str = "", duration_in_periods: int | None = None,
                  max_redemptions: int | None = None,
                  expires_at: datetime | None = None) -> Coupon:
    """A new active coupon; the serializer checked the shape, this checks the code is free."""
    code = normalise_code(code)
    if not CODE_RE.match(code):
        raise Invalid("3 to 64 letters, digits, - or _.", code="invalid_code", param="code")
    if Coupon.objects.filter(merchant_id=merchant_id, code=code).exists():
        raise Invalid(f"A coupon with code {code!r} exists already.", code="coupon_code_taken",
                      param="code")
    try:
        with atomic():
            return Coupon.objects.create(
                merchant_id=merchant_id, code=code, percent_off=percent_off,
                amount_off=amount_off, currency=currency if amount_off else "",
                duration=duration, duration_in_periods=duration_in_periods,
                max_redemptions=max_redemptions, expires_at=expires_at)
    except IntegrityError:  # a concurrent create took the code
        raise Invalid(f"A coupon with code {code!r} exists already.",
                      code="coupon_code_taken", param="code") from None


def coupon_deactivate(*, merchant_id: str, coupon_id: str) -> Coupon:
    """``DELETE``: the coupon takes no new redemptions; subscriptions that have it keep it."""
    with atomic():
        coupon = Coupon.objects.select_for_update().filter(
            merchant_id=merchant_id, pk=coupon_id).first()
        if coupon is None:
            raise NotFound(f"No such coupon: {coupon_id!r}.", param="id")
        if coupon.active:
            coupon.active = False
            coupon.save(update_fields=["active"])
    return coupon


def coupon_problem(coupon: Coupon | None, *, currency: str, now: datetime,
                   in_flight: int = 0) -> str:
    """Why this coupon cannot be redeemed now ("" when it can). ``in_flight``: pays that
    hold it (claimed, not settled)."""
    if coupon is None:
        return "This promo code is not valid."
    if not coupon.active:
        return "This promo code is no longer active."
    if coupon.expires_at is not None and coupon.expires_at <= now:
        return "This promo code has expired."
    if coupon.max_redemptions is not None and (
            coupon.times_redeemed + in_flight >= coupon.max_redemptions):
        return "This promo code has been used up."
    if coupon.amount_off and coupon.currency != currency:
        return f"This promo code is for {coupon.currency} payments."
    return ""


def coupon_usable(*, merchant_id: str, code: str, currency: str, now: datetime,
                  param: str = "coupon_code", lock: bool = False,
                  in_flight=None) -> Coupon:
    """The merchant's coupon with this code, if it can be redeemed now; else ``Invalid``
    naming ``param``. ``lock``: read it under its row lock (a pay's claim), and
    ``in_flight(coupon)`` counts the pays holding it then."""
    rows = Coupon.objects.filter(merchant_id=merchant_id, code=normalise_code(code))
    coupon = (rows.select_for_update() if lock else rows).first()
    held = in_flight(coupon) if (coupon is not None and in_flight is not None) else 0
    problem = coupon_problem(coupon, currency=currency, now=now, in_flight=held)
    if problem:
        raise Invalid(problem, code="invalid_coupon", param=param)
    assert coupon is not None
    return coupon


def coupon_redeem(*, coupon_id: str) -> Coupon:
    """A pay with this coupon succeeded: one more redemption, counted under the row lock in
    the caller's (the settle's) transaction. Never refused: see the module's docstring."""
    coupon = Coupon.objects.select_for_update().get(pk=coupon_id)
    Coupon.objects.filter(pk=coupon_id).update(times_redeemed=F("times_redeemed") + 1)
    coupon.times_redeemed += 1
    return coupon


def coupon_periods_after_first(coupon: Coupon, *, first_discounted: bool = True) -> int | None:
    """``Subscription.coupon_periods_left`` once the checkout's invoice is paid: that invoice
    is the first of a ``repeating`` coupon's periods (a trial's card check is not one: it
    charged nothing); ``once`` has none left, ``forever`` never runs out (None)."""
    used = 1 if first_discounted else 0
    if coupon.duration == Coupon.Duration.FOREVER:
        return None
    if coupon.duration == Coupon.Duration.ONCE:
        return 1 - used
    return max(0, (coupon.duration_in_periods or 1) - used)


def subscription_coupon_apply(*, merchant_id: str, subscription_id: str, code: str,
                              now: datetime) -> Subscription:
    """Give a running subscription a coupon (the dashboard's "Apply a coupon"): its next
    invoice is the first discounted one (a ``repeating`` coupon's N periods start there),
    redeemed now under the coupon's row lock; replaces a coupon it had. Refused for a
    subscription that has ended, or a code that cannot be redeemed (``Invalid`` naming
    ``code``). Event ``subscription_updated``."""
    with atomic():
        sub = locked_subscription(merchant_id=merchant_id, subscription_id=subscription_id)
        if sub.status in (Subscription.Status.CANCELED, Subscription.Status.COMPLETED):
            raise Conflict("This subscription has ended: no coupon applies to it.",
                           code="subscription_ended")
        coupon = coupon_usable(merchant_id=merchant_id, code=code, currency=sub.currency,
                               now=sub.clock or now, param="code", lock=True)
        sub.coupon = coupon
        sub.coupon_periods_left = coupon_periods_after_first(coupon, first_discounted=False)
        sub.save(update_fields=["coupon", "coupon_periods_left"])
        coupon_redeem(coupon_id=coupon.pk)
        plan_updated(sub, previous_plan_id=sub.plan_id)
    return sub
