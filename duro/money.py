"""Amounts for people (templates, emails, admin forms). Pure: integers in, text out, and
back.

    format_amount(1500000, "NGN") → "₦15,000.00"
    parse_major("150.00", "NGN") → 15000      # what staff type, in kobo
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

SYMBOLS = {"NGN": "₦", "GHS": "GH₵", "KES": "KSh ", "ZAR": "R ", "USD": "$"}
MINOR_UNITS = {"NGN": 2, "GHS": 2, "KES": 2, "ZAR": 2, "USD": 2}

CADENCE = {
    "daily": ("day", "days"), "weekly": ("week", "weeks"), "monthly": ("month", "months"),
    "quarterly": ("quarter", "quarters"), "biannually": ("half-year", "half-years"),
    "annually": ("year", "years"),
}


def format_amount(amount: int, currency: str) -> str:
    digits = MINOR_UNITS.get(currency, 2)
    major, minor = divmod(abs(int(amount)), 10**digits)
    sign = "-" if amount < 0 else ""
    symbol = SYMBOLS.get(currency, f"{currency} ")
    return f"{sign}{symbol}{major:,}.{minor:0{digits}d}"


def format_major(amount: int, currency: str) -> str:
    """``(15000, "NGN")`` → ``"150.00"``: minor units as staff type them, no symbol."""
    digits = MINOR_UNITS.get(currency, 2)
    return f"{Decimal(int(amount)).scaleb(-digits):.{digits}f}"


def parse_major(text: str, currency: str) -> int:
    """An amount typed in major units (``"1,500.50"``) as minor units (``150050``).

    Raises ValueError unless it is a positive number with at most the currency's
    decimals."""
    digits = MINOR_UNITS.get(currency, 2)
    cleaned = str(text).strip().replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount.") from None
    if not value.is_finite() or "e" in cleaned.lower():
        raise ValueError(f"{text!r} is not an amount.")
    if value <= 0:
        raise ValueError(f"{text!r} is not a positive amount.")
    minor = value.scaleb(digits)
    if minor != minor.to_integral_value():
        raise ValueError(f"{text!r} has more than {digits} decimals.")
    return int(minor)


def format_cadence(interval: str, count: int = 1) -> str:
    """``("monthly", 1)`` → ``"month"``; ``("monthly", 3)`` → ``"3 months"``."""
    one, many = CADENCE[interval]
    return one if count == 1 else f"{count} {many}"
