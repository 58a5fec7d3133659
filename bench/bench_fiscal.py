"""Fiscal documents at scale: ingest, month queries, export. Prints ratios and figures.

Run from the project root::

    .venv/bin/python bench/bench_fiscal.py                       # temporary SQLite file
    .venv/bin/python bench/bench_fiscal.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/bench_fiscal.py --ingest 100000 --rows 2000000 --month-rows 200000 --export 50000

(a) ingest: N generated notes through the service (``ingest_file``) and through the HTTP zip endpoint
    (``POST /api/v1/integration/documents``, zips of 2,000), each as a ratio of notes/s to a bare strict
    lxml parse + field extraction of the same bytes, timed in turn with it chunk by chunk (aim >= 0.5).
    The ratio is of wall time; beside it, the same ratio of this process's CPU time, which other loads of a
    shared machine do not move (on PostgreSQL it leaves out the server's work). Each batch's XML is written as one blob pack
    (core.blobstore): a file per note cost ~1.4 ms, five times the parse, and was most of the time before.
    On PostgreSQL the ingest ANALYZEs the tables itself as they double (``keep_statistics``).
(b) month queries: the totals and the first page of the list for one client-month of M notes among R in
    the table (rows bulk-inserted), median ms (aim < 50 ms each) and SQL statements per call, which must
    not grow with the table (measured at R/10 and at R).
(c) export: E notes, time as a ratio to ``zipfile`` writing the same bytes (aim >= 0.5), and the peak RSS
    of the process that builds it at E/5 and at E (aim < 200 MB, flat as the export grows).
Every figure comes from generated notes (fiscal.synth), never from the real fixtures.
"""

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from lxml import etree  # noqa: E402

from app import create_app  # noqa: E402
from core.db import db  # noqa: E402
from core.scratchdb import scratch_database  # noqa: E402

CLIENT_CNPJ = "11222333000181"
BUYER = "45723174000110"
NS = "{http://www.portalfiscal.inf.br/nfe}"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ingest", type=int, default=10_000, help="notes ingested per path (issue: 100000)")
    parser.add_argument("--rows", type=int, default=200_000, help="rows in the table for (b) (issue: 2000000)")
    parser.add_argument("--month-rows", type=int, default=20_000, help="notes of the queried client-month (issue: 200000)")
    parser.add_argument("--export", type=int, default=5_000, help="notes exported in (c) (issue: 50000)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--only", default="abc", help="which parts to run, e.g. 'b'")
    parser.add_argument("--export-child", nargs=3, help=argparse.SUPPRESS)  # url workdir export_id
    return parser.parse_args()


def build_app(url: str, workdir: Path):
    return create_app({
        "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key", "INSTANCE_PATH": str(workdir),
        "CELERY_BROKER_URL": "memory://", "MAIL_BACKEND": "outbox", "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False, "MASTER_KEYS": "b1:" + "B" * 43 + "=", "FISCAL_MAX_UPLOAD": 512 * 1024 * 1024,
        "INTEGRATION_RATE_LIMIT": "1000000 per minute",
    })


def make_notes(count: int, start: int = 1, month_start: datetime | None = None) -> list[bytes]:
    from fiscal.synth import nfe_xml

    base = month_start or datetime.now(UTC).replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    return [nfe_xml(emitter_cnpj=CLIENT_CNPJ, emitter_name="Padaria Bench", recipient_doc=BUYER,
                    recipient_name="Mercado Bench", number=n, issued_at=base + timedelta(seconds=n % 86400),
                    total_cents=1000 + n % 5000, items=3, series=1 + n // 900_000_000)
            for n in range(start, start + count)]


def bare_parse(notes: list[bytes]) -> None:
    """A strict lxml parse plus a dozen findtext calls per note: the floor any ingest pays (timed by the caller)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    for data in notes:
        root = etree.fromstring(data, parser)
        inf = root.find(f".//{NS}infNFe")
        ide = inf.find(f"{NS}ide")
        for path in ("mod", "serie", "nNF", "dhEmi", "tpEmis", "tpAmb"):
            ide.findtext(f"{NS}{path}")
        inf.findtext(f"{NS}emit/{NS}CNPJ"), inf.findtext(f"{NS}emit/{NS}xNome")
        inf.findtext(f"{NS}dest/{NS}CNPJ"), inf.findtext(f"{NS}dest/{NS}xNome")
        inf.findtext(f"{NS}total/{NS}ICMSTot/{NS}vNF")
        root.findtext(f".//{NS}infProt/{NS}cStat"), root.findtext(f".//{NS}infProt/{NS}chNFe")


def setup_client(app):
    from certificates.services import rotate_integration_key
    from tests.factories import ClientFactory, PartnerFactory, PlanFactory

    with app.app_context():
        partner = PartnerFactory()
        client = ClientFactory(partner=partner, plan=PlanFactory(), cnpj=CLIENT_CNPJ)
        db.session.flush()
        key = rotate_integration_key(client, 0).plaintext
        db.session.commit()
        return client.id, key


class Clock:
    """Wall and CPU seconds summed over the spans timed with it."""

    def __init__(self):
        self.wall = self.cpu = 0.0

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall += time.perf_counter() - self._wall
        self.cpu += time.process_time() - self._cpu


def part_a(app, count: int) -> None:
    """Each path against the bare parse of the same notes, the two timed in turn chunk by chunk (500 notes for
    the service, a zip of 2,000 for HTTP): a shared machine's slow and fast minutes then fall on both sides of
    the ratio (timed once before, the bare parse alone moved the ratio by a third between two runs)."""
    from fiscal import services
    from partner.models import Client

    client_id, key = setup_client(app)
    notes = make_notes(count)
    service, service_floor = Clock(), Clock()
    with app.app_context():
        client = db.session.get(Client, client_id)
        for chunk in range(0, count, services.BATCH):
            part = notes[chunk:chunk + services.BATCH]
            with service_floor:
                bare_parse(part)
            with service:
                services.ingest_files(client, [(f"{chunk + i}.xml", data) for i, data in enumerate(part)])
                db.session.commit()
    # No ANALYZE here: the table went from empty to `count` rows in seconds, and the ingest itself keeps
    # PostgreSQL's statistics (fiscal.services.keep_statistics), as it must for a client's first big import.
    http_notes = make_notes(count, start=count + 1)
    zips = []
    for chunk in range(0, count, 2000):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for j, data in enumerate(http_notes[chunk:chunk + 2000]):
                archive.writestr(f"{chunk + j}.xml", data)
        zips.append((http_notes[chunk:chunk + 2000], buffer.getvalue()))
    http = app.test_client()
    over_http, http_floor = Clock(), Clock()
    for part, body in zips:
        with http_floor:
            bare_parse(part)
        with over_http:
            response = http.post("/api/v1/integration/documents", data=body,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/zip"})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    floor = 2 * count / (service_floor.wall + http_floor.wall)
    print(f"(a) ingest of {count:,} notes per path: bare strict lxml parse + extraction {floor:,.0f} notes/s"
          " (timed in turn with each path, on the same notes)")
    for label, clock, base in (("service ingest_files", service, service_floor),
                               ("HTTP zip endpoint   ", over_http, http_floor)):
        print(f"    {label}  {count / clock.wall:,.0f} notes/s  ratio {base.wall / clock.wall:.2f}  (aim >= 0.5)"
              f"   CPU-time ratio {base.cpu / clock.cpu:.2f}")


def month_before(month: int, k: int) -> int:
    """``YYYYMM`` ``k`` months earlier (202601, 1 → 202512)."""
    index = (month // 100) * 12 + month % 100 - 1 - k
    return (index // 12) * 100 + index % 12 + 1


def bulk_rows(app, client_ids: list[int], month_client: int, month: int, total: int, month_rows: int,
              start_id: int) -> int:
    """Insert ``total`` document rows: ``month_rows`` for (month_client, month), the rest spread elsewhere."""
    from fiscal.models import FiscalDocument

    table = FiscalDocument.__table__
    base = datetime(month // 100, month % 100, 1, 12, tzinfo=UTC)
    statuses = ["authorized"] * 17 + ["cancelled", "denied", "contingency"]
    inserted, batch = 0, []
    with app.app_context():
        while inserted < total:
            n = start_id + inserted
            in_month = inserted < month_rows
            client_id = month_client if in_month else client_ids[n % len(client_ids)]
            row_month = month if in_month else month_before(month, 1 if (n // 7) % 2 else 2)
            batch.append({
                "client_id": client_id, "key": f"{n:044d}", "model": 55 if n % 3 else 65, "series": 1, "number": n,
                "issued_at": base + timedelta(seconds=n % 2_000_000), "issued_month": row_month,
                "direction": "issued" if n % 4 else "received", "role": "emitente", "status": statuses[n % 20],
                "environment": 1, "tp_emis": 1, "emitter_doc": CLIENT_CNPJ, "emitter_name": "Emitente",
                "recipient_doc": BUYER, "recipient_name": f"Destinatário {n % 997}", "total_cents": 1000 + n % 9000,
                "has_body": True, "protocol_cstat": 100, "protocol_number": "1", "signature_status": "valid",
                "blob_sha256": "0" * 64, "size_bytes": 4000, "received_at": base, "updated_at": base,
            })
            inserted += 1
            if len(batch) == 20_000:
                db.session.execute(table.insert(), batch)
                db.session.commit()
                batch = []
        if batch:
            db.session.execute(table.insert(), batch)
            db.session.commit()
        from fiscal import services  # rows inserted behind the service's back: recompute the month totals

        started = time.perf_counter()
        services.rebuild_totals()
        db.session.commit()
        print(f"    (rebuild-totals over the table: {time.perf_counter() - started:.1f} s)")
    return start_id + inserted


def timed_queries(app, client_id: int, month: int, runs: int) -> tuple[float, float, int, int]:
    from sqlalchemy import event, select

    from fiscal import services
    from fiscal.models import FiscalDocument

    counts = {"n": 0}

    def count(*_args, **_kw):
        counts["n"] += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            totals_ms, page_ms = [], []
            for _ in range(runs):
                started = time.perf_counter()
                services.period_totals(client_id, month)
                totals_ms.append((time.perf_counter() - started) * 1000)
            totals_queries, counts["n"] = counts["n"] // runs, 0
            query = (select(FiscalDocument).where(FiscalDocument.client_id == client_id,
                                                  FiscalDocument.environment == 1,
                                                  FiscalDocument.issued_month == month)
                     .order_by(FiscalDocument.issued_at.desc(), FiscalDocument.id.desc()).limit(50))
            for _ in range(runs):
                started = time.perf_counter()
                db.session.execute(query).scalars().all()
                page_ms.append((time.perf_counter() - started) * 1000)
            page_queries = counts["n"] // runs
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
            db.session.rollback()
    return statistics.median(totals_ms), statistics.median(page_ms), totals_queries, page_queries


def part_b(app, rows: int, month_rows: int, runs: int) -> None:
    from tests.factories import ClientFactory, PartnerFactory, PlanFactory

    with app.app_context():
        partner, plan = PartnerFactory(), PlanFactory()
        clients = [ClientFactory(partner=partner, plan=plan) for _ in range(50)]
        db.session.commit()
        ids = [c.id for c in clients]
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            db.session.execute(sa.text("ANALYZE"))
    month = (datetime.now(UTC).year * 100 + datetime.now(UTC).month)
    small = max(rows // 10, month_rows)
    next_id = bulk_rows(app, ids[1:], ids[0], month, small, month_rows, 10**12)
    analyze(app)
    t_small, p_small, q_small, pq_small = timed_queries(app, ids[0], month, runs)
    bulk_rows(app, ids[1:], ids[0], month_before(month, 3), rows - small, 0, next_id)  # the table grows elsewhere
    analyze(app)
    t_big, p_big, q_big, pq_big = timed_queries(app, ids[0], month, runs)
    print(f"(b) client-month of {month_rows:,} notes; table of {small:,} then {rows:,} rows")
    print(f"    totals      {t_small:6.1f} ms -> {t_big:6.1f} ms  (aim < 50)   queries {q_small} -> {q_big}")
    print(f"    first page  {p_small:6.1f} ms -> {p_big:6.1f} ms  (aim < 50)   queries {pq_small} -> {pq_big}")
    if (q_small, pq_small) != (q_big, pq_big):
        sys.exit("FAIL: queries per call grew with the table")


def analyze(app) -> None:
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE fiscal_documents")
        else:
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()


def part_c(app, url: str, workdir: Path, count: int) -> None:
    """Two exports, of count/5 and of count notes (two months), each built in its own process."""
    from fiscal import exports, services
    from partner.models import Client

    client_id, _key = setup_client(app)
    this_month = datetime.now(UTC).replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    runs = []
    for months_back, size in ((3, count // 5), (2, count)):
        start = this_month
        for _ in range(months_back):
            start = (start - timedelta(days=1)).replace(day=1)
        notes = make_notes(size, start=10_000_000 + months_back * 1_000_000, month_start=start)
        with app.app_context():
            client = db.session.get(Client, client_id)
            for chunk in range(0, size, services.BATCH):
                services.ingest_files(client, [(f"{i}.xml", notes[i]) for i in range(chunk, min(chunk + 500, size))])
                db.session.commit()
            export = exports.request_export(client, month=services.month_of(start))
            db.session.commit()
            export_id = export.id
        with tempfile.NamedTemporaryFile(suffix=".zip") as tmp:
            started = time.perf_counter()
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
                for i, data in enumerate(notes):
                    archive.writestr(f"{i}.xml", data)
            plain = time.perf_counter() - started
        out = subprocess.run([sys.executable, __file__, "--export-child", url, str(workdir), str(export_id)],
                             capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"export child failed:\n{out.stderr[-3000:]}")
        seconds, rss_mb, documents, before_mb, added_mb = out.stdout.split()
        runs.append((int(documents), sum(len(n) for n in notes), plain, float(seconds), float(rss_mb),
                     float(before_mb), float(added_mb)))
        del notes
    print("(c) export (zip with the XML, CSV index and PDF report), each built in a fresh process:")
    for documents, raw, plain, seconds, rss, before, added in runs:
        print(f"    {documents:>7,} notes ({raw / 1e6:,.0f} MB XML): zipfile alone {plain:6.2f} s, build_export "
              f"{seconds:6.2f} s, ratio {plain / seconds:.2f} (aim >= 0.5), peak RSS {rss:,.0f} MB (aim < 200): "
              f"the app loaded {before:,.0f} MB + the export {added:,.0f} MB")


def export_child(url: str, workdir: str, export_id: str) -> None:
    """Build one export in a fresh process and report its time and peak RSS."""
    app = build_app(url, Path(workdir))
    from fiscal import exports

    with app.app_context():
        export = db.session.get(exports.FiscalExport, int(export_id))
        before_mb, loading_peak_mb = _status_mb("VmRSS"), _status_mb("VmHWM")
        reset = _reset_peak()
        started = time.perf_counter()
        exports.build_export(export.id)
        db.session.commit()
        seconds = time.perf_counter() - started
        documents = export.document_count
        added_mb = (_status_mb("VmHWM") - before_mb) if reset else -1.0
    # the peak since exec (VmHWM): ru_maxrss would also count the parent's pages it forked from
    rss_mb = max(loading_peak_mb, before_mb + added_mb) if reset else resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{seconds:.3f} {rss_mb:.1f} {documents} {before_mb:.1f} {added_mb:.1f}")


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak since the last reset) of this process, in MB (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return -1.0


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs), so the peak is the export's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def main() -> None:
    args = parse_args()
    if args.export_child:
        export_child(*args.export_child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url, drop = scratch_database(args.database_url, workdir, "fiscalbench")
        try:
            app = build_app(url, workdir)
            with app.app_context():
                upgrade(directory=str(ROOT / "migrations"))
            print(f"database: {url.split(':')[0]}; cores: {os.cpu_count()}")
            if "a" in args.only:
                part_a(app, args.ingest)
            if "b" in args.only:
                part_b(app, args.rows, args.month_rows, args.runs)
            if "c" in args.only:
                part_c(app, url, workdir, args.export)
        finally:
            drop()


if __name__ == "__main__":
    main()
