"""Transactional outbox: a message is written in the same transaction as the change that
caused it, then delivered by a Celery task over SMTP (or kept, unsent, in the embedded default).

Bodies carry credentials (reset, first-access, acceptance and signup links), so they are sealed at
rest with the master-key ring (core.crypto envelope encryption) and forgotten once sent. Staff see
that a message went out, to whom, its subject and status, never its body. In the embedded default
(``MAIL_BACKEND=outbox``, not production) the worker prints kept messages on its console and
``flask --app app mail show`` reads them, so a newcomer can still click a first-access link."""

import enum
import logging
import smtplib
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr

from flask import current_app, render_template
from sqlalchemy import LargeBinary, String, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.crypto import CryptoError
from core.db import TimestampMixin, UTCDateTime, db, str_enum, utcnow

log = logging.getLogger(__name__)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    KEPT = "kept"  # embedded default: not sent, kept for staff to read
    FAILED = "failed"


class OutboxEmail(TimestampMixin, db.Model):
    __tablename__ = "outbox_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    # Sealed with the master-key ring (see the module docstring); None once the message is sent.
    text_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    html_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(60), default="generic")
    partner_id: Mapped[int | None] = mapped_column(index=True)
    #: Shown as the From display name ("<Revenda do cliente> via Revenda"); the address stays ours.
    sender_name: Mapped[str | None] = mapped_column(String(200))
    reply_to: Mapped[str | None] = mapped_column(String(254))
    #: an attachment kept in the blob store (e.g. an export's PDF report): its file name there and as sent
    attachment_blob: Mapped[str | None] = mapped_column(String(300))
    attachment_name: Mapped[str | None] = mapped_column(String(200))

    @property
    def body_text(self) -> str:
        """The plain-text body (decrypted on demand; empty once sent). Never shown to staff."""
        return _open(self.text_sealed) or ""

    @body_text.setter
    def body_text(self, value: str) -> None:
        self.text_sealed = _seal(value)

    @property
    def body_html(self) -> str | None:
        return _open(self.html_sealed)

    @body_html.setter
    def body_html(self, value: str | None) -> None:
        self.html_sealed = _seal(value)

    def forget_body(self) -> None:
        self.text_sealed = self.html_sealed = None


_AAD = b"revenda.outbox-email"


def _seal(value: str | None) -> bytes | None:
    from core.keyring import get_keyring

    return None if value is None else get_keyring().encrypt(value.encode("utf-8"), aad=_AAD)


def _open(blob: bytes | None) -> str | None:
    from core.keyring import get_keyring

    return None if blob is None else get_keyring().decrypt(blob, aad=_AAD).decode("utf-8")


def queue_email(to: str, subject: str, template: str, *, kind: str = "generic", partner_id=None,
                sender_name: str | None = None, reply_to: str | None = None,
                attachment: tuple[str, str] | None = None, **context):
    """Render ``templates/email/<template>.txt`` (and ``.html`` if present) into the outbox.

    ``sender_name`` replaces the From display name (the address stays MAIL_DEFAULT_SENDER's, so SPF
    and DKIM hold); ``reply_to`` is where answers go, e.g. the partner's own e-mail. ``attachment`` is
    ``(blob name, file name)``: a PDF already in the blob store, attached when the message is sent."""
    text = render_template(f"email/{template}.txt", **context)
    try:
        html = render_template(f"email/{template}.html", **context)
    except Exception:  # noqa: BLE001 - the HTML part is optional
        html = None
    message = OutboxEmail(
        to=to, subject=subject, body_text=text, body_html=html, kind=kind, partner_id=partner_id,
        sender_name=sender_name[:200] if sender_name else None, reply_to=reply_to or None,
        attachment_blob=attachment[0] if attachment else None, attachment_name=attachment[1][:200] if attachment else None,
    )
    db.session.add(message)
    db.session.flush()
    db.session.info.setdefault("outbox_new", []).append(message.id)
    return message


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session):
    session.info.pop("outbox_new", None)


def _build_message(row: OutboxEmail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    if row.sender_name:
        address = parseaddr(sender)[1]
        sender = formataddr((row.sender_name, address))
    msg["From"] = sender
    msg["To"] = row.to
    if row.reply_to:
        msg["Reply-To"] = row.reply_to
    msg["Subject"] = row.subject
    msg["Message-ID"] = make_msgid(domain="revenda.local")
    msg.set_content(row.body_text)
    if row.body_html:
        msg.add_alternative(row.body_html, subtype="html")
    if row.attachment_blob:
        from core.blobstore import blob_store

        with blob_store().open_file(row.attachment_blob) as handle:
            msg.add_attachment(handle.read(), maintype="application", subtype="pdf",
                               filename=row.attachment_name or "anexo.pdf")
    return msg


def send_smtp(row: OutboxEmail) -> None:
    cfg = current_app.config
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=15) as smtp:
        if cfg["MAIL_USE_TLS"]:
            smtp.starttls()
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
        smtp.send_message(_build_message(row, cfg["MAIL_DEFAULT_SENDER"]))


def deliver(row: OutboxEmail) -> bool:
    """Deliver one message; returns True when it is done (sent or kept)."""
    if row.status in (OutboxStatus.SENT, OutboxStatus.KEPT):
        return True
    if current_app.config["MAIL_BACKEND"] != "smtp":
        row.status = OutboxStatus.KEPT
        _print_kept(row)
        return True
    row.attempts += 1
    try:
        send_smtp(row)
    except CryptoError:
        # The master key that sealed it is gone (rotated out before delivery): nothing to retry.
        row.status, row.last_error = OutboxStatus.FAILED, "the message body cannot be decrypted (master key removed)"
        return False
    except (OSError, smtplib.SMTPException) as exc:
        row.last_error = f"{type(exc).__name__}: {exc}"[:500]
        if row.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
            row.status = OutboxStatus.FAILED
        return False
    row.status = OutboxStatus.SENT
    row.sent_at = utcnow()
    row.last_error = None
    row.forget_body()  # delivered: the credentials it carried need not be kept, even sealed
    return True


def readable_here() -> bool:
    """Kept messages may be read on this machine (console, CLI) only outside production."""
    return not current_app.config.get("PRODUCTION") and current_app.config["MAIL_BACKEND"] != "smtp"


def _print_kept(row: OutboxEmail) -> None:
    """The embedded default sends nothing: show the message on the worker's console instead."""
    if readable_here():
        log.warning("e-mail #%s kept, not sent (MAIL_BACKEND=outbox) — to: %s — %s\n%s",
                    row.id, row.to, row.subject, row.body_text)


def deliver_pending(limit: int = 200) -> int:
    """Deliver pending messages (the sweep); returns how many were completed."""
    rows = db.session.scalars(
        select(OutboxEmail)
        .where(OutboxEmail.status == OutboxStatus.PENDING)
        .order_by(OutboxEmail.id)
        .limit(limit)
    ).all()
    done = 0
    for row in rows:
        done += deliver(row)
        db.session.flush()
    return done
