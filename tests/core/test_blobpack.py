"""Blob packs: a writer's batch is one object (local file / one S3 PUT over HTTP to moto's server), each
blob read back by its range; objects of the one-per-digest layout still read; a torn pack never reads as
good bytes."""

import zlib

import pytest

from core.blobstore import (
    BlobLocation,
    BlobNotFound,
    LocalBlobStore,
    S3BlobStore,
)


def objects(store) -> list[str]:
    if isinstance(store, LocalBlobStore):
        return sorted(p.relative_to(store.root).as_posix() for p in store.root.rglob("*") if p.is_file())
    listing = store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def write_pack(store, items):
    writer = store.writer()
    digests = [writer.add(data) for data in items]
    writer.wait()
    return writer, digests


def items(count=40):
    return [f"<NFe><nNF>{n}</nNF>{'<det>produto</det>' * (n % 7 + 1)}</NFe>".encode() for n in range(count)]


def test_a_batch_is_one_object_and_each_blob_reads_back_by_its_range(store):
    notes = items()
    writer, digests = write_pack(store, notes + notes[:5])  # the repeated five are stored once
    [pack] = objects(store)
    assert pack.startswith("packs/") and pack.endswith(".pack")
    locations = [writer.location(d) for d in digests]
    assert {loc.pack for loc in locations} == {pack}
    assert len({(loc.offset, loc.length) for loc in locations}) == len(notes)
    assert locations[40:] == locations[:5]
    for digest, data, location in zip(digests, notes, locations, strict=False):
        raw = store.get_raw(digest, location)
        assert len(raw) == location.length and zlib.decompress(raw) == data
        assert store.get(digest, location) == data and store.exists(digest, location)
    # the pack describes itself: its index names every blob where the writer said it is
    assert store.read_pack_index(pack) == {d: writer.location(d) for d in digests}


def test_an_empty_batch_writes_nothing(store):
    writer = store.writer()
    writer.wait()
    assert objects(store) == []


def test_a_stream_already_compressed_is_stored_as_is(store):
    data = b"<NFe>" + b"abc" * 500 + b"</NFe>"
    stream = zlib.compress(data, 9)
    writer = store.writer()
    digest = writer.add(data, stream=stream)
    writer.wait()
    assert store.get_raw(digest, writer.location(digest)) == stream
    assert store.get(digest, writer.location(digest)) == data


def test_a_wrong_or_foreign_range_is_not_found(store):
    notes = items(3)
    writer, digests = write_pack(store, notes)
    first, second = (writer.location(d) for d in digests[:2])
    with pytest.raises(BlobNotFound):  # the bytes of another blob never pass for this one
        store.get(digests[0], second)
    with pytest.raises(BlobNotFound):  # past the end of the pack
        store.get_raw(digests[0], BlobLocation(first.pack, 10**6, first.length))
    assert not store.exists(digests[0], BlobLocation(first.pack, 10**6, first.length))
    for bad in ("../../etc/passwd", "packs/2026/11/x.pack", ""):
        with pytest.raises(BlobNotFound):
            store.get(digests[0], BlobLocation(bad, 0, 10))
    with pytest.raises(BlobNotFound):  # a pack that is not there
        store.get(digests[0], BlobLocation("packs/2026/11/" + "0" * 32 + ".pack", 0, 10))
    with pytest.raises(BlobNotFound):  # a packed blob is found through its location, not its digest alone
        store.get(digests[0])


def test_objects_of_the_one_per_digest_layout_still_read(store):
    legacy = b"<NFe>stored before packs</NFe>" * 20
    digest = store.put(legacy)
    assert store.get(digest) == legacy and store.get(digest, None) == legacy and store.exists(digest)
    assert zlib.decompress(store.get_raw(digest)) == legacy
    # a later batch holding the same content packs it; both copies read
    writer, [again] = write_pack(store, [legacy])
    assert again == digest and store.get(digest, writer.location(digest)) == legacy and store.get(digest) == legacy


def test_a_torn_pack_never_reads_as_good_bytes(store):
    notes = items(10)
    writer, digests = write_pack(store, notes)
    [pack] = objects(store)
    last = writer.location(digests[-1])
    if isinstance(store, LocalBlobStore):
        path = store.root / pack
        path.write_bytes(path.read_bytes()[:last.offset + last.length // 2])
    else:
        body = store.client.get_object(Bucket=store.bucket, Key=pack)["Body"].read()
        store.client.put_object(Bucket=store.bucket, Key=pack, Body=body[:last.offset + last.length // 2])
    assert store.get(digests[0], writer.location(digests[0])) == notes[0]  # what is whole still reads
    with pytest.raises(BlobNotFound):
        store.get(digests[-1], last)
    assert not store.exists(digests[-1], last)
    with pytest.raises(BlobNotFound):  # the index (at the end) is gone too
        store.read_pack_index(pack)


def test_a_pack_write_that_fails_leaves_no_pack_and_no_temporary_file(tmp_path):
    from tests.faults import disk_full_after_first_write

    store = LocalBlobStore(tmp_path / "blobs")
    writer = store.writer()
    for data in items(5):
        writer.add(data)
    with disk_full_after_first_write(100), pytest.raises(OSError):
        writer.wait()
    assert objects(store) == [] and writer.locations == {}


def test_the_app_ingests_a_batch_as_one_s3_object_and_exports_it_by_range_reads(app, db, s3_endpoint, partner, plan):
    """Production backend end to end: one PUT for the batch, each XML served and exported from its range."""
    import io
    import zipfile
    from datetime import UTC, datetime, timedelta

    import boto3

    from fiscal import exports, services
    from fiscal.synth import key_of, nfe_xml
    from partner.services import create_api_token
    from tests.factories import ClientFactory

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test")
    s3.create_bucket(Bucket="revenda-packs")
    previous = app.extensions.get("revenda.blobstore")
    app.extensions["revenda.blobstore"] = store = S3BlobStore("revenda-packs", client=s3)
    try:
        client_row = ClientFactory(partner=partner, plan=plan, cnpj="11222333000181")
        issued = datetime.now(UTC) - timedelta(hours=2)
        notes = [nfe_xml(emitter_cnpj="11222333000181", emitter_name="Loja", recipient_doc=None, number=n,
                         issued_at=issued, total_cents=100 * n) for n in range(1, 6)]
        results = services.ingest_files(client_row, [(f"{n}.xml", x) for n, x in enumerate(notes)])
        assert {r.result for r in results} == {"created"}
        _token, plaintext = create_api_token(partner, "packs")
        db.session.commit()
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="revenda-packs")["Contents"]][0].startswith("packs/")
        assert s3.list_objects_v2(Bucket="revenda-packs")["KeyCount"] == 1
        with app.test_client() as http:
            for xml in notes:
                response = http.get(f"/api/v1/clients/{client_row.id}/documents/{key_of(xml)}/xml",
                                    headers={"Authorization": f"Bearer {plaintext}"})
                assert response.status_code == 200 and response.data == xml
        export = exports.request_export(client_row, month=services.month_of(issued))
        db.session.commit()
        exports.build_export(export.id)
        with store.open_file(export.blob_name) as handle:
            archive = zipfile.ZipFile(io.BytesIO(handle.read()))
        members = {n.rsplit("/", 1)[-1]: archive.read(n) for n in archive.namelist() if n.endswith("-procNFe.xml")}
        assert members == {f"{key_of(x)}-procNFe.xml": x for x in notes} and archive.testzip() is None
    finally:
        app.extensions["revenda.blobstore"] = previous


def test_packs_are_listed_by_age_and_nothing_else_is(store, tmp_path):
    from datetime import UTC, datetime

    writer = store.writer()
    writer.add(b"<NFe>um</NFe>")
    writer.wait()
    [pack] = {location.pack for location in writer.locations.values()}
    store.put(b"<NFe>um objeto por digest</NFe>")  # the older layout and named files are not packs
    export = tmp_path / "export.zip"
    export.write_bytes(b"PK")
    store.put_file("exports/2026/11/x.zip", export)
    # (the store's clock, not the app's: the suite may run with the app's clock a year ahead)
    later, long_ago = datetime(2999, 1, 1, tzinfo=UTC), datetime(2000, 1, 1, tzinfo=UTC)
    assert store.list_packs(later) == [pack]
    assert store.list_packs(long_ago) == []  # written after that moment
    store.delete_file(pack)
    assert store.list_packs(later) == []
    assert not store.exists(next(iter(writer.locations)), writer.locations[next(iter(writer.locations))])


def test_a_local_pack_and_its_name_reach_the_disk_before_it_is_named(tmp_path, monkeypatch):
    """The pack's bytes are fsynced before the rename that publishes it, and the folder after it: the rows that
    name the pack commit later, so a power cut cannot leave a row pointing at a pack the disk never got."""
    import os

    from tests.faults import record_syncs_and_renames

    store = LocalBlobStore(tmp_path / "blobs")
    steps = record_syncs_and_renames(monkeypatch)
    writer, digests = write_pack(store, items(5))
    pack = str(store.root / writer.location(digests[0]).pack)
    assert [kind for kind, _ in steps] == ["fsync", "replace", "fsync"]
    assert steps[0][1].startswith(pack + ".") and steps[0][1].endswith(".tmp")  # the temporary file, whole
    assert steps[1][1] == pack
    assert steps[2][1] == os.path.dirname(pack)
