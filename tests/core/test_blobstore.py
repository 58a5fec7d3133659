"""The blob store: the same behaviour from the local folder and from S3 over HTTP (moto's server)."""

import zlib

import pytest

from core.blobstore import BlobNotFound, LocalBlobStore, S3BlobStore, digest_of, make_blob_store


def test_put_is_content_addressed_compressed_and_idempotent(store):
    data = b"<NFe>" + b"x" * 5000 + b"</NFe>"
    digest = store.put(data)
    assert digest == digest_of(data) and store.put(data) == digest
    assert store.get(digest) == data and store.exists(digest)
    assert not store.exists(digest_of(b"other"))
    if isinstance(store, LocalBlobStore):
        [path] = list(store.root.rglob("*.z"))
        assert zlib.decompress(path.read_bytes()) == data and path.stat().st_size < 200
    else:
        raw = store.client.get_object(Bucket=store.bucket, Key=f"sha256/{digest[:2]}/{digest[2:4]}/{digest}.z")
        assert zlib.decompress(raw["Body"].read()) == data


def test_local_blobs_sit_in_one_level_of_folders_and_the_earlier_layout_still_reads(tmp_path):
    store = LocalBlobStore(tmp_path / "blobs")
    first, second = b"<NFe>1</NFe>" * 50, b"<NFe>2</NFe>" * 50
    digests = store.put_many([first, second, first])
    assert digests == [digest_of(first), digest_of(second), digest_of(first)]
    assert {p.relative_to(store.root).as_posix() for p in store.root.rglob("*.z")} == {
        f"sha256/{d[:2]}/{d}.z" for d in digests}
    legacy = digest_of(b"older")
    path = store.root / "sha256" / legacy[:2] / legacy[2:4] / f"{legacy}.z"
    path.parent.mkdir(parents=True)
    path.write_bytes(zlib.compress(b"older"))
    assert store.exists(legacy) and store.get(legacy) == b"older"
    assert store.put(b"older") == legacy and not (store.root / "sha256" / legacy[:2] / f"{legacy}.z").exists()


def test_put_many_stores_each_once(store):
    items = [f"<NFe>{n}</NFe>".encode() * 20 for n in range(30)]
    digests = store.put_many(items + items[:5])
    assert digests[:30] == [digest_of(i) for i in items] and digests[30:] == digests[:5]
    assert all(store.get(d) == i for d, i in zip(digests, items, strict=False))


def test_missing_and_malformed_digests_are_not_found(store):
    with pytest.raises(BlobNotFound):
        store.get(digest_of(b"never stored"))
    with pytest.raises(BlobNotFound):
        store.get("../../etc/passwd")


def test_named_files_round_trip_and_delete(store, tmp_path):
    source = tmp_path / "export.zip"
    source.write_bytes(b"PK" + bytes(range(256)) * 100)
    store.put_file("exports/1/x.zip", source)
    with store.open_file("exports/1/x.zip") as handle:
        assert handle.read() == source.read_bytes()
    store.delete_file("exports/1/x.zip")
    with pytest.raises(BlobNotFound):
        store.open_file("exports/1/x.zip")
    for unsafe in ("../x", "/abs", "a//b", ""):
        with pytest.raises(ValueError):
            store.put_file(unsafe, source)


def test_configuration_picks_the_backend(tmp_path, s3_endpoint):
    local = make_blob_store({"BLOB_BACKEND": "local", "BLOB_PATH": "", "INSTANCE_PATH": str(tmp_path)})
    assert isinstance(local, LocalBlobStore) and local.root == tmp_path / "blobs"
    s3 = make_blob_store({"BLOB_BACKEND": "s3", "S3_BUCKET": "b", "S3_ENDPOINT_URL": s3_endpoint,
                          "S3_ACCESS_KEY_ID": "test", "S3_SECRET_ACCESS_KEY": "test"})
    assert isinstance(s3, S3BlobStore) and s3.bucket == "b"
    with pytest.raises(RuntimeError, match="BLOB_BACKEND"):
        make_blob_store({"BLOB_BACKEND": "ftp"})


def test_the_app_ingests_and_serves_fiscal_xml_from_s3(app, db, s3_endpoint, partner, plan):
    """End to end on the production backend: ingest through the service, read back through the API."""
    import boto3

    from fiscal import services
    from fiscal.synth import key_of, nfe_xml
    from partner.services import create_api_token
    from tests.factories import ClientFactory

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test")
    s3.create_bucket(Bucket="revenda-app")
    previous = app.extensions.get("revenda.blobstore")
    app.extensions["revenda.blobstore"] = S3BlobStore("revenda-app", client=s3)
    try:
        client_row = ClientFactory(partner=partner, plan=plan, cnpj="11222333000181")
        from datetime import UTC, datetime

        xml = nfe_xml(emitter_cnpj="11222333000181", emitter_name="Loja", recipient_doc=None, number=5,
                      issued_at=datetime.now(UTC), total_cents=500)
        assert services.ingest_file(client_row, "n.xml", xml).result == "created"
        _token, plaintext = create_api_token(partner, "s3")
        db.session.commit()
        assert s3.list_objects_v2(Bucket="revenda-app")["KeyCount"] == 1
        with app.test_client() as http:
            response = http.get(f"/api/v1/clients/{client_row.id}/documents/{key_of(xml)}/xml",
                                headers={"Authorization": f"Bearer {plaintext}"})
        assert response.status_code == 200 and response.data == xml
    finally:
        app.extensions["revenda.blobstore"] = previous
