"""The dashboard's Payment methods page (Developers): switch rails on or off, per mode.

Not a table of rows: the changelist is one form listing every rail Duro offers in the mode
being viewed, with the currencies it serves, each a switch; saving goes through
:func:`billing.payment_methods.payment_methods_set`. The page acts on the signed-in staff
member's own merchant (an operator's chosen one) in the mode of the header's switch: no
merchant id travels in its URL or form. The form carries the mode it was shown in, so a
page left open in test mode cannot save over live after the mode was switched in another
tab. Owners and developers change it in either mode; support staff only look.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from billing.models import RailSettings
from billing.payment_methods import PaymentMethod, payment_methods, payment_methods_set
from billing.rails.switches import rails_switched_off
from duro.dashboard.tenancy import MerchantScopedAdmin, merchant_id_for
from duro.errors import DuroError
from duro.modes import current_mode

TEMPLATE = "admin/billing/payment_methods.html"


@admin.register(RailSettings)
class PaymentMethodsAdmin(MerchantScopedAdmin):
    section = "payment_methods"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self.get_object(request, unquote(object_id))  # another merchant's row is a 404
        return HttpResponseRedirect(reverse("admin:billing_railsettings_changelist"))

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        merchant_id = merchant_id_for(request)
        mode = current_mode()
        context = {**self.admin_site.each_context(request), "title": "Payment methods",
                   "opts": self.model._meta, "merchant_id": merchant_id,
                   "can_edit": self.has_change_permission(request)}
        if not merchant_id:  # an operator seeing every merchant
            return TemplateResponse(request, TEMPLATE, context)
        methods = payment_methods(merchant_id=merchant_id, mode=mode)
        status = 200
        if request.method == "POST":
            if "save" not in request.POST:
                return HttpResponseBadRequest("Unknown form.")
            if not context["can_edit"]:
                raise PermissionDenied("Only owners and developers switch payment methods.")
            on = set(request.POST.getlist("on"))
            if request.POST.get("mode") != mode:
                context["error"] = (f"You switched to {mode} data since this page was shown, "
                                    "so nothing was saved. Check the switches below and save "
                                    "again.")
                status = 409
            else:
                try:
                    self._save(request, merchant_id, mode, methods, on)
                except DuroError as exc:
                    context["error"] = exc.message
                    methods = [PaymentMethod(rail=m.rail, currencies=m.currencies,
                                             on=m.rail.identifier in on) for m in methods]
                    status = 400
                else:
                    return HttpResponseRedirect(request.path)
        context.update({"methods": methods,
                        "rail_settings": RailSettings.objects.filter(pk=merchant_id).first()})
        return TemplateResponse(request, TEMPLATE, context, status=status)

    def _save(self, request, merchant_id: str, mode: str, methods: list[PaymentMethod],
              on: set[str]) -> None:
        listed = {m.rail.identifier for m in methods}
        # A rail Duro does not offer in this mode is not on the page: it keeps its state.
        unlisted = rails_switched_off(merchant_id=merchant_id, mode=mode, fresh=True) - listed
        payment_methods_set(merchant_id=merchant_id, mode=mode,
                            switched_off=(listed - on) | unlisted, user=request.user)
        off = [m.rail.label for m in methods if m.rail.identifier not in on]
        summary = f"off: {', '.join(off)}" if off else "every payment method is on"
        self.message_user(request, f"Saved for {mode} payments ({summary}).", messages.SUCCESS)
