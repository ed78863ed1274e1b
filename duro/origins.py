"""The sites a merchant lets frame its hosted page (the inline SDK), per mode.

    checkout_origins_validate(["https://shop.example"], mode="live")  # -> the clean list
    checkout_origins(merchant_id="mer_…", mode="test")     # cache hit: no query
    checkout_origins_set(merchant_id="mer_…", mode="live", origins=[…])
    frame_ancestors(origins, mode="test")   # the CSP source list, "'none'" when empty

An origin is exactly ``scheme://host[:port]``: no path, no wildcard, no user, written
the way a browser writes ``event.origin`` (lower case, the scheme's default port left
out) so that the page's handshake can compare it as a string. Live accepts https only;
test accepts http too, and always allows ``http://localhost:*`` and
``http://127.0.0.1:*`` so that a merchant can try the SDK from their machine. Every value
goes into a Content-Security-Policy header, so whatever is not a plain host name, an IPv4
address or a bracketed IPv6 address is refused before it is stored.

The lists live on the merchant's core row; the hosted page reads them from the Django
cache (like the published appearance) so it still costs one query on the token's store.
A change drops the cached value in its transaction and writes the new one after commit.
"""

from __future__ import annotations

import ipaddress
import re

from django.core.cache import cache
from django.db import transaction

from duro.cache import cache_get
from duro.errors import Invalid
from duro.models import Merchant

CACHE_TTL = 24 * 3600
MAX_ORIGINS = 20
TEST_MODE_ORIGINS = ("http://localhost:*", "http://127.0.0.1:*")
DEFAULT_PORTS = {"http": 80, "https": 443}
SCHEMES = {"test": ("https", "http"), "live": ("https",)}
_ORIGIN = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>\[[0-9a-f:.]+\]|[^/:?#\[\]@]+)"
                     r"(?::(?P<port>[0-9]{1,5}))?/?$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _host(host: str) -> str | None:
    if host.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            return None
    if len(host) > 253 or not all(_LABEL.match(label) for label in host.split(".")):
        return None
    return host


def origin_normalize(value: object, *, mode: str) -> str:
    """The origin ``value`` names, as a browser writes it; :class:`Invalid` when it is not
    exactly ``scheme://host[:port]`` with a scheme this mode allows."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid("Give each origin as a string like https://shop.example.")
    text = value.strip().lower()
    if "*" in text:
        raise Invalid(f"Wildcards are not allowed: {value[:100]!r}. List each origin.")
    match = _ORIGIN.match(text)
    host = _host(match["host"]) if match else None
    if match is None or host is None:
        raise Invalid(f"{value[:100]!r} is not an origin: give scheme://host[:port] with no "
                      "path.")
    scheme = match["scheme"]
    if scheme not in SCHEMES[mode]:
        raise Invalid(f"{value[:100]!r}: live mode accepts https origins only."
                      if mode == "live" else f"{value[:100]!r}: use http or https.")
    port = match["port"]
    if port is not None and not 0 < int(port) < 65536:
        raise Invalid(f"{value[:100]!r} has no valid port.")
    if port is None or int(port) == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{int(port)}"


def checkout_origins_validate(values: object, *, mode: str) -> list[str]:
    """The clean list (duplicates dropped, order kept); :class:`Invalid` naming the first
    bad entry."""
    if not isinstance(values, list):
        raise Invalid("allowedOrigins must be a list of origins.",
                      param="checkout.allowedOrigins")
    if len(values) > MAX_ORIGINS:
        raise Invalid(f"At most {MAX_ORIGINS} origins.", param="checkout.allowedOrigins")
    clean: list[str] = []
    for i, value in enumerate(values):
        try:
            origin = origin_normalize(value, mode=mode)
        except Invalid as exc:
            raise Invalid(exc.message, param=f"checkout.allowedOrigins.{i}") from None
        if origin not in clean:
            clean.append(origin)
    return clean


def frame_ancestors(origins: tuple[str, ...] | list[str], *, mode: str) -> str:
    """The CSP ``frame-ancestors`` sources: the merchant's list, plus the loopback hosts in
    test mode; ``'none'`` when nothing may frame the page."""
    sources = [*origins, *(TEST_MODE_ORIGINS if mode == "test" else ())]
    return " ".join(sources) if sources else "'none'"


def cache_key(*, merchant_id: str, mode: str) -> str:
    return f"duro:checkout-origins:{mode}:{merchant_id}"


def _stored(merchant_id: str, mode: str) -> list[str]:
    stored = (Merchant.objects.filter(pk=merchant_id)
              .values_list("checkout_origins", flat=True).first()) or {}
    return list(stored.get(mode) or [])


def checkout_origins(*, merchant_id: str, mode: str, fresh: bool = False) -> tuple[str, ...]:
    """The origins this merchant allows to frame its hosted page in ``mode``."""
    if fresh:
        return tuple(_stored(merchant_id, mode))
    key = cache_key(merchant_id=merchant_id, mode=mode)
    origins = cache_get(key)
    if origins is None:
        origins = _stored(merchant_id, mode)
        cache.add(key, origins, CACHE_TTL)
    return tuple(origins)


def checkout_origins_set(*, merchant_id: str, mode: str, origins: object) -> list[str]:
    """Validate and store ``mode``'s list (the other mode's is untouched); returns it."""
    clean = checkout_origins_validate(origins, mode=mode)
    key = cache_key(merchant_id=merchant_id, mode=mode)
    with transaction.atomic(using="default"):
        merchant = Merchant.objects.select_for_update().get(pk=merchant_id)
        merchant.checkout_origins = {**(merchant.checkout_origins or {}), mode: clean}
        merchant.save(update_fields=["checkout_origins"])
        cache.delete(key)
        transaction.on_commit(lambda: cache.set(key, clean, CACHE_TTL), using="default")
    return clean
