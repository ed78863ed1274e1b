"""Contact normalisation (pure): lower-cased emails and E.164 phone numbers.

Phone numbers are read with Google's libphonenumber data (the ``phonenumbers``
package), local numbers in the payer's region — the session's currency
country (:func:`duro.regions.region_for`)::

    normalise_phone("0803 123 4567", region="NG") → "+2348031234567"
    normalise_phone("024 123 4567", region="GH")  → "+233241234567"
    normalise_phone("+254 712 345678", region="NG") → "+254712345678"
    phone_example("KE") → "0712 123456"
"""

from __future__ import annotations

import functools

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from duro.regions import DEFAULT_REGION

COUNTRY_NAMES = {"NG": "Nigerian", "GH": "Ghanaian", "KE": "Kenyan", "ZA": "South African"}


class InvalidPhone(ValueError):
    pass


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


@functools.lru_cache(maxsize=64)
def phone_example(region: str = DEFAULT_REGION) -> str:
    """A mobile number as people in ``region`` write it, for placeholders and hints."""
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    if example is None:
        return "+234 803 123 4567"
    return phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)


def normalise_phone(phone: str, region: str = DEFAULT_REGION) -> str:
    """The number in E.164, or ``""`` for none; :class:`InvalidPhone` says what is wrong."""
    raw = (phone or "").strip()
    if not raw:
        return ""
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(_hint("That phone number is not valid.", region)) from None
    if not phonenumbers.is_valid_number(number):
        local = phonenumbers.region_code_for_number(number) == region or not raw.startswith("+")
        message = (f"That is not a valid {COUNTRY_NAMES[region]} number." if local
                   and region in COUNTRY_NAMES else "That phone number is not valid.")
        raise InvalidPhone(_hint(message, region))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _hint(message: str, region: str) -> str:
    return f"{message} Try {phone_example(region)}, or add the country code (+…)."
