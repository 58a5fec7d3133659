"""Ingestion: the service (one file, zips, duplicates, versions, events before and after their note,
environments) and the integration endpoint POST /api/v1/integration/documents."""

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.blobstore import blob_store
from fiscal import services
from fiscal.models import Direction, FiscalDocument, FiscalEvent, blob_location
from fiscal.synth import cancellation_xml, key_of, nfe_xml
from tests.fiscal.conftest import BUYER, SELLER

NOW = datetime.now(UTC).replace(microsecond=0)


def note(**overrides):
    values = dict(emitter_cnpj=SELLER, emitter_name="Padaria Pão Quente", recipient_doc=BUYER,
                  recipient_name="Mercado Árvore", number=1, issued_at=NOW - timedelta(hours=5), total_cents=10000)
    values.update(overrides)
    return nfe_xml(**values)


def zipped(files: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def documents(db):
    return db.session.execute(select(FiscalDocument).order_by(FiscalDocument.id)).scalars().all()


def test_an_issued_note_is_stored_once_with_its_metadata_and_bytes(db, fiscal_client):
    xml = note(number=7, total_cents=123456)
    first = services.ingest_file(fiscal_client, "a.xml", xml)
    again = services.ingest_file(fiscal_client, "copy.xml", xml)
    assert (first.result, first.status, first.direction, first.model) == ("created", "authorized", "issued", 55)
    assert again.result == "duplicate"
    [doc] = documents(db)
    assert (doc.number, doc.total_cents, doc.direction, doc.role, doc.environment) == (7, 123456, Direction.ISSUED,
                                                                                      "emitente", 1)
    assert doc.issued_month == services.month_of(NOW - timedelta(hours=5))
    assert doc.signature_status == "valid" and doc.protocol_number
    assert services.document_xml(doc) == xml
    assert doc.blob_pack and blob_store().exists(doc.blob_sha256, blob_location(doc))


def test_a_supplier_note_is_received(db, fiscal_client):
    result = services.ingest_file(fiscal_client, "f.xml", note(emitter_cnpj=BUYER, recipient_doc=SELLER))
    assert (result.result, result.direction) == ("created", "received")
    assert documents(db)[0].role == "destinatario"


def test_a_note_of_someone_else_is_refused_and_nothing_is_stored(db, fiscal_client):
    result = services.ingest_file(fiscal_client, "x.xml", note(emitter_cnpj=BUYER, recipient_doc="60701190000104"))
    assert result.result == "refused"
    assert result.error == {"code": "not_client", "message": "Este documento não pertence a este cliente."}
    assert documents(db) == []


def test_the_authorized_version_replaces_a_pending_contingency_one_never_the_reverse(db, fiscal_client):
    pending = note(model=65, tp_emis=9, protocol_cstat=None, number=3)
    authorized = note(model=65, tp_emis=9, number=3)
    assert key_of(pending) == key_of(authorized)
    assert services.ingest_file(fiscal_client, "p.xml", pending).status == "contingency"
    assert [d.key for d in services.pending_contingency([fiscal_client.id])] == [key_of(pending)]
    updated = services.ingest_file(fiscal_client, "a.xml", authorized)
    assert (updated.result, updated.status) == ("updated", "authorized")
    assert services.ingest_file(fiscal_client, "p.xml", pending).result == "duplicate"
    [doc] = documents(db)
    assert doc.status == "authorized" and services.document_xml(doc) == authorized
    assert services.pending_contingency([fiscal_client.id]) == []


def test_a_cancellation_applies_whether_it_arrives_before_or_after_its_note(db, fiscal_client):
    late, early = note(number=10), note(number=11)
    services.ingest_file(fiscal_client, "late.xml", late)
    cancelled = services.ingest_file(fiscal_client, "c1.xml", cancellation_xml(key_of(late), NOW))
    assert (cancelled.result, cancelled.status) == ("created", "cancelled")
    assert services.ingest_file(fiscal_client, "c0.xml", cancellation_xml(key_of(early), NOW)).status is None
    assert services.ingest_file(fiscal_client, "early.xml", early).status == "cancelled"
    assert services.ingest_file(fiscal_client, "c1.xml", cancellation_xml(key_of(late), NOW)).result == "duplicate"
    assert db.session.scalar(select(func.count()).select_from(FiscalEvent)) == 2
    assert {d.status for d in documents(db)} == {"cancelled"}


def test_environments_are_kept_apart(db, fiscal_client):
    production, homologation = note(number=20), note(number=20, environment=2)
    services.ingest_file(fiscal_client, "p.xml", production)
    services.ingest_file(fiscal_client, "h.xml", homologation)
    services.ingest_file(fiscal_client, "c.xml", cancellation_xml(key_of(homologation), NOW, environment=2))
    by_env = {d.environment: d.status for d in documents(db)}
    assert by_env == {1: "authorized", 2: "cancelled"}
    month = services.month_of(NOW - timedelta(hours=5))
    assert services.period_totals(fiscal_client.id, month)["cancelled"]["count"] == 0
    assert services.period_totals(fiscal_client.id, month, environment=2)["cancelled"]["count"] == 1


def test_period_totals_count_and_sum_by_status(db, fiscal_client):
    for number, cstat, cents in [(1, 100, 1000), (2, 100, 2500), (3, 302, 700), (4, 100, 900)]:
        services.ingest_file(fiscal_client, f"{number}.xml", note(number=number, protocol_cstat=cstat,
                                                                  total_cents=cents))
    services.ingest_file(fiscal_client, "c.xml", cancellation_xml(key_of(note(number=4)), NOW))
    services.ingest_file(fiscal_client, "p.xml", note(number=5, model=65, tp_emis=9, protocol_cstat=None,
                                                     total_cents=333))
    services.ingest_file(fiscal_client, "d.xml", note(number=6, protocol_cstat=None, total_cents=99999))  # draft
    month = services.month_of(NOW - timedelta(hours=5))
    assert services.period_totals(fiscal_client.id, month) == {
        "authorized": {"count": 2, "total_cents": 3500}, "cancelled": {"count": 1, "total_cents": 900},
        "denied": {"count": 1, "total_cents": 700}, "contingency": {"count": 1, "total_cents": 333},
    }
    assert services.period_totals(fiscal_client.id, month, model=65)["authorized"]["count"] == 0
    assert services.period_totals(fiscal_client.id, month, direction=Direction.RECEIVED)["authorized"]["count"] == 0


def test_a_zip_is_read_member_by_member_with_unsafe_members_skipped(db, fiscal_client):
    upload = zipped({"notas/1.xml": note(number=1), "notas/2.xml": note(number=2), "dup.xml": note(number=1),
                     "../evil.xml": note(number=3), "inner.zip": b"PK", "lixo.txt": b"hello", "pasta/": b""})
    summary = services.ingest_upload(fiscal_client, "lote.zip", upload)
    outcome = {r.file: (r.result, (r.error or {}).get("code")) for r in summary.results}
    assert outcome == {"notas/1.xml": ("created", None), "notas/2.xml": ("created", None),
                       "dup.xml": ("duplicate", None), "../evil.xml": ("refused", "unsafe_path"),
                       "inner.zip": ("refused", "nested_archive"), "lixo.txt": ("refused", "not_xml")}
    assert len(documents(db)) == 2


def test_a_zip_bomb_and_a_broken_zip_are_refused(db, fiscal_client):
    bomb = zipped({"bomb.xml": b"<a>" + b" " * 900_000 + b"</a>"})
    [result] = services.ingest_upload(fiscal_client, "b.zip", bomb).results
    assert (result.result, result.error["code"]) == ("refused", "zip_bomb")
    [broken] = services.ingest_upload(fiscal_client, "x.zip", b"PK\x03\x04garbage").results
    assert broken.error["code"] == "bad_zip" and "zip válido" in broken.error["message"]


# -- HTTP ---------------------------------------------------------------------------------------------


def push(client, key, data, content_type="application/xml"):
    return client.post("/api/v1/integration/documents", data=data,
                       headers={"Authorization": f"Bearer {key}", "Content-Type": content_type})


def test_the_client_software_pushes_one_xml(client, db, fiscal_key):
    response = push(client, fiscal_key, note(number=40))
    assert response.status_code == 200
    [result] = response.get_json()["results"]
    assert result["result"] == "created" and result["status"] == "authorized" and result["direction"] == "issued"
    assert result["key"] == key_of(note(number=40)) and result["error"] is None


def test_a_push_where_every_file_is_refused_is_422_and_saves_nothing(client, db, fiscal_key):
    response = push(client, fiscal_key, b"<html/>")
    assert response.status_code == 422
    assert response.get_json()["results"][0]["error"]["code"] == "not_fiscal"
    assert documents(db) == []


def test_a_zip_push_answers_per_file(client, db, fiscal_key):
    response = push(client, fiscal_key, zipped({"a.xml": note(number=1), "b.xml": b"nope"}), "application/zip")
    assert response.status_code == 200
    assert [r["result"] for r in response.get_json()["results"]] == ["created", "refused"]


@pytest.mark.parametrize(("data", "content_type", "status", "code"), [
    (b"", "application/xml", 400, "empty_body"),
    (b"{}", "application/json", 415, "unsupported_media_type"),
])
def test_bad_pushes_get_a_clear_json_error(client, db, fiscal_key, data, content_type, status, code):
    response = push(client, fiscal_key, data, content_type)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_a_push_without_a_valid_key_is_401(client, db, fiscal_client):
    assert push(client, "rvk_live_nope", note()).status_code == 401
    assert documents(db) == []


def test_pending_lists_contingency_notes_without_authorization(client, db, fiscal_key):
    push(client, fiscal_key, note(number=50, model=65, tp_emis=9, protocol_cstat=None))
    push(client, fiscal_key, note(number=51))
    response = client.get("/api/v1/integration/documents/pending", headers={"Authorization": f"Bearer {fiscal_key}"})
    assert response.status_code == 200
    assert [i["number"] for i in response.get_json()["items"]] == [50]


def test_one_batch_with_an_event_before_its_note_a_copy_and_a_better_version(db, fiscal_client):
    pending = note(number=60, model=65, tp_emis=9, protocol_cstat=None)
    authorized = note(number=60, model=65, tp_emis=9)
    other = note(number=61)
    results = services.ingest_files(fiscal_client, [
        ("cancel.xml", cancellation_xml(key_of(other), NOW)), ("61.xml", other), ("61-copy.xml", other),
        ("60-pending.xml", pending), ("60.xml", authorized)])
    assert [(r.result, r.status) for r in results] == [
        ("created", "cancelled"), ("created", "cancelled"), ("duplicate", "cancelled"),
        ("created", "authorized"), ("updated", "authorized")]
    assert {d.number: d.status for d in documents(db)} == {60: "authorized", 61: "cancelled"}


def test_a_zip_larger_than_a_form_may_be_is_pushed_whole(client, db, fiscal_key, app):
    many = {f"{n}.xml": note(number=n, items=60) for n in range(1, 120)}
    padded = io.BytesIO()
    with zipfile.ZipFile(padded, "w", zipfile.ZIP_STORED) as archive:  # stored: the body is really > 2 MB
        for name, data in many.items():
            archive.writestr(name, data)
    assert len(padded.getvalue()) > app.config["MAX_CONTENT_LENGTH"]
    response = push(client, fiscal_key, padded.getvalue(), "application/zip")
    assert response.status_code == 200
    assert {r["result"] for r in response.get_json()["results"]} == {"created"}


def test_a_batch_runs_without_the_cyclic_collector_and_gives_it_back(db, fiscal_client, monkeypatch):
    import gc

    seen = []
    parse = services.parse_fiscal_xml
    monkeypatch.setattr(services, "parse_fiscal_xml", lambda data: (seen.append(gc.isenabled()), parse(data))[1])
    assert gc.isenabled()
    services.ingest_files(fiscal_client, [("a.xml", note(number=41)), ("b.xml", b"<broken")])
    assert seen == [False, False] and gc.isenabled()
    with pytest.raises(RuntimeError), services.gc_paused():  # given back when the batch fails, too
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:  # a caller that had it off keeps it off
        with services.gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_postgresql_statistics_are_refreshed_as_a_first_import_grows(db, fiscal_client, monkeypatch):
    """ANALYZE once the rows this process inserted reach the table's size at its last ANALYZE (a planner that
    believes the table empty scanned all the client's rows per batch)."""
    from sqlalchemy import text

    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL): SQLite plans the lookup by its index whatever it knows")

    def analyze_count() -> int:
        db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
        return db.session.execute(text(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'fiscal_documents'")).scalar()

    monkeypatch.setattr(services, "ANALYZE_AFTER_ROWS", 3)
    monkeypatch.setattr(services, "_analyzed", {"rows": 0, "reltuples": 0.0, "thread": None})
    before = analyze_count()
    services.ingest_files(fiscal_client, [(f"{n}.xml", note(number=n)) for n in (1, 2)])
    services.wait_for_statistics(30)
    assert analyze_count() == before  # 2 rows: not yet
    services.ingest_files(fiscal_client, [("3.xml", note(number=3)), ("1.xml", note(number=1))])  # a duplicate
    assert services._analyzed["thread"] is not None  # started beside the ingest, not waited for
    services.wait_for_statistics(30)
    assert not services._analyzed["thread"].is_alive()
    assert analyze_count() == before + 1
    assert services._analyzed["rows"] == 0
    services.ingest_files(fiscal_client, [("4.xml", note(number=4))])
    services.wait_for_statistics(30)
    assert analyze_count() == before + 1


def test_one_analyze_at_a_time_and_a_failed_one_only_warns(db, fiscal_client, monkeypatch, caplog):
    """While an ANALYZE runs, a batch that reaches the threshold starts none (its rows stay counted); one that
    fails leaves a warning, releases its turn, and the ingest it runs beside is untouched."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL): SQLite is never analyzed by the ingest")
    monkeypatch.setattr(services, "ANALYZE_AFTER_ROWS", 1)
    monkeypatch.setattr(services, "_analyzed", {"rows": 0, "reltuples": 0.0, "thread": None})
    assert services._analyzing.acquire(blocking=False)  # as if one were running
    try:
        services.ingest_files(fiscal_client, [("1.xml", note(number=1))])
        assert services._analyzed["thread"] is None and services._analyzed["rows"] == 1
    finally:
        services._analyzing.release()

    class Broken:  # an engine whose database went away
        def connect(self):
            raise RuntimeError("the database went away")

    started, real_analyze = [], services._analyze

    def analyze_on_a_broken_engine(engine):
        started.append(engine)
        real_analyze(Broken())

    monkeypatch.setattr(services, "_analyze", analyze_on_a_broken_engine)
    with caplog.at_level("WARNING", logger="fiscal.services"):
        results = services.ingest_files(fiscal_client, [("2.xml", note(number=2))])
        services.wait_for_statistics(30)
    assert [r.result for r in results] == ["created"] and len(started) == 1
    assert "ANALYZE of the fiscal tables failed" in caplog.text
    assert services._analyzing.acquire(blocking=False)  # its turn was given back
    services._analyzing.release()


def test_the_batch_key_lookup_finds_exactly_the_keys_asked_in_the_environments_asked(db, fiscal_client):
    """_rows_of_keys on either database (PostgreSQL splits the keys from one text unless a key holds a comma:
    then they are bound one by one): the client's rows of those keys and environments, nothing else."""
    first, second = note(number=1), note(number=2)
    homologation = note(number=1, environment=2)  # the same key as ``first``, in the other environment
    services.ingest_files(fiscal_client, [("1.xml", first), ("2.xml", second), ("h.xml", homologation)])
    db.session.commit()
    one, two, unknown = key_of(first), key_of(second), "3" * 44

    def found(environments, keys, client_id=fiscal_client.id):
        rows = services._rows_of_keys("environment, key", "fiscal_documents", client_id, environments, keys)
        return sorted(tuple(row) for row in rows)

    assert found([1], [one, two, unknown]) == [(1, one), (1, two)]
    assert found([2], [one, two]) == [(2, one)]
    assert found([1, 2], [one, unknown]) == [(1, one), (2, one)]
    assert found([1, 2], [two, "a,b", unknown]) == [(1, two)]  # a comma: the keys bound one by one
    assert found([1], [one[:20] + "," + one[20:]]) == []  # never split into pieces that could match
    assert found([1, 2], [one, two], client_id=fiscal_client.id + 1000) == []
