"""What every app's admin builds on: tenancy, roles and live-mode confirmation.

ModelAdmins live with their apps (``<app>/admin.py``) and derive from
:class:`duro.dashboard.tenancy.MerchantScopedAdmin`. The site itself, its home
page and charts read every app, so they are the top-level :mod:`dashboard` app.
"""
