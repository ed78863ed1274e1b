"""The dashboard's Processor page (Developers): connect the processor live payments go
through, test it, disconnect it (API.md §11, issue #15).

Not a table of rows: one page about the signed-in staff member's own merchant (an
operator's chosen one); no merchant id travels in its URL or form. Owners connect and
disconnect; developers look and press "Test connection"; support staff do not see it. The
secret is a password field, posted once and never shown again (only its hint,
``sk_live_…1234``), and kept out of error reports. A connection serves live mode only:
test mode always uses the sandbox, which the page says when viewed in test mode.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from billing.models import ProcessorConnection
from billing.processors.connections import (
    PROCESSORS,
    STORE,
    connection_of,
    processor_check,
    processor_connect,
    processor_disconnect,
    processor_webhook_url,
)
from duro.dashboard.tenancy import EDIT, MerchantScopedAdmin, access, merchant_id_for
from duro.errors import DuroError

TEMPLATE = "admin/billing/processor.html"
SECRET_FIELDS = ("secret", "webhook_secret", "encryption_key")


@admin.register(ProcessorConnection)
class ProcessorAdmin(MerchantScopedAdmin):
    section = "processor"

    def get_queryset(self, request):
        return super().get_queryset(request).using(STORE)  # live only, whatever the switch

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self.get_object(request, unquote(object_id))  # another merchant's row is a 404
        return HttpResponseRedirect(reverse("admin:billing_processorconnection_changelist"))

    @method_decorator(sensitive_post_parameters(*SECRET_FIELDS))
    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        merchant_id = merchant_id_for(request)
        can_connect = access(request, self.section) == EDIT
        context = {**self.admin_site.each_context(request), "title": "Processor",
                   "opts": self.model._meta, "merchant_id": merchant_id,
                   "can_connect": can_connect, "processors": list(PROCESSORS.values()),
                   "needs_webhook_secret": any(p.needs_webhook_secret
                                               for p in PROCESSORS.values()),
                   "needs_encryption_key": any(p.needs_encryption_key
                                               for p in PROCESSORS.values())}
        if not merchant_id:  # an operator seeing every merchant
            return TemplateResponse(request, TEMPLATE, context)
        status = 200
        if request.method == "POST":
            action = next((a for a in ("connect", "disconnect", "check") if a in request.POST),
                          None)
            if action is None:
                return HttpResponseBadRequest("Unknown form.")
            if action != "check" and not can_connect:
                raise PermissionDenied("Only owners connect or disconnect the processor.")
            if action == "check":
                ok, message = processor_check(merchant_id)
                self.message_user(request, message, messages.SUCCESS if ok else messages.ERROR)
                return HttpResponseRedirect(request.path)
            if action == "disconnect":
                processor_disconnect(merchant_id=merchant_id)
                self.message_user(request, "Processor disconnected: live payments stop until "
                                  "you connect one again.", messages.WARNING)
                return HttpResponseRedirect(request.path)
            try:
                connection = processor_connect(
                    merchant_id=merchant_id, processor=request.POST.get("processor", ""),
                    secret=request.POST.get("secret", ""),
                    webhook_secret=request.POST.get("webhook_secret", ""),
                    encryption_key=request.POST.get("encryption_key", ""),
                    by=request.user.get_username())
            except (DuroError, ImproperlyConfigured) as exc:
                # ImproperlyConfigured: no DURO_ENCRYPTION_KEY to store the secret under
                context["error"] = exc.message if isinstance(exc, DuroError) else str(exc)
                context["chosen"] = request.POST.get("processor", "")
                status = 400 if isinstance(exc, DuroError) else 503
            else:
                self.message_user(
                    request, f"{connection.label} connected ({connection.secret_hint}). The "
                    "key is stored encrypted and will not be shown again: press Test "
                    "connection to check it.", messages.SUCCESS)
                return HttpResponseRedirect(request.path)
        context["connection"] = connection = connection_of(merchant_id)
        context["webhook_urls"] = [
            {"label": p.label, "setting": p.webhook_setting,
             "url": processor_webhook_url(processor=p.name, merchant_id=merchant_id)}
            for p in PROCESSORS.values() if connection is None or p.name == connection.processor]
        return TemplateResponse(request, TEMPLATE, context, status=status)
