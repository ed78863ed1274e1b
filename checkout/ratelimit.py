"""Pay rate limits against card testing that never lock out honest customers.

Three budgets per window (``DURO_PAY_RATE_WINDOW`` seconds), counted in the
shared cache (Redis in production) so every web process sees the same counts:

- per **card fingerprint** (``DURO_PAY_RATE_PER_CARD``): one card tried on
  many sessions, from many addresses — the shape of card testing;
- per **checkout token** (``DURO_PAY_RATE_PER_TOKEN``): many cards tried on
  one session;
- per **client IP** (``DURO_PAY_RATE_PER_IP``), a high ceiling only: Nigerian
  mobile networks put thousands of customers behind one carrier-grade-NAT
  address.

A pay is checked against every budget before it starts, and spends from them
only once it reaches the rail: a pay refused by validation (an empty form, a
mistyped card) costs nothing. A refusal says how long to wait.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache, caches

from billing.rails.cards import card_digits, card_fingerprint
from duro.cache import RedisCache

Budget = tuple[str, int]  # (bucket, limit)


def client_ip(request) -> str:
    if settings.DURO_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


def _key(bucket: str, window: int, now: float) -> str:
    slot = int(now) // window
    return "rl:" + hashlib.sha256(f"{bucket}:{slot}".encode()).hexdigest()[:32]


def pay_budgets(*, token: str, ip: str, card: dict | None) -> list[Budget]:
    budgets = [(f"pay-token:{token}", settings.DURO_PAY_RATE_PER_TOKEN),
               (f"pay-ip:{ip}", settings.DURO_PAY_RATE_PER_IP)]
    number = str((card or {}).get("number") or "")
    if card_digits(number):
        fingerprint = card_fingerprint(number, key=settings.DURO_CARD_FINGERPRINT_KEY)
        budgets.append((f"pay-card:{fingerprint}", settings.DURO_PAY_RATE_PER_CARD))
    return budgets


def pay_wait(budgets: list[Budget], *, now: float | None = None) -> int:
    """Seconds until every budget has room again; 0 when the pay may go ahead."""
    window = settings.DURO_PAY_RATE_WINDOW
    now = time.time() if now is None else now
    keys = {bucket: _key(bucket, window, now) for bucket, _ in budgets}
    spent = cache.get_many(list(keys.values()))  # one round trip for every budget
    for bucket, limit in budgets:
        if (spent.get(keys[bucket]) or 0) >= limit:
            return max(1, window - int(now) % window)
    return 0


def pay_spend(budgets: list[Budget], *, now: float | None = None) -> None:
    """Count one pay that reached the rail against every budget."""
    window = settings.DURO_PAY_RATE_WINDOW
    now = time.time() if now is None else now
    keys = [_key(bucket, window, now) for bucket, _ in budgets]
    if isinstance(caches["default"], RedisCache):  # every budget in one round trip
        caches["default"].incr_many(keys, timeout=window + 1)
        return
    for key in keys:
        _count(key, timeout=window + 1)


def _count(key: str, *, timeout: int) -> None:
    if cache.add(key, 1, timeout=timeout):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)


def step_lookup_allowed(subject: str, *, now: float | None = None) -> bool:
    """Whether a payer back from the bank's 3-D Secure page (``subject``: the session or
    the invoice) may make Duro ask the processor now: ``DURO_STEP_LOOKUPS_PER_MINUTE``
    asks a minute, so reloading the return URL, or a script hitting it, never becomes a
    stream of processor calls on the merchant's key, while a payer who came back early
    and then again after approving is still asked for. A refused ask still shows the page
    from Duro's own state; the recovery sweep asks the processor later anyway."""
    key = _key(f"step-lookup:{subject}", 60, time.time() if now is None else now)
    if (cache.get(key) or 0) >= settings.DURO_STEP_LOOKUPS_PER_MINUTE:
        return False
    _count(key, timeout=61)
    return True


def identity_ask_wait(token: str, *, now: float | None = None) -> int:
    """Seconds before this checkout session may ask for another "Use a saved card" code
    (``DURO_IDENTITY_ASKS_PER_TOKEN`` an hour, whatever the emails); 0 counts this ask.
    It caps the emails one session can send and the rows it can write; the answer is the
    same for known and unknown emails, so it tells nothing about them."""
    return _hourly_wait(f"identity-ask:{token}", settings.DURO_IDENTITY_ASKS_PER_TOKEN, now)


def coupon_try_wait(token: str, *, now: float | None = None) -> int:
    """Seconds before this checkout session may try another promo code (the page's Apply,
    or a pay naming a code): ``DURO_COUPON_TRIES_PER_TOKEN`` an hour, so that a session is
    no oracle for guessing a merchant's codes; 0 counts this try."""
    return _hourly_wait(f"coupon-try:{token}", settings.DURO_COUPON_TRIES_PER_TOKEN, now)


def _hourly_wait(bucket: str, limit: int, now: float | None) -> int:
    """Seconds until ``bucket`` may be used again (``limit`` uses in the current clock
    hour); 0 counts this use."""
    now = time.time() if now is None else now
    key = _key(bucket, 3600, now)
    if (cache.get(key) or 0) >= limit:
        return max(1, 3600 - int(now) % 3600)
    _count(key, timeout=3601)
    return 0
