"""Blob storage behind one small interface: a local folder in the embedded default, S3-compatible
object storage in production (boto3). Content is zlib-compressed at rest; ``put`` addresses it by
the SHA-256 of the original bytes, so the same file stored twice is stored once.

Configuration: ``BLOB_BACKEND`` = ``local`` (folder ``BLOB_PATH``, default ``<instance>/blobs``) or
``s3`` (``S3_BUCKET``, ``S3_ENDPOINT_URL``, ``S3_REGION``, ``S3_ACCESS_KEY_ID``, ``S3_SECRET_ACCESS_KEY``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from flask import current_app


class BlobNotFound(KeyError):
    pass


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_name(name: str) -> str:
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"unsafe blob name: {name!r}")
    return name


class BlobStore(Protocol):
    def put(self, data: bytes) -> str: ...  # content-addressed, compressed; returns the SHA-256
    def put_many(self, items: list[bytes]) -> list[str]: ...  # the same for a batch, written concurrently
    def get(self, digest: str) -> bytes: ...
    def exists(self, digest: str) -> bool: ...
    def put_file(self, name: str, path: str | Path) -> None: ...  # a named object (exports), as is
    def open_file(self, name: str): ...  # a readable binary file object
    def delete_file(self, name: str) -> None: ...


COMPRESS_LEVEL = 1  # XML: level 1 keeps ~95% of level 6's saving (2.9x vs 3.0x) at 2/3 of the time


_pool_state: dict = {}


def _pool() -> ThreadPoolExecutor:
    """A small pool for blob writes (zlib and file/network I/O release the GIL); made again after a fork."""
    if _pool_state.get("pid") != os.getpid():
        _pool_state.update(pid=os.getpid(), pool=ThreadPoolExecutor(max_workers=4, thread_name_prefix="blobs"))
    return _pool_state["pool"]


def _put_many(store, items: list[bytes]) -> list[str]:
    digests = [digest_of(data) for data in items]
    unique = dict(zip(digests, items, strict=True))
    if len(unique) <= 1:
        for digest, data in unique.items():
            store._put(digest, data)
    else:
        list(_pool().map(lambda pair: store._put(*pair), unique.items()))
    return digests


def _content_name(digest: str) -> str:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise BlobNotFound(digest)
    return f"sha256/{digest[:2]}/{digest[2:4]}/{digest}.z"


class LocalBlobStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._folders: set[str] = set()

    def _path(self, name: str) -> Path:
        return self.root / _check_name(name)

    def _write(self, name: str, data: bytes) -> None:
        path = os.path.join(self.root, _check_name(name))
        folder = os.path.dirname(path)
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)  # atomic: a reader never sees half a blob

    def put(self, data: bytes) -> str:
        digest = digest_of(data)
        self._put(digest, data)
        return digest

    def _put(self, digest: str, data: bytes) -> None:
        name = _content_name(digest)
        if not os.path.exists(os.path.join(self.root, name)):
            self._write(name, zlib.compress(data, COMPRESS_LEVEL))

    def put_many(self, items: list[bytes]) -> list[str]:
        return _put_many(self, items)

    def get(self, digest: str) -> bytes:
        try:
            return zlib.decompress(self._path(_content_name(digest)).read_bytes())
        except FileNotFoundError:
            raise BlobNotFound(digest)

    def exists(self, digest: str) -> bool:
        try:
            return self._path(_content_name(digest)).exists()
        except BlobNotFound:
            return False

    def put_file(self, name: str, path: str | Path) -> None:
        target = self._path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "rb") as source, tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
            while chunk := source.read(1024 * 1024):
                tmp.write(chunk)
        os.replace(tmp.name, target)

    def open_file(self, name: str):
        try:
            return open(self._path(name), "rb")
        except FileNotFoundError:
            raise BlobNotFound(name)

    def delete_file(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)


class S3BlobStore:
    def __init__(self, bucket: str, *, endpoint_url: str | None = None, region: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None, client=None):
        import boto3

        self.bucket = bucket
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or "us-east-1",
            aws_access_key_id=access_key or None, aws_secret_access_key=secret_key or None,
        )

    def _missing(self, exc) -> bool:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        return code in ("404", "NoSuchKey", "NotFound")

    def put(self, data: bytes) -> str:
        digest = digest_of(data)
        self._put(digest, data)
        return digest

    def _put(self, digest: str, data: bytes) -> None:
        if not self.exists(digest):
            self.client.put_object(Bucket=self.bucket, Key=_content_name(digest),
                                   Body=zlib.compress(data, COMPRESS_LEVEL))

    def put_many(self, items: list[bytes]) -> list[str]:
        return _put_many(self, items)

    def get(self, digest: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=_content_name(digest))["Body"].read()
        except ClientError as exc:
            if self._missing(exc):
                raise BlobNotFound(digest)
            raise
        return zlib.decompress(body)

    def exists(self, digest: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=_content_name(digest))
        except BlobNotFound:
            return False
        except ClientError as exc:
            if self._missing(exc):
                return False
            raise
        return True

    def put_file(self, name: str, path: str | Path) -> None:
        self.client.upload_file(str(path), self.bucket, _check_name(name))

    def open_file(self, name: str):
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=_check_name(name))["Body"]
        except ClientError as exc:
            if self._missing(exc):
                raise BlobNotFound(name)
            raise

    def delete_file(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=_check_name(name))


def make_blob_store(config) -> BlobStore:
    backend = config.get("BLOB_BACKEND", "local")
    if backend == "s3":
        return S3BlobStore(
            config["S3_BUCKET"], endpoint_url=config.get("S3_ENDPOINT_URL"), region=config.get("S3_REGION"),
            access_key=config.get("S3_ACCESS_KEY_ID"), secret_key=config.get("S3_SECRET_ACCESS_KEY"),
        )
    if backend != "local":
        raise RuntimeError(f"BLOB_BACKEND must be 'local' or 's3', not {backend!r}")
    return LocalBlobStore(config.get("BLOB_PATH") or Path(config["INSTANCE_PATH"]) / "blobs")


def blob_store() -> BlobStore:
    """The app's blob store (made once per app from its config)."""
    store = current_app.extensions.get("revenda.blobstore")
    if store is None:
        store = current_app.extensions["revenda.blobstore"] = make_blob_store(current_app.config)
    return store
