"""Contact normalisation (pure): lower-cased emails and E.164 phone numbers.

    normalise_phone("0803 123 4567") → "+2348031234567"   (Nigerian local numbers)
    normalise_phone("+254 712 345678") → "+254712345678"
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s().-]")


class InvalidPhone(ValueError):
    pass


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def normalise_phone(phone: str, default_country_code: str = "234") -> str:
    raw = _SEPARATORS.sub("", phone or "")
    if not raw:
        return ""
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if raw.startswith("+"):
        digits = raw[1:]
    elif raw.startswith("0"):
        digits = default_country_code + raw[1:]
    elif raw.startswith(default_country_code) and len(raw) > 11:
        digits = raw
    else:
        raise InvalidPhone("Enter the phone number with its country code, e.g. +234 803 123 4567.")
    if not digits.isdigit() or not 8 <= len(digits) <= 15 or digits.startswith("0"):
        raise InvalidPhone("That phone number is not valid.")
    if digits.startswith("234") and len(digits) != 13:
        raise InvalidPhone("A Nigerian number has 11 digits, e.g. 0803 123 4567.")
    return "+" + digits
