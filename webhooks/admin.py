"""Developers → Webhooks in the admin: endpoints, events (with resend) and deliveries.

Webhooks data is mode-scoped, so every admin view runs inside
``mode_context`` of the session's mode (``request.session["duro_mode"]``,
default ``test``; ``?duro_mode=live`` on any of these pages switches it) and
renders its response inside that context. Staff of a merchant see only that
merchant's rows; superusers see all.
"""

from __future__ import annotations

from functools import wraps

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from duro.modes import MODES, mode_context
from webhooks.addresses import UnsafeUrlError, url_validate
from webhooks.endpoints import secret_generate
from webhooks.events import event_resend
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint


def admin_mode(request) -> str:
    wanted = request.GET.get("duro_mode")
    if wanted in MODES:
        request.session["duro_mode"] = wanted
    mode = request.session.get("duro_mode", "test")
    return mode if mode in MODES else "test"


class ModeScopedAdmin(admin.ModelAdmin):
    """Runs each view, and the rendering of its response, in the session's mode."""

    def get_urls(self):
        urls = super().get_urls()
        for pattern in urls:
            pattern.callback = self._in_mode(pattern.callback)
        return urls

    @staticmethod
    def _in_mode(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            with mode_context(admin_mode(request)):
                response = view(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                return response
        return wrapper

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}),
                         "title": f"{self.model._meta.verbose_name_plural.capitalize()} "
                                  f"— {admin_mode(request).upper()} mode"}
        return super().changelist_view(request, extra_context=extra_context)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        membership = getattr(request.user, "membership", None)
        return queryset.filter(merchant_id=membership.merchant_id if membership else "")


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2048, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ["merchant_id", "url", "events", "description", "status"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            url_validate(url, mode=self.mode)
        except UnsafeUrlError as exc:
            raise ValidationError(exc.message) from None
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ModeScopedAdmin):
    form = EndpointForm
    list_display = ["url", "id", "merchant_id", "status", "failing_since", "disabled_reason",
                    "created_at"]
    list_filter = ["status"]
    search_fields = ["url", "id", "merchant_id"]
    readonly_fields = ["id", "failing_since", "disabled_reason", "created_at", "updated_at"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.mode = admin_mode(request)
        return form

    def save_model(self, request, obj, form, change):
        if not obj.secret:
            obj.secret = secret_generate()
        if obj.status == WebhookEndpoint.Status.ENABLED:
            obj.disabled_reason = ""
        super().save_model(request, obj, form, change)


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ["id", "endpoint", "status", "attempt_count", "last_status_code",
              "next_attempt_at"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ModeScopedAdmin):
    list_display = ["id", "type", "merchant_id", "created_at"]
    list_filter = ["type"]
    search_fields = ["id", "merchant_id"]
    readonly_fields = ["id", "merchant_id", "type", "mode", "data", "created_at"]
    inlines = [DeliveryInline]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Resend to the endpoints subscribed now")
    def resend(self, request, queryset):
        count = sum(len(event_resend(event=event)) for event in queryset)
        self.message_user(request, f"{count} deliveries queued.", messages.SUCCESS)


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["attempted_at", "status_code", "duration_ms", "error", "response_body"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ModeScopedAdmin):
    list_display = ["id", "event", "endpoint", "status", "attempt_count", "last_status_code",
                    "next_attempt_at"]
    list_filter = ["status"]
    search_fields = ["id", "event__id", "endpoint__url"]
    readonly_fields = ["id", "merchant_id", "event", "endpoint", "status", "attempt_count",
                       "last_status_code", "next_attempt_at", "locked_until", "enqueued_at",
                       "created_at"]
    exclude = ["updated_at"]
    inlines = [AttemptInline]

    def has_add_permission(self, request):
        return False
