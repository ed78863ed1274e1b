"""Pause and resume (API.md §13): nothing is charged or dunned while paused; a resume, by
call or at ``resumesAt``, starts a new period at once and charges it exactly once."""

from datetime import UTC, datetime, timedelta

import pytest

from billing.cycle import local_date, local_midnight
from billing.models import Invoice, PaymentAttempt, SandboxCharge, Subscription
from billing.pauses import subscription_pause
from billing.renewals import renewals_run
from billing.schedule import next_attempt_for
from billing.subscriptions import subscription_resume
from duro.errors import Conflict
from duro.modes import mode_context
from tests.billing.conftest import PAID_AT, event_types, subscribe
from webhooks.models import Event

pytestmark = pytest.mark.django_db(databases="__all__")

LAGOS = "Africa/Lagos"
RENEWAL = datetime(2025, 2, 14, 23, 0, tzinfo=UTC)  # Feb 15 00:00 in Lagos
DAY = timedelta(days=1)


def reload(sub: Subscription) -> Subscription:
    with mode_context("test"):
        return Subscription.objects.get(pk=sub.pk)


def invoices(sub: Subscription) -> list[Invoice]:
    with mode_context("test"):
        return list(Invoice.objects.filter(subscription=sub).order_by("number"))


def charges(sub: Subscription) -> int:
    with mode_context("test"):
        keys = PaymentAttempt.objects.filter(invoice__subscription=sub).values("idempotency_key")
        return SandboxCharge.objects.filter(pk__in=keys).count()


def pause(sub: Subscription, now: datetime, resumes_at: datetime | None = None) -> Subscription:
    with mode_context("test"):
        return subscription_pause(merchant_id=sub.merchant_id, subscription_id=sub.pk,
                                  resumes_at=resumes_at, now=now)


def run(now: datetime):
    with mode_context("test"):
        return renewals_run(now=now)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def lagos_midnight(moment: datetime) -> datetime:
    return local_midnight(local_date(moment, LAGOS), LAGOS)


# --- while paused ---------------------------------------------------------------------

def test_while_paused_renewal_time_passes_with_no_charge_no_dunning_no_invoice(merchant):
    sub = subscribe(merchant.id)
    paused = pause(sub, PAID_AT + 5 * DAY)
    assert paused.status == "paused" and paused.paused_at == PAID_AT + 5 * DAY
    assert paused.next_attempt_at is None and paused.resumes_at is None
    for now in (RENEWAL, RENEWAL + DAY, RENEWAL + 90 * DAY):
        assert run(now).claimed == 0
    sub = reload(sub)
    assert sub.status == "paused" and sub.dunning_attempts == 0
    assert len(invoices(sub)) == 1 and charges(sub) == 0
    assert event_types(merchant.id) == ["subscription_paused"]
    # The schedule has nothing for a paused subscription either (billing/schedule.py).
    assert next_attempt_for(status="paused", current_period_end=RENEWAL, trial_end=None,
                            trial_will_end_sent=False) is None


def test_pausing_a_past_due_subscription_voids_its_open_invoice_and_stops_its_retries(merchant):
    sub = subscribe(merchant.id, authorization="sbx_fail_0341")
    run(RENEWAL)
    assert reload(sub).status == "past_due" and charges(sub) == 1
    paused = pause(sub, RENEWAL + DAY / 2)
    assert paused.dunning_attempts == 0 and paused.next_attempt_at is None
    for days in (1, 3, 5, 30):
        assert run(RENEWAL + days * DAY).claimed == 0
    assert [i.status for i in invoices(sub)] == ["paid", "void"]
    assert charges(sub) == 1 and reload(sub).status == "paused"  # not cancelled by dunning
    assert event_types(merchant.id) == ["subscription_payment_failed", "subscription_paused"]


def test_a_paused_subscription_with_a_date_says_so_in_its_payload(api, merchant):
    sub = subscribe(merchant.id, clock=PAID_AT + DAY)
    resumes = PAID_AT + 40 * DAY
    response = api.post(f"/v1/subscriptions/{sub.id}/pause", {"resumesAt": resumes.isoformat()},
                        format="json")
    assert response.status_code == 200, response.content
    data = api.get(f"/v1/subscriptions/{sub.id}").json()["data"]
    assert data["status"] == "paused"
    assert (data["pausedAt"], data["resumesAt"]) == (iso(PAID_AT + DAY), iso(resumes))
    assert data["nextPaymentAt"] == iso(resumes)  # a resume charges at once
    listed = api.get("/v1/subscriptions?status=paused").json()["data"]
    assert [s["id"] for s in listed] == [sub.id]
    with mode_context("test"):
        event = Event.objects.get(type="subscription_paused")
    assert event.data["subscription"]["status"] == "paused"
    assert event.data["subscription"]["resumesAt"] == iso(resumes)


# --- resuming -------------------------------------------------------------------------

def test_resume_by_call_starts_a_new_period_at_the_resume_and_charges_it_once(api, merchant):
    sub = subscribe(merchant.id, clock=PAID_AT + 5 * DAY)
    assert api.post(f"/v1/subscriptions/{sub.id}/pause", {}, format="json").status_code == 200
    resume_at = RENEWAL + 20 * DAY  # Mar 7, 00:00 in Lagos: long after the old renewal
    advanced = api.post(f"/v1/subscriptions/{sub.id}/advance", {"to": resume_at.isoformat()},
                        format="json")
    assert advanced.status_code == 200, advanced.content
    assert len(invoices(sub)) == 1 and charges(sub) == 0
    later = resume_at + timedelta(hours=15)  # Mar 7, 15:00 in Lagos
    api.post(f"/v1/subscriptions/{sub.id}/advance", {"to": later.isoformat()}, format="json")

    response = api.post(f"/v1/subscriptions/{sub.id}/resume")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    start = lagos_midnight(later)  # a new billing day, as a first pay would set
    assert data["status"] == "active" and data["pausedAt"] is None and data["resumesAt"] is None
    assert data["currentPeriodStart"] == iso(start)
    assert local_date(datetime.fromisoformat(data["currentPeriodEnd"]), LAGOS).isoformat() == (
        "2025-04-07")
    _, second = invoices(sub)
    assert second.status == "paid" and second.amount == 1_500_000
    assert second.period_start == start and charges(sub) == 1
    assert event_types(merchant.id) == ["subscription_paused", "subscription_resumed",
                                        "subscription_payment_success"]
    # Asked again, or the clock moved within the new period: nothing more is charged.
    assert api.post(f"/v1/subscriptions/{sub.id}/resume").status_code == 409
    api.post(f"/v1/subscriptions/{sub.id}/advance",
             {"to": (later + 20 * DAY).isoformat()}, format="json")
    assert charges(sub) == 1 and len(invoices(sub)) == 2
    # The next renewal falls on the new billing day.
    api.post(f"/v1/subscriptions/{sub.id}/advance",
             {"to": (later + 32 * DAY).isoformat()}, format="json")
    assert local_date(invoices(sub)[-1].period_start, LAGOS).isoformat() == "2025-04-07"
    assert charges(sub) == 2


def test_the_test_clock_resumes_at_resumes_at_and_charges_once(api, merchant):
    sub = subscribe(merchant.id, clock=PAID_AT + DAY)
    resumes = RENEWAL + 10 * DAY + timedelta(hours=9)  # Feb 25, 10:00 in Lagos
    api.post(f"/v1/subscriptions/{sub.id}/pause", {"resumesAt": resumes.isoformat()},
             format="json")
    response = api.post(f"/v1/subscriptions/{sub.id}/advance",
                        {"to": (resumes + 40 * DAY).isoformat()}, format="json")
    assert response.status_code == 200, response.content
    days = [local_date(i.period_start, LAGOS).isoformat() for i in invoices(sub)]
    assert days == ["2025-01-15", "2025-02-25", "2025-03-25"]
    assert [i.status for i in invoices(sub)] == ["paid", "paid", "paid"] and charges(sub) == 2
    assert event_types(merchant.id) == ["subscription_paused", "subscription_resumed",
                                        "subscription_payment_success",
                                        "subscription_payment_success"]
    with mode_context("test"):
        resumed = Event.objects.get(type="subscription_resumed")
    assert resumed.data["subscription"]["status"] == "active"


def test_the_engine_resumes_at_resumes_at_without_a_clock(merchant):
    sub = subscribe(merchant.id)
    resumes = RENEWAL + 3 * DAY
    pause(sub, PAID_AT + 2 * DAY, resumes_at=resumes)
    assert run(resumes - timedelta(seconds=1)).claimed == 0 and reload(sub).status == "paused"
    report = run(resumes + timedelta(minutes=2))
    assert (report.resumed, report.renewed) == (1, 1)
    sub = reload(sub)
    assert sub.status == "active" and sub.current_period_start == lagos_midnight(resumes)
    assert charges(sub) == 1
    assert run(resumes + timedelta(minutes=3)).claimed == 0  # once
    assert event_types(merchant.id) == ["subscription_paused", "subscription_resumed",
                                        "subscription_payment_success"]


def test_a_declined_resume_goes_past_due_and_follows_dunning(merchant):
    sub = subscribe(merchant.id, authorization="sbx_fail_0341", clock=PAID_AT + DAY)
    pause(sub, PAID_AT + DAY)
    with mode_context("test"):
        Subscription.objects.filter(pk=sub.pk).update(clock=RENEWAL + 9 * DAY)
        resumed = subscription_resume(merchant_id=merchant.id, subscription_id=sub.pk,
                                      now=datetime.now(UTC))
    start = lagos_midnight(RENEWAL + 9 * DAY)
    assert resumed.status == "past_due" and resumed.dunning_attempts == 1
    assert resumed.next_attempt_at == start + DAY  # the schedule's first retry
    assert [i.status for i in invoices(sub)] == ["paid", "open"]
    assert event_types(merchant.id) == ["subscription_paused", "subscription_resumed",
                                        "subscription_payment_failed"]


def test_a_resume_without_a_card_emails_the_invoice_link(merchant):
    sub = subscribe(merchant.id)
    with mode_context("test"):
        Subscription.objects.filter(pk=sub.pk).update(card=None)
    pause(sub, PAID_AT + DAY)
    with mode_context("test"):
        resumed = subscription_resume(merchant_id=merchant.id, subscription_id=sub.pk,
                                      now=RENEWAL + 4 * DAY)
    assert resumed.status == "past_due"
    invoice = invoices(sub)[-1]
    assert invoice.status == "open" and invoice.hosted_token.startswith("in_test_")
    assert invoice.period_start == lagos_midnight(RENEWAL + 4 * DAY) and charges(sub) == 0


def test_a_pause_and_resume_on_the_day_a_period_began_bills_from_the_next_day(merchant):
    sub = subscribe(merchant.id)
    run(RENEWAL)  # Feb 15's period paid
    pause(sub, RENEWAL + timedelta(hours=2))
    with mode_context("test"):
        resumed = subscription_resume(merchant_id=merchant.id, subscription_id=sub.pk,
                                      now=RENEWAL + timedelta(hours=5))
    assert resumed.status == "active" and charges(sub) == 2
    days = [local_date(i.period_start, LAGOS).isoformat() for i in invoices(sub)]
    assert days == ["2025-01-15", "2025-02-15", "2025-02-16"]


def test_cancelling_a_paused_subscription_ends_it_at_once(api, merchant):
    sub = subscribe(merchant.id)
    pause(sub, PAID_AT + DAY, resumes_at=RENEWAL)
    response = api.post(f"/v1/subscriptions/{sub.id}/cancel", {}, format="json")
    assert response.json()["data"]["status"] == "canceled"
    assert response.json()["data"]["resumesAt"] is None
    assert run(RENEWAL + DAY).claimed == 0 and reload(sub).status == "canceled"
    assert charges(sub) == 0


# --- refusals -------------------------------------------------------------------------

def _error(response, status: int) -> tuple[str, str]:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    return error["code"], error["param"]


def test_refusals_name_the_problem_and_change_nothing(api, merchant):
    sub = subscribe(merchant.id, clock=PAID_AT + DAY)
    url = f"/v1/subscriptions/{sub.id}"
    assert _error(api.post(f"{url}/resume"), 409) == ("subscription_not_paused", "id")
    for when in (PAID_AT, PAID_AT + DAY, PAID_AT + 6 * 366 * DAY):
        assert _error(api.post(f"{url}/pause", {"resumesAt": when.isoformat()}, format="json"),
                      400) == ("invalid_resumes_at", "resumesAt")
    assert _error(api.post(f"{url}/pause", {"resumesAt": "soon"}, format="json"),
                  400)[1] == "resumesAt"
    assert reload(sub).status == "active"
    assert api.post(f"{url}/pause", {}, format="json").status_code == 200
    assert _error(api.post(f"{url}/pause", {}, format="json"),
                  409) == ("subscription_not_pausable", "id")
    api.post(f"{url}/cancel", {"atPeriodEnd": False}, format="json")
    assert _error(api.post(f"{url}/pause", {}, format="json"),
                  409) == ("subscription_not_pausable", "id")
    assert _error(api.post(f"{url}/resume"), 409) == ("subscription_not_paused", "id")
    ending = subscribe(merchant.id)
    api.post(f"/v1/subscriptions/{ending.id}/cancel", {}, format="json")
    assert _error(api.post(f"/v1/subscriptions/{ending.id}/pause", {}, format="json"),
                  409) == ("subscription_not_pausable", "id")
    assert _error(api.post("/v1/subscriptions/sub_nope/pause", {}, format="json"),
                  404)[1] == "id"
    assert event_types(merchant.id).count("subscription_paused") == 1


def test_a_pause_waits_for_a_renewal_charge_in_flight(merchant, monkeypatch):
    from billing import renewals

    sub = subscribe(merchant.id)
    refused = []

    def settle_after_a_pause(renewals_, *, now, report):
        try:
            pause(sub, now)
        except Conflict as exc:
            refused.append(exc.code)
        return real(renewals_, now=now, report=report)

    real = renewals._settle
    monkeypatch.setattr(renewals, "_settle", settle_after_a_pause)
    run(RENEWAL)
    assert refused == ["renewal_in_progress"]
    sub = reload(sub)
    assert sub.status == "active" and sub.period_index == 1 and charges(sub) == 1
    assert pause(sub, RENEWAL + DAY).status == "paused"  # renewed, then paused


# --- a pause racing the renewal engine (PostgreSQL row locks) ---------------------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_pause_racing_a_renewal_run_never_leaves_a_charge_while_paused(make_merchant,
                                                                        monkeypatch):
    import threading
    import time

    from django.db import connections

    from billing.rails import get_rail

    merchant = make_merchant().merchant
    subs = [subscribe(merchant.id) for _ in range(24)]
    rail = get_rail("card")
    real_charge = rail.charge_authorization

    def slow_charge(**kwargs):  # a rail that takes a moment: pauses land during charges
        time.sleep(0.02)
        return real_charge(**kwargs)

    monkeypatch.setattr(rail, "charge_authorization", slow_charge)
    now = RENEWAL + timedelta(minutes=1)
    barrier = threading.Barrier(2)
    refused: list[Subscription] = []
    errors: list[Exception] = []

    def engine():
        barrier.wait()
        renewals_run(now=now, batch=3)

    def pauser():
        barrier.wait()
        for sub in reversed(subs):  # meets the engine half-way
            try:
                pause(sub, now)
            except Conflict:
                refused.append(sub)

    def in_thread(target):
        def body():
            try:
                with mode_context("test"):
                    target()
            except Exception as exc:  # reported below, with the test's failure
                errors.append(exc)
            finally:
                connections.close_all()
        return threading.Thread(target=body)

    threads = [in_thread(engine), in_thread(pauser)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for sub in refused:  # refused while its charge was in flight: now it has settled
        pause(sub, now)

    renewed = 0
    for sub in subs:
        sub = reload(sub)
        assert sub.status == "paused"
        rows = invoices(sub)
        with mode_context("test"):
            succeeded = PaymentAttempt.objects.filter(invoice__subscription=sub,
                                                      status="succeeded").count()
            refunds = PaymentAttempt.objects.filter(invoice__subscription=sub,
                                                    refunds__isnull=False).count()
        assert refunds == 0
        if len(rows) == 2:  # renewed, then paused
            assert [i.status for i in rows] == ["paid", "paid"]
            assert sub.period_index == 1 and succeeded == 1 and charges(sub) == 1
            renewed += 1
        else:  # paused first: nothing charged, nothing invoiced
            assert len(rows) == 1 and succeeded == 0 and charges(sub) == 0
            assert sub.period_index == 0
    assert 0 < renewed < len(subs)  # both orders happened
    assert run(now + 60 * DAY).claimed == 0
    assert sum(charges(s) for s in subs) == renewed
