"""Which rails a merchant switched off, per mode, read so that the hosted page stays cheap.

    rails_switched_off(merchant_id="mer_…", mode="test")              # cache hit: no query
    rails_switched_off(merchant_id="mer_…", mode="test", fresh=True)  # the pay: the row

Every rail is on until the merchant switches it off (the dashboard's Payment methods page,
through :func:`billing.payment_methods.payment_methods_set`). The switches are a
:class:`billing.models.RailSettings` row in the mode's own store, so test and live are
independent by construction. Hydrate and the hosted page read them from the Django cache,
which every web and worker process shares (Redis in production, a file cache embedded), so
they still reach the token's store with one query; a cold cache costs one more query on
that store, then holds the answer (also "nothing switched off") for :data:`CACHE_TTL`. A
change drops the cached value in its transaction and writes the new one after commit; a
reader that filled the cache meanwhile uses ``add``, so it never overwrites that newer value
with what it read before the commit. The pay decides from the row itself (``fresh``).
"""

from __future__ import annotations

from django.core.cache import cache

from billing.models import RailSettings
from duro.cache import cache_get
from duro.modes import mode_context

CACHE_TTL = 24 * 3600


def cache_key(*, merchant_id: str, mode: str) -> str:
    return f"duro:rails:off:{mode}:{merchant_id}"


def _stored(merchant_id: str, mode: str) -> list[str]:
    with mode_context(mode):
        off = (RailSettings.objects.filter(pk=merchant_id)
               .values_list("switched_off", flat=True).first())
    return sorted(off or [])


def rails_switched_off(*, merchant_id: str, mode: str, fresh: bool = False) -> frozenset[str]:
    """The identifiers of the rails this merchant switched off in ``mode``."""
    if fresh:
        return frozenset(_stored(merchant_id, mode))
    key = cache_key(merchant_id=merchant_id, mode=mode)
    off = cache_get(key)
    if off is None:
        off = _stored(merchant_id, mode)
        cache.add(key, off, CACHE_TTL)
    return frozenset(off)
