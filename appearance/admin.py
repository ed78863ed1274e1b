"""Appearance in the admin: the builder, its live preview, publish and rollback.

Access follows the staff login's membership, not Django model permissions:
merchant staff see and edit only their own merchant's StoreConfig (any other
merchant is a 404); a superuser picks the merchant. The preview is the
real hosted page themed by the *draft*, or by the form's unsaved values in
the query string: this module builds that :class:`Appearance` and checkout,
which owns the page, renders it on a sample session that is never saved
(:mod:`appearance.preview`). It is frameable by the admin (same origin) only.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from appearance.forms import AppearanceForm
from appearance.models import StoreConfig, StoreConfigVersion
from appearance.preview import preview_render
from appearance.selectors import Appearance
from appearance.services import (
    store_config_draft_update,
    store_config_get_or_create,
    store_config_publish,
    store_config_rollback,
)
from appearance.theme import theme_css
from appearance.tokens import CHECKS, DEFAULTS, TokenErrors, contrast_warnings, tokens_lenient
from duro.dashboard.tenancy import EDIT, MerchantScopedAdmin, access
from duro.models import Merchant


def _member_merchant_id(user) -> str | None:
    membership = getattr(user, "membership", None)
    return membership.merchant_id if membership is not None else None


def merchant_for(request, merchant_id: str) -> Merchant:
    """The merchant this login may brand, or 404 (never a hint that it exists)."""
    if request.user.is_superuser or _member_merchant_id(request.user) == merchant_id:
        return get_object_or_404(Merchant, pk=merchant_id)
    raise Http404("No such merchant")


def _draft(merchant: Merchant) -> dict:
    config = StoreConfig.objects.filter(merchant=merchant).first()
    return {**DEFAULTS, **(config.draft if config else {})}


def _preview_tokens(request, merchant: Merchant) -> dict:
    """The draft, with the builder's unsaved form values over it where they are valid."""
    values = {k: v for k, v in request.GET.items() if k in CHECKS and k != "logo"}
    return tokens_lenient(values, base=_draft(merchant))


@admin.register(StoreConfig)
class AppearanceAdmin(MerchantScopedAdmin):
    """Not a table of rows: the changelist is the builder (or a merchant picker).

    Scoped like every dashboard page: another merchant's config is a 404 on the
    change, history and delete URLs too."""

    section = "appearance"

    def _allowed(self, request) -> bool:
        user = request.user
        return user.is_active and user.is_staff and (
            user.is_superuser or _member_merchant_id(user) is not None)

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request) and access(request, "appearance") == EDIT

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<str:merchant_id>/builder/", wrap(self.builder_view),
                 name="appearance-builder"),
            path("<str:merchant_id>/rollback/<int:number>/", wrap(self.rollback_view),
                 name="appearance-rollback"),
            path("<str:merchant_id>/preview/", wrap(self.preview_view),
                 name="appearance-preview"),
            path("<str:merchant_id>/preview.css", wrap(self.preview_css_view),
                 name="appearance-preview-css"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        if not self._allowed(request):
            raise Http404
        own = _member_merchant_id(request.user)
        if own and not request.user.is_superuser:
            return HttpResponseRedirect(reverse("admin:appearance-builder", args=[own]))
        context = {**self.admin_site.each_context(request), "title": "Appearance",
                   "merchants": Merchant.objects.order_by("name"), "opts": self.model._meta}
        return TemplateResponse(request, "appearance/admin/pick.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        config = get_object_or_404(StoreConfig, pk=object_id)
        merchant_for(request, config.merchant_id)
        return HttpResponseRedirect(reverse("admin:appearance-builder",
                                            args=[config.merchant_id]))

    def builder_view(self, request, merchant_id: str):
        merchant = merchant_for(request, merchant_id)
        config = store_config_get_or_create(merchant=merchant)
        draft = {**DEFAULTS, **config.draft}
        if request.method == "POST" and not self.has_change_permission(request):
            raise PermissionDenied("Only the merchant's owner changes its appearance.")
        if request.method == "POST":
            form = AppearanceForm(request.POST, request.FILES, draft=draft)
            if form.is_valid():
                try:
                    config = store_config_draft_update(
                        merchant=merchant, changes=form.changes(), logo=form.clean_logo,
                        remove_logo=form.cleaned_data["remove_logo"])
                except TokenErrors as exc:  # validated above; kept for races
                    for name, message in exc.errors.items():
                        form.add_error(name if name in form.fields else None, message)
                else:
                    if request.POST.get("action") == "publish":
                        version = store_config_publish(merchant=merchant, user=request.user)
                        self.message_user(request, f"Published version {version.number}: "
                                                   "customers see it now.", messages.SUCCESS)
                    else:
                        self.message_user(request, "Draft saved. Customers won't see it "
                                                   "until you publish.", messages.SUCCESS)
                    return HttpResponseRedirect(request.path)
        else:
            form = AppearanceForm(draft=draft)
        versions = list(StoreConfigVersion.objects.filter(config=config).order_by("-number"))
        context = {
            **self.admin_site.each_context(request), "title": f"Appearance · {merchant.name}",
            "opts": self.model._meta, "merchant": merchant, "form": form, "config": config,
            "draft": draft, "versions": versions, "warnings": contrast_warnings(draft),
            "logo_url": Appearance(tokens=draft).logo_url,
            "preview_url": reverse("admin:appearance-preview", args=[merchant.id]),
            # A fresh merchant's draft is Duro's default look, which is what customers see.
            "unpublished": draft != {**DEFAULTS, **(config.published.tokens
                                                    if config.published else {})},
            "can_edit": self.has_change_permission(request),
        }
        return TemplateResponse(request, "appearance/admin/builder.html", context)

    @staticmethod
    def _rollback(request, merchant_id: str, number: int):
        merchant = merchant_for(request, merchant_id)
        if access(request, "appearance") != EDIT:
            raise PermissionDenied("Only the merchant's owner changes its appearance.")
        if not StoreConfigVersion.objects.filter(config__merchant=merchant,
                                                 number=number).exists():
            raise Http404("No such version")
        version = store_config_rollback(merchant=merchant, number=number, user=request.user)
        messages.success(request, f"Rolled back: version {version.number} republishes "
                                  f"version {number}.")
        return HttpResponseRedirect(reverse("admin:appearance-builder", args=[merchant.id]))

    def rollback_view(self, request, merchant_id: str, number: int):
        return require_POST(self._rollback)(request, merchant_id, number)

    def preview_view(self, request, merchant_id: str):
        return require_GET(self._preview)(request, merchant_id)

    @staticmethod
    def _preview(request, merchant_id: str):
        merchant = merchant_for(request, merchant_id)
        tokens = _preview_tokens(request, merchant)
        css_url = reverse("admin:appearance-preview-css", args=[merchant.id])
        query = request.GET.urlencode()
        appearance = Appearance(merchant_id=merchant.id, tokens=tokens,
                                theme_url=f"{css_url}?{query}" if query else css_url)
        return preview_render(request, merchant=merchant, appearance=appearance)

    def preview_css_view(self, request, merchant_id: str):
        merchant = merchant_for(request, merchant_id)
        response = HttpResponse(theme_css(_preview_tokens(request, merchant)),
                                content_type="text/css; charset=utf-8")
        response["Cache-Control"] = "no-store"
        return response
