"""The fiscal ingestion on blob packs: a batch's XML is one pack, every row says where its stream is,
duplicates write nothing, a zip member's own DEFLATE data is stored as is, rows from before packs still
read (and export), and a batch cut short leaves no row pointing at missing bytes."""

import io
import os
import zipfile
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.blobstore import LocalBlobStore, blob_store
from fiscal import exports, services
from fiscal.models import FiscalDocument, FiscalEvent, blob_location
from fiscal.synth import cancellation_xml, key_of, nfe_xml
from tests.faults import disk_full_after_first_write
from tests.fiscal.conftest import BUYER, SELLER

NOW = datetime.now(UTC).replace(microsecond=0)


def note(number, **overrides):
    values = dict(emitter_cnpj=SELLER, emitter_name="Padaria Pão Quente", recipient_doc=BUYER,
                  recipient_name="Mercado Árvore", number=number, issued_at=NOW - timedelta(hours=5),
                  total_cents=1000 + number)
    values.update(overrides)
    return nfe_xml(**values)


def packs() -> set[str]:
    store = blob_store()
    assert isinstance(store, LocalBlobStore)
    return {p.relative_to(store.root).as_posix() for p in (store.root / "packs").rglob("*.pack")}


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_batch_is_one_pack_and_every_row_reads_back(db, fiscal_client):
    notes = [note(n) for n in range(1, 21)]
    cancel = cancellation_xml(key_of(notes[0]), registered_at=NOW - timedelta(hours=1))
    before = packs()
    files = [(f"{n}.xml", x) for n, x in enumerate(notes)] + [("c.xml", cancel), ("x.txt", b"not xml"),
                                                               ("again.xml", notes[3])]
    results = services.ingest_files(fiscal_client, files)
    db.session.commit()
    assert [r.result for r in results] == ["created"] * 21 + ["refused", "duplicate"]
    [pack] = packs() - before
    rows = db.session.execute(select(FiscalDocument).order_by(FiscalDocument.number)).scalars().all()
    [event] = db.session.execute(select(FiscalEvent)).scalars().all()
    assert {r.blob_pack for r in rows} == {event.blob_pack} == {pack}
    assert [services.document_xml(r) for r in rows] == notes
    assert blob_store().get(event.blob_sha256, blob_location(event)) == cancel
    assert rows[0].status == "cancelled" and all(r.size_bytes == len(x) for r, x in zip(rows, notes, strict=True))
    # the pack holds the 21 distinct files, no more (the refused and the repeated file took no bytes)
    assert len(blob_store().read_pack_index(pack)) == 21


def test_a_file_sent_again_writes_no_bytes(db, fiscal_client):
    xml = note(1)
    services.ingest_file(fiscal_client, "a.xml", xml)
    db.session.commit()
    before = packs()
    assert services.ingest_files(fiscal_client, [("a.xml", xml), ("b.xml", xml)])[0].result == "duplicate"
    assert packs() == before


def test_a_version_with_the_protocol_moves_the_row_to_the_new_pack(db, fiscal_client):
    pending = note(7, protocol_cstat=None, tp_emis=9)
    services.ingest_file(fiscal_client, "pending.xml", pending)
    db.session.commit()
    [doc] = db.session.execute(select(FiscalDocument)).scalars().all()
    old_pack = doc.blob_pack
    authorized = note(7, tp_emis=9)
    assert services.ingest_file(fiscal_client, "authorized.xml", authorized).result == "updated"
    db.session.commit()
    db.session.refresh(doc)
    assert doc.blob_pack != old_pack and services.document_xml(doc) == authorized


def zipped(members: dict[str, tuple[bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, (data, method) in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data, compress_type=method,
                             compresslevel=9 if method == zipfile.ZIP_DEFLATED else None)
    return buffer.getvalue()


def test_a_zip_members_deflate_data_is_stored_as_is(client, db, fiscal_key):
    deflated, stored = note(1), note(2)
    body = zipped({"a.xml": (deflated, zipfile.ZIP_DEFLATED), "b.xml": (stored, zipfile.ZIP_STORED)})
    response = client.post("/api/v1/integration/documents", data=body,
                           headers={"Authorization": f"Bearer {fiscal_key}", "Content-Type": "application/zip"})
    assert response.status_code == 200
    assert [r["result"] for r in response.get_json()["results"]] == ["created", "created"]
    rows = {r.number: r for r in db.session.execute(select(FiscalDocument)).scalars()}
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        info = archive.getinfo("a.xml")
    header = body[info.header_offset:info.header_offset + 30]
    start = info.header_offset + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
    member_deflate = body[start:start + info.compress_size]
    raw = blob_store().get_raw(rows[1].blob_sha256, blob_location(rows[1]))
    assert raw[2:-4] == member_deflate  # the client's compressed bytes, not compressed a second time
    assert services.document_xml(rows[1]) == deflated
    assert services.document_xml(rows[2]) == stored  # a stored member is compressed here
    assert len(blob_store().get_raw(rows[2].blob_sha256, blob_location(rows[2]))) < len(stored)


def two_notes_zip() -> tuple[bytearray, zipfile.ZipInfo]:
    """A zip of a.xml and b.xml, deflated, and a.xml's entry (the first in the file)."""
    body = bytearray(zipped({"a.xml": (note(1), zipfile.ZIP_DEFLATED), "b.xml": (note(2), zipfile.ZIP_DEFLATED)}))
    with zipfile.ZipFile(io.BytesIO(bytes(body))) as archive:
        info = archive.getinfo("a.xml")
    assert info.header_offset == 0
    return body, info


def assert_only_a_refused(client, db, fiscal_key, body: bytearray) -> None:
    """Pushed, the damaged a.xml is refused as a bad member and b.xml is stored."""
    response = client.post("/api/v1/integration/documents", data=bytes(body),
                           headers={"Authorization": f"Bearer {fiscal_key}", "Content-Type": "application/zip"})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [(r["file"], r["result"]) for r in results] == [("a.xml", "refused"), ("b.xml", "created")]
    assert results[0]["error"]["code"] == "bad_member" and count(db, FiscalDocument) == 1


def test_a_zip_member_whose_bytes_do_not_match_its_crc_is_refused(client, db, fiscal_key):
    body, _info = two_notes_zip()
    central = bytes(body).find(b"PK\x01\x02")  # a.xml's entry in the central directory, read by zipfile
    body[central + 16:central + 20] = b"\1\2\3\4"  # its CRC, now wrong
    assert_only_a_refused(client, db, fiscal_key, body)


@pytest.mark.parametrize("damage", ["garbage", "cut", "trailing"])
def test_a_zip_member_whose_deflate_data_is_broken_is_refused(client, db, fiscal_key, damage):
    """The member's own compressed bytes do not inflate (an invalid block), stop early, or go on after the end
    of their stream: that member is refused with its reason, the next one is stored."""
    body, info = two_notes_zip()
    start = 30 + int.from_bytes(body[26:28], "little") + int.from_bytes(body[28:30], "little")
    size = info.compress_size
    if damage == "garbage":
        body[start:start + size] = b"\xff" * size  # block type 3: not DEFLATE
    elif damage == "cut":
        body[start + size // 2:start + size] = b"\x00" * (size - size // 2)
    else:  # the stream ends early: an empty final stored block, then the rest as trailing bytes
        body[start:start + 5] = b"\x01\x00\x00\xff\xff"
    assert_only_a_refused(client, db, fiscal_key, body)


def test_rows_stored_before_packs_still_read_and_export(db, fiscal_client):
    xml = note(3)
    services.ingest_file(fiscal_client, "a.xml", xml)
    db.session.commit()
    [doc] = db.session.execute(select(FiscalDocument)).scalars().all()
    assert blob_store().put(xml) == doc.blob_sha256  # the object of the one-per-digest layout
    doc.blob_pack, doc.blob_offset, doc.blob_length = "", 0, 0  # as the migration leaves older rows
    db.session.commit()
    assert blob_location(doc) is None and services.document_xml(doc) == xml
    export = exports.request_export(fiscal_client, month=doc.issued_month)
    db.session.commit()
    exports.build_export(export.id)
    with blob_store().open_file(export.blob_name) as handle, zipfile.ZipFile(io.BytesIO(handle.read())) as archive:
        [member] = [n for n in archive.namelist() if n.endswith("-procNFe.xml")]
        assert archive.read(member) == xml and archive.testzip() is None


def test_a_batch_cut_short_leaves_no_row_pointing_at_missing_bytes(db, fiscal_client):
    notes = [note(n) for n in range(30, 40)]
    before = packs()
    with disk_full_after_first_write(512), pytest.raises(OSError):
        services.ingest_files(fiscal_client, [(f"{i}.xml", x) for i, x in enumerate(notes)])
    db.session.rollback()
    assert count(db, FiscalDocument) == 0 and packs() == before  # no row, no half pack
    store = blob_store()
    assert not [p for p in store.root.rglob("*.tmp")]
    # the same files again: stored, every row's range whole
    assert {r.result for r in services.ingest_files(fiscal_client, [(f"{i}.xml", x) for i, x in enumerate(notes)])} \
        == {"created"}
    db.session.commit()
    rows = db.session.execute(select(FiscalDocument).order_by(FiscalDocument.number)).scalars().all()
    assert [services.document_xml(r) for r in rows] == notes
    for row in rows:
        raw = store.get_raw(row.blob_sha256, blob_location(row))
        assert len(raw) == row.blob_length and zlib.decompress(raw) == services.document_xml(row)


def test_a_pack_written_for_a_transaction_rolled_back_is_named_by_no_row(db, fiscal_client):
    before = packs()
    services.ingest_files(fiscal_client, [("a.xml", note(50))])
    db.session.rollback()  # e.g. the request failed after the batch
    assert count(db, FiscalDocument) == 0
    assert len(packs() - before) == 1  # an orphan pack costs disk, never a broken row


def _age(name: str, days: float) -> None:
    path = blob_store().root / name
    moment = (datetime.now(UTC) - timedelta(days=days)).timestamp()
    os.utime(path, (moment, moment))


def test_orphan_packs_older_than_a_day_are_removed_and_named_ones_kept(db, fiscal_client, app):
    before = packs()
    services.ingest_files(fiscal_client, [("a.xml", note(60))])  # a note: its pack is named by its row
    services.ingest_files(fiscal_client, [("c.xml", cancellation_xml(key_of(note(61)), registered_at=NOW))])
    db.session.flush()
    named = packs() - before
    assert len(named) == 2  # the note's, and the event's (its note never came)
    store = blob_store()
    old_orphan = store.writer()
    old_orphan.add(b"<NFe>rolled back</NFe>")
    old_orphan.wait()
    young_orphan = store.writer()
    young_orphan.add(b"<NFe>rolled back just now</NFe>")
    young_orphan.wait()
    [old_name] = {loc.pack for loc in old_orphan.locations.values()}
    [young_name] = {loc.pack for loc in young_orphan.locations.values()}
    for name in (*named, old_name):
        _age(name, 2)
    _age(young_name, 0.5)  # a batch may still be on its way to its rows: not before a day
    removed = services.remove_orphan_packs()  # (earlier tests' packs too: their rows were rolled back)
    assert old_name in removed and not set(removed) & (named | {young_name})
    assert packs() >= named | {young_name} and old_name not in packs()
    [row] = db.session.execute(select(FiscalDocument).where(FiscalDocument.number == 60)).scalars().all()
    assert services.document_xml(row) == note(60)
    assert services.remove_orphan_packs() == []  # nothing left to remove
    _age(young_name, 2)
    result = app.test_cli_runner().invoke(args=["fiscal", "remove-orphan-packs"])
    assert result.exit_code == 0 and "Pacotes órfãos apagados: 1." in result.output
    assert young_name not in packs() and packs() >= named


def test_the_orphan_pack_job_is_scheduled_daily_and_runs_the_service(db, fiscal_client):
    from core.tasks import celery

    entry = celery.conf.beat_schedule["fiscal-orphan-packs"]
    assert entry["task"] == "fiscal.remove_orphan_packs"
    store = blob_store()
    orphan = store.writer()
    orphan.add(b"<NFe>rolled back</NFe>")
    orphan.wait()
    [name] = {loc.pack for loc in orphan.locations.values()}
    _age(name, 3)
    old = store.list_packs(datetime.now(UTC) - services.ORPHAN_PACK_AGE)  # with earlier tests' (rolled back)
    assert name in old
    assert celery.tasks["fiscal.remove_orphan_packs"].run() == len(old)
    assert name not in packs() and store.list_packs(datetime.now(UTC) - services.ORPHAN_PACK_AGE) == []
