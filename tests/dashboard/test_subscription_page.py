"""A subscription's page: Cancel buttons behind a confirmation, honest messages, its money."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from billing.models import Subscription
from duro.modes import mode_context
from tests.dashboard.conftest import owner_client, staff_client

pytestmark = pytest.mark.django_db(databases="__all__")


def _sub(merchant) -> Subscription:
    with mode_context("test"):
        return Subscription.objects.get(merchant_id=merchant.merchant.id)


def _urls(sub):
    page = reverse("admin:billing_subscription_change", args=[quote(sub.pk)])
    cancel = {when: reverse("admin:billing_subscription_cancel", args=[quote(sub.pk), when])
              for when in ("period_end", "now")}
    return page, cancel


def test_page_lists_invoices_and_payments_and_offers_both_cancels(two_merchants):
    a, _ = two_merchants
    sub = _sub(a)
    page, cancel = _urls(sub)
    body = owner_client(a).get(page).content.decode()
    assert 'id="duro-invoices"' in body and 'id="duro-payments"' in body
    assert "₦" in body.split('id="duro-payments"')[1]
    assert cancel["period_end"] in body and cancel["now"] in body
    assert "every month" in body  # the price in words, not minor units


def test_cancel_at_period_end_confirms_then_says_it_will_not_renew(two_merchants):
    a, _ = two_merchants
    sub = _sub(a)
    _page, cancel = _urls(sub)
    client = owner_client(a)
    confirm = client.get(cancel["period_end"]).content.decode()
    assert "It will not renew." in confirm
    assert _sub(a).status == "active"  # asking changes nothing
    done = client.post(cancel["period_end"], {"duro_confirm": "yes"}, follow=True)
    text = done.content.decode()
    assert "will not renew: it stays active until" in text and "is cancelled" not in text
    assert _sub(a).status == "non_renewing"
    assert cancel["period_end"] not in text and cancel["now"] in text
    done = client.post(cancel["now"], {"duro_confirm": "yes"}, follow=True).content.decode()
    assert f"Subscription {sub.pk} is cancelled." in done
    assert _sub(a).status == "canceled"
    assert 'id="duro-cancel-buttons"' not in done


def test_a_post_without_confirmation_only_asks(two_merchants):
    a, _ = two_merchants
    _page, cancel = _urls(_sub(a))
    response = owner_client(a).post(cancel["now"], {})
    assert response.status_code == 200 and b"It is cancelled now." in response.content
    assert _sub(a).status == "active"


def test_support_sees_no_buttons_and_cannot_cancel_and_b_cannot_reach_a(two_merchants):
    a, b = two_merchants
    page, cancel = _urls(_sub(a))
    support = staff_client(a, "support")
    assert b'id="duro-cancel-buttons"' not in support.get(page).content
    assert support.post(cancel["now"], {"duro_confirm": "yes"}).status_code == 403
    assert owner_client(b).post(cancel["now"], {"duro_confirm": "yes"}).status_code == 404
    assert _sub(a).status == "active"


def _pause_url(sub, what: str) -> str:
    return reverse("admin:billing_subscription_pause", args=[quote(sub.pk), what])


def test_pause_then_resume_from_the_page_behind_confirmations(two_merchants):
    a, _ = two_merchants
    sub = _sub(a)
    page, cancel = _urls(sub)
    client = owner_client(a)
    body = client.get(page).content.decode()
    assert _pause_url(sub, "pause") in body and _pause_url(sub, "resume") not in body
    confirm = client.get(_pause_url(sub, "pause")).content.decode()
    assert "It is paused now." in confirm and _sub(a).status == "active"
    done = client.post(_pause_url(sub, "pause"), {"duro_confirm": "yes"},
                       follow=True).content.decode()
    assert f"Subscription {sub.pk} is paused" in done and _sub(a).status == "paused"
    assert _pause_url(sub, "resume") in done and _pause_url(sub, "pause") not in done
    assert cancel["now"] in done and cancel["period_end"] not in done  # a pause ends now
    confirm = client.get(_pause_url(sub, "resume")).content.decode()
    assert "charged at once" in confirm and "•••• 4242" in confirm
    done = client.post(_pause_url(sub, "resume"), {"duro_confirm": "yes"},
                       follow=True).content.decode()
    assert f"Subscription {sub.pk} is resumed and paid until" in done
    assert _sub(a).status == "active" and _sub(a).period_index == 0
    # Pausing what is no longer pausable says why on the page; nothing changes.
    done = client.post(_pause_url(sub, "resume"), {"duro_confirm": "yes"},
                       follow=True).content.decode()
    assert "Only a paused subscription can be resumed" in done


def test_support_sees_no_pause_button_and_cannot_pause(two_merchants):
    a, b = two_merchants
    sub = _sub(a)
    page, _cancel = _urls(sub)
    support = staff_client(a, "support")
    assert b'id="duro-pause-buttons"' not in support.get(page).content
    assert support.post(_pause_url(sub, "pause"), {"duro_confirm": "yes"}).status_code == 403
    assert owner_client(b).post(_pause_url(sub, "pause"),
                                {"duro_confirm": "yes"}).status_code == 404
    assert _sub(a).status == "active"


def test_change_plan_from_the_page_shows_the_preview_before_confirming(two_merchants):
    from billing.models import Plan

    a, b = two_merchants
    sub = _sub(a)
    with mode_context("test"):
        gold = Plan.objects.create(merchant_id=a.merchant.id, name="Gold Plus",
                                   amount=sub.amount * 2, interval=sub.interval,
                                   interval_count=sub.interval_count, currency=sub.currency)
    page, _cancel = _urls(sub)
    url = reverse("admin:billing_subscription_plan", args=[quote(sub.pk)])
    client = owner_client(a)
    assert url in client.get(page).content.decode()
    picker = client.get(url).content.decode()
    assert "Gold Plus" in picker and 'id="duro-preview"' not in picker
    preview = client.get(url, {"plan": gold.pk}).content.decode()
    assert 'id="duro-preview-due"' in preview and "Upgrade to Gold Plus, now" in preview
    assert _sub(a).plan_id == sub.plan_id  # a preview changes nothing
    done = client.post(url, {"duro_confirm": "yes", "plan": gold.pk, "at": ""},
                       follow=True).content.decode()
    assert f"Subscription {sub.pk} is now on Gold Plus." in done
    assert _sub(a).plan_id == gold.pk
    # Support staff cannot, and another merchant cannot reach it.
    assert staff_client(a, "support").get(url).status_code == 403
    assert owner_client(b).get(url).status_code == 404


def test_apply_a_coupon_from_the_page_shows_the_next_invoice_before_confirming(two_merchants):
    from billing.coupons import coupon_create
    from billing.models import Coupon

    a, b = two_merchants
    sub = _sub(a)
    with mode_context("test"):
        coupon_create(merchant_id=a.merchant.id, code="loyal25", percent_off=25,
                      duration="repeating", duration_in_periods=3)
        coupon_create(merchant_id=a.merchant.id, code="gone", percent_off=10,
                      duration="once", max_redemptions=1)
        Coupon.objects.filter(code="GONE").update(times_redeemed=1)
    page, _cancel = _urls(sub)
    url = reverse("admin:billing_subscription_coupon", args=[quote(sub.pk)])
    client = owner_client(a)
    assert url in client.get(page).content.decode()
    refused = client.get(url, {"code": "gone"}).content.decode()
    assert 'class="errornote"' in refused and 'id="duro-coupon-result"' not in refused
    preview = client.get(url, {"code": "loyal25"}).content.decode()
    assert 'id="duro-coupon-next"' in preview and "3 invoices" in preview
    assert _sub(a).coupon_id is None  # a preview changes nothing
    done = client.post(url, {"duro_confirm": "yes", "code": "LOYAL25"},
                       follow=True).content.decode()
    assert "Coupon LOYAL25 applies to subscription" in done
    with mode_context("test"):
        fresh = Subscription.objects.select_related("coupon").get(pk=sub.pk)
        assert fresh.coupon.code == "LOYAL25" and fresh.coupon_periods_left == 3
        assert Coupon.objects.get(code="LOYAL25").times_redeemed == 1
    assert staff_client(a, "support").get(url).status_code == 403
    assert owner_client(b).get(url).status_code == 404
