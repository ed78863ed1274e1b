"""The shared cache, read the way the hot public pages need it: one round trip per request.

    with read_together([appearance_key, rails_key, tax_key]):   # one MGET
        published_appearance(merchant_id)                          # answered from that MGET
        rails_switched_off(merchant_id=…, mode=…)                  # likewise

Hydrate and the hosted page read several small per-merchant values (the published
appearance, the rails switched off, the VAT rate, the live processor). Each is cached on
its own, with its own invalidation, by the module that owns it; :func:`read_together`
fetches the ones a request is about to read in one ``get_many`` and :func:`cache_get` /
:func:`cache_get_many` answer from it inside the block. A key the cache does not hold is
answered as a miss, so its owner reads the database and fills the cache as it always does.
The answers live only as long as the block: nothing is kept between requests.

:class:`RedisCache` is Django's Redis backend keeping its client objects: Django builds a
``redis.Redis`` (and its table of response callbacks) for every call, which cost as much as
the round trip itself; the clients share the backend's connection pools either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

_MISSING = object()
_read: ContextVar[dict | None] = ContextVar("duro_cache_read_together", default=None)


@contextmanager
def read_together(keys: Iterable[str]) -> Iterator[None]:
    """Fetch ``keys`` in one cache round trip; reads of them inside the block use it."""
    keys = list(keys)
    found = cache.get_many(keys)
    token = _read.set({key: found.get(key, _MISSING) for key in keys})
    try:
        yield
    finally:
        _read.reset(token)


def cache_get(key: str):
    """``cache.get(key)``, answered from an enclosing :func:`read_together` when it holds it."""
    held = _read.get()
    if held is not None and key in held:
        value = held[key]
        return None if value is _MISSING else value
    return cache.get(key)


def cache_get_many(keys: Iterable[str]) -> dict:
    """``cache.get_many(keys)``, answered from an enclosing :func:`read_together` when it
    holds every key."""
    keys = list(keys)
    held = _read.get()
    if held is not None and all(key in held for key in keys):
        return {key: held[key] for key in keys if held[key] is not _MISSING}
    return cache.get_many(keys)


class _KeptClients(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = super().get_client(key, write=write)
        return client


class RedisCache(DjangoRedisCache):
    """Django's Redis cache backend, building each Redis client once per process."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _KeptClients

    def incr_many(self, keys: list[str], *, timeout: int) -> None:
        """Add one to each counter, creating a missing one (expiring after ``timeout``
        seconds) at 0 first: one pipelined round trip for them all (the pay's rate
        budgets). Counters are stored as plain integers, as Django's serializer stores
        ints, so ``get`` reads them."""
        client = self._cache.get_client(write=True)
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                key = self.make_and_validate_key(key)
                pipe.set(key, 0, ex=timeout, nx=True)
                pipe.incr(key)
            pipe.execute()
