"""Django's admin app, configured to serve the merchant dashboard's site."""

from django.contrib.admin.apps import AdminConfig


class DashboardAdminConfig(AdminConfig):
    """Django's admin, as the merchant dashboard (:class:`dashboard.site.DuroAdminSite`)."""

    default_site = "dashboard.site.DuroAdminSite"
