"""Admin for billing's mode-scoped models: subscriptions (cancel), invoices, payments, dunning.

Mode-scoped rows live in the ``test`` or ``live`` store, so every admin view
here runs inside ``mode_context(request.session["duro_mode"])`` (default
``test``) and renders its response before leaving it. Staff of a merchant
see only that merchant's rows. The full merchant dashboard comes later.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from billing.models import DunningPolicy, Invoice, PaymentAttempt, Subscription
from billing.subscriptions import subscription_cancel
from duro.modes import MODES, TEST, mode_context


def admin_mode(request) -> str:
    mode = request.session.get("duro_mode", TEST)
    return mode if mode in MODES else TEST


class ModeScopedAdmin(admin.ModelAdmin):
    """Runs each view in the admin's current mode and scopes rows to the staff's merchant."""

    def _in_mode(self, view, request, *args, **kwargs):
        with mode_context(admin_mode(request)):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()  # lazy templates read the queryset: do it in the mode
            return response

    def changelist_view(self, request, extra_context=None):
        return self._in_mode(super().changelist_view, request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._in_mode(super().changeform_view, request, object_id, form_url,
                             extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        return self._in_mode(super().delete_view, request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        return self._in_mode(super().history_view, request, object_id, extra_context)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        membership = getattr(request.user, "membership", None)
        if not request.user.is_superuser and membership is not None:
            queryset = queryset.filter(merchant_id=membership.merchant_id)
        return queryset


@admin.register(Subscription)
class SubscriptionAdmin(ModeScopedAdmin):
    list_display = ["id", "merchant_id", "customer", "plan", "status", "current_period_end",
                    "next_attempt_at", "cancel_at_period_end"]
    list_filter = ["status"]
    search_fields = ["id", "merchant_id", "customer__email"]
    list_select_related = ["customer", "plan"]
    readonly_fields = [f.name for f in Subscription._meta.fields]
    actions = ["cancel_at_period_end", "cancel_now"]

    def has_add_permission(self, request):
        return False

    def _cancel(self, request, queryset, *, at_period_end: bool) -> None:
        for sub in queryset:
            subscription_cancel(merchant_id=sub.merchant_id, subscription_id=sub.pk,
                                at_period_end=at_period_end, now=timezone.now())
        self.message_user(request, f"Cancelled {len(queryset)} subscription(s).",
                          messages.SUCCESS)

    @admin.action(description="Cancel at period end")
    def cancel_at_period_end(self, request, queryset):
        self._cancel(request, queryset, at_period_end=True)

    @admin.action(description="Cancel now")
    def cancel_now(self, request, queryset):
        self._cancel(request, queryset, at_period_end=False)


@admin.register(Invoice)
class InvoiceAdmin(ModeScopedAdmin):
    list_display = ["number", "id", "merchant_id", "customer", "status", "amount", "currency",
                    "period_start", "paid_at"]
    list_filter = ["status"]
    search_fields = ["id", "merchant_id"]
    readonly_fields = [f.name for f in Invoice._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ModeScopedAdmin):
    list_display = ["id", "merchant_id", "invoice", "status", "amount", "card_brand",
                    "card_last4", "failure_code", "created_at"]
    list_filter = ["status", "rail"]
    readonly_fields = [f.name for f in PaymentAttempt._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(DunningPolicy)
class DunningPolicyAdmin(ModeScopedAdmin):
    list_display = ["merchant_id", "retry_days", "updated_at"]
