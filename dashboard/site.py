"""The merchant dashboard: Django's admin with a test/live switch and merchant scoping.

The mode chosen in the header is kept in the session (default ``test``) and
set for the whole request by :class:`duro.middleware.AdminModeMiddleware`, so
the router serves the chosen store. Operators (superusers) may also switch
merchant; merchant staff always see their own.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from unfold.sites import UnfoldAdminSite

from dashboard.forms import EmailLoginForm
from dashboard.home import home_metrics
from dashboard.navigation import GROUP_OF, ORDER, SECTIONS, model_key
from duro.dashboard.tenancy import membership_of, merchant_id_for, role_of
from duro.models import Merchant
from duro.modes import MODES, peek_mode

MODE_SESSION_KEY = "duro_mode"
MERCHANT_SESSION_KEY = "duro_merchant"

MENU_ORDER = [group for group, _entries in SECTIONS]


class DuroAdminSite(UnfoldAdminSite):
    site_header = "Duro"
    site_title = "Duro"
    index_title = "Home"
    index_template = "dashboard/home.html"
    login_form = EmailLoginForm

    def has_permission(self, request):
        return request.user.is_active and request.user.is_staff and (
            request.user.is_superuser or membership_of(request.user) is not None)

    def get_urls(self):
        return [
            path("mode/", self.admin_view(require_POST(self.switch_mode)), name="duro_mode"),
            path("merchant/", self.admin_view(require_POST(self.switch_merchant)),
                 name="duro_merchant"),
            *super().get_urls(),
        ]

    def each_context(self, request):
        context = super().each_context(request)
        membership = membership_of(request.user)
        context.update({
            "duro_mode": peek_mode() or "test",
            "duro_role": role_of(request),
            "duro_merchant": membership.merchant if membership else None,
        })
        if request.user.is_superuser:
            context["duro_merchants"] = list(Merchant.objects.only("id", "name"))
            context["duro_merchant_id"] = request.session.get(MERCHANT_SESSION_KEY, "")
        return context

    def get_app_list(self, request, app_label=None):
        """Every app's pages regrouped by what merchants do (see :data:`SECTIONS`)."""
        apps = super().get_app_list(request, app_label)
        if app_label:
            return apps
        grouped: dict[str, dict] = {}
        for app in apps:
            for model in app["models"]:
                key = model_key(app, model)
                name = GROUP_OF.get(key, app["name"])
                group = grouped.setdefault(name, {**app, "name": name, "models": []})
                group["models"].append((ORDER.get(key, 99), model))
        for group in grouped.values():
            group["models"] = [model for _i, model in sorted(group["models"],
                                                             key=lambda pair: pair[0])]
        order = {name: i for i, name in enumerate(MENU_ORDER)}
        return sorted(grouped.values(), key=lambda a: (order.get(a["name"], 99), a["name"]))

    def index(self, request, extra_context=None):
        context = {**(extra_context or {}),
                   "metrics": home_metrics(merchant_id=merchant_id_for(request))}
        return super().index(request, context)

    # --- switches ---------------------------------------------------------------
    def _back(self, request):
        target = request.POST.get("next") or request.META.get("HTTP_REFERER") or "../"
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = "../"
        return HttpResponseRedirect(target)

    def switch_mode(self, request):
        mode = request.POST.get("mode")
        if mode in MODES:
            request.session[MODE_SESSION_KEY] = mode
            messages.info(request, f"Now viewing {mode} data.")
        return self._back(request)

    def switch_merchant(self, request):
        if request.user.is_superuser:
            merchant_id = request.POST.get("merchant", "")
            if merchant_id and not Merchant.objects.filter(pk=merchant_id).exists():
                merchant_id = ""
            request.session[MERCHANT_SESSION_KEY] = merchant_id
        return self._back(request)
