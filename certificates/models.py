"""Client A1 certificates (kept encrypted), their expiry alerts, and integration keys."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow


class Certificate(db.Model):
    """An uploaded PFX. The file and its password are envelope-encrypted (``core.crypto``) with
    the client id as associated data; everything else is metadata read from the certificate."""

    __tablename__ = "certificates"
    __table_args__ = (
        # The business rule "one active certificate per client", enforced by the database.
        Index(
            "uq_certificates_client_active",
            "client_id",
            unique=True,
            sqlite_where=text("is_active"),
            postgresql_where=text("is_active"),
        ),
        Index("ix_certificates_active_not_after", "is_active", "not_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    pfx_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    password_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(64), index=True)  # master key wrapping both blobs
    subject: Mapped[str] = mapped_column(String(1000))
    common_name: Mapped[str] = mapped_column(String(300), default="")
    cnpj: Mapped[str] = mapped_column(String(14))
    serial: Mapped[str] = mapped_column(String(80))
    issuer: Mapped[str] = mapped_column(String(1000))
    fingerprint_sha256: Mapped[str] = mapped_column(String(64))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    not_after: Mapped[datetime] = mapped_column(UTCDateTime())
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_active: Mapped[bool] = mapped_column(default=True)

    client = relationship("Client")
    uploaded_by = relationship("User")

    def __repr__(self) -> str:  # never the blobs
        return f"<Certificate {self.id} client={self.client_id} active={self.is_active}>"

    def __str__(self) -> str:
        return f"{self.common_name or self.subject} ({self.fingerprint_sha256[:12]})"


class CertificateAlert(db.Model):
    """An expiry alert that was sent: one per certificate and threshold (days before expiry)."""

    __tablename__ = "certificate_alerts"
    __table_args__ = (UniqueConstraint("certificate_id", "threshold"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"))
    threshold: Mapped[int]  # 30, 15, 7, 1 days before; 0 = on expiry
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recipients: Mapped[int] = mapped_column(default=0)

    certificate = relationship("Certificate")


class IntegrationKey(db.Model):
    """The credential of a client's software. Looked up by SHA-256 hash; an encrypted copy
    allows the manager to reveal it. Current: ``expires_at`` and ``revoked_at`` both null."""

    __tablename__ = "integration_keys"
    __table_args__ = (
        Index(
            "uq_integration_keys_client_current",
            "client_id",
            unique=True,
            sqlite_where=text("expires_at IS NULL AND revoked_at IS NULL"),
            postgresql_where=text("expires_at IS NULL AND revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(64), index=True)  # master key wrapping key_encrypted
    prefix: Mapped[str] = mapped_column(String(16))
    last4: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    client = relationship("Client")
    created_by = relationship("User")

    @property
    def masked(self) -> str:
        return f"{self.prefix}{'•' * 12}{self.last4}"

    @property
    def is_current(self) -> bool:
        return self.expires_at is None and self.revoked_at is None

    def is_usable(self, now: datetime) -> bool:
        """Current, or rotated out but still inside its grace period (and not revoked)."""
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at

    def __repr__(self) -> str:  # never the hash or the key
        return f"<IntegrationKey {self.id} client={self.client_id} …{self.last4}>"

    def __str__(self) -> str:
        return self.masked
