"""Payment attempts opened and closed before any money moves: the record written before a
rail is asked, an OTP step handed back to the rail, and an attempt abandoned.

    attempt = attempt_open(merchant_id=m, rail="card", amount=1_500_000, currency="NGN",
                           session_id=session.id)   # then ask the rail, then payments_settle

What the rail answers is applied by :func:`billing.payments.payments_settle` only.
"""

from __future__ import annotations

from billing.models import Card, Customer, Invoice, PaymentAttempt

A = PaymentAttempt.Status


def attempt_open(*, merchant_id: str, rail: str, amount: int, currency: str,
                 customer: Customer | None = None, session_id: str = "",
                 invoice: Invoice | None = None, idempotency_key: str = "",
                 card: Card | None = None, save: bool = True) -> PaymentAttempt:
    """A ``processing`` attempt, recorded before the rail is asked (``save=False``: unsaved,
    for a caller that inserts many at once)."""
    attempt = PaymentAttempt(
        merchant_id=merchant_id, customer=customer, session_id=session_id, invoice=invoice,
        rail=rail, status=A.PROCESSING, amount=amount, currency=currency,
        idempotency_key=idempotency_key,
        card_brand=card.brand if card else "", card_last4=card.last4 if card else "",
        card_exp_month=card.exp_month if card else None,
        card_exp_year=card.exp_year if card else None,
    )
    if save:
        attempt.save(force_insert=True)
    return attempt


def attempt_resume(*, attempt: PaymentAttempt) -> PaymentAttempt:
    """An attempt waiting for the customer (an OTP) goes back to the rail."""
    attempt.status = A.PROCESSING
    attempt.save(update_fields=["status", "updated_at"])
    return attempt


def attempt_abandon(*, attempt: PaymentAttempt, message: str) -> PaymentAttempt:
    """A pending attempt that will never be completed (a new attempt replaced it)."""
    attempt.status = A.FAILED
    attempt.failure_code, attempt.failure_message = PaymentAttempt.ABANDONED, message[:300]
    attempt.save(update_fields=["status", "failure_code", "failure_message", "updated_at"])
    return attempt
