"""Top-level URLs: the REST API under /v1, the hosted page, the admin, health."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from appearance.api import PublicAppearanceView
from billing.api import (
    CouponDetailView,
    CouponListView,
    CustomerBlacklistView,
    CustomerDetailView,
    CustomerListView,
    CustomerPortalSessionView,
    InvoiceDetailView,
    InvoiceListView,
    PaymentDetailView,
    PaymentListView,
    PlanDetailView,
    PlanListView,
    RefundDetailView,
    RefundListView,
    SubscriptionAdvanceView,
    SubscriptionCancelView,
    SubscriptionChangePreviewView,
    SubscriptionChangeView,
    SubscriptionDetailView,
    SubscriptionListView,
    SubscriptionPauseView,
    SubscriptionResumeView,
)
from billing.views import processor_events
from checkout.urls import (
    document_urls,
    invoice_page_urls,
    page_urls,
    portal_urls,
    public_api_urls,
    public_invoice_api_urls,
    sdk_urls,
    session_api_urls,
)
from duro.api.views import MerchantView
from duro.health import healthz
from duro.views import landing
from webhooks.api import (
    EndpointDetailView,
    EndpointListView,
    EndpointRotateSecretView,
    EventDetailView,
    EventListView,
    EventResendView,
)

api_v1: list[URLPattern | URLResolver] = [
    path("merchant", MerchantView.as_view(), name="merchant"),
    path("plans", PlanListView.as_view(), name="plans"),
    path("plans/<str:pk>", PlanDetailView.as_view(), name="plan"),
    path("webhook-endpoints", EndpointListView.as_view(), name="webhook-endpoints"),
    path("webhook-endpoints/<str:pk>", EndpointDetailView.as_view(), name="webhook-endpoint"),
    path("webhook-endpoints/<str:pk>/rotate-secret", EndpointRotateSecretView.as_view(),
         name="webhook-endpoint-rotate-secret"),
    path("events", EventListView.as_view(), name="events"),
    path("events/<str:pk>", EventDetailView.as_view(), name="event"),
    path("events/<str:pk>/resend", EventResendView.as_view(), name="event-resend"),
    path("coupons", CouponListView.as_view(), name="coupons"),
    path("coupons/<str:pk>", CouponDetailView.as_view(), name="coupon"),
    path("customers", CustomerListView.as_view(), name="customers"),
    path("customers/<str:pk>", CustomerDetailView.as_view(), name="customer"),
    path("customers/<str:pk>/portal-sessions", CustomerPortalSessionView.as_view(),
         name="customer-portal-sessions"),
    path("customers/<str:pk>/blacklist", CustomerBlacklistView.as_view(),
         name="customer-blacklist"),
    *session_api_urls,
    path("public/checkout/", include(public_api_urls)),
    path("public/invoices/", include(public_invoice_api_urls)),
    path("public/appearance/<str:key>", PublicAppearanceView.as_view(), name="public-appearance"),
    path("subscriptions", SubscriptionListView.as_view(), name="subscriptions"),
    path("subscriptions/<str:pk>", SubscriptionDetailView.as_view(), name="subscription"),
    path("subscriptions/<str:pk>/change-preview", SubscriptionChangePreviewView.as_view(),
         name="subscription-change-preview"),
    path("subscriptions/<str:pk>/change", SubscriptionChangeView.as_view(),
         name="subscription-change"),
    path("subscriptions/<str:pk>/cancel", SubscriptionCancelView.as_view(),
         name="subscription-cancel"),
    path("subscriptions/<str:pk>/pause", SubscriptionPauseView.as_view(),
         name="subscription-pause"),
    path("subscriptions/<str:pk>/resume", SubscriptionResumeView.as_view(),
         name="subscription-resume"),
    path("subscriptions/<str:pk>/advance", SubscriptionAdvanceView.as_view(),
         name="subscription-advance"),
    path("invoices", InvoiceListView.as_view(), name="invoices"),
    path("invoices/<str:pk>", InvoiceDetailView.as_view(), name="invoice"),
    path("payments", PaymentListView.as_view(), name="payments"),
    path("payments/<str:pk>", PaymentDetailView.as_view(), name="payment"),
    path("refunds", RefundListView.as_view(), name="refunds"),
    path("refunds/<str:pk>", RefundDetailView.as_view(), name="refund"),
    # The processors' webhooks: called by Paystack or Flutterwave, not with a merchant's
    # key, so not part of the documented API (tests/duro/test_api_conventions.py).
    path("processors/<str:name>/<str:merchant_id>/events", processor_events,
         name="processor-events"),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi"), name="docs"),
]

urlpatterns = [
    path("", landing, name="landing"),
    path("v1/", include(sdk_urls)),  # the inline SDK's script, not part of the REST API
    path("v1/", include(api_v1)),
    path("checkout/", include(page_urls)),
    path("invoice/", include(invoice_page_urls)),
    path("documents/", include(document_urls)),
    path("portal/", include(portal_urls)),
    path("appearance/", include("appearance.urls")),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", RedirectView.as_view(url=static("checkout/favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
]

handler404 = "duro.api.errors.json_not_found"
handler500 = "duro.api.errors.json_server_error"
