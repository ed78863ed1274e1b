"""The merchant dashboard (Django's admin): site, tenancy, roles, home page and charts.

ModelAdmins live with their apps (``<app>/admin.py``) and derive from
:class:`duro.dashboard.tenancy.MerchantScopedAdmin`.
"""
