"""Clients of the live processors that take a merchant's real money (API.md §11).

Each speaks one processor's HTTP API and answers in the rails' own types
(:class:`billing.rails.base.ChargeResult`, :class:`~billing.rails.base.RefundResult`), so a
live rail can hand a pay to a processor and read its answer like the sandbox's::

    from billing.processors.paystack import Paystack

    paystack = Paystack(secret_key, base_url=settings.DURO_PAYSTACK_BASE_URL)
    result = paystack.charge_card(payment_id="pay_…", amount=150_000, currency="NGN",
                                  email="ada@example.com", card={…})

The tests run each against a stand-in written from the processor's documentation
(``tests/standins/``), never against a mock.
"""
