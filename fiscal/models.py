"""Fiscal documents (NF-e, NFC-e, CT-e) of a client and their events, stored apart.

The XML bytes live in the blob store (``core.blobstore``), named by SHA-256 and, when ingested in a
batch, inside that batch's pack (``blob_pack``, ``blob_offset``, ``blob_length``: see ``blob_location``);
rows keep the metadata and the indexes the views, totals and exports query. Status is derived (fiscal.status)
from the note's protocol and the events stored for its key, whichever arrived first."""

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, SmallInteger, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import literal_column

from core.blobstore import BlobLocation
from core.db import UTCDateTime, db, str_enum, utcnow
from fiscal.status import DocumentStatus


class Direction(enum.StrEnum):
    ISSUED = "issued"  # the client is the emitter ("XMLs emitidos")
    RECEIVED = "received"  # the client is another party ("XMLs de fornecedores")


#: The partial index's condition, as its SQL. Queries name it with the literal, ``FiscalDocument.status ==
#: CONTINGENCY_LITERAL``: a plan made for a bound parameter (PostgreSQL's generic plan of a statement psycopg
#: prepared after five runs) cannot use a partial index, whatever value the parameter takes.
CONTINGENCY_SQL = f"status = '{DocumentStatus.CONTINGENCY.value}'"
CONTINGENCY_LITERAL = literal_column(f"'{DocumentStatus.CONTINGENCY.value}'")


class FiscalDocument(db.Model):
    __tablename__ = "fiscal_documents"
    __table_args__ = (
        UniqueConstraint("client_id", "environment", "key"),
        # the month views and totals: one client, one environment, one direction, one month
        Index("ix_fiscal_documents_month", "client_id", "environment", "direction", "issued_month", "model",
              "status"),
        # the lists in issue order (client, environment, issued_at, id: its first four columns) and the accountants'
        # portal: its totals under "Filtros Avançados" (a GROUP BY over the filtered notes; the other filters are
        # answered by fiscal_day_totals) read the period's rows from this index alone. One index for both: each
        # index is written for every note ingested (about 1.7 µs a row on PostgreSQL)
        Index("ix_fiscal_documents_period", "client_id", "environment", "issued_at", "id", "model", "status",
              "direction", "total_cents"),
        # the contingency monitor: only the notes awaiting authorization, a handful among millions, are in it
        # (queries name the status as a literal: CONTINGENCY_LITERAL)
        Index("ix_fiscal_documents_contingency", "environment", "client_id", "issued_at",
              sqlite_where=text(CONTINGENCY_SQL), postgresql_where=text(CONTINGENCY_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    key: Mapped[str] = mapped_column(String(44))
    model: Mapped[int] = mapped_column(SmallInteger)
    series: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(BigInteger)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_month: Mapped[int] = mapped_column(Integer)  # AAAAMM in Brasília time, e.g. 202611
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "fiscal_direction"))
    role: Mapped[str] = mapped_column(String(20))  # emitente, destinatario, tomador, remetente…
    status: Mapped[DocumentStatus] = mapped_column(str_enum(DocumentStatus, "fiscal_status"))
    environment: Mapped[int] = mapped_column(SmallInteger)  # 1 production, 2 homologation
    tp_emis: Mapped[int] = mapped_column(SmallInteger)
    emitter_doc: Mapped[str] = mapped_column(String(20))
    emitter_name: Mapped[str] = mapped_column(String(200), default="")
    recipient_doc: Mapped[str] = mapped_column(String(20), default="")
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    has_body: Mapped[bool] = mapped_column(default=True)  # False: only SEFAZ's answer (protocol) arrived
    protocol_cstat: Mapped[int | None] = mapped_column(Integer)
    protocol_number: Mapped[str] = mapped_column(String(20), default="")
    authorized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signature_status: Mapped[str] = mapped_column(String(16), default="unsigned")
    blob_sha256: Mapped[str] = mapped_column(String(64))
    blob_pack: Mapped[str] = mapped_column(String(64), default="", server_default="")  # "": one object per digest
    blob_offset: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    blob_length: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    size_bytes: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # supplier note "Reconhecida"
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    client = relationship("Client")

    def __repr__(self) -> str:
        return f"<FiscalDocument {self.key} {self.status}>"


def blob_location(row) -> BlobLocation | None:
    """Where a document's or event's XML is in its pack (an ORM object or a row with the three columns);
    None for rows stored before packs, whose blob is the object named by the digest."""
    pack = row.blob_pack
    return BlobLocation(pack, row.blob_offset, row.blob_length) if pack else None


class FiscalMonthTotal(db.Model):
    """Count and R$ of a client's documents per (month, environment, model, direction, status), kept in the
    same transaction as the ingestion that changes them (fiscal.services applies each batch's deltas), so
    the totals of a month read a handful of rows however large the month. ``flask fiscal rebuild-totals``
    recomputes it from the documents."""

    __tablename__ = "fiscal_month_totals"

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    issued_month: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    model: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    direction: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class FiscalDayTotal(db.Model):
    """The same counts per Brasília day (AAAAMMDD, as ``issued_month`` is the Brasília month), kept beside the
    month totals in the same transaction: the accountants' portal reads a period's totals and its chart per
    day from here (at most days × models × directions × statuses rows), whatever the number of notes."""

    __tablename__ = "fiscal_day_totals"

    # key order: a period of one or more companies in one environment is one range of the primary key
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    environment: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    issued_day: Mapped[int] = mapped_column(Integer, primary_key=True)  # AAAAMMDD in Brasília time
    model: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    direction: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class FiscalEvent(db.Model):
    """A registered event (cancellation, CC-e, EPEC…) of a key, kept whether or not its note arrived."""

    __tablename__ = "fiscal_events"
    __table_args__ = (
        UniqueConstraint("client_id", "environment", "key", "event_type", "sequence"),
        Index("ix_fiscal_events_month", "client_id", "environment", "registered_month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    key: Mapped[str] = mapped_column(String(44))
    event_type: Mapped[str] = mapped_column(String(6))
    sequence: Mapped[int] = mapped_column(SmallInteger)
    cstat: Mapped[int | None] = mapped_column(Integer)
    environment: Mapped[int] = mapped_column(SmallInteger)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registered_month: Mapped[int] = mapped_column(Integer)
    protocol_number: Mapped[str] = mapped_column(String(20), default="")
    blob_sha256: Mapped[str] = mapped_column(String(64))
    blob_pack: Mapped[str] = mapped_column(String(64), default="", server_default="")  # "": one object per digest
    blob_offset: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    blob_length: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<FiscalEvent {self.event_type} {self.key}#{self.sequence}>"


class ExportStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"


class Participant(enum.StrEnum):
    ISSUED = "issued"  # Emitente
    RECEIVED = "received"  # Destinatário
    ALL = "all"  # Todas


class FiscalExport(db.Model):
    """An export job: a zip of a client-month behind a signed link that expires."""

    __tablename__ = "fiscal_exports"
    __table_args__ = (UniqueConstraint("client_id", "automatic_month"),)  # the day-5 export: once per month

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(254), default="")
    month: Mapped[int] = mapped_column(Integer)  # AAAAMM
    model: Mapped[int | None] = mapped_column(SmallInteger)
    participant: Mapped[Participant] = mapped_column(str_enum(Participant, "fiscal_export_participant"))
    include_pdf: Mapped[bool] = mapped_column(default=False)
    environment: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")  # 1 production, 2 homologation
    automatic_month: Mapped[int | None] = mapped_column(Integer)  # set only for the automatic export
    # A period other than the whole month (the accountants' portal): notes issued in [starts_at, ends_at).
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[ExportStatus] = mapped_column(str_enum(ExportStatus, "fiscal_export_status"),
                                                 default=ExportStatus.PENDING)
    progress: Mapped[int] = mapped_column(SmallInteger, default=0)  # percent
    document_count: Mapped[int] = mapped_column(Integer, default=0)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    blob_name: Mapped[str] = mapped_column(String(200), default="")
    error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def period_label(self) -> str:
        """"08/2021", or "01/08/2021 a 15/08/2021" for a period within or across months."""
        if self.starts_at is None or self.ends_at is None:
            return f"{self.month % 100:02d}/{self.month // 100}"
        from datetime import timedelta, timezone

        brt = timezone(timedelta(hours=-3))
        last = self.ends_at.astimezone(brt) - timedelta(days=1)
        return f"{self.starts_at.astimezone(brt):%d/%m/%Y} a {last:%d/%m/%Y}"

    def current_status(self, now: datetime | None = None) -> ExportStatus:
        if self.status == ExportStatus.READY and self.expires_at and (now or utcnow()) >= self.expires_at:
            return ExportStatus.EXPIRED
        return ExportStatus(self.status)


class ImportStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class FiscalImport(db.Model):
    """A manager's upload of XML files or a zip in the panel, ingested by a background job."""

    __tablename__ = "fiscal_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    blob_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[ImportStatus] = mapped_column(str_enum(ImportStatus, "fiscal_import_status"),
                                                 default=ImportStatus.PENDING)
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    results: Mapped[list] = mapped_column(JSON, default=list)  # FileResult.as_dict() per file, in order
    error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def progress(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        return min(99, self.processed * 100 // self.total) if self.total else 0


class FiscalSettings(db.Model):
    """Per-client fiscal settings (absent row: the defaults)."""

    __tablename__ = "fiscal_settings"

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    export_day: Mapped[int | None] = mapped_column(SmallInteger)  # day of the month of the automatic export
    contingency_deadline_hours: Mapped[int | None] = mapped_column(SmallInteger)
