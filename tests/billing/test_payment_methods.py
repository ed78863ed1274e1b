"""A merchant's rail switches: per mode, every rail on by default, a currency never left with
no way to pay, and a cache that hydrate and the page read with no query, kept right on every
change, in every process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.cache import cache
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from billing.models import RailSettings
from billing.payment_methods import payment_methods, payment_methods_set
from billing.rails import REGISTRY, PaymentRail, enabled_rails, offered_rails
from billing.rails import switches as switches_module
from billing.rails.switches import cache_key, rails_switched_off
from duro.errors import Invalid
from duro.modes import mode_context
from tests.worker import ROOT, worker_env

pytestmark = pytest.mark.django_db(databases="__all__")


def ids(rails) -> list[str]:
    return [r.identifier for r in rails]


def test_every_rail_duro_offers_is_on_until_switched_off(merchant):
    for mode in ("test", "live"):
        for currency in ("NGN", "GHS", "KES", "ZAR", "USD"):
            assert ids(enabled_rails(merchant_id=merchant.id, currency=currency, mode=mode)) == \
                ids(offered_rails(currency=currency, mode=mode))
    methods = payment_methods(merchant_id=merchant.id, mode="test")
    assert [m.rail.identifier for m in methods] == list(REGISTRY)  # new rails list themselves
    card = next(m for m in methods if m.rail.identifier == "card")
    transfer = next(m for m in methods if m.rail.identifier == "bank_transfer")
    assert card.on and card.currencies == ["NGN", "GHS", "KES", "ZAR", "USD"]
    assert transfer.on and transfer.currencies == ["NGN"]


class ProbeRail(PaymentRail):
    """A rail another branch might add (USSD, mobile money): naira only."""

    identifier = "probe"
    label = "Probe"
    currencies = ("NGN",)


def test_a_rail_registered_later_is_listed_and_on_by_itself(merchant, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(using="test", execute=True):
        payment_methods_set(merchant_id=merchant.id, mode="test", switched_off={"bank_transfer"})
    monkeypatch.setitem(REGISTRY, "probe", ProbeRail())
    [probe] = [m for m in payment_methods(merchant_id=merchant.id, mode="test")
               if m.rail.identifier == "probe"]
    assert probe.on and probe.currencies == ["NGN"]
    naira = ids(enabled_rails(merchant_id=merchant.id, currency="NGN", mode="test"))
    assert "probe" in naira and "bank_transfer" not in naira
    assert "probe" not in ids(enabled_rails(merchant_id=merchant.id, currency="GHS", mode="test"))


def test_a_switched_off_rail_leaves_only_its_mode(merchant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(using="live", execute=True):
        payment_methods_set(merchant_id=merchant.id, mode="live", switched_off={"bank_transfer"})
    assert ids(enabled_rails(merchant_id=merchant.id, currency="NGN", mode="live")) == [
        r for r in ids(offered_rails(currency="NGN", mode="live")) if r != "bank_transfer"]
    assert "bank_transfer" in ids(enabled_rails(merchant_id=merchant.id, currency="NGN",
                                                mode="test"))
    with mode_context("live"):
        assert RailSettings.objects.get(pk=merchant.id).switched_off == ["bank_transfer"]
    with mode_context("test"):
        assert not RailSettings.objects.exists()
    [live_transfer] = [m for m in payment_methods(merchant_id=merchant.id, mode="live")
                       if m.rail.identifier == "bank_transfer"]
    assert not live_transfer.on

    with django_capture_on_commit_callbacks(using="live", execute=True):
        payment_methods_set(merchant_id=merchant.id, mode="live", switched_off=[])
    assert "bank_transfer" in ids(enabled_rails(merchant_id=merchant.id, currency="NGN",
                                                mode="live"))


def test_a_currency_is_never_left_without_a_rail(merchant):
    with pytest.raises(Invalid) as refused:
        payment_methods_set(merchant_id=merchant.id, mode="test", switched_off={"card"})
    assert refused.value.code == "rail_required" and refused.value.param == "switched_off"
    # card is the only rail for ZAR and USD
    assert "ZAR" in refused.value.message and "USD" in refused.value.message
    assert "keep at least one payment method on" in refused.value.message
    with pytest.raises(Invalid) as unknown:
        payment_methods_set(merchant_id=merchant.id, mode="test", switched_off={"cheque"})
    assert unknown.value.code == "unknown_rail"
    with mode_context("test"):
        assert not RailSettings.objects.exists()
    assert "card" in ids(enabled_rails(merchant_id=merchant.id, currency="USD", mode="test"))


def test_a_warm_read_costs_no_query_and_a_cold_one_a_single_query_on_its_store(merchant):
    with CaptureQueriesContext(connections["test"]) as cold:
        assert rails_switched_off(merchant_id=merchant.id, mode="test") == frozenset()
    assert len(cold.captured_queries) == 1  # "nothing switched off" is cached too
    with CaptureQueriesContext(connections["test"]) as warm, \
            CaptureQueriesContext(connections["live"]) as live, \
            CaptureQueriesContext(connections["default"]) as core:
        for _ in range(3):
            rails_switched_off(merchant_id=merchant.id, mode="test")
    assert (len(warm.captured_queries), len(live.captured_queries),
            len(core.captured_queries)) == (0, 0, 0)


def test_a_change_replaces_the_cached_value_after_commit(merchant,
                                                        django_capture_on_commit_callbacks):
    rails_switched_off(merchant_id=merchant.id, mode="test")  # warm: nothing off
    with django_capture_on_commit_callbacks(using="test", execute=True):
        payment_methods_set(merchant_id=merchant.id, mode="test", switched_off={"bank_transfer"})
    assert cache.get(cache_key(merchant_id=merchant.id, mode="test")) == ["bank_transfer"]
    with CaptureQueriesContext(connections["test"]) as queries:
        assert rails_switched_off(merchant_id=merchant.id, mode="test") == {"bank_transfer"}
    assert queries.captured_queries == []  # written, not just dropped: still no query


def test_a_change_rolled_back_leaves_the_old_switches_served(merchant):
    rails_switched_off(merchant_id=merchant.id, mode="test")
    with pytest.raises(RuntimeError), mode_context("test"), transaction.atomic(using="test"):
        payment_methods_set(merchant_id=merchant.id, mode="test", switched_off={"bank_transfer"})
        raise RuntimeError("the request failed after the write")
    assert rails_switched_off(merchant_id=merchant.id, mode="test") == frozenset()
    assert "bank_transfer" in ids(enabled_rails(merchant_id=merchant.id, currency="NGN",
                                                mode="test"))


def test_a_stale_fill_racing_a_change_never_outlives_it(merchant, monkeypatch,
                                                        django_capture_on_commit_callbacks):
    key = cache_key(merchant_id=merchant.id, mode="test")
    # A reader fills the cache between the change's drop and its commit (it read the old row)…
    with django_capture_on_commit_callbacks(using="test", execute=True), mode_context("test"), \
            transaction.atomic(using="test"):
        payment_methods_set(merchant_id=merchant.id, mode="test", switched_off={"bank_transfer"})
        cache.add(key, [])
    assert rails_switched_off(merchant_id=merchant.id, mode="test") == {"bank_transfer"}

    # …or a reader read the old row, and the change committed and cached before it filled.
    real = switches_module._stored

    def read_then_lose_the_race(merchant_id, mode):
        old = real(merchant_id, mode)
        cache.set(key, ["bank_transfer", "card"], 60)  # the newer value, written meanwhile
        return old

    cache.delete(key)
    monkeypatch.setattr(switches_module, "_stored", read_then_lose_the_race)
    rails_switched_off(merchant_id=merchant.id, mode="test")
    assert cache.get(key) == ["bank_transfer", "card"]


def test_the_pay_reads_the_switches_from_the_database(merchant):
    with mode_context("test"):
        RailSettings.objects.create(merchant_id=merchant.id, switched_off=["bank_transfer"])
    cache.set(cache_key(merchant_id=merchant.id, mode="test"), [], 60)  # a stale cache
    assert "bank_transfer" not in ids(enabled_rails(merchant_id=merchant.id, currency="NGN",
                                                    mode="test", fresh=True))


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_another_process_sees_a_change_at_once_without_a_query(merchant):
    """The dashboard and the page run in different processes: the change must reach the
    shared cache (a per-process cache would leave the other process serving the old
    switches until it expires)."""
    rails_switched_off(merchant_id=merchant.id, mode="test")  # warm, here and there: nothing off
    payment_methods_set(merchant_id=merchant.id, mode="test", switched_off={"bank_transfer"})
    script = (
        "import django, json; django.setup()\n"
        "from django.db import connections\n"
        "from django.test.utils import CaptureQueriesContext\n"
        "from billing.rails import enabled_rails\n"
        "with CaptureQueriesContext(connections['test']) as q:\n"
        f"    rails = enabled_rails(merchant_id={merchant.id!r}, currency='NGN', mode='test')\n"
        "print(json.dumps([[r.identifier for r in rails], len(q.captured_queries)]))\n"
    )
    env = worker_env({"DJANGO_SETTINGS_MODULE": "duro.settings"})
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    expected = [r for r in ids(offered_rails(currency="NGN", mode="test")) if r != "bank_transfer"]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [expected, 0]
