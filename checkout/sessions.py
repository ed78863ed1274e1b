"""Checkout session services (writes): create, expire, and write down expiries.

    session = session_create(merchant=m, plan_id="pln_…", success_url="https://…")
    session_expire(session=session)

Reads live in :mod:`checkout.selectors`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError
from django.utils import timezone

from billing.models import Plan
from checkout.models import CheckoutSession
from checkout.tokens import new_reference, new_token
from duro.db import atomic
from duro.errors import Invalid
from duro.models import Merchant
from duro.modes import current_mode

DEFAULT_EXPIRY = timedelta(hours=24)


def session_create(*, merchant: Merchant, plan_id: str | None = None, amount: int | None = None,
                   currency: str | None = None, description: str = "", success_url: str = "",
                   cancel_url: str = "", customer_email: str = "", customer_phone: str = "",
                   metadata: dict | None = None, expires_at: datetime | None = None,
                   ) -> CheckoutSession:
    plan = None
    if plan_id:
        plan = Plan.objects.filter(merchant_id=merchant.id, pk=plan_id).first()
        if plan is None:
            raise Invalid(f"No such plan: {plan_id!r}.", param="plan_id", code="resource_missing")
        if not plan.active:
            raise Invalid("This plan is inactive.", param="plan_id", code="plan_inactive")
        amount, currency = plan.amount, plan.currency
        description = description or plan.description
    if amount is None:  # the serializer guarantees a plan or an amount
        raise Invalid("Give either planId or a one-off amount.", param="plan_id")
    for _ in range(5):
        mode = current_mode()
        try:
            with atomic():
                return CheckoutSession.objects.create(
                    merchant_id=merchant.id, merchant_name=merchant.name, token=new_token(mode),
                    reference=new_reference(), plan=plan, amount=amount,
                    currency=currency or merchant.default_currency, description=description,
                    success_url=success_url, cancel_url=cancel_url,
                    customer_email=customer_email, customer_phone=customer_phone,
                    metadata=metadata or {},
                    expires_at=expires_at or timezone.now() + DEFAULT_EXPIRY,
                )
        except IntegrityError:  # a reference collision: astronomically rare, retry
            continue
    raise RuntimeError("Could not mint a unique session reference")


def session_expire(*, session: CheckoutSession) -> CheckoutSession:
    with atomic():
        session = CheckoutSession.objects.select_for_update().get(pk=session.pk)
        if session.status != CheckoutSession.Status.OPEN:
            raise Invalid(f"Only an open session can be expired; this one is {session.status}.",
                           code="session_not_open", param="id")
        session.status = CheckoutSession.Status.EXPIRED
        session.expires_at = min(session.expires_at, timezone.now())
        session.save(update_fields=["status", "expires_at"])
    return session


def sessions_expire_due(*, now: datetime | None = None) -> int:
    """Write down the expiry of open sessions past their time (readers already see it)."""
    now = now or timezone.now()
    return CheckoutSession.objects.filter(
        status=CheckoutSession.Status.OPEN, expires_at__lte=now).update(
        status=CheckoutSession.Status.EXPIRED)
