"""Top-level URLs: the REST API under /v1, the hosted page, the admin, health."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from billing.api import (
    InvoiceDetailView,
    InvoiceListView,
    PlanDetailView,
    PlanListView,
    SubscriptionAdvanceView,
    SubscriptionCancelView,
    SubscriptionDetailView,
    SubscriptionListView,
)
from duro.api.views import MerchantView
from duro.health import healthz

admin.site.site_header = "Duro"
admin.site.site_title = "Duro"
admin.site.index_title = "Dashboard"

api_v1 = [
    path("merchant", MerchantView.as_view(), name="merchant"),
    path("plans", PlanListView.as_view(), name="plans"),
    path("plans/<str:pk>", PlanDetailView.as_view(), name="plan"),
    path("subscriptions", SubscriptionListView.as_view(), name="subscriptions"),
    path("subscriptions/<str:pk>", SubscriptionDetailView.as_view(), name="subscription"),
    path("subscriptions/<str:pk>/cancel", SubscriptionCancelView.as_view(),
         name="subscription-cancel"),
    path("subscriptions/<str:pk>/advance", SubscriptionAdvanceView.as_view(),
         name="subscription-advance"),
    path("invoices", InvoiceListView.as_view(), name="invoices"),
    path("invoices/<str:pk>", InvoiceDetailView.as_view(), name="invoice"),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi"), name="docs"),
]

urlpatterns = [
    path("v1/", include(api_v1)),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

handler404 = "duro.api.errors.json_not_found"
handler500 = "duro.api.errors.json_server_error"
