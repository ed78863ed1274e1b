"""Pure card arithmetic: digits, Luhn, brand detection (Verve included), expiry, and the
keyed fingerprint that finds a saved card again without keeping its number."""

from __future__ import annotations

import hashlib
import hmac
import re

_NON_DIGITS = re.compile(r"[\s-]")


def card_digits(number: str) -> str:
    return _NON_DIGITS.sub("", number or "")


def luhn_ok(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_brand(digits: str) -> str:
    """Brand from the leading digits: verve, visa, mastercard, amex, or unknown."""
    if not digits.isdigit():
        return "unknown"
    six = int(digits[:6]) if len(digits) >= 6 else -1
    if 506099 <= six <= 506198 or 650002 <= six <= 650027 or 507865 <= six <= 507964:
        return "verve"
    if digits.startswith("4"):
        return "visa"
    four = int(digits[:4]) if len(digits) >= 4 else -1
    if 51 <= int(digits[:2] or 0) <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if digits[:2] in ("34", "37"):
        return "amex"
    return "unknown"


def card_fingerprint(number: str, *, key: str) -> str:
    """HMAC-SHA256 (hex) of the card's digits keyed with a server secret: the same card
    gives the same fingerprint, and without the key it says nothing about the number."""
    return hmac.new(key.encode(), card_digits(number).encode(), hashlib.sha256).hexdigest()


def normalise_year(year: int) -> int:
    return year + 2000 if 0 <= year < 100 else year


_EXPIRY_SLASH = re.compile(r"^(\d{1,2})/(\d{2}|\d{4})$")
_EXPIRY_DIGITS = re.compile(r"^(\d{2})(\d{2}|\d{4})$")


def parse_expiry(text: str) -> tuple[int | None, int | None]:
    """``MM/YY``, ``MM / YY``, ``MM/YYYY``, ``MMYY`` or ``MMYYYY`` → (month, year as typed);
    (None, None) when it is none of these. Range checks are the rail's."""
    compact = re.sub(r"\s", "", text or "")
    match = _EXPIRY_SLASH.match(compact) or _EXPIRY_DIGITS.match(compact)
    if match is None:
        return None, None
    return int(match.group(1)), int(match.group(2))
