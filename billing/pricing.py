"""What an invoice charges, from its price: a coupon's discount, then VAT, then credit.

    price = invoice_price(1_500_000, percent_off=20, vat_rate=Decimal("7.5"))
    # Price(subtotal=1_500_000, discount=300_000, vat=90_000, credit_applied=0,
    #       total=1_290_000)

The order is fixed and the same everywhere (a checkout's first invoice, a renewal, a
plan change's charge), so that a page, an invoice, its PDF and the charge agree to the
kobo:

1. ``discount``: ``percent_off`` % of the subtotal, rounded half-up, or ``amount_off``,
   never more than the subtotal;
2. ``vat``: ``vat_rate`` % of what is left, rounded half-up (added on top: prices are
   before VAT);
3. ``credit_applied``: a plan change's credit taken off the total, never below zero (what
   is not used stays with the subscription for the next invoice).

Each step rounds once, half-up to the minor unit, with exact arithmetic (no floats).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from billing.models import Invoice, Subscription


@dataclass(frozen=True)
class Price:
    subtotal: int
    discount: int
    vat: int
    credit_applied: int
    total: int


def half_up(value: Fraction) -> int:
    """Round a non-negative exact value to the nearest integer, halves up."""
    if value < 0:
        raise ValueError("half_up rounds amounts, which are never negative")
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def invoice_price(subtotal: int, *, percent_off: int | None = None, amount_off: int = 0,
                  vat_rate: Decimal | str | None = None, credit: int = 0) -> Price:
    """The invoice's lines and total (see the module's docstring for the order)."""
    if subtotal < 0 or amount_off < 0 or credit < 0:
        raise ValueError("amounts are never negative")
    if percent_off is not None and not 0 <= percent_off <= 100:
        raise ValueError("percent_off is between 0 and 100")
    if percent_off:
        discount = half_up(Fraction(subtotal * percent_off, 100))
    else:
        discount = min(amount_off, subtotal)
    taxable = subtotal - discount
    vat = 0
    if vat_rate is not None and Decimal(vat_rate) != 0:
        rate = Fraction(Decimal(vat_rate))
        if rate < 0 or rate > 100:
            raise ValueError("vat_rate is a percentage between 0 and 100")
        vat = half_up(taxable * rate / 100)
    before_credit = taxable + vat
    applied = min(credit, before_credit)
    return Price(subtotal=subtotal, discount=discount, vat=vat, credit_applied=applied,
                 total=before_credit - applied)


def charged_price(charged: int, *, subtotal: int | None,
                  vat_rate: Decimal | None = None, percent_off: int | None = None,
                  amount_off: int = 0) -> Price:
    """The lines of a checkout's first invoice, whose charge was priced before the rail
    answered: its coupon's discount off ``subtotal``, then VAT on top (``subtotal`` None:
    the charge alone). Should the rate have changed between the charge and its answer (an
    asynchronous rail), what was charged wins: its VAT is the charge less what the
    discount left."""
    if subtotal is None:
        return invoice_price(charged)
    price = invoice_price(subtotal, percent_off=percent_off, amount_off=amount_off,
                          vat_rate=vat_rate)
    if price.total == charged:
        return price
    discount = min(price.discount, subtotal)
    if subtotal - discount > charged:  # less arrived than the lines say: the charge alone
        return invoice_price(charged)
    return Price(subtotal=subtotal, discount=discount, vat=charged - (subtotal - discount),
                 credit_applied=0, total=charged)


def subscription_price(sub: Subscription, *, vat_rate: Decimal | None = None) -> Price:
    """The price of a subscription's next invoice: its own amount (never the plan's of
    today), its coupon while it lasts, VAT at the merchant's rate, then its credit."""
    coupon = sub.coupon if sub.coupon_id and sub.coupon_periods_left != 0 else None
    return invoice_price(sub.amount,
                         percent_off=coupon.percent_off if coupon else None,
                         amount_off=(coupon.amount_off or 0) if coupon else 0,
                         vat_rate=vat_rate, credit=max(0, sub.credit_balance))


def price_lines(invoice: Invoice, price: Price, *, coupon_code: str = "",
                vat_rate: Decimal | None = None) -> None:
    """Write a price onto an (unsaved or about to be saved) invoice."""
    invoice.amount, invoice.subtotal = price.total, price.subtotal
    invoice.discount_amount, invoice.coupon_code = price.discount, coupon_code if (
        price.discount) else ""
    invoice.vat_rate, invoice.vat_amount = (vat_rate if price.vat or vat_rate else None,
                                            price.vat)
    invoice.credit_applied = price.credit_applied


def invoice_lines(invoice: Invoice) -> list[tuple[str, int]]:
    """How an invoice's ``amount`` was reached, for what prints it (its document, its
    receipt): the subtotal, then a coupon's discount, VAT (whenever a rate was applied) and
    a change's credit, each when there is one; deductions are negative."""
    subtotal = invoice.subtotal if invoice.subtotal is not None else invoice.amount
    lines = [("Subtotal", subtotal)]
    if invoice.discount_amount:
        code = f" ({invoice.coupon_code})" if invoice.coupon_code else ""
        lines.append((f"Discount{code}", -invoice.discount_amount))
    if invoice.vat_rate is not None:
        rate = format(Decimal(invoice.vat_rate).normalize(), "f")
        lines.append((f"VAT {rate} %", invoice.vat_amount))
    if invoice.credit_applied:
        lines.append(("Credit", -invoice.credit_applied))
    return lines
