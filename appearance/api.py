"""``GET /v1/public/appearance/{publishable key}``: the published token set as JSON.

For the inline SDK and the customer portal, which run on the merchant's site
and know only the publishable key. A secret, unknown or revoked key is a 404
envelope; the draft never leaves the builder.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from appearance.selectors import published_appearance
from appearance.serializers import PublicAppearanceOutput
from duro.api.views import BaseAPIView
from duro.errors import NotFound
from duro.keys import key_resolve
from duro.models import ApiKey


class PublicAppearanceView(BaseAPIView):
    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(summary="Published appearance tokens (public, by publishable key)", auth=[],
                   responses=PublicAppearanceOutput)
    def get(self, request, key: str):
        api_key = key_resolve(key, kind=ApiKey.Kind.PUBLISHABLE)
        if api_key is None:
            raise NotFound("No such publishable key.", param="key")
        appearance = published_appearance(api_key.merchant_id)
        payload = {"merchant": {"name": api_key.merchant.name}, **appearance.as_payload()}
        response = Response({"data": payload})
        response["Access-Control-Allow-Origin"] = "*"  # read-only, public by design
        return response
