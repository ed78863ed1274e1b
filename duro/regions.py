"""Where Duro's merchants are: the defaults a merchant starts with.

Pure constants, importable from anywhere (pure domain code included)::

    BillingCycle("monthly", 1, anchor, DEFAULT_TIMEZONE)
"""

DEFAULT_TIMEZONE = "Africa/Lagos"  # a merchant's zone until it chooses another
