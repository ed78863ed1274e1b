"""The dashboard's Refund button on payments and invoices.

Staff type the amount in major units (``150.00`` is 15000 kobo), confirm on a
second page that names the payment, card and amount, and the refund goes
through :func:`billing.refunds.refund_create`, the service behind
``POST /v1/refunds``. Only a role that may change billing data in the current
mode may refund (owners; developers in test mode; never support), and the
object is found through the admin's merchant-scoped queryset, so another
merchant's id is a 404. The confirmation carries what was left when it was
shown: if a refund went through meanwhile (or the button was clicked twice),
the service refuses and staff confirm again.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from billing.models import PaymentAttempt, Refund
from billing.refunds import refund_create, refund_left
from duro.dashboard.tenancy import EDIT, MerchantScopedAdmin, access
from duro.errors import DuroError
from duro.money import format_amount, format_major, parse_major

STAFF_REASONS = [Refund.Reason.REQUESTED_BY_CUSTOMER, Refund.Reason.DUPLICATE,
                 Refund.Reason.FRAUDULENT]


class RefundForm(forms.Form):
    amount = forms.CharField(max_length=24, help_text="In major units: 150.00 is ₦150.")
    reason = forms.ChoiceField(choices=[(r.value, r.label) for r in STAFF_REASONS])
    left = forms.IntegerField(widget=forms.HiddenInput)  # what was left when shown

    def __init__(self, *args, currency: str, left: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency, self.left_now = currency, left

    def clean_amount(self) -> int:
        try:
            minor = parse_major(self.cleaned_data["amount"], self.currency)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        if minor > self.left_now:
            raise forms.ValidationError(
                f"At most {format_amount(self.left_now, self.currency)} is left to refund.")
        return minor


class RefundButtonAdmin(MerchantScopedAdmin):
    """A merchant-scoped admin with a Refund button on the change page, and its view.

    Each admin names the payment its object refunds with :meth:`payment_to_refund`."""

    change_form_template = "admin/billing/change_form_refund.html"

    def payment_to_refund(self, obj) -> PaymentAttempt | None:
        raise NotImplementedError

    def has_refund_permission(self, request) -> bool:
        return access(request, self.section) == EDIT

    def get_urls(self):
        opts = self.model._meta
        view = self.admin_site.admin_view(self.refund_view)
        return [path("<path:object_id>/refund/", view,
                     name=f"{opts.app_label}_{opts.model_name}_refund"),
                *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = dict(extra_context or {})
        if self.has_refund_permission(request):
            opts = self.model._meta
            context["duro_refund_url"] = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_refund",
                args=[quote(unquote(object_id))])
        return super().change_view(request, object_id, form_url, context)

    def refund_view(self, request, object_id):
        if not self.has_refund_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        opts = self.model._meta
        back = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)])
        payment = self.payment_to_refund(obj)
        left = refund_left(payment) if payment is not None else 0
        if payment is None or left <= 0:
            messages.warning(request, "Nothing is left to refund.")
            return HttpResponseRedirect(back)
        form = RefundForm(request.POST or None, currency=payment.currency, left=left,
                          initial={"amount": format_major(left, payment.currency),
                                   "left": left})
        confirming = False
        if request.method == "POST" and form.is_valid():
            if request.POST.get("duro_confirm") == "yes":
                try:
                    refund = refund_create(
                        merchant_id=payment.merchant_id, payment_id=payment.pk,
                        amount=form.cleaned_data["amount"], reason=form.cleaned_data["reason"],
                        expected_left=form.cleaned_data["left"])
                except DuroError as exc:
                    form.add_error(None, exc.message)
                else:
                    _report(request, refund)
                    return HttpResponseRedirect(back)
            else:
                confirming = True
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund {payment.pk}", "opts": opts, "object": obj, "payment": payment,
            "form": form, "confirming": confirming, "back": back,
            "left": format_amount(left, payment.currency),
            "paid": format_amount(payment.amount, payment.currency),
            "amount": (format_amount(form.cleaned_data["amount"], payment.currency)
                       if confirming else ""),
        }
        return TemplateResponse(request, "admin/billing/refund.html", context)


def _report(request, refund: Refund) -> None:
    amount = format_amount(refund.amount, refund.currency)
    if refund.status == Refund.Status.SUCCEEDED:
        messages.success(request, f"Refunded {amount} ({refund.pk}).")
    elif refund.status == Refund.Status.FAILED:
        messages.error(request, f"The refund of {amount} failed: {refund.failure_message}")
    else:
        messages.info(request, f"The refund of {amount} is pending with the rail ({refund.pk}).")
