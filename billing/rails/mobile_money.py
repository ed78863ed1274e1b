"""The mobile-money rail (GHS and KES): the payer names their wallet's provider and phone,
a prompt reaches that phone, and the payer approves it there; the provider confirms later.

Each provider serves one country and currency (:data:`PROVIDERS`): MTN Mobile Money,
Vodafone Cash and AirtelTigo Money in Ghana, M-Pesa in Kenya. The phone is read as that
country's (``024 123 4567`` in Ghana, ``0712 345678`` in Kenya) and must be a mobile
number there. A pay answers ``processing`` with what the payer must do (valid 10 minutes,
never past the session); the answer arrives as for every asynchronous rail
(:mod:`billing.rails.pending`)::

    rail.validate({"provider": "mtn", "phone": "024 123 4567"}, now=now, mode="test",
                  currency="GHS")                                  # {}
    result = rail.charge(mode="test", amount=15_000, currency="GHS",
                         details={"provider": "mtn", "phone": "024 123 4567"},
                         idempotency_key=attempt.id)               # "processing"
    result.extra["instructions"]["mobileMoney"]["instructions"]
    # "Approve the payment of GH₵150.00 on 024 123 4567 (MTN Mobile Money) …"
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from billing.contacts import InvalidPhone, normalise_phone, phone_example
from billing.rails.pending import PendingRail
from duro.money import format_amount
from duro.timestamps import iso


@dataclass(frozen=True)
class Provider:
    id: str
    label: str
    currency: str
    region: str  # where the wallet's phone number is


PROVIDERS: tuple[Provider, ...] = (
    Provider("mtn", "MTN Mobile Money", "GHS", "GH"),
    Provider("vodafone", "Vodafone Cash", "GHS", "GH"),
    Provider("airteltigo", "AirtelTigo Money", "GHS", "GH"),
    Provider("mpesa", "M-Pesa", "KES", "KE"),
)
PROVIDER_OF = {provider.id: provider for provider in PROVIDERS}
MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def providers_for(currency: str) -> list[Provider]:
    """The providers a payer in ``currency`` may choose, in the order they show."""
    return [provider for provider in PROVIDERS if provider.currency == currency]


def wallet_phone(phone: str, provider: Provider) -> str:
    """The wallet's number in E.164; :class:`InvalidPhone` unless it is a mobile number of
    the provider's country."""
    number = normalise_phone(phone, provider.region)
    if not number:
        raise InvalidPhone(f"Enter the phone number of your {provider.label} wallet.")
    parsed = phonenumbers.parse(number)
    if (phonenumbers.region_code_for_number(parsed) != provider.region
            or phonenumbers.number_type(parsed) not in MOBILE_TYPES):
        raise InvalidPhone(f"{provider.label} needs a mobile number of its country, "
                           f"like {phone_example(provider.region)}.")
    return number


def national(number: str) -> str:
    """``+233241234567`` → ``024 123 4567``: the number as its owner writes it."""
    return phonenumbers.format_number(phonenumbers.parse(number), PhoneNumberFormat.NATIONAL)


class MobileMoneyRail(PendingRail):
    identifier = "mobile_money"
    label = "Mobile money"
    currencies = ("GHS", "KES")
    ttl = timedelta(minutes=10)
    instructions_key = "mobileMoney"
    reference_prefix = "sbx_momo"
    code_prefix = "mobile_money"
    providers = PROVIDERS
    expired_message = "The payment was not approved on the phone in time. Please pay again."
    failed_message = "The mobile money payment was not approved."

    def validate(self, details: dict, *, now: datetime, mode: str,
                 currency: str = "") -> dict[str, str]:
        offered = providers_for(currency) if currency else list(PROVIDERS)
        chosen, phone = details.get("provider"), details.get("phone")
        if chosen in (None, ""):
            return {"mobile_money.provider": "Choose your mobile money provider."}
        provider = PROVIDER_OF.get(chosen) if isinstance(chosen, str) else None
        if provider is None or provider not in offered:
            names = ", ".join(p.label for p in offered)
            return {"mobile_money.provider": f"Choose one of: {names}."}
        try:
            wallet_phone(phone if isinstance(phone, str) else "", provider)
        except InvalidPhone as exc:
            return {"mobile_money.phone": str(exc)}
        return {}

    def processor_details(self, details: dict) -> dict:
        provider = PROVIDER_OF[str(details["provider"])]
        return {**details, "phone": wallet_phone(str(details["phone"]), provider)}

    def instructions(self, *, amount: int, currency: str, details: dict, key: str,
                     expires: datetime) -> dict:
        provider = PROVIDER_OF[str(details["provider"])]
        phone = wallet_phone(str(details["phone"]), provider)
        text = (f"Approve the payment of {format_amount(amount, currency)} on "
                f"{national(phone)} ({provider.label}): a prompt is on its way to that "
                "phone. Enter your wallet PIN there to approve.")
        return {"instructions": text, "provider": provider.id, "providerName": provider.label,
                "phone": phone, "expiresAt": iso(expires)}
