"""Fixtures of the processor tests: the stand-ins, a webhook receiver, clients, and the
real Celery worker."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from billing.processors.connections import processor_connect
from billing.processors.flutterwave import Flutterwave
from billing.processors.paystack import Paystack
from tests.standins.flutterwave import flutterwave_standin_fixture  # noqa: F401 - fixture
from tests.standins.paystack import paystack_standin_fixture  # noqa: F401 - fixture
from tests.webhooks.conftest import receiver  # noqa: F401 - fixture
from tests.worker import worker_factory  # noqa: F401 - fixture


@pytest.fixture
def paystack(paystack_standin) -> Paystack:
    """A client of the stand-in holding the merchant's secret; a short time-out."""
    return Paystack(paystack_standin.secret_key, base_url=paystack_standin.url, timeout=2.0)


@pytest.fixture
def flutterwave(flutterwave_standin) -> Flutterwave:
    """A client of the stand-in holding the merchant's secret and encryption key."""
    return Flutterwave(flutterwave_standin.secret_key, base_url=flutterwave_standin.url,
                       timeout=2.0, encryption_key=flutterwave_standin.encryption_key)


@pytest.fixture(name="connected_paystack")
def connected_paystack_fixture(acme, paystack_standin, settings):
    """Acme's live mode connected to the Paystack stand-in (its charges are the test's)."""
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.DURO_PAYSTACK_BASE_URL = paystack_standin.url
    settings.DURO_PROCESSOR_TIMEOUT = 2.0
    processor_connect(merchant_id=acme.merchant.id, processor="paystack",
                      secret=paystack_standin.secret_key, by="owner@acme.test")
    return paystack_standin
