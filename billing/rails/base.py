"""The rail interface: validate (no money moves), charge, charge a saved authorization,
complete an OTP, look up the outcome of an earlier charge by its idempotency key, and
refund a charge (and look that up too)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime


class RailError(Exception):
    """A rail cannot act at all (unknown rail, no live processor configured)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CardDetails:
    """What may be kept of a card: never the number, never the CVC. ``fingerprint`` is the
    keyed hash that recognises the card again (:func:`billing.rails.cards.card_fingerprint`);
    empty when the rail could not compute one."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str = ""


@dataclass(frozen=True)
class ChargeResult:
    status: str  # succeeded | failed | requires_otp | processing
    reference: str = ""
    failure_code: str = ""
    failure_message: str = ""
    card: CardDetails | None = None
    authorization: str = ""  # reusable for renewals, when the rail offers one
    extra: dict = field(default_factory=dict)
    # What the rail actually took, when it can differ from what was asked (a transfer of the
    # wrong amount); None: exactly what was asked.
    amount: int | None = None
    # When the money arrived, as the rail reports it (ISO 8601; empty: not said). Whether it
    # came in time is decided from this, not from when Duro hears of it (a lost webhook's
    # payment found later by the sweep was still in time).
    paid_at: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ChargeResult:
        card = data.get("card")
        return cls(**{**data, "card": CardDetails(**card) if card else None})


@dataclass(frozen=True)
class RefundResult:
    status: str  # succeeded | failed | pending (the rail answers later: ask again)
    reference: str = ""
    failure_code: str = ""
    failure_message: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RefundResult:
        return cls(**data)


class PaymentRail:
    identifier: str = ""
    label: str = ""
    currencies: tuple[str, ...] | None = None  # None: every currency Duro takes
    asynchronous = False  # True: a pay answers "processing"; the rail confirms later

    def offered_for(self, *, currency: str, mode: str) -> bool:
        """Whether a payer in ``currency`` may choose this rail in ``mode``."""
        return self.currencies is None or currency in self.currencies

    def validate(self, details: dict, *, now: datetime, mode: str,
                 currency: str = "") -> dict[str, str]:
        """Field errors (``{"card.number": "…"}``) for the details of a pay in ``currency``;
        empty when valid."""
        raise NotImplementedError

    def charge(self, *, mode: str, amount: int, currency: str, details: dict,
               idempotency_key: str, merchant_id: str = "") -> ChargeResult:
        """Take ``amount``. In live mode ``merchant_id``'s connected processor takes it (the
        sandbox ignores it); ``details`` are the rail's own fields plus the payer's
        ``email`` and the ``expires_before`` of what the payer is shown."""
        raise NotImplementedError

    def card_of(self, details: dict) -> CardDetails | None:
        """What may be kept of the card these (valid) details describe; None for a rail
        that takes no card."""
        return None

    def submit_otp(self, *, mode: str, idempotency_key: str, otp: str,
                   merchant_id: str = "") -> ChargeResult:
        raise RailError("otp_unsupported", f"The {self.label} rail takes no OTP.")

    def submit_pin(self, *, mode: str, idempotency_key: str, pin: str,
                   merchant_id: str = "", amount: int = 0, currency: str = "",
                   details: dict | None = None) -> ChargeResult:
        """The card's PIN for a charge whose processor asked for it (passed on, never kept).
        At a ``card_pin`` step ``details`` carry the card again (with the payer's ``email``
        and the ``return_url``), and ``amount``/``currency`` the attempt's: that processor
        charges the whole card again with the PIN."""
        raise RailError("pin_unsupported", f"The {self.label} rail takes no PIN.")

    def charge_authorization(self, *, mode: str, amount: int, currency: str, authorization: str,
                             idempotency_key: str, merchant_id: str = "",
                             email: str = "", card: CardDetails | None = None) -> ChargeResult:
        """Charge a saved card again (a renewal, or a pay with a saved card, which names the
        ``card``); ``email`` is the customer's, which a processor asks for."""
        raise RailError("no_authorization", f"The {self.label} rail cannot charge again.")

    def simulate(self, *, mode: str, idempotency_key: str, outcome: str) -> ChargeResult:
        """Sandbox only, asynchronous rails: what the bank would say about a pending pay."""
        raise RailError("not_simulated", f"The {self.label} rail has nothing to simulate.")

    def lookup(self, *, mode: str, idempotency_key: str, now: datetime | None = None,
               merchant_id: str = "") -> ChargeResult | None:
        """The outcome of an earlier charge, or None when the rail never saw it; ``now`` is
        when the caller asks (a pending transfer past its account's expiry has failed)."""
        raise NotImplementedError

    def refund(self, *, mode: str, charge_key: str, charge_reference: str, amount: int,
               currency: str, idempotency_key: str, merchant_id: str = "") -> RefundResult:
        """Give back ``amount`` of the charge made with ``charge_key`` (the rail's own
        reference: ``charge_reference``). Asked twice with one key, it refunds once."""
        raise RailError("refund_unsupported", f"The {self.label} rail cannot refund.")

    def refund_lookup(self, *, mode: str, idempotency_key: str,
                      merchant_id: str = "") -> RefundResult | None:
        """The outcome of an earlier refund, or None when the rail never saw it."""
        raise RailError("refund_unsupported", f"The {self.label} rail cannot refund.")
