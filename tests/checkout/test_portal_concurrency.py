"""The portal link's single use holds under a race (PostgreSQL): of several browsers opening
the same URL at once, exactly one gets a portal session."""

import threading

import pytest
from django.db import connections
from django.test import Client

from tests.billing.conftest import subscribe
from tests.checkout.test_portal import portal_link

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, databases="__all__")]


def test_one_of_several_simultaneous_opens_wins(api, acme):
    sub = subscribe(acme.merchant.id)
    path = "/portal/" + portal_link(api, sub.customer_id).json()["data"]["url"].rsplit("/", 1)[1]
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def open_it():
        try:
            barrier.wait()
            statuses.append(Client().get(path).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [303, 410, 410, 410]
