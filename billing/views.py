"""Billing's one plain Django view: the processors' webhooks, which are not Duro's REST
API (the processor, not a merchant's key, calls it), so it stays out of the OpenAPI
document (``tests/duro/test_api_conventions.py`` lists it as such)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.processors.events import MAX_BODY, TOO_LARGE, processor_event_receive


@csrf_exempt
@require_POST
def processor_events(request: HttpRequest, name: str, merchant_id: str) -> JsonResponse:
    """``POST /v1/processors/<name>/<merchantId>/events``: public, no API key; the raw body
    is read before anything parses it (the signature covers those exact bytes)."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > MAX_BODY:
        answer = TOO_LARGE  # refused unread
    else:
        answer = processor_event_receive(processor=name, merchant_id=merchant_id,
                                         raw_body=request.body, headers=request.headers)
    return JsonResponse({"message": answer.message}, status=answer.status)
