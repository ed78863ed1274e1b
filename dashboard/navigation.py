"""The dashboard's menu, grouped by what merchants do (Payments, Subscriptions, …).

One list, :data:`SECTIONS`, orders every page: the theme's sidebar
(``UNFOLD["SIDEBAR"]["navigation"]`` points at :func:`sidebar`) and the site's
app list both read it, and each entry shows only when the signed-in role may
view that page (the admin's own ``get_app_list`` decides that).

    sidebar(request)  # [{"title": "Payments", "items": [{"title": "Payments", …}]}, …]
"""

from __future__ import annotations

from django.templatetags.static import static
from django.urls import reverse

# (menu group, [(app_label.model, icon)]) in the order a merchant looks for them.
SECTIONS: list[tuple[str, list[tuple[str, str]]]] = [
    ("Payments", [("billing.paymentattempt", "payments"), ("billing.refund", "undo"),
                  ("billing.invoice", "receipt_long")]),
    ("Subscriptions", [("billing.subscription", "autorenew"), ("billing.plan", "sell"),
                       ("billing.dunningpolicy", "event_repeat")]),
    ("Customers", [("billing.customer", "group")]),
    ("Checkout", [("checkout.checkoutsession", "shopping_cart")]),
    ("Developers", [("duro.apikey", "key"), ("webhooks.webhookendpoint", "webhook"),
                    ("webhooks.event", "bolt"), ("webhooks.delivery", "outbox"),
                    ("billing.railsettings", "toggle_on"),
                    ("billing.processorconnection", "hub")]),
    ("Appearance", [("appearance.storeconfig", "palette")]),
    ("Team", [("duro.membership", "badge"), ("duro.merchant", "storefront")]),
]
GROUP_OF = {key: group for group, entries in SECTIONS for key, _icon in entries}
ICON_OF = {key: icon for _group, entries in SECTIONS for key, icon in entries}
ORDER = {key: i for i, key in enumerate(GROUP_OF)}


def model_key(app: dict, model: dict) -> str:
    return f"{app['app_label']}.{model['object_name'].lower()}"


def sidebar(request) -> list[dict]:
    """Unfold's navigation: Home, then each group with the pages this user may view."""
    from django.contrib import admin  # the site is built after settings are read

    groups: dict[str, list[dict]] = {}
    for app in admin.site.get_app_list(request):
        for model in app["models"]:
            if model.get("admin_url"):
                key = model_key(app, model)
                groups.setdefault(app["name"], []).append({
                    "title": model["name"], "icon": ICON_OF.get(key, "article"),
                    "link": model["admin_url"]})
    home = {"title": "Home", "icon": "space_dashboard", "link": reverse("admin:index"),
            "active": request.path == reverse("admin:index")}
    return [{"title": None, "items": [home]},
            *({"title": name, "items": items} for name, items in groups.items())]


def stylesheet(request) -> str:
    return static("dashboard/dashboard.css")
