"""Reads of checkout sessions, with the joins their callers need.

    session = session_for_token("cs_test_…")        # public: the token picks the mode
    session = session_get(merchant_id=m.id, session_id="cks_…")   # raises NotFound

The public reads set the mode from the token's prefix (a token of no known
shape touches no store) and read exactly one store.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from appearance.selectors import cache_key as appearance_key
from billing.processors.connections import cache_key as processor_key
from billing.rails.switches import cache_key as rails_key
from checkout.models import CheckoutSession
from checkout.tokens import mode_of_token
from duro.db import PARAM, CompiledRead, unpinged
from duro.errors import Invalid, NotFound
from duro.modes import LIVE, current_mode, set_mode
from duro.origins import cache_key as origins_key
from duro.tax import cache_key as tax_key

_BY_TOKEN = CompiledRead(lambda: CheckoutSession.objects.select_related("plan", "coupon")
                         .filter(token=PARAM)[:1])


def session_by_token(token: str) -> CheckoutSession | None:
    """One query on the current mode's store: the session, its plan and coupon.

    The hottest read Duro makes (hydrate, the hosted page): compiled once per process, and
    sent without the connection's health-check ``SELECT 1`` (a connection that died while
    idle is opened again and the read repeated, :func:`duro.db.unpinged`).
    """
    return unpinged(lambda: _BY_TOKEN.first(token))


def page_cache_keys(session: CheckoutSession) -> list[str]:
    """The merchant's cached settings that hydrate and the hosted page read (to be fetched
    together, :func:`duro.cache.read_together`): appearance, rails switched off, VAT, the
    origins that may frame the page and, live, the connected processor."""
    merchant_id, mode = session.merchant_id, current_mode()
    keys = [appearance_key(merchant_id), rails_key(merchant_id=merchant_id, mode=mode),
            tax_key(merchant_id), origins_key(merchant_id=merchant_id, mode=mode)]
    if mode == LIVE:
        keys.append(processor_key(merchant_id))
    return keys


def token_mode_set(token: str) -> None:
    """Set the mode a public token's prefix names; a token of no known shape is not found."""
    mode = mode_of_token(token)
    if mode is None:
        raise NotFound("No such checkout session.")
    set_mode(mode)


def session_for_token(token: str) -> CheckoutSession:
    """The session a public token names, with the mode set from the token's prefix."""
    token_mode_set(token)
    session = session_by_token(token)
    if session is None:
        raise NotFound("No such checkout session.")
    return session


def session_list(*, merchant_id: str, status: str | None = None,
                 reference: str | None = None) -> QuerySet[CheckoutSession]:
    """A merchant's sessions; ``status`` as a reader sees it (an open one past its expiry
    is expired)."""
    rows = (CheckoutSession.objects.select_related("payment", "coupon")
            .prefetch_related("payment__refunds").filter(merchant_id=merchant_id))
    if status:
        if status not in CheckoutSession.Status.values:
            raise Invalid("Unknown status.", param="status")
        now = timezone.now()
        if status == CheckoutSession.Status.OPEN:
            rows = rows.filter(status=status, expires_at__gt=now)
        elif status == CheckoutSession.Status.EXPIRED:
            rows = rows.filter(Q(status=status) | Q(status="open", expires_at__lte=now))
        else:
            rows = rows.filter(status=status)
    if reference:
        rows = rows.filter(reference=reference)
    return rows


def session_get(*, merchant_id: str, session_id: str) -> CheckoutSession:
    session = session_list(merchant_id=merchant_id).filter(pk=session_id).first()
    if session is None:
        raise NotFound(f"No such checkout session: {session_id!r}.", param="id")
    return session
