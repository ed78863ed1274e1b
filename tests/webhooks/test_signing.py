"""The merchant-facing signature helper, and compatibility with Standard Webhooks."""

import base64
import json
import time
from datetime import datetime

import pytest
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as SWError

from webhooks.endpoints import secret_generate
from webhooks.signing import WebhookVerificationError, sign, sign_all, verify

NOW = 1_800_000_000
BODY = json.dumps({"id": "evt_1", "type": "payment_success", "data": {}},
                  separators=(",", ":")).encode()


def headers(signature, msg_id="evt_1", timestamp=NOW, prefix="Duro-"):
    if prefix == "Duro-":
        return {"Duro-Event-Id": msg_id, "Duro-Timestamp": str(timestamp),
                "Duro-Signature": signature}
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature}


def test_secret_is_whsec_and_base64_of_at_least_24_bytes():
    secret = secret_generate()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert secret != secret_generate()


def test_valid_signature_verifies_with_both_header_names():
    secret = secret_generate()
    sig = sign(secret, "evt_1", NOW, BODY)
    assert sig.startswith("v1,")
    assert verify(secret, headers(sig), BODY, now=NOW)["id"] == "evt_1"
    assert verify([secret], headers(sig, prefix="webhook-"), BODY, now=NOW + 299)


@pytest.mark.parametrize("case", ["tampered", "wrong_secret", "stale", "future", "other_id"])
def test_rejects(case):
    secret = secret_generate()
    sig = sign(secret, "evt_1", NOW, BODY)
    body, key, now, hdrs = BODY, secret, NOW, headers(sig)
    if case == "tampered":
        body = BODY.replace(b"payment_success", b"payment_failed!")
    elif case == "wrong_secret":
        key = secret_generate()
    elif case == "stale":
        now = NOW + 301
    elif case == "future":
        now = NOW - 301
    elif case == "other_id":
        hdrs = headers(sig, msg_id="evt_2")
    with pytest.raises(WebhookVerificationError):
        verify(key, hdrs, body, now=now)


def test_missing_headers_are_a_clear_error():
    with pytest.raises(WebhookVerificationError, match="Missing header Duro-Signature"):
        verify(secret_generate(), {"Duro-Event-Id": "evt_1", "Duro-Timestamp": str(NOW)}, BODY,
               now=NOW)


def test_rotation_sends_two_signatures_and_either_secret_verifies():
    old, new = secret_generate(), secret_generate()
    header = sign_all([new, old], "evt_1", NOW, BODY)
    assert len(header.split(" ")) == 2
    assert verify(old, headers(header), BODY, now=NOW)
    assert verify(new, headers(header), BODY, now=NOW)
    with pytest.raises(WebhookVerificationError):
        verify(secret_generate(), headers(header), BODY, now=NOW)


def test_standard_webhooks_library_verifies_duro_signatures():
    old, new = secret_generate(), secret_generate()
    now = int(time.time())
    header = sign_all([new, old], "evt_1", now, BODY)
    for secret in (old, new):
        assert Webhook(secret).verify(BODY, headers(header, timestamp=now, prefix="webhook-"))
    with pytest.raises(SWError):
        Webhook(secret_generate()).verify(BODY, headers(header, timestamp=now, prefix="webhook-"))
    # ...and Duro's helper verifies what the library signs.
    sw_sig = Webhook(new).sign("evt_1", datetime.fromtimestamp(now), BODY.decode())
    assert verify(new, headers(sw_sig, timestamp=now), BODY, now=now)
