"""Amount formatting for people (templates, emails). Pure: integers in, text out.

    format_amount(1500000, "NGN") → "₦15,000.00"
"""

from __future__ import annotations

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


def format_cadence(interval: str, count: int = 1) -> str:
    """``("monthly", 1)`` → ``"month"``; ``("monthly", 3)`` → ``"3 months"``."""
    one, many = CADENCE[interval]
    return one if count == 1 else f"{count} {many}"
