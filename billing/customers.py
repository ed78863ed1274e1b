"""Customers: find by contact (email first, then phone), create without duplicates,
and keep their saved cards one row per card.

Blacklisting, which also stops a customer's subscriptions, is in :mod:`billing.subscriptions`.
"""

from __future__ import annotations

from django.db import IntegrityError
from django.db.models import Case, Q, Value, When

from billing.models import Card, Customer
from billing.rails.base import CardDetails
from duro.db import atomic


def customer_find_by_contact(*, merchant_id: str, email: str, phone: str) -> Customer | None:
    """``findByContact``: the merchant's customer with this email (case-insensitive),
    else with this phone (E.164), the oldest first. Both are already normalised by the
    caller. One query: a match by email sorts before any match by phone."""
    match = Q(email=email) if email else Q()
    if phone:
        match = match | Q(phone=phone) if email else Q(phone=phone)
    if not match:
        return None
    by_email = Case(When(email=email, then=Value(0)), default=Value(1)) if email else Value(0)
    return (Customer.objects.filter(match, merchant_id=merchant_id)
            .order_by(by_email, "created_at").first())


def customer_resolve(*, merchant_id: str, email: str, phone: str,
                     found: Customer | None = None) -> tuple[Customer, bool]:
    """Reuse the customer found by contact, or create one; a concurrent creator wins
    cleanly. ``found``: the customer the pay's claim found by this contact (customers
    are never deleted, so it still is the answer) — not looked up again. Returns the
    customer and whether this transaction created it."""
    if found is None:
        found = customer_find_by_contact(merchant_id=merchant_id, email=email, phone=phone)
    if found:
        changed = []
        if email and not found.email:
            found.email = email
            changed.append("email")
        if phone and not found.phone:
            found.phone = phone
            changed.append("phone")
        if changed:
            found.save(update_fields=changed)
        return found, False
    try:
        with atomic():
            return Customer.objects.create(merchant_id=merchant_id, email=email,
                                           phone=phone), True
    except IntegrityError:
        return Customer.objects.get(merchant_id=merchant_id, email=email), False


def card_save(*, customer: Customer, rail: str, card: CardDetails, authorization: str,
              new_customer: bool = False) -> Card:
    """The customer's saved card for a successful charge, inside the caller's transaction.

    A card the customer saved before (same fingerprint) is that row, with the newest
    authorization, expiry and brand; a card without a fingerprint is always a new row.
    A customer this transaction created (``new_customer``) has no card yet and no other
    transaction can add one to it before commit: the row is inserted without looking.
    """
    fields = {"rail": rail, "brand": card.brand, "last4": card.last4,
              "exp_month": card.exp_month, "exp_year": card.exp_year,
              "authorization": authorization}
    if not card.fingerprint or new_customer:
        return Card.objects.create(merchant_id=customer.merchant_id, customer=customer,
                                   fingerprint=card.fingerprint, **fields)
    mine = Card.objects.select_for_update().filter(customer=customer,
                                                   fingerprint=card.fingerprint)
    saved = mine.first()
    if saved is None:
        try:
            with atomic():  # a savepoint: a concurrent pay may insert the same card first
                return Card.objects.create(merchant_id=customer.merchant_id, customer=customer,
                                           fingerprint=card.fingerprint, **fields)
        except IntegrityError:
            saved = mine.get()
    for name, value in fields.items():
        setattr(saved, name, value)
    saved.save(update_fields=list(fields))
    return saved
