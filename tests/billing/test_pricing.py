"""billing.pricing: discount, then VAT, then credit, each rounded once half-up, checked
against Decimal's ROUND_HALF_UP over random amounts."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.pricing import Price, invoice_price


def _decimal_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_the_issue_example_nigeria_vat_on_a_discounted_price():
    assert invoice_price(1_500_000, percent_off=20, vat_rate="7.5") == Price(
        subtotal=1_500_000, discount=300_000, vat=90_000, credit_applied=0, total=1_290_000)


def test_halves_round_up_once():
    # 7.5 % of 10 kobo is 0.75 → 1; 7.5 % of 6 kobo is 0.45 → 0; 50 % of 1 kobo is 0.5 → 1
    assert invoice_price(10, vat_rate="7.5").vat == 1
    assert invoice_price(6, vat_rate="7.5").vat == 0
    assert invoice_price(1, percent_off=50).discount == 1


def test_a_fixed_discount_never_goes_below_zero_and_credit_stays_for_later():
    assert invoice_price(5_000, amount_off=9_000) == Price(5_000, 5_000, 0, 0, 0)
    assert invoice_price(5_000, credit=7_000) == Price(5_000, 0, 0, 5_000, 0)


@pytest.mark.parametrize("bad", [{"percent_off": 101}, {"amount_off": -1}, {"credit": -5},
                                 {"vat_rate": "-1"}])
def test_nonsense_is_refused(bad):
    with pytest.raises(ValueError):
        invoice_price(1_000, **bad)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(subtotal=st.integers(0, 10**12), percent=st.one_of(st.none(), st.integers(0, 100)),
       rate=st.sampled_from([None, "0", "5", "7.5", "12.5", "15", "16"]),
       credit=st.integers(0, 10**9))
def test_against_decimal_half_up(subtotal, percent, rate, credit):
    price = invoice_price(subtotal, percent_off=percent, vat_rate=rate, credit=credit)
    discount = _decimal_half_up(Decimal(subtotal) * (percent or 0) / 100)
    vat = _decimal_half_up((subtotal - discount) * Decimal(rate or 0) / 100)
    assert price.discount == discount and price.vat == vat
    assert price.total == max(0, subtotal - discount + vat - credit)
    assert price.total + price.credit_applied == subtotal - discount + vat
