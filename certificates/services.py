"""Certificate and integration-key rules: upload, status, expiry alerts, rotation, reveal, rewrap.

Secrets (the PFX, its password, the integration key) are envelope-encrypted with the app's key
ring before they reach a model, with the client id as associated data so a blob copied to another
client's row does not decrypt. They are never logged, audited or put in an exception message.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import math
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import g, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from accounts.models import User
from accounts.services import managers_by_partner
from accounts.twofactor import TwoFactor
from certificates.models import Certificate, CertificateAlert, IntegrationKey
from certificates.pfx import CertificateError, ErrorCode, inspect_pfx
from certificates.signals import certificate_expiring
from core import audit
from core.crypto import KeyRing
from core.db import db, utcnow
from core.keyring import get_keyring
from core.mail import queue_email
from core.urls import public_url
from core.validators import ValidationError
from partner.models import Client, ContractStatus
from partner.tabs import Flag

__all__ = [
    "ALERT_THRESHOLDS",
    "EXPIRING_DAYS",
    "GRACE_CHOICES",
    "KEY_PREFIX",
    "CertificateError",
    "CertificateStatus",
    "ConcurrentChangeError",
    "authenticate_integration_key",
    "certificate_error_message",
    "certificate_flags",
    "certificate_status",
    "decrypt_certificate",
    "create_integration_key",
    "ensure_integration_key",
    "get_keyring",
    "reveal_integration_key",
    "revoke_integration_key",
    "rewrap_batch",
    "rotate_integration_key",
    "send_expiry_alerts",
    "upload_certificate",
]

log = logging.getLogger(__name__)

EXPIRING_DAYS = 30
#: Days before expiry at which the manager and the client are e-mailed; 0 = on expiry.
ALERT_THRESHOLDS = (30, 15, 7, 1, 0)
#: Grace periods offered when rotating a key (seconds -> label); the API accepts the same values.
GRACE_CHOICES = {0: _l("Nenhum"), 3600: _l("1 hora"), 86400: _l("24 horas"), 604800: _l("7 dias")}
KEY_PREFIX = "rvk_live_"
_KEY_RE = re.compile(r"rvk_live_[A-Za-z0-9_-]{43}")  # the prefix + secrets.token_urlsafe(32)


class ConcurrentChangeError(Exception):
    """Two uploads or two key rotations for the same client raced; the other one won (409)."""


class CertificateStatus(enum.StrEnum):
    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    NONE = "none"


def _actor_label(actor) -> str | None:
    """Audit label for calls without a logged-in user (the partner API sets ``g.api_actor_label``)."""
    if actor is None and has_request_context():
        return g.get("api_actor_label")
    return None


def _aad(client_id: int, purpose: str) -> bytes:
    return f"client:{client_id}:{purpose}".encode()


# -- certificates ---------------------------------------------------------------------------------


def active_certificate(client_id: int) -> Certificate | None:
    return db.session.scalar(
        select(Certificate).where(Certificate.client_id == client_id, Certificate.is_active.is_(True))
    )


def certificate_history(client_id: int) -> list[Certificate]:
    """Every certificate the client had, newest first (the active one included)."""
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.client_id == client_id)
            .order_by(Certificate.uploaded_at.desc(), Certificate.id.desc())
        )
    )


def days_left(not_after: datetime, now: datetime) -> int:
    """Whole days until expiry, rounded up (a certificate expiring in 2 h "vence em 1 dia")."""
    return max(0, math.ceil((not_after - now).total_seconds() / 86400))


def certificate_status(cert: Certificate | None, now: datetime | None = None) -> CertificateStatus:
    if cert is None:
        return CertificateStatus.NONE
    now = now or utcnow()
    if now >= cert.not_after:
        return CertificateStatus.EXPIRED
    if cert.not_after - now <= timedelta(days=EXPIRING_DAYS):
        return CertificateStatus.EXPIRING
    return CertificateStatus.VALID


def certificate_summary(cert: Certificate | None, now: datetime | None = None) -> dict:
    """Status and public metadata (JSON-ready) — never the file or its password."""
    now = now or utcnow()
    summary = {"status": certificate_status(cert, now).value, "cnpj": None, "subject": None, "not_before": None,
               "not_after": None, "fingerprint_sha256": None, "days_left": None}
    if cert is not None:
        summary.update(
            cnpj=cert.cnpj, subject=cert.subject, not_before=cert.not_before.isoformat(),
            not_after=cert.not_after.isoformat(), fingerprint_sha256=cert.fingerprint_sha256,
            days_left=days_left(cert.not_after, now),
        )
    return summary


def error_field(error: CertificateError) -> str:
    """The form field a refusal belongs next to."""
    return "password" if error.code == ErrorCode.WRONG_PASSWORD else "file"


# pfx.py is Flask-free on purpose, so its messages are fixed Portuguese. People read this mapping
# instead: the same texts, through gettext, keyed by ``CertificateError.code``.
_CERTIFICATE_MESSAGES = {
    ErrorCode.TOO_LARGE: _l("O arquivo excede o tamanho máximo permitido."),
    ErrorCode.EMPTY: _l("O arquivo está vazio."),
    ErrorCode.NOT_PKCS12: _l(
        "O arquivo não é um certificado A1 no formato PFX (.pfx ou .p12). Envie o arquivo exportado "
        "com a chave privada, não apenas o certificado (.cer/.crt/.pem)."
    ),
    ErrorCode.WRONG_PASSWORD: _l("Senha do certificado incorreta."),
    ErrorCode.UNSUPPORTED_ENCODING: _l(
        "O certificado foi lido, mas contém uma codificação inválida que não podemos processar com "
        "segurança. Exporte o PFX novamente (por exemplo, pelo gerenciador de certificados) e tente "
        "outra vez."
    ),
    ErrorCode.NO_KEY: _l(
        "O arquivo não contém a chave privada do certificado. Exporte o certificado A1 novamente, "
        "incluindo a chave privada."
    ),
    ErrorCode.NO_CERTIFICATE: _l("O arquivo contém uma chave privada, mas nenhum certificado."),
    ErrorCode.KEY_MISMATCH: _l("A chave privada do arquivo não corresponde ao certificado."),
    ErrorCode.NOT_YET_VALID: _l("O certificado ainda não é válido."),
    ErrorCode.EXPIRED: _l("O certificado expirou."),
    ErrorCode.NO_CNPJ: _l("Este certificado não contém um CNPJ de empresa (um e-CPF não é aceito)."),
    ErrorCode.CNPJ_MISMATCH: _l("O CNPJ do certificado não corresponde ao CNPJ do cliente."),
}

# The checks that know more put it in their message (a size, a date, two CNPJs): carry it over.
_CERTIFICATE_DETAILS = {
    ErrorCode.TOO_LARGE: re.compile(r"tamanho máximo de (?P<limit>[^.]+)\.$"),
    ErrorCode.NOT_YET_VALID: re.compile(r"válido a partir de (?P<date>[^)]+)\)"),
    ErrorCode.EXPIRED: re.compile(r"expirou em (?P<date>[^ ]+)\.$"),
    ErrorCode.CNPJ_MISMATCH: re.compile(r"certificado \((?P<cert>[^)]+)\) .* cliente \((?P<client>[^)]+)\)"),
}


def certificate_error_message(error: CertificateError) -> str:
    """The refusal in the reader's language (``error.message`` is always Portuguese)."""
    pattern = _CERTIFICATE_DETAILS.get(error.code)
    found = pattern.search(error.message) if pattern is not None else None
    if found is not None:
        d = found.groupdict()
        if error.code == ErrorCode.TOO_LARGE:
            return _("O arquivo excede o tamanho máximo de %(limit)s.", limit=d["limit"])
        if error.code == ErrorCode.NOT_YET_VALID:
            return _("O certificado ainda não é válido (válido a partir de %(date)s).", date=d["date"])
        if error.code == ErrorCode.EXPIRED:
            return _("O certificado expirou em %(date)s.", date=d["date"])
        return _("O CNPJ do certificado (%(cert)s) não corresponde ao CNPJ do cliente (%(client)s).",
                 cert=d["cert"], client=d["client"])
    return str(_CERTIFICATE_MESSAGES.get(error.code, error.message))


def upload_certificate(
    client: Client, data: bytes | None, password: str, *, actor=None, now: datetime | None = None
) -> Certificate:
    """Validate a PFX for ``client`` and store it encrypted, replacing the active certificate.

    Raises :class:`ValidationError` when no file was sent, :class:`CertificateError` (with a
    Portuguese ``message``) when the file is refused, :class:`ConcurrentChangeError` when another
    upload for the client won a race; nothing is stored then.
    """
    if data is None:
        raise ValidationError({"file": _("Escolha o arquivo do certificado (.pfx ou .p12).")})
    now = now or utcnow()
    info = inspect_pfx(data, password or "", expected_cnpj=client.cnpj, now=now)
    ring = get_keyring()
    previous = active_certificate(client.id)
    if previous is not None:
        previous.is_active = False
        previous.replaced_at = now
        db.session.flush()  # free the "one active per client" slot before inserting
    cert = Certificate(
        client_id=client.id,
        pfx_encrypted=ring.encrypt(bytes(data), aad=_aad(client.id, "pfx")),
        password_encrypted=ring.encrypt((password or "").encode("utf-8"), aad=_aad(client.id, "pfx-password")),
        key_id=ring.active_key_id,
        subject=info.subject[:1000],
        common_name=info.common_name[:300],
        cnpj=info.cnpj,
        serial=info.serial[:80],
        issuer=info.issuer[:1000],
        fingerprint_sha256=info.fingerprint_sha256,
        not_before=info.not_before,
        not_after=info.not_after,
        uploaded_at=now,
        uploaded_by_id=getattr(actor, "id", None),
        is_active=True,
    )
    try:
        with db.session.begin_nested():  # "one active per client" holds even against a concurrent upload
            db.session.add(cert)
    except IntegrityError:
        raise ConcurrentChangeError() from None
    audit.record(
        "certificate.uploaded", cert, actor=actor, label=_actor_label(actor),
        partner_id=client.partner_id, client_id=client.id,
        before={"fingerprint_sha256": previous.fingerprint_sha256, "not_after": previous.not_after}
        if previous is not None else None,
        after=audit.snapshot(cert, ("cnpj", "common_name", "serial", "fingerprint_sha256", "not_after")),
    )
    return cert


def decrypt_certificate(cert: Certificate) -> tuple[bytes, str]:
    """The PFX bytes and its password, for the client's software to sign with."""
    ring = get_keyring()
    pfx = ring.decrypt(cert.pfx_encrypted, aad=_aad(cert.client_id, "pfx"))
    password = ring.decrypt(cert.password_encrypted, aad=_aad(cert.client_id, "pfx-password"))
    return pfx, password.decode("utf-8")


def record_certificate_download(cert: Certificate, key: IntegrationKey) -> None:
    """Audit that the client's software fetched its certificate (what and with which key; no secret)."""
    audit.record(
        "certificate.downloaded", cert, label=f"integration:{key.prefix}…{key.last4}",
        partner_id=cert.client.partner_id, client_id=cert.client_id,
        after={"fingerprint_sha256": cert.fingerprint_sha256, "integration_key": f"…{key.last4}"},
    )


def certificate_flags(client_ids: Iterable[int], now: datetime | None = None) -> dict[int, list[Flag]]:
    """Dashboard badges for clients whose certificate expires within 30 days or has expired."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Certificate.client_id, Certificate.not_after).where(
            Certificate.client_id.in_(list(client_ids)),
            Certificate.is_active.is_(True),
            Certificate.not_after <= now + timedelta(days=EXPIRING_DAYS),
        )
    )
    flags: dict[int, list[Flag]] = {}
    for client_id, not_after in rows:
        if not_after <= now:
            flag = Flag(_("Certificado vencido"), "danger")
        else:
            n = days_left(not_after, now)
            flag = Flag(ngettext("Certificado vence em %(num)d dia", "Certificado vence em %(num)d dias", n), "warning")
        flags[client_id] = [flag]
    return flags


# -- the dashboard's certificate column and filter (partner.tabs registries) ---------------------------


def _active_certificate_of_client():
    return select(Certificate.not_after).where(Certificate.client_id == Client.id, Certificate.is_active.is_(True))


def certificate_expiry_expression():
    """The client's active certificate's ``not_after`` (NULL without one), correlated to ``Client``:
    the dashboard adds it to its page query, so the column costs no query of its own."""
    return _active_certificate_of_client().scalar_subquery().label("certificate_not_after")


def certificate_cell(not_after: datetime | None, now: datetime | None = None) -> Flag:
    """What the dashboard's Certificado column shows for a certificate valid until ``not_after``."""
    now = now or utcnow()
    if not_after is None:
        return Flag(_("sem certificado"), "secondary")
    if not_after <= now:
        return Flag(_("vencido"), "danger")
    if not_after - now <= timedelta(days=EXPIRING_DAYS):
        n = days_left(not_after, now)
        return Flag(ngettext("expira em %(num)d dia", "expira em %(num)d dias", n), "warning")
    from flask_babel import to_user_timezone

    return Flag(_("válido até %(date)s", date=to_user_timezone(not_after).strftime("%d/%m/%Y")), "success")


def certificate_filter_condition(value: str, now: datetime | None = None):
    """WHERE clause on ``Client`` for the dashboard filter (valid / expiring / expired / none)."""
    now = now or utcnow()
    soon = now + timedelta(days=EXPIRING_DAYS)
    active = _active_certificate_of_client()
    if value == CertificateStatus.NONE:
        return ~active.exists()
    if value == CertificateStatus.EXPIRED:
        return active.where(Certificate.not_after <= now).exists()
    if value == CertificateStatus.EXPIRING:
        return active.where(Certificate.not_after > now, Certificate.not_after <= soon).exists()
    return active.where(Certificate.not_after > soon).exists()


# -- expiry alerts ----------------------------------------------------------------------------------


def upload_rate_limited_message() -> str:
    """Checking a PFX is costly, so uploads are limited per user (panel) and per partner (API)."""
    return _("Muitos envios de certificado em pouco tempo. Aguarde alguns minutos e tente novamente.")


def _public_url(endpoint: str, **values) -> str:
    """An absolute link for an e-mail, on PUBLIC_URL (never the request's Host)."""
    return public_url(endpoint, **values)


def _due_threshold(not_after: datetime, now: datetime) -> int | None:
    """The most urgent threshold reached: the smallest t with now >= not_after - t days."""
    reached = [t for t in ALERT_THRESHOLDS if now >= not_after - timedelta(days=t)]
    return min(reached) if reached else None


def send_expiry_alerts(now: datetime | None = None) -> int:
    """E-mail the partner's managers and the client about certificates nearing or past expiry.

    Each (certificate, threshold) is alerted once; when the task missed days, only the most urgent
    threshold reached is sent (no burst of stale "vence em 30 dias"). Returns the alerts sent.
    """
    now = now or utcnow()
    candidates = db.session.execute(
        select(Certificate, Client)
        .join(Client, Client.id == Certificate.client_id)
        .where(
            Certificate.is_active.is_(True),
            Certificate.not_after <= now + timedelta(days=max(ALERT_THRESHOLDS)),
            Client.status != ContractStatus.CANCELLED,
        )
        .order_by(Certificate.id)
    ).all()
    if not candidates:
        return 0
    sent_pairs = {
        (certificate_id, threshold)
        for certificate_id, threshold in db.session.execute(
            select(CertificateAlert.certificate_id, CertificateAlert.threshold).where(
                CertificateAlert.certificate_id.in_([cert.id for cert, _client in candidates])
            )
        )
    }
    managers = _managers_by_partner({client.partner_id for _cert, client in candidates})
    sent = 0
    for cert, client in candidates:
        threshold = _due_threshold(cert.not_after, now)
        if threshold is None or (cert.id, threshold) in sent_pairs:
            continue
        if _send_alert(cert, client, threshold, managers.get(client.partner_id, []), now):
            sent += 1
    return sent


def _managers_by_partner(partner_ids: set[int]) -> dict[int, list[str]]:
    return managers_by_partner(partner_ids)


def _send_alert(cert: Certificate, client: Client, threshold: int, managers: list[str], now: datetime) -> bool:
    recipients = list(dict.fromkeys([*managers, client.email]))
    try:
        # A savepoint: if another run inserted the same alert meanwhile, skip it quietly.
        with db.session.begin_nested():
            db.session.add(
                CertificateAlert(certificate_id=cert.id, threshold=threshold, sent_at=now, recipients=len(recipients))
            )
    except IntegrityError:
        return False
    expired = now >= cert.not_after
    n = days_left(cert.not_after, now)
    name = client.trade_name or client.legal_name
    if expired:
        subject = _("Certificado digital de %(name)s venceu", name=name)
    else:
        subject = ngettext(
            "Certificado digital de %(name)s vence em %(num)d dia",
            "Certificado digital de %(name)s vence em %(num)d dias", n, name=name,
        )
    link = _public_url("partner.manage_client", client_id=client.id, tab="certificado")
    for address in recipients:
        queue_email(
            address, subject, "certificate_expiry", kind="certificate_expiry", partner_id=client.partner_id,
            client=client, cert=cert, days=n, expired=expired, link=link, is_client=address == client.email,
        )
    audit.record(
        "certificate.expiry_alert", cert, partner_id=client.partner_id, client_id=client.id,
        after={"threshold": threshold, "recipients": len(recipients)},
    )
    certificate_expiring.send(cert, client=client, days_left=n if not expired else -abs(n), threshold=threshold)
    return True


# -- integration keys -------------------------------------------------------------------------------


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def current_integration_key(client_id: int) -> IntegrationKey | None:
    return db.session.scalar(
        select(IntegrationKey).where(
            IntegrationKey.client_id == client_id,
            IntegrationKey.expires_at.is_(None),
            IntegrationKey.revoked_at.is_(None),
        )
    )


def keys_in_grace(client_id: int, now: datetime | None = None) -> list[IntegrationKey]:
    """Rotated-out keys that still work (their grace period has not ended)."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(IntegrationKey)
            .where(
                IntegrationKey.client_id == client_id,
                IntegrationKey.revoked_at.is_(None),
                IntegrationKey.expires_at > now,
            )
            .order_by(IntegrationKey.expires_at)
        )
    )


def _new_key(client: Client, actor, now: datetime) -> tuple[IntegrationKey, str]:
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    ring = get_keyring()
    key = IntegrationKey(
        client_id=client.id,
        key_hash=hash_key(plaintext),
        key_encrypted=ring.encrypt(plaintext.encode("ascii"), aad=_aad(client.id, "integration-key")),
        key_id=ring.active_key_id,
        prefix=KEY_PREFIX,
        last4=plaintext[-4:],
        created_at=now,
        created_by_id=getattr(actor, "id", None),
    )
    try:
        with db.session.begin_nested():
            db.session.add(key)
    except IntegrityError:
        raise ConcurrentChangeError() from None
    return key, plaintext


def create_integration_key(client: Client, *, actor=None) -> tuple[IntegrationKey, str]:
    """The client's first key (the tab's "Gerar chave", a POST); its plaintext, to be shown once.

    ValidationError when the client already has a current key (rotate that one instead)."""
    if current_integration_key(client.id) is not None:
        raise ValidationError({"key": _("O cliente já tem uma chave de integração. Para trocá-la, gere uma nova.")})
    try:
        key, plaintext = _new_key(client, actor, utcnow())
    except ConcurrentChangeError:
        raise ValidationError({"key": _("O cliente já tem uma chave de integração. Para trocá-la, gere uma nova.")}) from None
    audit.record(
        "integration_key.created", key, actor=actor, label=_actor_label(actor),
        partner_id=client.partner_id, client_id=client.id, after={"key": key.masked},
    )
    return key, plaintext


def ensure_integration_key(client: Client, *, actor=None) -> IntegrationKey:
    """The client's current key, created on first need (the partner API's read of the key).

    The panel never calls this on a GET: its tab shows "Nenhuma chave gerada" and a button."""
    key = current_integration_key(client.id)
    if key is not None:
        return key
    try:
        key, _plaintext = _new_key(client, actor, utcnow())
    except ConcurrentChangeError:
        return current_integration_key(client.id)  # created concurrently: use that one
    audit.record(
        "integration_key.created", key, actor=actor, label=_actor_label(actor),
        partner_id=client.partner_id, client_id=client.id, after={"key": key.masked},
    )
    return key


def clean_grace_seconds(value) -> int:
    """One of the offered grace periods, in seconds; ValidationError otherwise."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = None
    if isinstance(value, bool) or seconds not in GRACE_CHOICES:
        allowed = ", ".join(str(s) for s in GRACE_CHOICES)
        raise ValidationError({"grace_seconds": _("Escolha um período de carência válido (%(allowed)s).", allowed=allowed)})
    return seconds


@dataclass(frozen=True)
class RotatedKey:
    key: IntegrationKey
    plaintext: str  # shown once, never stored
    previous_expires_at: datetime | None  # None when there was no previous key


def rotate_integration_key(client: Client, grace_seconds, *, actor=None, now: datetime | None = None) -> RotatedKey:
    """Issue a new key; the current one keeps working for ``grace_seconds`` (0 = stops now).

    Keys already in a grace period never outlive the new one's grace. The client is e-mailed
    (without the key). Returns the new key and its plaintext, to be shown once.
    """
    grace = clean_grace_seconds(grace_seconds)
    now = now or utcnow()
    ends = now + timedelta(seconds=grace)
    old = current_integration_key(client.id)
    for key in [*([old] if old else []), *keys_in_grace(client.id, now)]:
        key.expires_at = ends if key.expires_at is None else min(key.expires_at, ends)
    db.session.flush()
    new, plaintext = _new_key(client, actor, now)
    audit.record(
        "integration_key.rotated", new, actor=actor, label=_actor_label(actor),
        partner_id=client.partner_id, client_id=client.id,
        before={"key": old.masked} if old else None,
        after={"key": new.masked, "grace_seconds": grace, "previous_key_expires_at": ends if old else None},
    )
    queue_email(
        client.email, _("A chave de integração de %(name)s foi alterada", name=client.trade_name or client.legal_name),
        "integration_key_rotated", kind="integration_key_rotated", partner_id=client.partner_id,
        client=client, grace_ends=ends if (old and grace) else None, partner=client.partner,
    )
    return RotatedKey(new, plaintext, ends if old else None)


def reveal_integration_key(key: IntegrationKey, user: User, password: str) -> str:
    """The key in clear for a manager who re-typed their password; audited."""
    if not user.check_password(password or ""):
        log.warning("integration key reveal refused: wrong password (user %s, client %s)", user.id, key.client_id)
        raise ValidationError({"password": _("Senha incorreta.")})
    plaintext = get_keyring().decrypt(key.key_encrypted, aad=_aad(key.client_id, "integration-key")).decode("ascii")
    audit.record(
        "integration_key.revealed", key, actor=user, partner_id=key.client.partner_id, client_id=key.client_id,
        after={"key": key.masked},
    )
    return plaintext


def revoke_integration_key(key: IntegrationKey, *, actor=None, now: datetime | None = None) -> None:
    """End a rotated-out key's grace period now (the current key is replaced by rotating)."""
    if key.is_current or key.revoked_at is not None:
        raise ValidationError({"key": _("Só uma chave antiga em período de carência pode ser encerrada.")})
    key.revoked_at = now or utcnow()
    db.session.flush()
    audit.record(
        "integration_key.revoked", key, actor=actor, label=_actor_label(actor),
        partner_id=key.client.partner_id, client_id=key.client_id, after={"key": key.masked},
    )


def is_well_formed_key(plaintext: str | None) -> bool:
    return bool(plaintext) and _KEY_RE.fullmatch(plaintext) is not None


def authenticate_integration_key(
    plaintext: str | None, *, now: datetime | None = None, key_hash: str | None = None
) -> tuple[IntegrationKey, Client] | None:
    """The key and its client, in one indexed query by hash; None when unknown or unusable."""
    if not is_well_formed_key(plaintext):
        return None
    row = db.session.execute(
        select(IntegrationKey, Client)
        .join(Client, Client.id == IntegrationKey.client_id)
        .where(IntegrationKey.key_hash == (key_hash or hash_key(plaintext)))
    ).first()
    if row is None or not row[0].is_usable(now or utcnow()):
        return None
    return row[0], row[1]


# -- rotating master keys -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Blobs:
    model: type
    columns: tuple[str, ...]


REWRAPPED = (
    _Blobs(Certificate, ("pfx_encrypted", "password_encrypted")),
    _Blobs(IntegrationKey, ("key_encrypted",)),
    _Blobs(TwoFactor, ("secret_encrypted",)),  # the users' TOTP secrets (accounts/twofactor.py)
)


def count_not_under(ring: KeyRing) -> dict[str, int]:
    """Rows per table whose blobs are not yet wrapped by the active master key."""
    return {
        spec.model.__tablename__: db.session.scalar(
            select(func.count()).select_from(spec.model).where(spec.model.key_id != ring.active_key_id)
        )
        for spec in REWRAPPED
    }


def rewrap_batch(ring: KeyRing, table: str, batch_size: int = 200) -> int:
    """Re-wrap up to ``batch_size`` rows of ``table`` under the active key; returns how many.

    Only the data keys are re-wrapped (no plaintext is produced); rows already under the active
    key are not selected, so running it again is a no-op.
    """
    spec = next(s for s in REWRAPPED if s.model.__tablename__ == table)
    rows = db.session.scalars(
        select(spec.model)
        .where(spec.model.key_id != ring.active_key_id)
        .order_by(spec.model.id)
        .limit(batch_size)
        .with_for_update()
    ).all()
    for row in rows:
        for column in spec.columns:
            setattr(row, column, ring.rewrap(getattr(row, column)))
        row.key_id = ring.active_key_id
    db.session.flush()
    return len(rows)


def rewrap_all(ring: KeyRing, *, batch_size: int = 200, after_batch: Callable[[str, int, int], None] | None = None):
    """Re-wrap every stored secret; ``after_batch(table, done, total)`` runs after each batch
    (the CLI commits there). Returns the rows re-wrapped per table."""
    done_by_table = {}
    for table, total in count_not_under(ring).items():
        done = 0
        while n := rewrap_batch(ring, table, batch_size):
            done += n
            if after_batch is not None:
                after_batch(table, done, total)
        done_by_table[table] = done
    return done_by_table
