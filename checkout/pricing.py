"""What a checkout session charges: its amount, less its coupon, with the merchant's VAT on
top (billing.pricing's order: discount, then VAT).

    session_price(session)    # Price(subtotal=1_500_000, discount=0, vat=112_500,
                              #       total=1_612_500, …)
    charge_price(session)     # the same, or all zeros for a plan's trial (a card check)

The rate is the merchant's (duro.tax, read from the cache: the page and the pay still
cost one query on the token's store). The page, hydrate, the pay's charge and the first
invoice's lines all come from here, so that they agree to the kobo.
"""

from __future__ import annotations

from decimal import Decimal

from billing.models import Coupon
from billing.pricing import Price, invoice_price
from checkout.models import CheckoutSession
from duro.tax import tax_details, vat_rate_text


def session_vat_rate(session: CheckoutSession) -> Decimal | None:
    return tax_details(session.merchant_id).vat_rate


def session_coupon(session: CheckoutSession) -> Coupon | None:
    return session.coupon if session.coupon_id else None


def _priced(session: CheckoutSession, subtotal: int) -> Price:
    coupon = session_coupon(session)
    return invoice_price(subtotal, percent_off=coupon.percent_off if coupon else None,
                         amount_off=(coupon.amount_off or 0) if coupon else 0,
                         vat_rate=session_vat_rate(session))


def session_price(session: CheckoutSession) -> Price:
    """The price the page shows: the session's amount, less its coupon, plus VAT."""
    return _priced(session, session.amount)


def is_trial(session: CheckoutSession) -> bool:
    """A plan with a trial only authorises the card now (₦0); the trial's end charges."""
    return session.plan is not None and session.plan.trial_days > 0


def charge_subtotal(session: CheckoutSession) -> int:
    """What the pay charges before VAT."""
    return 0 if is_trial(session) else session.amount


def charge_price(session: CheckoutSession) -> Price:
    """What the pay charges now, and its first invoice's lines."""
    return _priced(session, charge_subtotal(session))


def discount_payload(session: CheckoutSession, price: Price) -> dict | None:
    """``{"couponCode": "LAUNCH20", "amountOff": 300000}``, or None without a coupon."""
    coupon = session_coupon(session)
    if coupon is None:
        return None
    return {"couponCode": coupon.code, "amountOff": price.discount}


def vat_payload(price: Price, rate: Decimal | None) -> dict | None:
    """``{"rate": "7.5", "amount": 112500}``, or None without VAT."""
    if rate is None or not rate:
        return None
    return {"rate": vat_rate_text(rate), "amount": price.vat}
