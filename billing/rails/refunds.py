"""How a rail gives money back: the sandbox's refund ledger in test mode, the merchant's
connected processor in live mode. Every rail that takes money mixes this in::

    class CardRail(Refunds, PaymentRail): ...
"""

from __future__ import annotations

from billing.rails.base import RefundResult
from billing.rails.live import refunding_processor
from billing.rails.sandbox import sandbox_refund, sandbox_refund_lookup


class Refunds:
    def refund(self, *, mode: str, charge_key: str, charge_reference: str, amount: int,
               currency: str, idempotency_key: str, merchant_id: str = "") -> RefundResult:
        """Give back ``amount`` of the charge made with ``charge_key``; asked twice with
        one key, it refunds once."""
        if mode != "test":
            return refunding_processor(merchant_id).refund(
                charge_key=charge_key, charge_reference=charge_reference, amount=amount,
                currency=currency, idempotency_key=idempotency_key)
        return sandbox_refund(charge_key=charge_key, amount=amount, currency=currency,
                              idempotency_key=idempotency_key)

    def refund_lookup(self, *, mode: str, idempotency_key: str,
                      merchant_id: str = "") -> RefundResult | None:
        if mode != "test":
            return refunding_processor(merchant_id).refund_lookup(idempotency_key=idempotency_key)
        return sandbox_refund_lookup(idempotency_key)
