"""Shared fixtures: every store migrated, merchants with keys, API clients per mode."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from appearance.logos import logo_clean
from appearance.services import store_config_draft_update, store_config_publish
from duro.merchants import merchant_create

# One definition of the browser fixtures for the whole suite: ``chromium`` is
# session-scoped, and two copies (one per package conftest) would start Playwright twice.
pytest_plugins = ["tests.browser"]

ALL_STORES = ["default", "test", "live"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """On PostgreSQL the three aliases share one database, so Django creates and
    migrates it once, for ``default``; migrate the ``test`` and ``live`` schemas too."""
    if settings.USING_POSTGRES:
        with django_db_blocker.unblock():
            for alias in ("test", "live"):
                call_command("migrate", database=alias, verbosity=0, interactive=False)


def pytest_collection_modifyitems(config, items):
    if settings.USING_POSTGRES:  # the SQLite-only variants have a PostgreSQL twin
        deselected = [i for i in items if i.get_closest_marker("sqlite")]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [i for i in items if not i.get_closest_marker("sqlite")]
    for item in items:
        if item.get_closest_marker("postgres") and not settings.USING_POSTGRES:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))
        if item.get_closest_marker("redis") and not settings.CELERY_BROKER_URL.startswith("redis"):
            item.add_marker(pytest.mark.skip(reason="needs Redis (set CELERY_BROKER_URL)"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI every service is there: a skipped test is a failed test."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("DURO_FAIL_ON_SKIP") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped, and skips fail in CI: {reason}"


@pytest.fixture
def make_merchant(db):
    counter = iter(range(1, 10_000))

    def make(name: str | None = None, **kwargs):
        n = next(counter)
        name = name or f"Merchant {n}"
        return merchant_create(name=name, email=kwargs.pop("email", f"owner{n}@example.com"),
                               password=kwargs.pop("password", "correct-horse-battery"), **kwargs)

    return make


@pytest.fixture
def acme(make_merchant):
    return make_merchant("Acme Gym", email="owner@acme.test")


def client_for(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def api(acme) -> APIClient:
    """An API client holding Acme's test secret key."""
    return client_for(acme.keys["test"]["secret"])


@pytest.fixture
def live_api(acme) -> APIClient:
    return client_for(acme.keys["live"]["secret"])


@pytest.fixture
def brand(acme, django_capture_on_commit_callbacks):
    """Save ``changes`` (and optionally a logo) to Acme's draft and publish it."""

    def publish(logo: bytes | None = None, **changes):
        clean = logo_clean(data=logo, name="logo.png") if logo else None
        with django_capture_on_commit_callbacks(execute=True):
            store_config_draft_update(merchant=acme.merchant, changes=changes, logo=clean)
            return store_config_publish(merchant=acme.merchant)

    return publish


@pytest.fixture(autouse=True)
def _local_webhook_receivers(settings):
    """Webhook tests post to receivers on 127.0.0.1, as `./dev up` lets a developer do;
    the SSRF tests turn this off where they check that loopback is refused."""
    settings.DURO_WEBHOOK_ALLOW_LOOPBACK = True


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached config must not leak from one test to the next."""
    from django.core.cache import cache

    cache.clear()
    yield
