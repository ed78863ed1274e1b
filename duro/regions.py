"""Where Duro's merchants are: the defaults a merchant starts with.

Pure constants, importable from anywhere (pure domain code included)::

    BillingCycle("monthly", 1, anchor, DEFAULT_TIMEZONE)
"""

DEFAULT_TIMEZONE = "Africa/Lagos"  # a merchant's zone until it chooses another
DEFAULT_REGION = "NG"  # where a local phone number is read when the currency says nothing

# The country whose local phone numbers a payer in this currency most likely gives.
REGION_OF_CURRENCY = {"NGN": "NG", "GHS": "GH", "KES": "KE", "ZAR": "ZA"}


def region_for(currency: str | None) -> str:
    """``region_for("GHS")`` → ``"GH"``; a currency of no one country → ``DEFAULT_REGION``."""
    return REGION_OF_CURRENCY.get((currency or "").upper(), DEFAULT_REGION)
