"""Payment gateway behind a small interface.

Modelled on Warehouse's ``IBillingService`` (a Stripe implementation plus a
local one): services depend on :class:`PaymentGateway` only.

* :class:`StripeGateway` talks to Stripe (or to localstripe in tests) through
  ``stripe.StripeClient``.  Every mutating call carries an idempotency key.
* :class:`ManualGateway` is the embedded default when no Stripe keys are
  configured: customers are local references and anything that would move
  money raises :class:`GatewayUnavailable` so the finance team records the
  payment by hand.

Security: never log API keys, webhook secrets, card data or full tax ids.
Only object ids, amounts and error codes are logged.  Raw card numbers never
pass through this module: cards are collected by Stripe.js against a
SetupIntent and only ``pm_...`` ids reach the back office.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import stripe

__all__ = [
    "BoletoResult",
    "CardDeclined",
    "GatewayError",
    "GatewayUnavailable",
    "ManualGateway",
    "PaymentGateway",
    "PaymentResult",
    "StripeGateway",
    "WebhookSignatureError",
    "boleto_from_payment_intent",
    "build_gateway",
]

log = logging.getLogger(__name__)

CURRENCY = "brl"
WEBHOOK_TOLERANCE_SECONDS = 300
MANUAL_PAYMENTS_MESSAGE = "Pagamentos online não configurados; o financeiro registra o pagamento manualmente."


# --- errors -----------------------------------------------------------------


class GatewayError(Exception):
    """A payment operation failed (bad request, API error, ...)."""


class CardDeclined(GatewayError):
    """The card was refused (by the issuer, or it needs the customer present)."""

    def __init__(
        self,
        message: str = "Cartão recusado.",
        *,
        code: str | None = None,
        decline_code: str | None = None,
        payment_intent_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.decline_code = decline_code
        self.payment_intent_id = payment_intent_id


class GatewayUnavailable(GatewayError):
    """Online payments are not configured, or the provider cannot be reached."""


class WebhookSignatureError(GatewayError):
    """A webhook payload failed signature verification (or is not valid JSON)."""


# --- results ----------------------------------------------------------------


@dataclass(frozen=True)
class PaymentResult:
    payment_intent_id: str
    status: str  # "succeeded" or "processing"
    amount_cents: int
    charge_id: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class BoletoResult:
    payment_intent_id: str
    amount_cents: int
    number: str  # linha digitável
    hosted_voucher_url: str | None
    pdf_url: str | None
    expires_at: datetime  # timezone-aware, UTC


# --- interface --------------------------------------------------------------


@runtime_checkable
class PaymentGateway(Protocol):
    def ensure_customer(
        self,
        payer_ref: str,
        name: str,
        email: str | None,
        tax_id: str | None,
        address: Mapping[str, str | None] | None,
    ) -> str:
        """Create or update the provider customer for ``payer_ref``; return its id."""
        ...

    def create_setup_intent(self, customer_id: str) -> dict[str, str]:
        """Start saving a card off-session; returns ``{"id", "client_secret"}``."""
        ...

    def attach_card(self, customer_id: str, payment_method_id: str) -> dict[str, Any]:
        """Attach ``payment_method_id`` to the customer and make it the default."""
        ...

    def charge_card(self, customer_id: str, amount_cents: int, invoice_ref: str, idempotency_key: str) -> PaymentResult:
        """Charge the customer's default card off-session."""
        ...

    def create_boleto(
        self,
        customer_id: str,
        amount_cents: int,
        invoice_ref: str,
        billing_details: Mapping[str, Any],
        idempotency_key: str,
    ) -> BoletoResult:
        """Issue a boleto for ``amount_cents``."""
        ...

    def refund(self, payment_intent_id: str, amount_cents: int | None, idempotency_key: str) -> dict[str, Any]:
        """Refund ``amount_cents`` (``None``: everything) of a payment."""
        ...

    def parse_webhook(self, payload: bytes, sig_header: str) -> dict[str, Any]:
        """Verify a webhook's signature and return the event as a plain dict."""
        ...


# --- helpers ----------------------------------------------------------------

_ADDRESS_KEYS = ("line1", "line2", "city", "state", "postal_code", "country")


def _field(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` for dicts and stripe 16 objects (which are not dicts)."""
    if obj is None:
        return default
    try:
        value = obj[key]
    except (KeyError, TypeError, IndexError):
        return default
    return default if value is None else value


def _object_id(value: Any) -> str | None:
    """An id from a field that may be an id string or an expanded object."""
    if value is None or isinstance(value, str):
        return value
    return _field(value, "id")


def _digits(value: str | None) -> str | None:
    if value is None:
        return None
    return re.sub(r"\D", "", value) or None


def _clean_address(address: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not address:
        return None
    cleaned = {k: str(address[k]) for k in _ADDRESS_KEYS if address.get(k) not in (None, "")}
    if cleaned:
        cleaned.setdefault("country", "BR")
    return cleaned or None


def _fingerprint(params: Mapping[str, Any]) -> str:
    """Short stable hash of request params, to derive idempotency keys.

    Stripe refuses a reused key with different params, so keys that may be
    replayed with changed data include this fingerprint.
    """
    blob = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def _check_amount(amount_cents: int) -> None:
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise ValueError("amount_cents must be a positive int")


def boleto_from_payment_intent(pi: Any) -> BoletoResult:
    """Read the boleto voucher out of a confirmed boleto PaymentIntent.

    ``pi`` is a stripe ``PaymentIntent`` or the equivalent JSON dict.  Stripe
    answers a confirmed boleto PaymentIntent with ``status ==
    "requires_action"`` and ``next_action.type == "boleto_display_details"``
    whose ``boleto_display_details`` holds ``number`` (linha digitável),
    ``hosted_voucher_url``, ``pdf`` and ``expires_at`` (unix seconds).
    """
    next_action = _field(pi, "next_action")
    if _field(next_action, "type") != "boleto_display_details":
        raise GatewayError(f"PaymentIntent {_field(pi, 'id')} has no boleto voucher (status {_field(pi, 'status')!r})")
    details = _field(next_action, "boleto_display_details")
    number = _field(details, "number")
    expires_at = _field(details, "expires_at")
    if not number or expires_at is None:
        raise GatewayError(f"PaymentIntent {_field(pi, 'id')} has an incomplete boleto voucher")
    return BoletoResult(
        payment_intent_id=_field(pi, "id"),
        amount_cents=int(_field(pi, "amount")),
        number=str(number),
        hosted_voucher_url=_field(details, "hosted_voucher_url"),
        pdf_url=_field(details, "pdf"),
        expires_at=datetime.fromtimestamp(int(expires_at), tz=UTC),
    )


def _signed_at(sig_header: str) -> int | None:
    """The ``t=`` of a ``Stripe-Signature`` header (seconds since the epoch)."""
    for part in (sig_header or "").split(","):
        key, _sep, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            return int(value)
    return None


def _verify_and_load(payload: bytes, sig_header: str, secret: str, tolerance: int) -> dict:
    # Stripe's check refuses a signature older than ``tolerance`` (a replayed delivery) but not one
    # dated in the future; a clock ahead of ours by more than the same margin is refused here.
    signed_at = _signed_at(sig_header)
    if signed_at is not None and signed_at > time.time() + tolerance:
        raise WebhookSignatureError("Assinatura do webhook com data no futuro.")
    try:
        stripe.WebhookSignature.verify_header(payload, sig_header, secret, tolerance)
        event = json.loads(payload)
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureError("Assinatura do webhook inválida.") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookSignatureError("Payload do webhook inválido.") from exc
    if not isinstance(event, dict):
        raise WebhookSignatureError("Payload do webhook inválido.")
    return event


# --- Stripe -----------------------------------------------------------------


class StripeGateway:
    """:class:`PaymentGateway` backed by Stripe's API (stripe-python 16).

    ``api_base`` points the client at another server (localstripe in tests).
    ``http_client`` may be any ``stripe.HTTPClient``; when omitted the
    library default is created here and released by :meth:`close`.
    """

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        *,
        http_client: stripe.HTTPClient | None = None,
        max_network_retries: int = 2,
        webhook_tolerance: int = WEBHOOK_TOLERANCE_SECONDS,
        boleto_expires_after_days: int = 3,
    ) -> None:
        if not api_key:
            raise ValueError("api_key is required")
        if not webhook_secret:
            raise ValueError("webhook_secret is required")
        self._owns_http_client = http_client is None
        self._http_client = http_client or stripe.new_default_http_client()
        base_addresses: dict[str, str] = {"api": api_base} if api_base else {}
        self._client = stripe.StripeClient(
            api_key,
            base_addresses=base_addresses,  # type: ignore[arg-type]
            max_network_retries=max_network_retries,
            http_client=self._http_client,
        )
        self._webhook_secret = webhook_secret
        self._webhook_tolerance = webhook_tolerance
        self._boleto_expires_after_days = boleto_expires_after_days
        self._api_base = api_base

    def __repr__(self) -> str:  # never show the key or the secret
        return f"StripeGateway(api_base={self._api_base!r})"

    def close(self) -> None:
        if self._owns_http_client:
            self._http_client.close()

    # -- error mapping --

    @staticmethod
    def _translate(exc: stripe.StripeError, operation: str) -> GatewayError:
        code = getattr(exc, "code", None)
        request_id = getattr(exc, "request_id", None)
        if isinstance(exc, stripe.CardError):
            error = getattr(exc, "error", None)
            pi_id = _object_id(_field(error, "payment_intent"))
            log.info("stripe %s: card declined code=%s pi=%s", operation, code, pi_id)
            return CardDeclined(
                code=code,
                decline_code=_field(error, "decline_code"),
                payment_intent_id=pi_id,
            )
        if isinstance(exc, stripe.APIConnectionError):
            log.warning("stripe %s: connection error", operation)
            return GatewayUnavailable("Não foi possível contatar o provedor de pagamentos.")
        log.warning(
            "stripe %s failed: %s code=%s request_id=%s http_status=%s",
            operation,
            type(exc).__name__,
            code,
            request_id,
            getattr(exc, "http_status", None),
        )
        return GatewayError(f"Falha no provedor de pagamentos ({operation}: {code or type(exc).__name__}).")

    # -- customers and cards --

    def _find_customer(self, payer_ref: str, email: str | None) -> Any:
        if not email:
            return None
        customers = self._client.v1.customers.list(params={"email": email, "limit": 100})
        for customer in _field(customers, "data", []):
            if _field(_field(customer, "metadata"), "payer_ref") == payer_ref:
                return customer
        return None

    def ensure_customer(
        self,
        payer_ref: str,
        name: str,
        email: str | None,
        tax_id: str | None,
        address: Mapping[str, str | None] | None,
    ) -> str:
        """Find the customer tagged ``metadata.payer_ref`` (by e-mail) or create it.

        The CNPJ/CPF goes to ``metadata.tax_id`` (digits only): boletos carry
        it per payment, and localstripe refuses Brazilian ``tax_id_data``.
        """
        metadata = {"payer_ref": payer_ref}
        if _digits(tax_id):
            metadata["tax_id"] = _digits(tax_id)
        params: dict[str, Any] = {"name": name, "metadata": metadata}
        if email:
            params["email"] = email
        cleaned = _clean_address(address)
        if cleaned:
            params["address"] = cleaned
        fingerprint = _fingerprint({"payer_ref": payer_ref, **params})
        try:
            existing = self._find_customer(payer_ref, email)
            if existing is not None:
                customer = self._client.v1.customers.update(
                    existing["id"],
                    params=params,
                    options={"idempotency_key": f"revenda-customer-update-{existing['id']}-{fingerprint}"},
                )
            else:
                customer = self._client.v1.customers.create(
                    params=params,
                    options={"idempotency_key": f"revenda-customer-{fingerprint}"},
                )
        except stripe.StripeError as exc:
            raise self._translate(exc, "ensure_customer") from exc
        return customer["id"]

    def create_setup_intent(self, customer_id: str, idempotency_key: str | None = None) -> dict[str, str]:
        try:
            intent = self._client.v1.setup_intents.create(
                params={
                    "customer": customer_id,
                    "payment_method_types": ["card"],
                    "usage": "off_session",
                },
                options={"idempotency_key": idempotency_key or f"revenda-setup-{uuid.uuid4()}"},
            )
        except stripe.StripeError as exc:
            raise self._translate(exc, "create_setup_intent") from exc
        return {"id": intent["id"], "client_secret": intent["client_secret"]}

    def attach_card(
        self, customer_id: str, payment_method_id: str, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Attach a card PaymentMethod and make it the customer's default.

        Returns non-sensitive card facts only (brand, last4, expiry).
        """
        key = idempotency_key or f"revenda-card-{customer_id}-{payment_method_id}-{uuid.uuid4()}"
        try:
            pm = self._client.v1.payment_methods.attach(
                payment_method_id,
                params={"customer": customer_id},
                options={"idempotency_key": f"{key}-attach"},
            )
            self._client.v1.customers.update(
                customer_id,
                params={"invoice_settings": {"default_payment_method": payment_method_id}},
                options={"idempotency_key": f"{key}-default"},
            )
        except stripe.StripeError as exc:
            raise self._translate(exc, "attach_card") from exc
        card = _field(pm, "card")
        return {
            "id": pm["id"],
            "brand": _field(card, "brand"),
            "last4": _field(card, "last4"),
            "exp_month": _field(card, "exp_month"),
            "exp_year": _field(card, "exp_year"),
        }

    # -- payments --

    def charge_card(self, customer_id: str, amount_cents: int, invoice_ref: str, idempotency_key: str) -> PaymentResult:
        """Charge the default card off-session (``confirm=True``).

        Raises :class:`CardDeclined` when the issuer refuses or the card
        needs the customer to authenticate (3-D Secure).
        """
        _check_amount(amount_cents)
        if not idempotency_key:
            raise ValueError("idempotency_key is required")
        try:
            customer = self._client.v1.customers.retrieve(customer_id)
            payment_method = _object_id(_field(_field(customer, "invoice_settings"), "default_payment_method"))
            if not payment_method:
                raise GatewayError("O cliente não tem cartão cadastrado.")
            pi = self._client.v1.payment_intents.create(
                params={
                    "amount": amount_cents,
                    "currency": CURRENCY,
                    "customer": customer_id,
                    "payment_method": payment_method,
                    "confirm": True,
                    "off_session": True,
                    "metadata": {"invoice_ref": invoice_ref},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise self._translate(exc, "charge_card") from exc
        status = pi["status"]
        if status not in ("succeeded", "processing"):
            # Off-session payments cannot complete a challenge; treat a
            # pending authentication or a failed attempt as a decline.
            error = _field(pi, "last_payment_error")
            code = "authentication_required" if status == "requires_action" else _field(error, "code")
            log.info("stripe charge_card: pi=%s status=%s", pi["id"], status)
            raise CardDeclined(code=code, payment_intent_id=pi["id"])
        log.info("stripe charge_card: pi=%s status=%s amount=%s", pi["id"], status, amount_cents)
        return PaymentResult(
            payment_intent_id=pi["id"],
            status=status,
            amount_cents=int(pi["amount"]),
            charge_id=_object_id(_field(pi, "latest_charge")),
        )

    def create_boleto(
        self,
        customer_id: str,
        amount_cents: int,
        invoice_ref: str,
        billing_details: Mapping[str, Any],
        idempotency_key: str,
    ) -> BoletoResult:
        """Create and confirm a boleto PaymentIntent and return its voucher.

        ``billing_details``: ``name``, ``email``, ``tax_id`` (CNPJ/CPF, any
        punctuation) and the address as ``address`` (a dict) or flat
        ``line1``/``city``/``state``/``postal_code``/``country`` keys.
        Stripe requires name, e-mail and a full address for boletos.
        """
        _check_amount(amount_cents)
        if not idempotency_key:
            raise ValueError("idempotency_key is required")
        tax_id = _digits(billing_details.get("tax_id"))
        if not tax_id or len(tax_id) not in (11, 14):
            raise ValueError("billing_details.tax_id must be a CPF (11) or CNPJ (14 digits)")
        address = _clean_address(billing_details.get("address") or billing_details)
        details: dict[str, Any] = {"name": billing_details.get("name"), "email": billing_details.get("email")}
        if address:
            details["address"] = address
        try:
            pi = self._client.v1.payment_intents.create(
                params={
                    "amount": amount_cents,
                    "currency": CURRENCY,
                    "customer": customer_id,
                    "payment_method_types": ["boleto"],
                    "payment_method_data": {
                        "type": "boleto",
                        "boleto": {"tax_id": tax_id},
                        "billing_details": {k: v for k, v in details.items() if v},
                    },
                    "payment_method_options": {"boleto": {"expires_after_days": self._boleto_expires_after_days}},
                    "confirm": True,
                    "metadata": {"invoice_ref": invoice_ref},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise self._translate(exc, "create_boleto") from exc
        result = boleto_from_payment_intent(pi)
        log.info("stripe create_boleto: pi=%s amount=%s", result.payment_intent_id, amount_cents)
        return result

    def refund(self, payment_intent_id: str, amount_cents: int | None, idempotency_key: str) -> dict[str, Any]:
        if amount_cents is not None:
            _check_amount(amount_cents)
        if not idempotency_key:
            raise ValueError("idempotency_key is required")
        params: dict[str, Any] = {"payment_intent": payment_intent_id}
        if amount_cents is not None:
            params["amount"] = amount_cents
        try:
            refund = self._client.v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.StripeError as exc:
            raise self._translate(exc, "refund") from exc
        log.info("stripe refund: re=%s pi=%s amount=%s", refund["id"], payment_intent_id, refund["amount"])
        return {
            "id": refund["id"],
            "status": refund["status"],
            "amount_cents": int(refund["amount"]),
            "payment_intent_id": payment_intent_id,
        }

    # -- webhooks --

    def parse_webhook(self, payload: bytes, sig_header: str) -> dict[str, Any]:
        """Verify ``Stripe-Signature`` (HMAC-SHA256, 5 min tolerance) and decode.

        Returns the event as a plain dict (``id``, ``type``, ``data.object``).
        """
        return _verify_and_load(payload, sig_header, self._webhook_secret, self._webhook_tolerance)


# --- manual (no online payments) ---------------------------------------------


class ManualGateway:
    """Embedded default without Stripe keys: payments are recorded by hand."""

    def __repr__(self) -> str:
        return "ManualGateway()"

    def close(self) -> None:
        pass

    def ensure_customer(
        self,
        payer_ref: str,
        name: str,
        email: str | None,
        tax_id: str | None,
        address: Mapping[str, str | None] | None,
    ) -> str:
        return f"manual:{payer_ref}"

    def create_setup_intent(self, customer_id: str, idempotency_key: str | None = None) -> dict[str, str]:
        raise GatewayUnavailable(MANUAL_PAYMENTS_MESSAGE)

    def attach_card(
        self, customer_id: str, payment_method_id: str, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        raise GatewayUnavailable(MANUAL_PAYMENTS_MESSAGE)

    def charge_card(self, customer_id: str, amount_cents: int, invoice_ref: str, idempotency_key: str) -> PaymentResult:
        raise GatewayUnavailable(MANUAL_PAYMENTS_MESSAGE)

    def create_boleto(
        self,
        customer_id: str,
        amount_cents: int,
        invoice_ref: str,
        billing_details: Mapping[str, Any],
        idempotency_key: str,
    ) -> BoletoResult:
        raise GatewayUnavailable(MANUAL_PAYMENTS_MESSAGE)

    def refund(self, payment_intent_id: str, amount_cents: int | None, idempotency_key: str) -> dict[str, Any]:
        raise GatewayUnavailable(MANUAL_PAYMENTS_MESSAGE)

    def parse_webhook(self, payload: bytes, sig_header: str) -> dict[str, Any]:
        raise GatewayUnavailable("Webhooks de pagamento não configurados (sem chaves do Stripe).")


def build_gateway(
    api_key: str | None = None,
    webhook_secret: str | None = None,
    api_base: str | None = None,
) -> StripeGateway | ManualGateway:
    """:class:`StripeGateway` when both Stripe secrets are set, else :class:`ManualGateway`."""
    if api_key and webhook_secret:
        return StripeGateway(api_key, webhook_secret, api_base)
    return ManualGateway()
