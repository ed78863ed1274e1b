"""URLs of the hosted page and of the public JSON endpoints."""

from django.urls import path

from checkout import api, document_views, invoice_views, portal_views, sdk, views

page_urls = [
    path("<str:token>", views.checkout_page, name="checkout-page"),
    path("<str:token>/otp", views.checkout_otp, name="checkout-otp"),
    path("<str:token>/simulate", views.checkout_simulate, name="checkout-simulate"),
    path("<str:token>/return", views.checkout_return, name="checkout-return"),
    path("<str:token>/identity", views.checkout_identity, name="checkout-identity"),
]

public_api_urls = [
    path("<str:token>", api.HydrateView.as_view(), name="public-hydrate"),
    path("<str:token>/pay", api.PayView.as_view(), name="public-pay"),
    path("<str:token>/status", api.StatusView.as_view(), name="public-status"),
    path("<str:token>/simulate", api.SimulateView.as_view(), name="public-simulate"),
    path("<str:token>/identity", api.IdentityAskView.as_view(), name="public-identity"),
    path("<str:token>/identity/verify", api.IdentityVerifyView.as_view(),
         name="public-identity-verify"),
]

session_api_urls = [
    path("checkout/sessions", api.SessionListView.as_view(), name="sessions"),
    path("checkout/sessions/<str:pk>", api.SessionDetailView.as_view(), name="session"),
    path("checkout/sessions/<str:pk>/expire", api.SessionExpireView.as_view(),
         name="session-expire"),
]

invoice_page_urls = [
    path("<str:token>", invoice_views.invoice_page, name="invoice-page"),
    path("<str:token>/simulate", invoice_views.invoice_simulate, name="invoice-simulate"),
    path("<str:token>/return", invoice_views.invoice_return, name="invoice-return"),
]

document_urls = [  # an invoice's document by its signed link: the .pdf first
    path("invoices/<str:token>.pdf", document_views.invoice_document_pdf,
         name="invoice-document-pdf"),
    path("invoices/<str:token>", document_views.invoice_document_page, name="invoice-document"),
]

public_invoice_api_urls = [
    path("<str:token>", api.InvoiceHydrateView.as_view(), name="public-invoice-hydrate"),
    path("<str:token>/status", api.InvoiceStatusView.as_view(), name="public-invoice-status"),
    path("<str:token>/simulate", api.InvoiceSimulateView.as_view(),
         name="public-invoice-simulate"),
]

sdk_urls = [
    path("sdk.js", sdk.sdk_script, name="sdk"),
]

portal_urls = [
    path("", portal_views.portal_home, name="portal-home"),
    path("subscriptions/<str:subscription_id>/cancel", portal_views.portal_cancel,
         name="portal-cancel"),
    path("subscriptions/<str:subscription_id>/keep", portal_views.portal_keep,
         name="portal-keep"),
    path("subscriptions/<str:subscription_id>/card", portal_views.portal_card,
         name="portal-card"),
    path("<str:token>", portal_views.portal_link, name="portal-open"),
]
