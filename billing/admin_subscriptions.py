"""The subscription page of the dashboard: read-only, with Cancel, Pause and Resume buttons
and its money.

A subscription's fields are the renewal engine's schedule and the terms it was
sold with, so no form edits it (a form could charge early or late). It changes
only through :func:`billing.subscriptions.subscription_cancel`, reached from
the list's actions or from this page's buttons, and through
:func:`billing.pauses.subscription_pause` and
:func:`billing.subscriptions.subscription_resume`, each behind a confirmation
page that says what will happen:

* **Cancel at period end** — it stays active until the period ends and
  *will not renew*;
* **Cancel now** — it is *cancelled* at once and its open invoice is voided;
* **Pause** — nothing is charged until it is resumed (no credit for the paid time);
* **Resume** — a new period starts now and is charged at once on the saved card;
* **Change plan** — pick a plan (and now or at the period's end), see what is charged
  now, the credit and the next invoice, then confirm (:mod:`billing.changes`).

The page also lists the subscription's invoices and payments.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods

from billing.changes import (
    CHANGEABLE,
    change_preview_of,
    preview_payload,
    subscription_change,
)
from billing.coupons import (
    coupon_periods_after_first,
    coupon_usable,
    subscription_coupon_apply,
)
from billing.models import Invoice, PaymentAttempt, Plan, Subscription
from billing.pauses import PAUSABLE, subscription_pause
from billing.pricing import invoice_price
from billing.subscriptions import subscription_cancel, subscription_resume
from duro.dashboard.actions import confirm_in_live
from duro.dashboard.tenancy import EDIT, MerchantScopedAdmin, access
from duro.errors import DuroError
from duro.money import format_amount, format_cadence
from duro.tax import tax_details

CANCELLABLE = (Subscription.Status.ACTIVE, Subscription.Status.TRIALING,
               Subscription.Status.PAST_DUE, Subscription.Status.NON_RENEWING,
               Subscription.Status.PAUSED)
WHEN = {"period_end": True, "now": False}
PAUSED = Subscription.Status.PAUSED
ENDED = (Subscription.Status.CANCELED, Subscription.Status.COMPLETED)


def cancel_message(sub: Subscription) -> str:
    """What happened, in the merchant's words: "will not renew" is not "cancelled"."""
    if sub.status == Subscription.Status.NON_RENEWING:
        end = date_format(timezone.localtime(sub.current_period_end), "DATETIME_FORMAT")
        return f"Subscription {sub.pk} will not renew: it stays active until {end}."
    return f"Subscription {sub.pk} is cancelled."


@admin.register(Subscription)
class SubscriptionAdmin(MerchantScopedAdmin):
    """Read-only; only the cancel actions and buttons change it."""

    change_form_template = "admin/billing/subscription_change_form.html"
    list_display = ["id", "customer", "plan", "status", "current_period_end",
                    "cancel_at_period_end", "created_at"]
    list_filter = ["status", "cancel_at_period_end"]
    search_fields = ["id", "customer__email", "customer__phone"]
    list_select_related = ["customer", "plan"]
    exclude = ["merchant_id"]
    actions = ["cancel_at_period_end", "cancel_now"]
    # What a merchant reads first: who, what, how much, and where it stands.
    fields = ["id", "customer", "plan", "pending_plan", "price", "status", "current_period_start",
              "current_period_end", "cancel_at_period_end", "canceled_at", "trial_end",
              "paused_at", "resumes_at", "card", "coupon", "coupon_periods_left",
              "credit_balance", "invoices_paid",
              "next_attempt_at",
              "dunning_attempts", "time_zone", "metadata", "created_at"]
    readonly_fields = fields

    @admin.display(description="Price")
    def price(self, obj):
        return f"{format_amount(obj.amount, obj.currency)} every " \
               f"{format_cadence(obj.interval, obj.interval_count)}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the form is a view; cancelling needs "cancel", not "change"

    def has_delete_permission(self, request, obj=None):
        return False

    def has_cancel_permission(self, request):
        return access(request, self.section) == EDIT

    def has_pause_permission(self, request):
        return access(request, self.section) == EDIT

    # --- the list's actions -------------------------------------------------------
    def _cancel(self, request, queryset, *, at_period_end: bool) -> None:
        done = [subscription_cancel(merchant_id=sub.merchant_id, subscription_id=sub.pk,
                                    at_period_end=at_period_end, now=timezone.now())
                for sub in queryset]
        ending = sum(sub.status == Subscription.Status.NON_RENEWING for sub in done)
        if ending:
            self.message_user(request, f"{ending} subscription(s) will not renew: they stay "
                              "active until their period ends.", messages.SUCCESS)
        if len(done) - ending:
            self.message_user(request, f"Cancelled {len(done) - ending} subscription(s).",
                              messages.SUCCESS)

    @admin.action(description="Cancel at period end", permissions=["cancel"])
    @confirm_in_live("cancel these subscriptions at the end of their period")
    def cancel_at_period_end(self, request, queryset):
        self._cancel(request, queryset, at_period_end=True)

    @admin.action(description="Cancel now", permissions=["cancel"])
    @confirm_in_live("cancel these subscriptions now")
    def cancel_now(self, request, queryset):
        self._cancel(request, queryset, at_period_end=False)

    # --- the page and its buttons -----------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view(require_http_methods(["GET", "POST"])(
            self.cancel_view))
        pause = self.admin_site.admin_view(require_http_methods(["GET", "POST"])(
            self.pause_view))
        plan = self.admin_site.admin_view(require_http_methods(["GET", "POST"])(
            self.plan_view))
        return [path("<path:object_id>/cancel/<str:when>/", view,
                     name="billing_subscription_cancel"),
                path("<path:object_id>/pause/<str:what>/", pause,
                     name="billing_subscription_pause"),
                path("<path:object_id>/plan/", plan, name="billing_subscription_plan"),
                path("<path:object_id>/coupon/", self.admin_site.admin_view(
                    require_http_methods(["GET", "POST"])(self.coupon_view)),
                     name="billing_subscription_coupon"),
                *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = dict(extra_context or {})
        sub = self.get_object(request, unquote(object_id))
        if self.has_cancel_permission(request) and sub.status in CANCELLABLE:
            context["duro_cancel_urls"] = {
                when: reverse("admin:billing_subscription_cancel", args=[quote(sub.pk), when])
                for when in WHEN
                if not (when == "period_end" and sub.status in (Subscription.Status.NON_RENEWING,
                                                                PAUSED))}
        if self.has_pause_permission(request) and sub.status in (*PAUSABLE, PAUSED):
            what = "resume" if sub.status == PAUSED else "pause"
            context["duro_pause_url"] = (what, reverse("admin:billing_subscription_pause",
                                                       args=[quote(sub.pk), what]))
        if self.has_pause_permission(request) and sub.status in CHANGEABLE:
            context["duro_plan_url"] = reverse("admin:billing_subscription_plan",
                                               args=[quote(sub.pk)])
        if self.has_pause_permission(request) and sub.status not in ENDED:
            context["duro_coupon_url"] = reverse("admin:billing_subscription_coupon",
                                                 args=[quote(sub.pk)])
        invoices = Invoice.objects.filter(subscription=sub).order_by("-created_at")[:50]
        context["duro_invoices"] = [
            (invoice, format_amount(invoice.amount, invoice.currency)) for invoice in invoices]
        payments = (PaymentAttempt.objects.filter(invoice__subscription=sub)
                    .order_by("-created_at")[:50])
        context["duro_payments"] = [
            (payment, format_amount(payment.amount, payment.currency)) for payment in payments]
        return super().change_view(request, object_id, form_url, context)

    def cancel_view(self, request, object_id, when):
        if not self.has_cancel_permission(request) or when not in WHEN:
            raise PermissionDenied
        sub = self.get_object(request, unquote(object_id))
        back = reverse("admin:billing_subscription_change", args=[quote(sub.pk)])
        if request.method == "POST" and request.POST.get("duro_confirm") == "yes":
            done = subscription_cancel(merchant_id=sub.merchant_id, subscription_id=sub.pk,
                                       at_period_end=WHEN[when], now=timezone.now())
            messages.success(request, cancel_message(done))
            return HttpResponseRedirect(back)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": "Cancel at period end?" if WHEN[when] else "Cancel now?",
                   "subscription": sub, "when": when, "back": back,
                   "period_end": sub.current_period_end}
        return TemplateResponse(request, "admin/billing/subscription_cancel.html", context)

    def pause_view(self, request, object_id, what):
        """Pause (until resumed) or resume, behind a confirmation; a refusal (the state
        changed meanwhile, a renewal charge in flight) is said on the page."""
        if not self.has_pause_permission(request) or what not in ("pause", "resume"):
            raise PermissionDenied
        sub = self.get_object(request, unquote(object_id))
        back = reverse("admin:billing_subscription_change", args=[quote(sub.pk)])
        if request.method == "POST" and request.POST.get("duro_confirm") == "yes":
            try:
                if what == "pause":
                    subscription_pause(merchant_id=sub.merchant_id, subscription_id=sub.pk,
                                       resumes_at=None, now=timezone.now())
                    messages.success(request, f"Subscription {sub.pk} is paused: nothing is "
                                              "charged until you resume it.")
                else:
                    done = subscription_resume(merchant_id=sub.merchant_id,
                                               subscription_id=sub.pk, now=timezone.now())
                    messages.success(request, resume_message(done))
            except DuroError as exc:
                messages.error(request, exc.message)
            return HttpResponseRedirect(back)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": "Pause this subscription?" if what == "pause"
                   else "Resume this subscription?",
                   "subscription": sub, "what": what, "back": back,
                   "price": self.price(sub)}
        return TemplateResponse(request, "admin/billing/subscription_pause.html", context)


    def plan_view(self, request, object_id):
        """Change plan: pick the plan (and when), see the preview — what is charged now,
        the credit, the next invoice — then confirm; a refusal or a decline is said."""
        if not self.has_pause_permission(request):
            raise PermissionDenied
        sub = self.get_object(request, unquote(object_id))
        back = reverse("admin:billing_subscription_change", args=[quote(sub.pk)])
        data = request.POST if request.method == "POST" else request.GET
        plan_id, at = data.get("plan", "")[:32], data.get("at") or None
        at = at if at in ("now", "period_end") else None
        if request.method == "POST" and request.POST.get("duro_confirm") == "yes":
            try:
                done = subscription_change(merchant_id=sub.merchant_id,
                                           subscription_id=sub.pk, plan_id=plan_id, at=at,
                                           now=timezone.now())
            except DuroError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, change_message(done))
            return HttpResponseRedirect(back)
        plans = (Plan.objects.filter(merchant_id=sub.merchant_id, currency=sub.currency,
                                     active=True).exclude(pk=sub.plan_id).order_by("amount"))
        preview, error = None, None
        if plan_id:
            try:
                change = change_preview_of(merchant_id=sub.merchant_id,
                                           subscription_id=sub.pk, plan_id=plan_id, at=at,
                                           now=timezone.now())
            except DuroError as exc:
                error = exc.message
            else:
                p = change.preview
                preview = {"plan": change.plan, "at": p.at,
                           "due_now": format_amount(preview_payload(change)["amountDueNow"],
                                                    sub.currency),
                           "credit": format_amount(p.credit, sub.currency),
                           "next_amount": format_amount(p.next_invoice_amount, sub.currency),
                           "next_at": p.next_invoice_at, "effective_at": p.effective_at,
                           "anchor_changes": p.anchor_changes, "direction": p.direction}
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": "Change plan", "subscription": sub, "back": back,
                   "price": self.price(sub), "plans": [(plan, self.price(plan)) for plan in plans],
                   "chosen": plan_id, "at": at or "", "preview": preview, "error": error}
        return TemplateResponse(request, "admin/billing/subscription_plan.html", context)


    def coupon_view(self, request, object_id):
        """Apply a coupon: type the code, see the next invoice with it and for how many
        invoices, then confirm; a code that cannot be redeemed says why."""
        if not self.has_pause_permission(request):
            raise PermissionDenied
        sub = self.get_object(request, unquote(object_id))
        back = reverse("admin:billing_subscription_change", args=[quote(sub.pk)])
        data = request.POST if request.method == "POST" else request.GET
        code = data.get("code", "").strip()[:64]
        if request.method == "POST" and request.POST.get("duro_confirm") == "yes":
            try:
                done = subscription_coupon_apply(merchant_id=sub.merchant_id,
                                                 subscription_id=sub.pk, code=code,
                                                 now=timezone.now())
            except DuroError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"Coupon {done.coupon} applies to subscription "
                                          f"{sub.pk} from its next invoice.")
            return HttpResponseRedirect(back)
        preview, error = None, None
        if code:
            try:
                coupon = coupon_usable(merchant_id=sub.merchant_id, code=code,
                                       currency=sub.currency, now=sub.clock or timezone.now(),
                                       param="code")
            except DuroError as exc:
                error = exc.message
            else:
                vat_rate = tax_details(sub.merchant_id).vat_rate
                price = invoice_price(sub.amount, percent_off=coupon.percent_off,
                                      amount_off=coupon.amount_off or 0, vat_rate=vat_rate)
                periods = coupon_periods_after_first(coupon, first_discounted=False)
                preview = {"coupon": coupon,
                           "discount": format_amount(price.discount, sub.currency),
                           "total": format_amount(price.total, sub.currency),
                           "periods": "every invoice" if periods is None else
                           f"{periods} invoice{'s' if periods != 1 else ''}"}
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": "Apply a coupon", "subscription": sub, "back": back,
                   "price": self.price(sub), "code": code, "preview": preview, "error": error}
        return TemplateResponse(request, "admin/billing/subscription_coupon.html", context)


def change_message(sub: Subscription) -> str:
    if sub.pending_plan_id:
        end = date_format(timezone.localtime(sub.current_period_end), "DATETIME_FORMAT")
        return (f"Subscription {sub.pk} moves to {sub.pending_plan} when its period ends "
                f"({end}); nothing was charged.")
    return f"Subscription {sub.pk} is now on {sub.plan}."


def resume_message(sub: Subscription) -> str:
    """What the resume's charge did: paid, declined (dunning), or waiting for the customer."""
    if sub.status == Subscription.Status.ACTIVE and sub.period_index >= 0:
        end = date_format(timezone.localtime(sub.current_period_end), "DATETIME_FORMAT")
        return f"Subscription {sub.pk} is resumed and paid until {end}."
    if sub.status == Subscription.Status.PAST_DUE:
        return (f"Subscription {sub.pk} is resumed, but its payment did not go through: it is "
                "past due and will be retried.")
    return f"Subscription {sub.pk} is resumed; its payment is being taken."
