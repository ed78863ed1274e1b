"""The SSRF guard: live endpoints are https to public addresses, at save and at send time."""

import socket

import pytest

from duro.modes import mode_context
from tests.webhooks.factories import endpoint_make, pay_emit
from webhooks.addresses import UnsafeUrlError, address_is_public, url_resolve, url_validate
from webhooks.delivery import delivery_attempt
from webhooks.models import Delivery

REAL_GETADDRINFO = socket.getaddrinfo


def fake_dns(mapping):
    def getaddrinfo(host, port, *args, **kwargs):
        if host in mapping:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (mapping[host], port))]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)
    return getaddrinfo


@pytest.mark.parametrize("url", [
    "http://example.com/hooks",          # not https
    "https://127.0.0.1/hooks",           # loopback
    "https://10.0.0.1/hooks",            # private
    "https://169.254.169.254/latest",    # link-local (cloud metadata)
    "https://[::1]/hooks",               # loopback v6
    "https://224.0.0.1/x",               # multicast
    "https://0.0.0.0/x",                 # unspecified
    "https://localhost/hooks",           # a name that resolves to loopback
    "https://user:pw@93.184.215.14/x",   # credentials in the URL
])
def test_live_refuses(url):
    with pytest.raises(UnsafeUrlError):
        url_validate(url, mode="live")


def test_live_refuses_a_hostname_resolving_to_a_private_address(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns({"hooks.evil.example": "192.168.1.5"}))
    with pytest.raises(UnsafeUrlError, match=r"192\.168\.1\.5"):
        url_validate("https://hooks.evil.example/x", mode="live")


def test_live_accepts_public_https(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns({"hooks.shop.example": "93.184.215.14"}))
    target = url_resolve("https://hooks.shop.example:8443/in?x=1", mode="live")
    assert (target.host, target.port, target.path, target.ip) == (
        "hooks.shop.example", 8443, "/in?x=1", "93.184.215.14")


def test_test_mode_allows_http_and_loopback_when_the_operator_allows_it(settings):
    settings.DURO_WEBHOOK_ALLOW_LOOPBACK = True
    for url in ("http://localhost:8000/hooks", "http://127.0.0.1:9000/x", "http://[::1]:9/x"):
        url_validate(url, mode="test")
    with pytest.raises(UnsafeUrlError):
        url_validate("ftp://localhost/x", mode="test")


def test_loopback_is_refused_in_test_mode_unless_the_operator_allows_it(settings):
    settings.DURO_WEBHOOK_ALLOW_LOOPBACK = False
    for url in ("http://127.0.0.1:6379/", "http://localhost:8000/hooks", "http://[::1]/x"):
        with pytest.raises(UnsafeUrlError):
            url_validate(url, mode="test")


def test_loopback_is_never_allowed_in_live_mode(settings):
    settings.DURO_WEBHOOK_ALLOW_LOOPBACK = True
    with pytest.raises(UnsafeUrlError):
        url_validate("https://127.0.0.1/x", mode="live")


@pytest.mark.parametrize("mode", ["test", "live"])
@pytest.mark.parametrize("host", [
    "169.254.169.254", "10.1.2.3", "192.168.1.1", "[fe80::1]", "0.0.0.0", "224.0.0.1",
    "240.0.0.1", "100.64.0.1", "[fc00::1]", "[::]",
    "[::ffff:169.254.169.254]",         # IPv4-mapped
    "[2002:a9fe:a9fe::]",               # 6to4 of 169.254.169.254
    "[64:ff9b::a9fe:a9fe]",             # NAT64 of 169.254.169.254
    "[2001:0:4136:e378:8000:63bf:f5fe:fffe]",  # Teredo, client 10.1.0.1
])
def test_private_and_reserved_addresses_are_refused_in_both_modes(settings, mode, host):
    settings.DURO_WEBHOOK_ALLOW_LOOPBACK = True
    with pytest.raises(UnsafeUrlError):
        url_validate(f"https://{host}/x", mode=mode)


def test_addresses_embedding_a_public_ipv4_are_judged_by_it():
    assert address_is_public("2002:5db8:d70e::")        # 6to4 of 93.184.215.14
    assert address_is_public("64:ff9b::5db8:d70e")      # NAT64 of 93.184.215.14
    assert not address_is_public("::ffff:10.0.0.1")


@pytest.mark.django_db(databases="__all__")
def test_send_time_recheck_refuses_a_test_name_that_resolves_privately(acme, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns({"hooks.shop.example": "10.0.0.7"}))
    endpoint_make(acme.merchant.id, "http://hooks.shop.example/in")
    pay_emit(acme.merchant.id)
    with mode_context("test"):
        d = delivery_attempt(delivery_id=Delivery.objects.first().pk)
        attempt = d.attempts.get()
    assert attempt.status_code is None and "10.0.0.7" in attempt.error


def test_address_classes():
    assert address_is_public("93.184.215.14") and address_is_public("2606:4700::1111")
    for ip in ("127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.0.1", "169.254.1.1",
               "100.64.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "240.0.0.1"):
        assert not address_is_public(ip), ip


@pytest.mark.django_db(databases="__all__")
def test_send_time_recheck_blocks_a_name_that_now_resolves_privately(acme, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns({"hooks.shop.example": "93.184.215.14"}))
    endpoint_make(acme.merchant.id, "https://hooks.shop.example/in", mode="live")
    pay_emit(acme.merchant.id, mode="live")
    # DNS rebinding: the name now points at the metadata service.
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns({"hooks.shop.example": "169.254.169.254"}))
    with mode_context("live"):
        delivery = Delivery.objects.first()
        d = delivery_attempt(delivery_id=delivery.pk)
        attempt = d.attempts.get()
    assert d.status == "pending" and attempt.status_code is None
    assert "public addresses" in attempt.error
