"""Fixtures of the webhooks tests: a real HTTP receiver and the Celery worker fixtures."""

from __future__ import annotations

import pytest

from tests.webhooks.receiver import Receiver
from tests.worker import worker, worker_factory  # noqa: F401 - fixtures


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def keepalive_receiver():
    r = Receiver(keep_alive=True)
    yield r
    r.close()
