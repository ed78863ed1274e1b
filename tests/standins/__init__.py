"""Local stand-ins of the processors' APIs, written by us from their public documentation.

Each is a real HTTP server on 127.0.0.1 speaking the processor's protocol (request
validation, envelopes, error bodies, status codes, signed webhooks), so that Duro's client
code runs end to end against it; nothing is mocked at the function level::

    from tests.standins.paystack import PaystackStandin

    standin = PaystackStandin(webhook_url="http://127.0.0.1:8000/v1/processors/…")
    Paystack(standin.secret_key, base_url=standin.url).verify(payment_id="pay_Abc")
    standin.close()

Tests use the fixtures (``paystack_standin``), which start and stop them.
"""
