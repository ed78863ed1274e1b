"""Secret-key authentication for the REST API: the key's prefix sets the mode.

``Authorization: Bearer sk_test_…`` → ``request.user`` is the key's
:class:`~duro.models.Merchant`, ``request.auth`` the :class:`~duro.models.ApiKey`,
and the mode context is ``test`` for the rest of the request.
"""

from __future__ import annotations

from rest_framework import authentication, exceptions, permissions

from duro.api import openapi  # noqa: F401 -- registers SecretKeyScheme with drf-spectacular
from duro.keys import key_resolve, key_touch
from duro.models import ApiKey
from duro.modes import set_mode


class SecretKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer sk_test_…'.")
        if credential.startswith(("pk_test_", "pk_live_")):
            raise exceptions.PermissionDenied(
                "A publishable key cannot call this endpoint; use your secret key (sk_…)."
            )
        key = key_resolve(credential, kind=ApiKey.Kind.SECRET)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        key_touch(key)
        set_mode(key.mode)
        request.mode = key.mode
        return key.merchant, key

    def authenticate_header(self, request):
        return 'Bearer realm="duro"'


class IsMerchant(permissions.BasePermission):
    def has_permission(self, request, view):
        if request.auth is None:
            raise exceptions.NotAuthenticated(
                "Provide your secret key: 'Authorization: Bearer sk_…'."
            )
        return True
