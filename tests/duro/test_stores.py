"""The router keeps each mode's rows in its own store, and refuses to guess."""

import pytest
from django.db import connections

from billing.models import Plan
from duro.merchants import merchant_create
from duro.models import Merchant
from duro.modes import NoModeError, mode_context

pytestmark = pytest.mark.django_db(databases="__all__")


def _plan(merchant_id: str, name: str) -> Plan:
    return Plan.objects.create(merchant_id=merchant_id, name=name, amount=1_500_000,
                               interval="monthly")


def test_mode_scoped_query_without_mode_raises():
    with pytest.raises(NoModeError, match="No mode is set"):
        Plan.objects.count()
    with pytest.raises(NoModeError):
        Plan(merchant_id="mer_x", name="x", amount=1, interval="daily").save()


def test_each_mode_reads_only_its_own_rows():
    with mode_context("test"):
        _plan("mer_a", "test plan")
    with mode_context("live"):
        assert not Plan.objects.filter(name="test plan").exists()
        _plan("mer_a", "live plan")
    with mode_context("test"):
        assert list(Plan.objects.values_list("name", flat=True)) == ["test plan"]


def test_core_models_are_in_default_whatever_the_mode():
    with mode_context("live"):
        created = merchant_create(name="Core Co", email="core@example.com")
        assert Merchant.objects.db_manager().get(pk=created.merchant.pk)._state.db == "default"


def _tables(alias: str) -> set[str]:
    return set(connections[alias].introspection.table_names())


def test_each_store_holds_only_its_own_tables():
    core, test, live = _tables("default"), _tables("test"), _tables("live")
    assert {"duro_merchant", "duro_apikey", "auth_user"} <= core
    assert not {"billing_plan", "checkout_checkoutsession", "webhooks_event"} & core
    for store in (test, live):
        assert {"billing_plan", "checkout_checkoutsession", "webhooks_event"} <= store
        assert not {"duro_merchant", "auth_user", "django_session"} & store


@pytest.mark.postgres
def test_postgres_rows_land_in_their_schema():
    with mode_context("test"):
        plan = _plan("mer_schema", "in test schema")
    merchant = merchant_create(name="Schema Co", email="schema@example.com").merchant

    with connections["test"].cursor() as cursor:
        cursor.execute('SELECT count(*) FROM "test"."billing_plan" WHERE id = %s', [plan.id])
        assert cursor.fetchone()[0] == 1
        cursor.execute("SHOW search_path")
        assert cursor.fetchone()[0] == "test"
    with connections["live"].cursor() as cursor:
        cursor.execute('SELECT count(*) FROM "live"."billing_plan" WHERE id = %s', [plan.id])
        assert cursor.fetchone()[0] == 0
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'core' AND table_name = 'billing_plan'"
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute('SELECT count(*) FROM "core"."duro_merchant" WHERE id = %s', [merchant.id])
        assert cursor.fetchone()[0] == 1
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema IN ('test', 'live') AND table_name = 'duro_merchant'"
        )
        assert cursor.fetchone()[0] == 0
