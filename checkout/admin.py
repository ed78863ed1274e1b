"""Dashboard pages of checkout: sessions, their hosted links, and a test session to try."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.html import format_html

from billing.models import Plan
from checkout.models import CheckoutSession
from checkout.payloads import hosted_url
from checkout.sessions import session_create
from duro.dashboard.tenancy import EDIT, ReadOnlyAdmin, access, membership_of, merchant_id_for
from duro.errors import DuroError
from duro.models import CURRENCY_CHOICES, Merchant
from duro.modes import peek_mode
from duro.money import format_amount, parse_major


class TestSessionForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.none(), required=False,
                                  help_text="A subscription to the plan, at its price…")
    amount = forms.CharField(required=False, max_length=20, label="Amount",
                             help_text="…or a one-off amount, e.g. 1,500.00.",
                             widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, initial="NGN")
    description = forms.CharField(required=False, max_length=500)

    def clean(self):
        data = super().clean()
        if bool(data.get("plan")) == bool(data.get("amount")):
            raise forms.ValidationError("Choose a plan or give an amount (not both).")
        if data.get("amount"):
            try:
                data["amount"] = parse_major(data["amount"], data.get("currency") or "NGN")
            except ValueError as exc:
                self.add_error("amount", str(exc))
        return data


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(ReadOnlyAdmin):
    list_display = ["reference", "total", "status", "customer_email", "hosted_link",
                    "expires_at", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["reference", "id", "customer_email"]
    exclude = ["merchant_id", "token"]
    readonly_fields = ["hosted_link"]

    @admin.display(description="Amount", ordering="amount")
    def total(self, obj):
        return format_amount(obj.amount, obj.currency)

    @admin.display(description="Hosted page")
    def hosted_link(self, obj):
        url = hosted_url(obj)
        return format_html('<a href="{}" target="_blank" rel="noopener">open</a> '
                           '<code class="duro-secret">{}</code>', url, url)

    def has_add_permission(self, request):
        # Shown in both modes: in live mode the page explains why, instead of a bare 403.
        return access(request, self.section) == EDIT

    def add_view(self, request, form_url="", extra_context=None):
        """Create a test session to try the hosted page (test mode only)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if peek_mode() != "test":
            context = {**self.admin_site.each_context(request), "opts": CheckoutSession._meta,
                       "title": "Test sessions are made in test mode",
                       "reason": "A test session is for trying the hosted page with sandbox "
                                 "cards; in live mode it would charge real cards. Switch to "
                                 "test data to create one."}
            return TemplateResponse(request, "admin/duro/not_in_live.html", context,
                                    status=403)
        merchant_id = merchant_id_for(request)
        membership = membership_of(request.user)
        merchant = membership.merchant if membership else (
            Merchant.objects.filter(pk=merchant_id).first() if merchant_id else None)
        form = TestSessionForm(request.POST or None, initial={
            "currency": merchant.default_currency if merchant else "NGN"})
        if merchant is not None:
            form.fields["plan"].queryset = Plan.objects.filter(merchant_id=merchant.id,
                                                               active=True)
        if request.method == "POST" and form.is_valid():
            if merchant is None:
                form.add_error(None, "Operators: switch to a merchant first.")
            else:
                plan = form.cleaned_data.get("plan")
                try:
                    session = session_create(
                        merchant=merchant, plan_id=plan.id if plan else None,
                        amount=form.cleaned_data.get("amount"),
                        currency=None if plan else form.cleaned_data["currency"],
                        description=form.cleaned_data.get("description", ""))
                except DuroError as exc:
                    form.add_error(None, exc.message)
                else:
                    return HttpResponseRedirect(hosted_url(session))
        context = {**self.admin_site.each_context(request), "title": "Create a test session",
                   "form": form, "opts": CheckoutSession._meta}
        return TemplateResponse(request, "admin/duro/test_session.html", context)
