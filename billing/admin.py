"""Dashboard pages of billing: plans, customers, subscriptions, invoices, payments, refunds.

Payments and invoices carry a Refund button (:mod:`billing.admin_refunds`); a
subscription's page and its cancel buttons are :mod:`billing.admin_subscriptions`; the
Payment methods page (rail switches per mode) is :mod:`billing.admin_payment_methods`, the
Processor page (the live processor's connection) :mod:`billing.admin_processor`."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from billing.admin_payment_methods import PaymentMethodsAdmin
from billing.admin_processor import ProcessorAdmin
from billing.admin_refunds import RefundButtonAdmin
from billing.admin_subscriptions import SubscriptionAdmin
from billing.models import (
    Customer,
    DunningPolicy,
    Invoice,
    PaymentAttempt,
    Plan,
    Refund,
)
from billing.refunds import refund_left
from billing.subscriptions import customer_set_blacklisted
from duro.dashboard.tenancy import EDIT, VIEW, MerchantScopedAdmin, ReadOnlyAdmin, access
from duro.money import format_amount


def money(obj) -> str:
    return format_amount(obj.amount, obj.currency)


@admin.register(Plan)
class PlanAdmin(MerchantScopedAdmin):
    list_display = ["name", "price", "interval", "interval_count", "trial_days", "active", "id"]
    list_filter = ["active", "interval", "currency"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "created_at", "updated_at"]

    @admin.display(description="Price", ordering="amount")
    def price(self, obj):
        return money(obj)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.subscriptions.exists():
            fields += ["amount", "currency", "interval", "interval_count"]
        return fields


@admin.action(description="Blacklist: refuse their payments", permissions=["blacklist"])
def blacklist(modeladmin, request, queryset):
    for customer in queryset:
        customer_set_blacklisted(customer=customer, blacklisted=True)
    modeladmin.message_user(request, f"Blacklisted {len(queryset)} customer(s).")


@admin.action(description="Take off the blacklist", permissions=["blacklist"])
def unblacklist(modeladmin, request, queryset):
    for customer in queryset:
        customer_set_blacklisted(customer=customer, blacklisted=False)
    modeladmin.message_user(request, f"Took {len(queryset)} customer(s) off the blacklist.")


@admin.register(Customer)
class CustomerAdmin(MerchantScopedAdmin):
    list_display = ["__str__", "email", "phone", "blacklisted", "created_at", "id"]
    list_filter = ["blacklisted"]
    search_fields = ["email", "phone", "name", "id"]
    readonly_fields = ["id", "email", "phone", "blacklisted", "created_at"]
    fields = ["id", "name", "email", "phone", "blacklisted", "created_at"]
    actions = [blacklist, unblacklist]

    def has_add_permission(self, request):
        return False  # customers arrive through payments

    def has_blacklist_permission(self, request):
        # Support staff may blacklist, though everything else is read-only for them.
        return access(request, self.section) in (EDIT, VIEW)



class DunningPolicyForm(forms.ModelForm):
    class Meta:
        model = DunningPolicy
        fields = ["merchant_id", "retry_days"]
        help_texts = {"retry_days": "Days after a failed renewal was due, e.g. [1, 3, 5]."}

    def clean_retry_days(self):
        days = self.cleaned_data["retry_days"]
        if (not isinstance(days, list) or not 1 <= len(days) <= 10
                or not all(isinstance(d, int) and not isinstance(d, bool) and 0 < d <= 60
                           for d in days) or days != sorted(set(days))):
            raise forms.ValidationError("A rising list of 1–10 whole days, each 1–60.")
        return days


@admin.register(DunningPolicy)
class DunningPolicyAdmin(MerchantScopedAdmin):
    form = DunningPolicyForm
    list_display = ["merchant_id", "retry_days", "updated_at"]


def refunded_text(obj) -> str:
    return format_amount(obj.amount_refunded, obj.currency) if obj.amount_refunded else "—"


@admin.register(Invoice)
class InvoiceAdmin(RefundButtonAdmin):
    list_display = ["number", "customer", "total", "status", "refunded", "period_start",
                    "paid_at", "id"]
    list_filter = ["status", "currency"]
    search_fields = ["id", "customer__email"]
    list_select_related = ["customer"]
    readonly_fields = ["id", "number", "customer", "subscription", "amount", "amount_refunded",
                       "currency", "period_start", "period_end", "paid_at", "created_at",
                       "checkout_reference", "receipt_email"]
    exclude = ["merchant_id"]

    @admin.display(description="Amount", ordering="amount")
    def total(self, obj):
        return money(obj)

    @admin.display(description="Refunded", ordering="amount_refunded")
    def refunded(self, obj):
        return refunded_text(obj)

    def payment_to_refund(self, obj):
        """Its first succeeded payment with something left to refund."""
        payments = obj.payments.filter(status=PaymentAttempt.Status.SUCCEEDED)
        return next((p for p in payments.order_by("created_at", "id") if refund_left(p) > 0),
                    None)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # A paid, void or uncollectible invoice is a record, and an open one belongs to the
        # renewal engine and its retries: its status or amount set by hand would move money.
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PaymentAttempt)
class PaymentAdmin(RefundButtonAdmin, ReadOnlyAdmin):
    list_display = ["id", "total", "status", "refunded", "rail", "card", "customer",
                    "created_at"]
    list_filter = ["status", "rail", "currency"]
    search_fields = ["id", "customer__email", "rail_reference", "session_id"]
    list_select_related = ["customer"]
    exclude = ["merchant_id"]

    @admin.display(description="Amount", ordering="amount")
    def total(self, obj):
        return money(obj)

    @admin.display(description="Refunded", ordering="amount_refunded")
    def refunded(self, obj):
        return refunded_text(obj)

    def payment_to_refund(self, obj):
        return obj

    @admin.display(description="Card")
    def card(self, obj):
        return f"{obj.card_brand} •••• {obj.card_last4}" if obj.card_last4 else "—"


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["id", "total", "status", "reason", "payment", "created_at"]
    list_select_related = ["payment"]
    list_filter = ["status", "reason", "currency"]
    search_fields = ["id", "payment__id", "rail_reference"]
    exclude = ["merchant_id"]

    @admin.display(description="Amount", ordering="amount")
    def total(self, obj):
        return money(obj)


# registered on import, with the others
__all__ = ["PaymentMethodsAdmin", "ProcessorAdmin", "SubscriptionAdmin"]
