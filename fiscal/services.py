"""Fiscal services: ingesting XML (one file or a zip), deriving status from notes and events,
totals of a period, and the contingency monitor's queries. Services flush, never commit."""

from __future__ import annotations

import gc
import logging
import operator
import re
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from core.blobstore import blob_store, digest_of
from core.db import bulk_insert, db, param_marks, utcnow
from fiscal import archives
from fiscal.models import (
    CONTINGENCY_LITERAL,
    Direction,
    FiscalDayTotal,
    FiscalDocument,
    FiscalEvent,
    FiscalMonthTotal,
    blob_location,
)
from fiscal.parsing import Event, FiscalParseError, Note, Protocol, direction_for, parse_fiscal_xml
from fiscal.signals import documents_changed
from fiscal.status import SUPPORTED_TOTAL_STATUSES, DocumentStatus, derive_status

BRT = timezone(timedelta(hours=-3))  # Brasília (no daylight saving since 2019): months are local months


def month_of(moment: datetime | None) -> int:
    """AAAAMM of a moment in Brasília time (0 when unknown)."""
    if moment is None:
        return 0
    local = moment.astimezone(BRT)
    return local.year * 100 + local.month


def day_of(moment: datetime | None) -> int:
    """AAAAMMDD of a moment in Brasília time, the day the month of ``month_of`` is made of (0 when unknown)."""
    if moment is None:
        return 0
    local = moment.astimezone(BRT)
    return local.year * 10000 + local.month * 100 + local.day


def day_number(day: date) -> int:
    """A calendar date (a Brasília day) as AAAAMMDD."""
    return day.year * 10000 + day.month * 100 + day.day


@dataclass
class FileResult:
    file: str
    result: str  # created | duplicate | updated | refused
    key: str | None = None
    model: int | None = None
    status: str | None = None
    direction: str | None = None
    error: dict | None = None

    def as_dict(self) -> dict:  # (dataclasses.asdict deep-copies field by field: a tenth of a note's ingest)
        return {"file": self.file, "result": self.result, "key": self.key, "model": self.model, "status": self.status,
                "direction": self.direction, "error": dict(self.error) if self.error is not None else None}


@dataclass
class IngestSummary:
    results: list[FileResult] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for r in self.results if r.result == result)

    @property
    def all_refused(self) -> bool:
        return bool(self.results) and all(r.result == "refused" for r in self.results)


def _refused(name: str, code: str, message: str, key: str | None = None) -> FileResult:
    return FileResult(file=name, result="refused", key=key, error={"code": code, "message": message})


#: The field names parsing.py writes in Portuguese (the others are XML tag names).
_FIELD_NAMES = {"série": _l("série"), "número": _l("número")}
#: The refusals with details, as parsing.py and archives.py word them.
_REFUSAL_PATTERNS = (
    (re.compile(r"O zip tem (?P<n>\d+) arquivos; o limite é (?P<limit>\d+)\."),
     lambda d: _("O zip tem %(n)s arquivos; o limite é %(limit)s.", **d)),
    (re.compile(r"A chave de acesso “(?P<key>.*)” não tem o formato de 44 caracteres de uma chave\.", re.S),
     lambda d: _("A chave de acesso “%(key)s” não tem o formato de 44 caracteres de uma chave.", **d)),
    (re.compile(r"A chave de acesso (?P<key>\S+) tem o dígito verificador errado\."),
     lambda d: _("A chave de acesso %(key)s tem o dígito verificador errado.", **d)),
    (re.compile(r"O campo (?P<field>.+?) tem um valor inválido: “(?P<value>.*)”\.", re.S),
     lambda d: _("O campo %(field)s tem um valor inválido: “%(value)s”.", value=d["value"],
                 field=_FIELD_NAMES.get(d["field"], d["field"]))),
    (re.compile(r"O campo (?P<field>.+?) tem um valor fora do intervalo: “(?P<value>.*)”\.", re.S),
     lambda d: _("O campo %(field)s tem um valor fora do intervalo: “%(value)s”.", value=d["value"],
                 field=_FIELD_NAMES.get(d["field"], d["field"]))),
    (re.compile(r"O modelo (?P<model>\S+) não é suportado: envie NF-e, NFC-e ou CT-e\."),
     lambda d: _("O modelo %(model)s não é suportado: envie NF-e, NFC-e ou CT-e.", **d)),
    (re.compile(r"(?P<label>\S+) não é suportado: envie NF-e, NFC-e ou CT-e\."),
     lambda d: _("%(label)s não é suportado: envie NF-e, NFC-e ou CT-e.", **d)),
    (re.compile(r"O modelo (?P<model>\S+) difere do modelo da chave \((?P<key_model>[^)]*)\)\."),
     lambda d: _("O modelo %(model)s difere do modelo da chave (%(key_model)s).", **d)),
    (re.compile(r"A chave da nota \((?P<note>[^)]*)\) difere da chave do protocolo \((?P<other>[^)]*)\)\."),
     lambda d: _("A chave da nota (%(note)s) difere da chave do protocolo (%(other)s).", **d)),
)


def refusal_message(message: str) -> str:
    """A refusal of archives.py or parsing.py (always Portuguese) in the reader's language: the fixed
    ones are in the catalogue (marked ``N_`` there), the ones with details are matched and reworded."""
    for pattern, translate in _REFUSAL_PATTERNS:
        found = pattern.fullmatch(message)
        if found is not None:
            return translate(found.groupdict())
    return _(message)


BATCH = 500  # files parsed, looked up and inserted together: one query per batch, not per file


def ingest_upload(client, filename: str, data: bytes, *, is_zip: bool | None = None) -> IngestSummary:
    """One XML or a zip of them, for ``client``. Each file's outcome is in the summary, in order."""
    summary = IngestSummary()
    if is_zip is None:
        is_zip = data[:4] == b"PK\x03\x04" or filename.lower().endswith(".zip")
    if not is_zip:
        summary.results.extend(ingest_files(client, [(filename, data)]))
        return summary
    pending: list[tuple[str, bytes, bytes | None]] = []
    try:
        for member in archives.iter_zip(data):
            if member.data is None:
                summary.results.extend(ingest_files(client, pending))
                pending = []
                summary.results.append(_refused(member.name, member.error_code, refusal_message(member.error)))
                continue
            pending.append((member.name, member.data, member.stream))
            if len(pending) >= BATCH:
                summary.results.extend(ingest_files(client, pending))
                pending = []
        summary.results.extend(ingest_files(client, pending))
    except archives.ArchiveError as exc:
        summary.results.extend(ingest_files(client, pending))
        summary.results.append(_refused(filename, exc.code, refusal_message(exc.message)))
    return summary


def ingest_file(client, name: str, data: bytes) -> FileResult:
    """Store one file's notes, protocols and events for ``client`` and re-derive the statuses it touches."""
    return ingest_files(client, [(name, data)])[0]


class _NewDocument:
    """A document first seen in this batch: plain attributes, inserted with the others in one executemany
    at the end of the batch (no ORM unit of work per row)."""

    def __init__(self, **values):
        self.__dict__.update(values)


_INSERT_COLUMNS = tuple(c.name for c in FiscalDocument.__table__.columns if c.name != "id")
_INSERT_VALUES = operator.attrgetter(*_INSERT_COLUMNS)  # a new document's row, in _INSERT_COLUMNS order
_TOTALS_KEY = ("issued_month", "environment", "model", "direction", "status")
_DAY_KEY = ("issued_day", "environment", "model", "direction", "status")


ANALYZE_AFTER_ROWS = 5_000
_analyzed: dict = {"rows": 0, "reltuples": 0.0, "thread": None}  # this process: rows inserted since its last ANALYZE,
# the table's size then, the thread of the last one started


def keep_statistics(inserted: int) -> None:
    """On PostgreSQL, ANALYZE the fiscal tables once this process has inserted as many rows as they held at its
    last ANALYZE (at least ``ANALYZE_AFTER_ROWS``): a first big import otherwise runs on a table the planner
    believes empty, and each batch's key lookup became a scan of all the client's rows (measured: 490 notes/s
    at 100,000 notes instead of ~4,000) until autovacuum's own ANALYZE, a minute or more later. Doubling
    keeps the sampling cost proportional to the rows added.

    The ANALYZE runs beside the ingest, in a thread with a connection of its own in autocommit (the server does
    the work; the thread only waits, without the GIL): it counts the rows committed so far (a batch's own are
    not yet), holds its lock for the ANALYZE only, and the import goes on meanwhile (a tenth of PostgreSQL's
    ingest time at 100,000 notes was this wait). One at a time; ``wait_for_statistics`` joins it."""
    if inserted <= 0 or db.session.get_bind().dialect.name != "postgresql":
        return
    _analyzed["rows"] += inserted
    if _analyzed["rows"] < max(ANALYZE_AFTER_ROWS, _analyzed["reltuples"]):
        return
    if not _analyzing.acquire(blocking=False):
        return  # one is running: the rows stay counted for the next batch's turn
    _analyzed["rows"] = 0
    thread = threading.Thread(target=_analyze, args=(db.engine,), name="fiscal-analyze", daemon=True)
    _analyzed["thread"] = thread
    thread.start()


_analyzing = threading.Lock()  # held while an ANALYZE runs


def _analyze(engine) -> None:
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE fiscal_documents, fiscal_events")
            _analyzed["reltuples"] = max(0.0, float(connection.exec_driver_sql(
                "SELECT reltuples FROM pg_class WHERE oid = 'fiscal_documents'::regclass").scalar() or 0))
    except Exception:  # statistics are an optimisation: the ingest goes on without them, said in the log
        logging.getLogger(__name__).warning("ANALYZE of the fiscal tables failed", exc_info=True)
    finally:
        _analyzing.release()


def wait_for_statistics(timeout: float | None = None) -> None:
    """Until the ANALYZE that ``keep_statistics`` started, if any, has ended."""
    thread = _analyzed.get("thread")
    if thread is not None:
        thread.join(timeout)


def _rows_of_keys(columns: str, table: str, client_id: int, environments: list[int], keys: list[str]) -> list:
    """``columns`` of a client's rows of ``table`` (fixed names of this module) for ``keys`` in ``environments``,
    as plain tuples, through the driver (the values are bound, never written into the SQL)."""
    connection = db.session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql" and not any("," in key for key in keys):
        # the keys as one text the server splits: 500 bound values (or a list psycopg adapts value by value)
        # cost more to send than the index probes that answer them (measured: 1.9 ms against 1.0 at 50,000 rows)
        sql = (f"SELECT {columns} FROM {table} WHERE client_id = %s AND environment = ANY(%s::smallint[]) "
               "AND key = ANY(string_to_array(%s, ','))")
        return connection.exec_driver_sql(sql, (client_id, environments, ",".join(keys))).fetchall()
    sql = (f"SELECT {columns} FROM {table} WHERE client_id = {param_marks(dialect, 1)} AND environment IN "
           f"({param_marks(dialect, len(environments))}) AND key IN ({param_marks(dialect, len(keys))})")
    return connection.exec_driver_sql(sql, (client_id, *environments, *keys)).fetchall()


def _totals_key(document) -> tuple:
    """(month, day, environment, model, direction, status): where the document counts in the month and the
    day totals (the month as stored, the day worked out from ``issued_at`` the same way)."""
    direction, status = document.direction, document.status
    return (document.issued_month, day_of(document.issued_at), document.environment, document.model,
            direction.value if type(direction) is Direction else Direction(direction).value,
            status.value if type(status) is DocumentStatus else DocumentStatus(status).value)


class _Batch:
    """What one batch knows of the client's rows: the documents and events of the keys it carries."""

    def __init__(self, client, parsed_files):
        keys, environments = set(), set()
        for parsed in parsed_files:
            for item in (*parsed.notes, *parsed.protocols, *parsed.events):
                keys.add(item.key)
                environments.add(item.environment)
        self.client = client
        self.now = utcnow()  # the batch's moment: every row it creates was received then
        self.documents: dict[tuple[int, str], FiscalDocument | _NewDocument] = {}
        self.before: dict[tuple[int, str], tuple[tuple, int]] = {}  # what the totals counted before the batch
        self.events: dict[tuple[int, str], list[tuple[str, int | None]]] = {}
        self.event_ids: set[tuple[int, str, str, int]] = set()
        self.new_events: list[dict] = []
        self.touched: set[tuple[int, str]] = set()
        self.created: set[tuple[int, str]] = set()
        self.was_cancelled: set[tuple[int, str]] = set()
        self.data: dict[str, tuple[bytes, bytes | None]] = {}  # the batch's accepted files (and streams) by digest
        self.blob_users: list = []  # documents (and event rows, as dicts) given a blob of this batch
        if not keys:
            return
        # (client, environment, key): the unique index's columns, so the lookup probes the index per key
        # instead of reading all the client's rows (which grew the cost of a batch with the table). Asked in
        # plain SQL first (SQLAlchemy's handling of 500 bound keys cost ten times SQLite's answer); the ORM
        # loads only the documents that exist, the ones the batch may change.
        key_list, environment_list = sorted(keys), sorted(environments)
        db.session.flush()  # the plain query must see what the session holds
        found = _rows_of_keys("id", "fiscal_documents", client.id, environment_list, key_list)
        if found:  # by primary key: planned as index probes on any table
            for doc in db.session.execute(select(FiscalDocument).where(
                    FiscalDocument.id.in_(sorted(row[0] for row in found)))).scalars():
                self.documents[(doc.environment, doc.key)] = doc
                if doc.status == DocumentStatus.CANCELLED:
                    self.was_cancelled.add((doc.environment, doc.key))
                self.before[(doc.environment, doc.key)] = (_totals_key(doc), doc.total_cents)
        rows = _rows_of_keys("environment, key, event_type, sequence, cstat", "fiscal_events", client.id,
                             environment_list, key_list)
        for environment, key, event_type, sequence, cstat in rows:
            self.events.setdefault((environment, key), []).append((event_type, cstat))
            self.event_ids.add((environment, key, event_type, sequence))

    def uses_blob(self, row) -> None:
        self.blob_users.append(row)

    def store_blobs(self) -> None:
        """Write the blobs the batch's rows took (duplicates take none) as one pack, and tell each row where
        its stream is."""
        if not self.blob_users:
            return
        writer = blob_store().writer()
        for row in self.blob_users:
            digest = row["blob_sha256"] if isinstance(row, dict) else row.blob_sha256
            data, stream = self.data[digest]
            writer.add(data, digest, stream)
        writer.wait()
        for row in self.blob_users:
            if isinstance(row, dict):
                location = writer.location(row["blob_sha256"])
                row.update(blob_pack=location.pack, blob_offset=location.offset, blob_length=location.length)
            else:
                location = writer.location(row.blob_sha256)
                row.blob_pack, row.blob_offset, row.blob_length = location.pack, location.offset, location.length

    def derive(self) -> None:
        for identity in self.touched:
            document = self.documents.get(identity)
            if document is not None:
                document.status = derive_status(document.model, document.tp_emis, document.protocol_cstat,
                                                self.events.get(identity, []))

    def write(self) -> None:
        """Insert the new documents and events (one executemany each), flush the updated ones, and move
        the month and day totals by what changed, all in the caller's transaction."""
        new = [d for d in self.documents.values() if isinstance(d, _NewDocument)]
        if new:
            bulk_insert(FiscalDocument.__table__, [_INSERT_VALUES(d) for d in new], _INSERT_COLUMNS)
        if self.new_events:
            bulk_insert(FiscalEvent.__table__, self.new_events)
        keep_statistics(len(new) + len(self.new_events))
        deltas: dict[tuple, list[int]] = {}
        for identity in self.touched:
            document = self.documents.get(identity)
            if document is None:
                continue
            before = self.before.get(identity)
            after = (_totals_key(document), document.total_cents)
            if before == after:
                continue
            if before is not None:
                bucket = deltas.setdefault(before[0], [0, 0])
                bucket[0] -= 1
                bucket[1] -= before[1]
            bucket = deltas.setdefault(after[0], [0, 0])
            bucket[0] += 1
            bucket[1] += after[1]
        db.session.flush()
        months: dict[tuple, list[int]] = {}
        days: dict[tuple, list[int]] = {}
        for (month, day, *rest), (count, cents) in deltas.items():
            for target, key in ((months, (month, *rest)), (days, (day, *rest))):
                bucket = target.setdefault(key, [0, 0])
                bucket[0] += count
                bucket[1] += cents
        apply_total_deltas(self.client.id, months)
        apply_day_deltas(self.client.id, days)


def apply_total_deltas(client_id: int, deltas: dict[tuple, list[int]]) -> None:
    """Add ``{(month, environment, model, direction, status): [count, cents]}`` to the month totals: one
    upsert (executemany, in key order so concurrent batches lock rows in the same order)."""
    _upsert_deltas(FiscalMonthTotal.__table__, _TOTALS_KEY, client_id, deltas)


def apply_day_deltas(client_id: int, deltas: dict[tuple, list[int]]) -> None:
    """Add ``{(day AAAAMMDD, environment, model, direction, status): [count, cents]}`` to the day totals: one
    upsert, like the month's."""
    _upsert_deltas(FiscalDayTotal.__table__, _DAY_KEY, client_id, deltas)


def _upsert_deltas(table, key_names: tuple[str, ...], client_id: int, deltas: dict[tuple, list[int]]) -> None:
    rows = [dict(zip(key_names, key, strict=True), client_id=client_id, count=count, total_cents=cents)
            for key, (count, cents) in sorted(deltas.items()) if count or cents]
    if not rows:
        return
    connection = db.session.connection()
    statement = _UPSERTS.get((table.name, connection.dialect.name))
    if statement is None:
        if connection.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert
        statement = upsert(table)
        statement = _UPSERTS[(table.name, connection.dialect.name)] = statement.on_conflict_do_update(
            index_elements=[c.name for c in table.primary_key.columns],
            set_={"count": table.c.count + statement.excluded.count,
                  "total_cents": table.c.total_cents + statement.excluded.total_cents})
    connection.execute(statement, rows)  # Core: a plain statement, no ORM bookkeeping around it


_UPSERTS: dict[tuple[str, str], object] = {}  # (table, dialect) -> its upsert of deltas, built once


def rebuild_totals(client_id: int | None = None) -> int:
    """Recompute the month and the day totals from the documents (all clients, or one); returns the month
    rows written (``rebuild_day_totals`` says the day's)."""
    rebuild_day_totals(client_id)
    return rebuild_month_totals(client_id)


def brasilia_day_sql(dialect: str, column: str = "issued_at") -> str:
    """SQL for AAAAMMDD of a naive-UTC timestamp column in Brasília time (UTC−3, as ``day_of``): the
    rebuild's and migration 0017's grouping."""
    if dialect == "postgresql":
        return f"CAST(to_char({column} - interval '3 hours', 'YYYYMMDD') AS INTEGER)"
    return f"CAST(strftime('%Y%m%d', {column}, '-3 hours') AS INTEGER)"


def rebuild_day_totals(client_id: int | None = None) -> int:
    """Recompute the day totals from the documents (all clients, or one); returns the rows written."""
    from sqlalchemy import literal_column

    table = FiscalDayTotal.__table__
    day = literal_column(brasilia_day_sql(db.session.get_bind().dialect.name,
                                          f"{FiscalDocument.__tablename__}.issued_at"))
    delete = table.delete()
    grouped = select(FiscalDocument.client_id, FiscalDocument.environment, day, FiscalDocument.model,
                     FiscalDocument.direction, FiscalDocument.status, func.count(),
                     func.coalesce(func.sum(FiscalDocument.total_cents), 0))
    if client_id is not None:
        delete = delete.where(table.c.client_id == client_id)
        grouped = grouped.where(FiscalDocument.client_id == client_id)
    grouped = grouped.group_by(FiscalDocument.client_id, FiscalDocument.environment, day, FiscalDocument.model,
                               FiscalDocument.direction, FiscalDocument.status)
    db.session.execute(delete)
    db.session.execute(table.insert().from_select(
        ["client_id", "environment", "issued_day", "model", "direction", "status", "count", "total_cents"], grouped))
    written = select(func.count()).select_from(table)
    if client_id is not None:
        written = written.where(table.c.client_id == client_id)
    return db.session.scalar(written) or 0


def rebuild_month_totals(client_id: int | None = None) -> int:
    """Recompute the month totals from the documents (all clients, or one); returns the rows written."""
    table = FiscalMonthTotal.__table__
    delete = table.delete()
    grouped = select(FiscalDocument.client_id, FiscalDocument.issued_month, FiscalDocument.environment,
                     FiscalDocument.model, FiscalDocument.direction, FiscalDocument.status, func.count(),
                     func.coalesce(func.sum(FiscalDocument.total_cents), 0))
    if client_id is not None:
        delete = delete.where(table.c.client_id == client_id)
        grouped = grouped.where(FiscalDocument.client_id == client_id)
    grouped = grouped.group_by(FiscalDocument.client_id, FiscalDocument.issued_month, FiscalDocument.environment,
                               FiscalDocument.model, FiscalDocument.direction, FiscalDocument.status)
    db.session.execute(delete)
    db.session.execute(table.insert().from_select(["client_id", *_TOTALS_KEY, "count", "total_cents"], grouped))
    written = select(func.count()).select_from(table)
    if client_id is not None:
        written = written.where(table.c.client_id == client_id)
    return db.session.scalar(written) or 0  # (rowcount of INSERT … SELECT is -1 on some drivers)


def ingest_files(client, files: list[tuple]) -> list[FileResult]:
    """Ingest files of one client in batches; results in order. Statuses reflect every event known.

    Each file is ``(name, data)`` or ``(name, data, stream)``, ``stream`` being its bytes already as a zlib
    stream (a zip member's own DEFLATE data), stored as is."""
    results: list[FileResult] = []
    for start in range(0, len(files), BATCH):
        with gc_paused():
            results.extend(_ingest_batch(client, files[start:start + BATCH]))
    return results


@contextmanager
def gc_paused():
    """No cyclic garbage collection inside the block. A batch makes tens of thousands of short-lived objects
    (freed by reference counting as the batch ends) on top of the app's half a million long-lived ones: left
    on, the collector ran a full pass over all of them (~150 ms) every few batches, a fifth of the ingest's
    time. Paused, a batch costs one young-generation pass after it; cycles it made are collected then."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _ingest_batch(client, files) -> list[FileResult]:
    client_doc = (client.cnpj or "").upper()
    parsed_files: list = []
    for name, data, *_stream in files:
        try:
            parsed = parse_fiscal_xml(data)
        except FiscalParseError as exc:
            parsed = _refused(name, exc.code, refusal_message(exc.message))
        parsed_files.append(parsed)
    batch = _Batch(client, [p for p in parsed_files if not isinstance(p, FileResult)])
    outcomes: list[tuple[FileResult, tuple[int, str] | None]] = []
    for (name, data, *stream), parsed in zip(files, parsed_files, strict=True):
        if isinstance(parsed, FileResult):
            outcomes.append((parsed, None))
            continue
        refused = _not_the_clients(parsed, client_doc, batch, name)
        if refused is not None:
            outcomes.append((refused, None))
            continue
        digest = digest_of(data)
        batch.data[digest] = (data, stream[0] if stream else None)
        outcome = None
        for note in parsed.notes:
            outcome = outcome or _store_note(batch, note, digest, len(data), name)
        for protocol in parsed.protocols:
            outcome = outcome or _store_protocol(batch, protocol, digest, len(data), name)
        for event in parsed.events:
            created = _store_event(batch, event, digest)
            outcome = outcome or (FileResult(file=name, result="created" if created else "duplicate", key=event.key,
                                             model=event.model), (event.environment, event.key))
        outcomes.append(outcome)
    batch.store_blobs()  # one pack, written whole before the rows that name it (a crash leaves a pack unnamed)
    batch.derive()
    batch.write()
    _announce(batch)
    results = []
    for result, identity in outcomes:
        document = batch.documents.get(identity) if identity else None
        if document is not None:
            result.status, result.direction = document.status.value, document.direction.value
        results.append(result)
    return results


def _announce(batch: _Batch) -> None:
    """Tell listeners (outgoing webhooks) which documents arrived and which became cancelled."""
    received = [batch.documents[i] for i in batch.created if batch.documents[i].has_body]
    cancelled = [doc for identity, doc in batch.documents.items()
                 if identity in batch.touched and identity not in batch.was_cancelled
                 and doc.status == DocumentStatus.CANCELLED]
    if (received or cancelled) and documents_changed.receivers:
        documents_changed.send(batch.client, received=received, cancelled=cancelled)


def _not_the_clients(parsed, client_doc: str, batch: _Batch, name: str) -> FileResult | None:
    for note in parsed.notes:
        if direction_for(note, client_doc) is None:
            return _refused(name, "not_client", _("Este documento não pertence a este cliente."), note.key)
    for protocol in parsed.protocols:
        if protocol.key[6:20] != client_doc and (protocol.environment, protocol.key) not in batch.documents:
            return _refused(name, "not_client", _("Este documento não pertence a este cliente."), protocol.key)
    return None


def find_document(client_id: int, environment: int, key: str) -> FiscalDocument | None:
    """A client's document by key, in one environment (callers load the client through its scope first)."""
    return db.session.execute(
        select(FiscalDocument).where(FiscalDocument.client_id == client_id,
                                     FiscalDocument.environment == environment, FiscalDocument.key == key)
    ).scalar_one_or_none()


def _apply_protocol(document: FiscalDocument, protocol: Protocol | None) -> None:
    document.protocol_cstat = protocol.cstat if protocol else None
    document.protocol_number = protocol.number if protocol else ""
    document.authorized_at = protocol.received_at if protocol else None


def _store_note(batch: _Batch, note: Note, digest: str, size: int, name: str):
    client = batch.client
    direction, role = direction_for(note, client.cnpj.upper())
    identity = (note.environment, note.key)
    document = batch.documents.get(identity)
    result = "created"
    if document is not None:
        if document.blob_sha256 == digest:
            return FileResult(file=name, result="duplicate", key=note.key, model=document.model), identity
        # a version with the protocol replaces a pending one (or the bare SEFAZ answer); never the reverse
        if not (note.protocol is not None and (document.protocol_cstat is None or not document.has_body)):
            return FileResult(file=name, result="duplicate", key=note.key, model=document.model), identity
        result = "updated"
    else:
        now = batch.now
        document = _NewDocument(client_id=client.id, key=note.key, environment=note.environment, received_at=now,
                                updated_at=now, acknowledged_at=None, acknowledged_by_id=None)
        batch.documents[identity] = document
        batch.created.add(identity)
    document.model, document.series, document.number = note.model, note.series, note.number
    document.issued_at, document.issued_month = note.issued_at, month_of(note.issued_at)
    document.direction, document.role, document.tp_emis = Direction(direction), role, note.tp_emis
    document.emitter_doc, document.emitter_name = note.emitter.doc, note.emitter.name[:200]
    recipient = note.recipient
    document.recipient_doc = recipient.doc if recipient else ""
    document.recipient_name = recipient.name[:200] if recipient else ""
    document.total_cents, document.has_body = note.total_cents, True
    document.signature_status = note.signature_status
    document.blob_sha256, document.size_bytes = digest, size
    batch.uses_blob(document)
    _apply_protocol(document, note.protocol)
    document.status = DocumentStatus.NOT_A_DOCUMENT  # derived for the whole batch below
    batch.touched.add(identity)
    return FileResult(file=name, result=result, key=note.key, model=note.model), identity


def _store_protocol(batch: _Batch, protocol: Protocol, digest: str, size: int, name: str):
    """A SEFAZ answer carrying the final protocol of a note (e.g. denied) without the note itself."""
    identity = (protocol.environment, protocol.key)
    document = batch.documents.get(identity)
    key = protocol.key
    if document is not None:
        if document.protocol_cstat == protocol.cstat:
            return FileResult(file=name, result="duplicate", key=key, model=document.model), identity
        _apply_protocol(document, protocol)
        if not document.has_body:
            document.blob_sha256, document.size_bytes = digest, size
            batch.uses_blob(document)
        batch.touched.add(identity)
        return FileResult(file=name, result="updated", key=key, model=document.model), identity
    now = batch.now
    issued = protocol.received_at or now
    document = _NewDocument(
        client_id=batch.client.id, key=key, environment=protocol.environment, model=int(key[20:22]),
        series=int(key[22:25]), number=int(key[25:34]), issued_at=issued, issued_month=month_of(issued),
        direction=Direction.ISSUED, role="emitente", tp_emis=int(key[34]), emitter_doc=key[6:20],
        emitter_name="", recipient_doc="", recipient_name="",
        total_cents=0, has_body=False, signature_status="unsigned", blob_sha256=digest, size_bytes=size,
        status=DocumentStatus.NOT_A_DOCUMENT, received_at=now, updated_at=now, acknowledged_at=None,
        acknowledged_by_id=None,
    )
    _apply_protocol(document, protocol)
    batch.uses_blob(document)
    batch.documents[identity] = document
    batch.created.add(identity)
    batch.touched.add(identity)
    return FileResult(file=name, result="created", key=key, model=document.model), identity


def _store_event(batch: _Batch, event: Event, digest: str) -> bool:
    identity = (event.environment, event.key, event.type, event.sequence)
    if identity in batch.event_ids:
        return False
    batch.event_ids.add(identity)
    batch.events.setdefault((event.environment, event.key), []).append((event.type, event.cstat))
    batch.touched.add((event.environment, event.key))
    row = dict(
        client_id=batch.client.id, key=event.key, event_type=event.type, sequence=event.sequence, cstat=event.cstat,
        environment=event.environment, registered_at=event.registered_at,
        registered_month=month_of(event.registered_at), protocol_number=event.protocol_number,
        blob_sha256=digest, received_at=batch.now,
    )
    batch.new_events.append(row)
    batch.uses_blob(row)
    return True


# -- queries -----------------------------------------------------------------------------------------


def period_totals(client_id: int, month: int, *, environment: int = 1, model: int | None = None,
                  direction: Direction | None = None) -> dict[str, dict[str, int]]:
    """Count and R$ per status for a client-month, read from the month totals (a handful of rows)."""
    table = FiscalMonthTotal
    query = (
        select(table.status, func.sum(table.count), func.sum(table.total_cents))
        .where(table.client_id == client_id, table.issued_month == month, table.environment == environment)
        .group_by(table.status)
    )
    if model is not None:
        query = query.where(table.model == model)
    if direction is not None:
        query = query.where(table.direction == Direction(direction).value)
    totals = {status.value: {"count": 0, "total_cents": 0} for status in SUPPORTED_TOTAL_STATUSES}
    for status, count, total in db.session.execute(query):
        if status in totals:
            totals[status] = {"count": int(count or 0), "total_cents": int(total or 0)}
    return totals


def pending_contingency(client_ids: Iterable[int] | None = None, *, environment: int = 1):
    """Contingency notes not yet authorized, oldest first (the monitor and the client software's list)."""
    query = select(FiscalDocument).where(FiscalDocument.status == CONTINGENCY_LITERAL,
                                         FiscalDocument.environment == environment)
    if client_ids is not None:
        query = query.where(FiscalDocument.client_id.in_(list(client_ids)))
    return db.session.execute(query.order_by(FiscalDocument.issued_at, FiscalDocument.id)).scalars().all()


ORPHAN_PACK_AGE = timedelta(days=1)


def remove_orphan_packs(now: datetime | None = None, min_age: timedelta = ORPHAN_PACK_AGE) -> list[str]:
    """Delete the blob packs no document or event names, written more than ``min_age`` ago; answers their names.

    An ingest batch writes its pack before inserting the rows that name it, so a batch rolled back (a failed
    request, a crash) leaves its pack behind. Only packs that old can be orphans for good: a row only ever names
    the pack of its own batch, inserted seconds after it was written, never an older one."""
    store = blob_store()
    candidates = store.list_packs((now or utcnow()) - min_age)
    if not candidates:
        return []
    named: set[str] = set()
    for model in (FiscalDocument, FiscalEvent):  # one pass over each table, once a day
        named.update(db.session.execute(select(model.blob_pack).where(model.blob_pack != "").distinct()).scalars())
    orphans = [name for name in candidates if name not in named]
    for name in orphans:
        store.delete_file(name)
    return orphans


def document_xml(document: FiscalDocument) -> bytes:
    return blob_store().get(document.blob_sha256, blob_location(document))


def _utc_hour(column):
    """The UTC hour of a timestamp column as text "AAAA-MM-DD HH" (SQLite keeps it as text: a substring costs
    nothing, where date() parses every row); the Brasília day is worked out per group, in Python."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM-DD HH24")
    return func.substr(column, 1, 13)


def day_totals(client_ids: list[int], first: date, last: date, *, environment: int = 1,
               direction: Direction | None = None, model: int | None = None) -> list[tuple[str, int, str, int, int]]:
    """(day AAAA-MM-DD in Brasília, model, status, count, cents) of the documents issued on the Brasília days
    ``first`` to ``last`` (inclusive), read from the day totals: one query on a range of their primary key,
    a few rows per day however many notes. The period's totals, the models present and a chart are all
    drawn from it (the accountants' portal and the accountant API)."""
    table = FiscalDayTotal
    query = (
        select(table.issued_day, table.model, table.status, func.sum(table.count), func.sum(table.total_cents))
        .where(table.client_id.in_(list(client_ids)), table.environment == environment,
               table.issued_day >= day_number(first), table.issued_day <= day_number(last),
               table.status.in_([s.value for s in SUPPORTED_TOTAL_STATUSES]))
        .group_by(table.issued_day, table.model, table.status)
        .order_by(table.issued_day, table.model, table.status)
    )
    if direction is not None:
        query = query.where(table.direction == Direction(direction).value)
    if model is not None:
        query = query.where(table.model == model)
    rows = []
    for day, row_model, status, count, cents in db.session.execute(query):
        if count or cents:
            rows.append((f"{day // 10000:04d}-{day // 100 % 100:02d}-{day % 100:02d}", int(row_model), str(status),
                         int(count), int(cents)))
    return rows


def range_totals(client_ids: list[int], first: date, last: date, *, environment: int = 1,
                 direction: Direction | None = None, model: int | None = None) -> dict[str, dict[str, int]]:
    """Count and R$ per status of the Brasília days ``first`` to ``last``, from the day totals (``day_totals``)."""
    totals = {status.value: {"count": 0, "total_cents": 0} for status in SUPPORTED_TOTAL_STATUSES}
    for _day, _model, status, count, cents in day_totals(client_ids, first, last, environment=environment,
                                                         direction=direction, model=model):
        totals[status]["count"] += count
        totals[status]["total_cents"] += cents
    return totals


def daily_totals(client_ids: list[int], start: datetime, end: datetime, *, environment: int = 1,
                 direction: Direction | None = None, where: Iterable = ()) -> list[tuple[str, int, str, int, int]]:
    """The same rows as ``day_totals``, grouped over the documents issued in [start, end) that also meet
    ``where``: for filters the day totals cannot answer (the portal's "Filtros Avançados"). One grouped query
    on a covering index (ix_fiscal_documents_period) when ``where`` is empty; its cost grows with the rows."""
    hour = _utc_hour(FiscalDocument.issued_at)
    query = (
        select(hour, FiscalDocument.model, FiscalDocument.status, func.count(),
               func.coalesce(func.sum(FiscalDocument.total_cents), 0))
        .where(FiscalDocument.client_id.in_(client_ids), FiscalDocument.environment == environment,
               FiscalDocument.issued_at >= start, FiscalDocument.issued_at < end,
               FiscalDocument.status.in_([s.value for s in SUPPORTED_TOTAL_STATUSES]), *where)
        .group_by(hour, FiscalDocument.model, FiscalDocument.status)
    )
    if direction is not None:
        query = query.where(FiscalDocument.direction == direction)
    days: dict[tuple[str, int, str], list[int]] = {}
    for utc_hour, model, status, count, cents in db.session.execute(query):
        moment = datetime.strptime(str(utc_hour), "%Y-%m-%d %H").replace(tzinfo=UTC)
        bucket = days.setdefault((moment.astimezone(BRT).date().isoformat(), int(model), DocumentStatus(status).value),
                                 [0, 0])
        bucket[0] += int(count)
        bucket[1] += int(cents)
    return [(day, model, status, count, cents) for (day, model, status), (count, cents) in sorted(days.items())]
