"""Pay rate limits, per token and per client IP, against card testing.

Fixed windows counted in the shared cache (Redis in production), so every
web process sees the same counts.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache


def client_ip(request) -> str:
    if settings.DURO_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


def _hit(bucket: str, limit: int, window: int) -> bool:
    """Count one hit; True while the bucket is within its limit."""
    slot = int(time.time()) // window
    key = "rl:" + hashlib.sha256(f"{bucket}:{slot}".encode()).hexdigest()[:32]
    if cache.add(key, 1, timeout=window + 1):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window + 1)
        return True
    return count <= limit


def pay_allowed(*, token: str, ip: str) -> bool:
    window = settings.DURO_PAY_RATE_WINDOW
    ok_token = _hit(f"pay-token:{token}", settings.DURO_PAY_RATE_PER_TOKEN, window)
    ok_ip = _hit(f"pay-ip:{ip}", settings.DURO_PAY_RATE_PER_IP, window)
    return ok_token and ok_ip
