"""Amounts for people: formatted from minor units, and parsed back from what staff type."""

import pytest

from duro.money import format_amount, format_major, parse_major


def test_format():
    assert format_amount(1_500_000, "NGN") == "₦15,000.00"
    assert format_major(15_000, "NGN") == "150.00"
    assert format_major(1_500_005, "GHS") == "15000.05"


@pytest.mark.parametrize("text,minor", [
    ("150.00", 15_000), ("150", 15_000), ("0.01", 1), (" 1,500.5 ", 150_050),
])
def test_major_units_become_minor_units(text, minor):
    assert parse_major(text, "NGN") == minor
    assert parse_major(format_major(minor, "NGN"), "NGN") == minor


@pytest.mark.parametrize("text", ["", "abc", "0", "-1", "1.234", "1e3", "NaN", "inf", "0.00"])
def test_anything_else_is_refused(text):
    with pytest.raises(ValueError):
        parse_major(text, "NGN")
