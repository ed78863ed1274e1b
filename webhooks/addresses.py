"""Where a webhook may go: the SSRF guard for endpoint URLs.

Live endpoints must be ``https`` and every address their host resolves to
must be public (not private, loopback, link-local, multicast, reserved or
unspecified). Test endpoints may be plain ``http`` and may point at the
merchant's own machine (``http://localhost:8000/hooks``). The check runs
when an endpoint is saved and again, after DNS resolution, right before each
send; the sender then connects to the address that was checked, so a DNS
answer cannot change between check and connect.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from duro.errors import Invalid
from duro.modes import LIVE


class UnsafeUrlError(Invalid):
    """The endpoint URL is malformed or points somewhere Duro will not send to."""

    code = "url_invalid"

    def __init__(self, message: str):
        super().__init__(message, param="url")


@dataclass(frozen=True)
class Target:
    """A URL split for sending: scheme, host (for Host/SNI), port, path and the checked IP."""

    scheme: str
    host: str
    port: int
    path: str
    ip: str


def address_is_public(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return not (addr.is_private or addr.is_loopback or addr.is_link_local
                or addr.is_multicast or addr.is_reserved or addr.is_unspecified
                or not addr.is_global)


def url_parse(url: str, *, mode: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrlError("Not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrlError("The URL must start with https:// (or http:// in test mode).")
    if mode == LIVE and scheme != "https":
        raise UnsafeUrlError("Live endpoints must use https://.")
    if not parts.hostname:
        raise UnsafeUrlError("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeUrlError("The URL must not carry credentials.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80), path


def url_resolve(url: str, *, mode: str) -> Target:
    """Resolve the URL's host and return a target whose IP passed the guard."""
    scheme, host, port, path = url_parse(url, mode=mode)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrlError(f"The host {host!r} does not resolve ({exc}).") from None
    ips = [str(info[4][0]) for info in infos]
    if not ips:
        raise UnsafeUrlError(f"The host {host!r} does not resolve.")
    if mode == LIVE:
        blocked = [ip for ip in ips if not address_is_public(ip)]
        if blocked:
            raise UnsafeUrlError(
                f"Live endpoints must resolve to public addresses; {host!r} resolves to "
                f"{blocked[0]} (private, loopback, link-local, multicast or reserved)."
            )
    return Target(scheme=scheme, host=host, port=port, path=path, ip=ips[0])


def url_validate(url: str, *, mode: str) -> None:
    """Save-time check. Test mode checks the syntax only: localhost is fine there."""
    if mode == LIVE:
        url_resolve(url, mode=mode)
    else:
        url_parse(url, mode=mode)
