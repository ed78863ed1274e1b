"""Customers: find by contact (email first, then phone), create without duplicates.

Blacklisting, which also stops a customer's subscriptions, is in :mod:`billing.subscriptions`.
"""

from __future__ import annotations

from django.db import IntegrityError

from billing.models import Customer
from duro.db import atomic


def customer_find_by_contact(*, merchant_id: str, email: str, phone: str) -> Customer | None:
    """``findByContact``: the merchant's customer with this email (case-insensitive),
    else with this phone (E.164). Both are already normalised by the caller."""
    customers = Customer.objects.filter(merchant_id=merchant_id)
    if email:
        found = customers.filter(email=email).first()
        if found:
            return found
    if phone:
        return customers.filter(phone=phone).order_by("created_at").first()
    return None


def customer_resolve(*, merchant_id: str, email: str, phone: str) -> Customer:
    """Reuse the customer found by contact, or create one; a concurrent creator wins cleanly."""
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
        return found
    try:
        with atomic():
            return Customer.objects.create(merchant_id=merchant_id, email=email, phone=phone)
    except IntegrityError:
        return Customer.objects.get(merchant_id=merchant_id, email=email)
