"""Fixtures for checkout's end-to-end tests: a real worker and a webhook receiver."""

from tests.webhooks.conftest import receiver  # noqa: F401 - fixture
from tests.worker import worker, worker_factory  # noqa: F401 - fixtures
