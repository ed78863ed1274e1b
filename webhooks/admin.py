"""Developers → Webhooks in the dashboard: endpoints, events (with resend) and deliveries.

The dashboard's middleware sets the mode from its test/live switch, and
:class:`~duro.dashboard.tenancy.MerchantScopedAdmin` scopes every row to the
signed-in merchant and applies the ``webhooks`` section's roles. A disabled
endpoint shows why (``disabled_reason``) and since when it failed.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from unfold.admin import TabularInline

from duro.dashboard.tenancy import EDIT, MerchantScopedAdmin, ReadOnlyAdmin, access
from duro.modes import current_mode
from webhooks.addresses import UnsafeUrlError, url_validate
from webhooks.endpoints import endpoint_rotate_secret, secret_generate
from webhooks.events import EVENT_TYPES, event_resend, event_send_test
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint

ALL_EVENTS = "*"


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2048, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(ALL_EVENTS, "All events, including types added later"),
                 *((t, t) for t in EVENT_TYPES)],
        widget=forms.CheckboxSelectMultiple, initial=[ALL_EVENTS],
        help_text="The event types sent to this endpoint.")

    class Meta:
        model = WebhookEndpoint
        fields = ["merchant_id", "url", "events", "description", "status"]

    def clean_events(self):
        events = self.cleaned_data["events"]
        return [ALL_EVENTS] if ALL_EVENTS in events else events

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            url_validate(url, mode=current_mode())
        except UnsafeUrlError as exc:
            raise ValidationError(exc.message) from None
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(MerchantScopedAdmin):
    section = "webhooks"
    form = EndpointForm
    list_display = ["url", "id", "merchant_id", "status", "failing_since", "disabled_reason",
                    "created_at"]
    list_filter = ["status"]
    search_fields = ["url", "id", "merchant_id"]
    readonly_fields = ["id", "failing_since", "disabled_reason", "created_at", "updated_at"]

    actions = ["rotate_secret"]
    change_form_template = "admin/webhooks/endpoint_change_form.html"

    def get_urls(self):
        def post_only(view):
            return self.admin_site.admin_view(require_POST(view))
        return [path("<path:object_id>/rotate-secret/", post_only(self.rotate_secret_view),
                     name="webhooks_webhookendpoint_rotate"),
                path("<path:object_id>/send-test/", post_only(self.send_test_view),
                     name="webhooks_webhookendpoint_send_test"),
                *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        endpoint = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {}),
                   "duro_can_edit": access(request, self.section) == EDIT,
                   "duro_deliveries": endpoint.deliveries.select_related("event")
                   .order_by("-created_at")[:20]}
        return super().change_view(request, object_id, form_url, context)

    def rotate_secret_view(self, request, object_id):
        if access(request, self.section) != EDIT:
            raise PermissionDenied
        endpoint = self.get_object(request, unquote(object_id))
        return _show_secrets(self, request, [endpoint_rotate_secret(endpoint=endpoint)],
                             "New signing secret — copy it now")

    def send_test_view(self, request, object_id):
        if access(request, self.section) != EDIT:
            raise PermissionDenied
        endpoint = self.get_object(request, unquote(object_id))
        delivery = event_send_test(endpoint=endpoint)
        messages.success(request, f"Test event sent to {endpoint.url} (delivery {delivery.pk});"
                         " its status shows under Recent deliveries.")
        return HttpResponseRedirect(reverse("admin:webhooks_webhookendpoint_change",
                                            args=[quote(endpoint.pk)]))

    def save_model(self, request, obj, form, change):
        if not obj.secret:
            obj.secret = secret_generate()
        if obj.status == WebhookEndpoint.Status.ENABLED:
            obj.disabled_reason = ""
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        """The signing secret is shown here, once, right after the endpoint is made."""
        return _show_secrets(self, request, [obj], "Endpoint created — copy its signing secret")

    @admin.action(description="Rotate the signing secret (old one valid 24 h)")
    def rotate_secret(self, request, queryset):
        if access(request, self.section) != EDIT:
            raise PermissionDenied
        rotated = [endpoint_rotate_secret(endpoint=endpoint) for endpoint in queryset]
        return _show_secrets(self, request, rotated, "New signing secrets — copy them now")


def _show_secrets(model_admin, request, endpoints, title):
    context = {**model_admin.admin_site.each_context(request), "title": title,
               "endpoints": endpoints, "opts": WebhookEndpoint._meta}
    return TemplateResponse(request, "admin/duro/webhook_secrets.html", context)


class DeliveryInline(TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ("id", "endpoint", "status", "attempt_count", "last_status_code",
              "next_attempt_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    section = "webhooks"
    list_display = ["id", "type", "merchant_id", "created_at"]
    list_filter = ["type"]
    search_fields = ["id", "merchant_id"]
    readonly_fields = ["id", "merchant_id", "type", "mode", "data", "created_at"]
    inlines = [DeliveryInline]
    actions = ["resend"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if access(request, self.section) != EDIT:
            actions.pop("resend", None)
        return actions

    @admin.action(description="Resend to the endpoints subscribed now")
    def resend(self, request, queryset):
        count = sum(len(event_resend(event=event)) for event in queryset)
        self.message_user(request, f"{count} deliveries queued.", messages.SUCCESS)


class AttemptInline(TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("attempted_at", "status_code", "duration_ms", "error", "response_body")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    section = "webhooks"
    list_display = ["id", "event", "endpoint", "status", "attempt_count", "last_status_code",
                    "next_attempt_at"]
    list_filter = ["status"]
    search_fields = ["id", "event__id", "endpoint__url"]
    readonly_fields = ["id", "merchant_id", "event", "endpoint", "status", "attempt_count",
                       "last_status_code", "next_attempt_at", "locked_until", "enqueued_at",
                       "created_at"]
    exclude = ["updated_at"]
    inlines = [AttemptInline]
