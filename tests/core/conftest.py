"""Fixtures for the core tests: a second app on its own brand-new database; a blob store of each kind (a local
folder, and S3 over HTTP against a local moto server)."""

import pytest

from core.blobstore import LocalBlobStore, S3BlobStore
from core.db import db as _db
from tests.conftest import _new_database, make_config
from tests.s3_server import s3_server


@pytest.fixture
def fresh_app(app, tmp_path_factory, smtp_server):
    """An app on a new empty database, for data that must be really committed (worker, CLI).

    The Celery singleton follows the last app created, so it is given back to the suite's app after."""
    from app import create_app
    from core.tasks import init_celery

    url, drop = _new_database(tmp_path_factory, "fresh")
    second = create_app(make_config(url, smtp_server.port, tmp_path_factory.mktemp("fresh-instance")))
    try:
        yield second
    finally:
        with second.app_context():
            _db.session.remove()
            _db.engine.dispose()
        init_celery(app)
        drop()


@pytest.fixture(scope="module")
def s3_endpoint():
    with s3_server() as url:
        yield url


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    """An empty blob store: a local folder, or a fresh bucket on the local S3 server."""
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    endpoint = request.getfixturevalue("s3_endpoint")
    import boto3

    bucket = f"revenda-{tmp_path.name.lower().replace('_', '-')[:40]}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test")
    s3.create_bucket(Bucket=bucket)
    return S3BlobStore(bucket, client=s3)
