"""The test clock completes what it is asked, or says how far it got: never a silent stop."""

from datetime import timedelta

import pytest

import billing.subscriptions as subscriptions
from billing.models import Invoice, Subscription
from billing.rails import RailError, get_rail
from duro.modes import mode_context
from tests.billing.conftest import PAID_AT, subscribe

pytestmark = pytest.mark.django_db(databases="__all__")


def _advance(api, sub, to):
    return api.post(f"/v1/subscriptions/{sub.id}/advance", {"to": to.isoformat()},
                    format="json")


def _state(sub) -> tuple:
    with mode_context("test"):
        row = Subscription.objects.get(pk=sub.pk)
        return row.clock, row.period_index, Invoice.objects.filter(subscription=sub).count()


def test_a_target_beyond_the_limit_is_refused_naming_to_and_nothing_moves(api, merchant):
    sub = subscribe(merchant.id, interval="daily", clock=PAID_AT)
    limit = subscriptions.MAX_CLOCK_RENEWALS
    response = _advance(api, sub, PAID_AT + timedelta(days=limit + 100))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("to", "clock_too_far")
    furthest = (sub.current_period_start + timedelta(days=limit)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert str(limit) in error["message"] and furthest in error["message"]
    assert _state(sub) == (PAID_AT, 0, 1)  # refused before anything ran


def test_any_range_within_the_limit_completes(api, merchant, monkeypatch):
    monkeypatch.setattr(subscriptions, "MAX_CLOCK_RENEWALS", 40)
    sub = subscribe(merchant.id, interval="daily", clock=PAID_AT)
    furthest = sub.current_period_start + timedelta(days=40)
    assert _advance(api, sub, furthest + timedelta(days=1)).status_code == 400
    response = _advance(api, sub, furthest)
    assert response.status_code == 200, response.content
    assert response.json()["data"]["currentPeriodStart"] == furthest.strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert _state(sub) == (furthest, 40, 41)


def test_a_cancelled_subscription_moves_its_clock_any_distance(api, merchant):
    sub = subscribe(merchant.id, clock=PAID_AT)
    api.post(f"/v1/subscriptions/{sub.id}/cancel", {"atPeriodEnd": False}, format="json")
    far = PAID_AT + timedelta(days=365 * 200)
    assert _advance(api, sub, far).status_code == 200
    assert _state(sub)[0] == far


def test_an_interrupted_advance_says_where_it_stopped_and_resumes(api, merchant, monkeypatch):
    sub = subscribe(merchant.id, clock=PAID_AT)
    rail = get_rail("card")
    real = rail.charge_authorization
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) > 2:
            raise RailError("rail_down", "The rail did not answer.")
        return real(**kwargs)

    monkeypatch.setattr(rail, "charge_authorization", flaky)
    to = PAID_AT + timedelta(days=365)
    response = _advance(api, sub, to)
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("to", "clock_interrupted")
    # Two renewals ran; the third (Apr 15 in Lagos) could not: the clock stands there.
    stopped = sub.current_period_start.replace(month=4)
    assert stopped.strftime("%Y-%m-%dT%H:%M:%SZ") in error["message"]
    clock, period_index, _ = _state(sub)
    assert (clock, period_index) == (stopped, 2)
    monkeypatch.setattr(rail, "charge_authorization", real)
    again = _advance(api, sub, to)
    assert again.status_code == 200, again.content
    clock, period_index, invoices = _state(sub)
    assert (clock, period_index, invoices) == (to, 12, 13)


def test_openapi_documents_the_clocks_answers():
    from tests.openapi import openapi

    operation = openapi()["paths"]["/v1/subscriptions/{id}/advance"]["post"]
    assert {"200", "400", "409"} <= set(operation["responses"])
    assert "clock_too_far" in operation["responses"]["400"]["description"]
    assert "clock_interrupted" in operation["responses"]["409"]["description"]
    assert "1,000 renewals" in operation["description"]
