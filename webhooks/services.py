"""Outgoing webhooks: endpoints, the events they receive, deliveries with retries, resends.

A domain event (a blinker signal answered in webhooks/receivers.py) becomes one delivery row per
matching endpoint, in the transaction that caused it; the rows are handed to the worker when that
transaction commits. Services flush, never commit — except :func:`attempt_delivery`, a task's body,
which ends its short claim transaction before calling out (no lock is held across the network)."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from core import audit
from core.crypto import CryptoError
from core.db import db, utcnow
from core.keyring import get_keyring
from core.validators import ValidationError
from webhooks import transport
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

#: Every event an endpoint may choose, with its words for the panel.
EVENTS = {
    "document.received": _l("Nota recebida"),
    "document.cancelled": _l("Nota cancelada"),
    "export.ready": _l("Exportação pronta"),
    "client.created": _l("Cliente cadastrado"),
    "client.status_changed": _l("Situação do cliente alterada"),
    "invoice.issued": _l("Fatura emitida"),
    "invoice.paid": _l("Fatura paga"),
    "certificate.expiring": _l("Certificado vencendo"),
}
#: An accountant hears about its companies' documents, exports, certificates and status — never the
#: partner's billing or its new clients (not accepted yet).
ACCOUNTANT_EVENTS = ("document.received", "document.cancelled", "export.ready", "client.status_changed",
                     "certificate.expiring")
MAX_URL = 500
SECRET_PREFIX = "whsec_"
_SECRET_AAD = b"webhook-endpoint-secret"
#: A claimed delivery is not picked by another worker for this long (the POST's timeout is far shorter).
LEASE = timedelta(minutes=2)


class WebhookError(Exception):
    """A rule refuses the action; ``message`` is for people."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# -- endpoints -----------------------------------------------------------------------------------


def _config(name: str):
    return current_app.config[name]


def clean_url(value) -> str:
    """A URL we may call: http(s) with a host, https in production, no credentials, at most 500
    characters; in production its host must resolve to public addresses only (checked again at each
    delivery)."""
    url = (value or "").strip() if isinstance(value, str) else ""
    if not url:
        raise ValueError(_("Informe a URL."))
    if len(url) > MAX_URL:
        raise ValueError(_("A URL deve ter no máximo %(n)s caracteres.", n=MAX_URL))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        raise ValueError(_("URL inválida.")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise ValueError(_("URL inválida: use um endereço como https://exemplo.com.br/webhooks."))
    if parts.username or parts.password:
        raise ValueError(_("A URL não pode conter usuário ou senha."))
    if _config("WEBHOOKS_REQUIRE_HTTPS") and parts.scheme != "https":
        raise ValueError(_("Use uma URL https://."))
    if _config("WEBHOOKS_ALLOW_PRIVATE"):
        return url  # the embedded default: any address, resolved when delivering
    try:
        transport.check_url_target(url, allow_private=False)
    except transport.AddressRefused as exc:
        if exc.code == "private":
            raise ValueError(_("Endereços internos, privados ou de loopback não são permitidos.")) from None
        raise ValueError(_("Não foi possível encontrar o endereço desta URL.")) from None
    return url


def clean_events(value, allowed=tuple(EVENTS)) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(_("Escolha ao menos um evento."))
    unknown = [v for v in value if not isinstance(v, str) or v not in allowed]
    if unknown:
        raise ValueError(_("Evento desconhecido: %(e)s. Use: %(allowed)s.", e=str(unknown[0])[:40],
                           allowed=", ".join(allowed)))
    return sorted(set(value))


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    return get_keyring().decrypt(endpoint.secret_blob, aad=_SECRET_AAD).decode()


def create_endpoint(*, url, events, partner_id: int | None = None, user_id: int | None = None,
                    client_id: int | None = None, actor=None) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of a partner or an accountant; returns it and its secret (shown once)."""
    allowed = tuple(EVENTS) if partner_id is not None else ACCOUNTANT_EVENTS
    errors, clean = {}, {}
    for name, rule, raw in (("url", clean_url, url), ("events", lambda v: clean_events(v, allowed), events)):
        try:
            clean[name] = rule(raw)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise ValidationError(errors)
    secret = _new_secret()
    endpoint = WebhookEndpoint(
        partner_id=partner_id, user_id=user_id, client_id=client_id, url=clean["url"], events=clean["events"],
        secret_blob=get_keyring().encrypt(secret.encode(), aad=_SECRET_AAD), created_by_id=getattr(actor, "id", None),
    )
    db.session.add(endpoint)
    db.session.flush()
    audit.record("webhook.created", endpoint, actor=actor, client_id=client_id,
                 after={"url": endpoint.url, "events": list(endpoint.events)})
    return endpoint, secret


def delete_endpoint(endpoint: WebhookEndpoint, *, actor=None) -> None:
    audit.record("webhook.deleted", endpoint, actor=actor, client_id=endpoint.client_id,
                 before={"url": endpoint.url, "events": list(endpoint.events)})
    db.session.delete(endpoint)
    db.session.flush()


def enable_endpoint(endpoint: WebhookEndpoint, *, actor=None) -> None:
    """Turn a disabled endpoint back on (its failure count starts again)."""
    if endpoint.is_active:
        return
    endpoint.is_active, endpoint.disabled_at, endpoint.consecutive_failures = True, None, 0
    db.session.execute(update(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id,
                                                     WebhookDelivery.status == DeliveryStatus.PENDING)
                       .values(next_attempt_at=utcnow()), execution_options={"synchronize_session": False})
    audit.record("webhook.enabled", endpoint, actor=actor, client_id=endpoint.client_id, after={"url": endpoint.url})
    db.session.flush()


def partner_endpoints(partner_id: int):
    return select(WebhookEndpoint).where(WebhookEndpoint.partner_id == partner_id).order_by(WebhookEndpoint.id)


def accountant_endpoints(user_id: int):
    return select(WebhookEndpoint).where(WebhookEndpoint.user_id == user_id).order_by(WebhookEndpoint.id)


def deliveries_of(endpoint: WebhookEndpoint, limit: int = 50, before_id: int | None = None):
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if before_id:
        query = query.where(WebhookDelivery.id < before_id)
    return db.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)).all()


# -- events -> deliveries ------------------------------------------------------------------------


def _body(event_id: str, event_type: str, created_at: datetime, data: dict) -> str:
    return json.dumps({"id": event_id, "type": event_type, "created_at": created_at.isoformat(), "data": data},
                      ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def matching_endpoints(event_type: str, *, partner_id: int | None, client_id: int | None,
                       accountants: Select | None = None) -> list[WebhookEndpoint]:
    """Active endpoints that chose ``event_type``: the partner's, and those of the accountants who
    accepted the company (``accountants``: the query of their ids, webhooks.payloads.accountants_of, asked inside
    this one; their endpoints for that company or for all of theirs)."""
    owners = []
    if partner_id is not None:
        owners.append(WebhookEndpoint.partner_id == partner_id)
    if accountants is not None and client_id is not None and event_type in ACCOUNTANT_EVENTS:
        owners.append(WebhookEndpoint.user_id.in_(accountants)
                      & ((WebhookEndpoint.client_id.is_(None)) | (WebhookEndpoint.client_id == client_id)))
    if not owners:
        return []
    rows = db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.is_active.is_(True), or_(*owners)))
    return [endpoint for endpoint in rows if event_type in (endpoint.events or ())]


def emit(event_type: str, data: dict, *, partner_id: int | None, client_id: int | None = None,
         accountants: Select | None = None) -> list[WebhookDelivery]:
    """Queue ``event_type`` for every matching endpoint (sent once the current transaction commits)."""
    endpoints = matching_endpoints(event_type, partner_id=partner_id, client_id=client_id, accountants=accountants)
    return emit_to(endpoints, event_type, data)


def emit_to(endpoints: list[WebhookEndpoint], event_type: str, data: dict) -> list[WebhookDelivery]:
    """One event (one ``id``), one delivery per endpoint."""
    if not endpoints:
        return []
    now = utcnow()
    body = _body("evt_" + secrets.token_hex(12), event_type, now, data)
    deliveries = [WebhookDelivery(endpoint_id=e.id, public_id="whd_" + secrets.token_hex(16), event_type=event_type,
                                  body=body, next_attempt_at=now, created_at=now) for e in endpoints]
    db.session.add_all(deliveries)
    db.session.flush()
    db.session.info.setdefault("webhook_new", []).extend(d.id for d in deliveries)
    return deliveries


@sa_event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session):
    ids = session.info.pop("webhook_new", None)
    if not ids:
        return
    from core.tasks import celery

    try:
        for delivery_id in ids:
            celery.tasks["webhooks.deliver"].delay(delivery_id)
    except Exception:  # noqa: BLE001 - the periodic sweep delivers what could not be queued
        current_app.logger.warning("could not enqueue webhook deliveries; the sweep will pick them up")


@sa_event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session):
    session.info.pop("webhook_new", None)


# -- delivery ------------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """After the n-th failed attempt: base·4^(n-1) (30 s, 2 min, 8 min, 32 min … by default)."""
    return timedelta(seconds=_config("WEBHOOKS_BACKOFF_SECONDS") * 4 ** max(attempts - 1, 0))


def _claim(delivery_id: int, now: datetime, *, force: bool) -> bool:
    """Take the delivery for one attempt (so a second worker or the sweep leaves it alone)."""
    query = update(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                          WebhookDelivery.status == DeliveryStatus.PENDING)
    if not force:
        query = query.where(WebhookDelivery.next_attempt_at <= now)
    claimed = db.session.execute(query.values(next_attempt_at=now + LEASE),
                                 execution_options={"synchronize_session": False}).rowcount == 1
    db.session.commit()  # end the short claim transaction: nothing is locked while we call out
    return claimed


def attempt_delivery(delivery_id: int, *, now: datetime | None = None, force: bool = False) -> WebhookDelivery | None:
    """POST one pending delivery once and record the attempt. Returns the delivery, or None when
    there was nothing to do (already delivered, claimed by another worker, not due, endpoint off)."""
    now = now or utcnow()
    if not _claim(delivery_id, now, force=force):
        return None
    delivery = db.session.get(WebhookDelivery, delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        delivery.next_attempt_at = None  # a re-enabled endpoint's resend picks it up
        db.session.flush()
        return None
    body = delivery.body.encode()
    try:
        secret = endpoint_secret(endpoint)
    except CryptoError:  # its master key was removed: nothing can ever sign it again
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        db.session.add(WebhookAttempt(delivery_id=delivery.id, error="secret cannot be decrypted (master key removed)"))
        db.session.flush()
        return delivery
    timestamp = int(utcnow().timestamp())
    outcome = transport.post(endpoint.url, body, {
        "Revenda-Signature": transport.signature_header(secret, timestamp, body),
        "Revenda-Delivery": delivery.public_id,
        "Revenda-Event": delivery.event_type,
    }, timeout=_config("WEBHOOKS_TIMEOUT"), allow_private=_config("WEBHOOKS_ALLOW_PRIVATE"))
    _record(delivery, endpoint, outcome)
    return delivery


def _record(delivery: WebhookDelivery, endpoint: WebhookEndpoint, outcome: transport.Outcome) -> None:
    now = utcnow()
    db.session.add(WebhookAttempt(delivery_id=delivery.id, attempted_at=now, status_code=outcome.status_code,
                                  error=outcome.error, response_snippet=outcome.snippet,
                                  duration_ms=outcome.duration_ms))
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    if outcome.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, now, None
        endpoint.consecutive_failures = 0
    else:
        if delivery.attempts >= _config("WEBHOOKS_MAX_ATTEMPTS"):
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
        endpoint.consecutive_failures += 1
        if endpoint.is_active and endpoint.consecutive_failures >= _config("WEBHOOKS_DISABLE_AFTER"):
            _disable(endpoint, now)
    db.session.flush()


def _owner_email(endpoint: WebhookEndpoint) -> str | None:
    from accounts.models import User
    from partner.models import Partner

    if endpoint.user_id is not None:
        user = db.session.get(User, endpoint.user_id)
        return user.email if user is not None else None
    creator = db.session.get(User, endpoint.created_by_id) if endpoint.created_by_id else None
    if creator is not None and creator.is_active:
        return creator.email
    partner = db.session.get(Partner, endpoint.partner_id)
    return partner.email if partner is not None else None


def _disable(endpoint: WebhookEndpoint, now: datetime) -> None:
    """Too many failures in a row: stop calling, tell the owner."""
    from core.mail import queue_email
    from core.urls import public_url

    endpoint.is_active, endpoint.disabled_at = False, now
    audit.record("webhook.disabled", endpoint, label="sistema (webhooks)", client_id=endpoint.client_id,
                 after={"url": endpoint.url, "consecutive_failures": endpoint.consecutive_failures})
    address = _owner_email(endpoint)
    if address:
        page = "webhooks.accountant_page" if endpoint.user_id else "webhooks.partner_page"
        queue_email(address, _("Webhook desativado após falhas repetidas"), "webhook_disabled", kind="webhook_disabled",
                    partner_id=endpoint.partner_id, endpoint=endpoint, failures=endpoint.consecutive_failures,
                    link=public_url(page))


def resend(delivery: WebhookDelivery, *, actor=None) -> None:
    """Send a delivery again by hand: same ``Revenda-Delivery`` id and body, a fresh set of attempts."""
    if not delivery.endpoint.is_active:
        raise WebhookError(_("Reative o webhook antes de reenviar."))
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, utcnow()
    audit.record("webhook.resent", delivery.endpoint, actor=actor, client_id=delivery.endpoint.client_id,
                 after={"url": delivery.endpoint.url, "event": delivery.event_type})
    db.session.flush()
    db.session.info.setdefault("webhook_new", []).append(delivery.id)


def deliver_due(now: datetime | None = None, limit: int = 100) -> int:
    """The sweep: attempt every pending delivery that is due (queued ones lost, and retries)."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(WebhookDelivery.id).join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now,
               WebhookEndpoint.is_active.is_(True))
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)
    ).all()
    return sum(1 for delivery_id in ids if attempt_delivery(delivery_id, now=now) is not None)
