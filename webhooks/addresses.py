"""Where a webhook may go: the SSRF guard for endpoint URLs.

In both modes every address an endpoint's host is or resolves to must be
public: private, link-local, multicast, unspecified and reserved addresses
are refused, and IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4
``2002::/16``, Teredo, NAT64 ``64:ff9b::/96``) are judged by that address,
so ``https://[2002:a9fe:a9fe::]/`` is the metadata service it embeds.
Loopback is allowed in test mode only when the operator turns on
``DURO_WEBHOOK_ALLOW_LOOPBACK`` (on by default with ``DEBUG``, so a local
receiver works under ``./dev up``). Live endpoints must be ``https``; test
ones may be plain ``http``.

The check runs when an endpoint is saved (live: after DNS; test: the address
or ``localhost`` as written, since a sandbox may be offline) and again,
after DNS resolution, right before each send in both modes; the sender then
connects to the address that was checked, so a DNS answer cannot change
between check and connect.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from duro.errors import Invalid
from duro.modes import LIVE

NAT64 = ipaddress.ip_network("64:ff9b::/96")
LOOPBACK_NAMES = ("localhost", "localhost.localdomain")


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


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, if it is a form that carries one."""
    if addr.ipv4_mapped:
        return [addr.ipv4_mapped]
    if addr.sixtofour:
        return [addr.sixtofour]
    if addr.teredo:
        return list(addr.teredo)
    if addr in NAT64:
        return [ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)]
    return []


def _addresses(ip: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(addr)):
        return list(embedded)
    return [addr]


def _is_public(addr) -> bool:
    return not (addr.is_private or addr.is_loopback or addr.is_link_local
                or addr.is_multicast or addr.is_reserved or addr.is_unspecified
                or not addr.is_global)


def address_is_public(ip: str) -> bool:
    """True when the address (and any IPv4 address it embeds) is on the public internet."""
    return all(_is_public(addr) for addr in _addresses(ip))


def address_allowed(ip: str, *, mode: str) -> bool:
    """Public, or loopback in test mode when the operator allows it."""
    if address_is_public(ip):
        return True
    loopback = all(addr.is_loopback for addr in _addresses(ip))
    return loopback and mode != LIVE and settings.DURO_WEBHOOK_ALLOW_LOOPBACK


def _refuse(host: str, ip: str, mode: str) -> UnsafeUrlError:
    loopback_hint = ("" if mode == LIVE else
                     " Loopback is allowed in test mode only when the operator sets "
                     "DURO_WEBHOOK_ALLOW_LOOPBACK.")
    return UnsafeUrlError(
        f"Endpoints must resolve to public addresses; {host!r} resolves to {ip} (private, "
        f"loopback, link-local, multicast, unspecified or reserved).{loopback_hint}")


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
    blocked = [ip for ip in ips if not address_allowed(ip, mode=mode)]
    if blocked:
        raise _refuse(host, blocked[0], mode)
    return Target(scheme=scheme, host=host, port=port, path=path, ip=ips[0])


def url_validate(url: str, *, mode: str) -> None:
    """Save-time check. Live resolves the host; test mode judges an address or ``localhost``
    as written (a sandbox may have no DNS) and leaves names to the send-time check."""
    if mode == LIVE:
        url_resolve(url, mode=mode)
        return
    _, host, _, _ = url_parse(url, mode=mode)
    if host.lower().rstrip(".") in LOOPBACK_NAMES:
        ip = "127.0.0.1"
    else:
        try:
            ip = str(ipaddress.ip_address(host.split("%", 1)[0]))
        except ValueError:
            return  # a name: checked after DNS at every send
    if not address_allowed(ip, mode=mode):
        raise _refuse(host, ip, mode)
