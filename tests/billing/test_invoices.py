"""Invoice numbering: sequential per merchant and mode, released by a rollback."""

import pytest
from django.db import IntegrityError, transaction

from billing.invoices import invoice_create, invoice_number_next
from billing.models import Customer, Invoice
from duro.modes import mode_context

pytestmark = pytest.mark.django_db(databases="__all__")


def test_numbers_are_per_merchant_and_mode():
    with mode_context("test"), transaction.atomic(using="test"):
        assert [invoice_number_next(merchant_id="mer_a") for _ in range(3)] == [1, 2, 3]
        assert invoice_number_next(merchant_id="mer_b") == 1
    with mode_context("live"), transaction.atomic(using="live"):
        assert invoice_number_next(merchant_id="mer_a") == 1


def test_a_rolled_back_invoice_gives_its_number_back():
    with mode_context("test"):
        customer = Customer.objects.create(merchant_id="mer_a", email="a@example.com")
        with pytest.raises(RuntimeError), transaction.atomic(using="test"):
            invoice_create(merchant_id="mer_a", customer=customer, amount=500, currency="NGN")
            raise RuntimeError("the pay failed after the invoice")
        with transaction.atomic(using="test"):
            invoice = invoice_create(merchant_id="mer_a", customer=customer, amount=500,
                                     currency="NGN", status="paid")
        assert invoice.number == 1 and invoice.id.startswith("inv_")


def test_a_duplicate_period_collides_without_burning_a_number(merchant):
    from tests.billing.conftest import subscribe

    sub = subscribe(merchant.id)
    with mode_context("test"), transaction.atomic(using="test"):
        with pytest.raises(IntegrityError):
            invoice_create(merchant_id=merchant.id, customer=sub.customer, subscription=sub,
                           amount=1, currency="NGN", period_start=sub.current_period_start)
        again = invoice_create(merchant_id=merchant.id, customer=sub.customer, amount=1,
                               currency="NGN")
    assert again.number == 2
    with mode_context("test"):
        assert Invoice.objects.filter(merchant_id=merchant.id).count() == 2


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_numbering_needs_the_callers_transaction():
    with mode_context("test"), pytest.raises(RuntimeError, match=r"duro\.db\.atomic"):
        invoice_number_next(merchant_id="mer_a")
