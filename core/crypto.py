"""Envelope encryption for secrets at rest (AES-256-GCM).

Every value gets its own random data key; the data key is wrapped with a master key from a
:class:`KeyRing`. The blob names the master key that wrapped it, so rotating keys only means adding
a new key, making it active and calling :meth:`KeyRing.rewrap` on stored blobs — the bulky
ciphertext is never re-encrypted and no plaintext is needed for rotation.

Blob layout (version 1)::

    version   1 byte  (0x01)
    key id    1 byte length + UTF-8 bytes
    wrap nonce        12 bytes
    wrapped data key  48 bytes (32-byte key + 16-byte GCM tag)
    data nonce        12 bytes
    ciphertext        rest (plaintext length + 16-byte GCM tag)

The wrapped key is authenticated together with the version and key id; the ciphertext is
authenticated together with the version and the caller's ``aad``. Nothing in this module logs or
puts key material in exception messages.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "CryptoError",
    "DecryptionError",
    "KeyConfigError",
    "KeyRing",
    "generate_master_key",
    "key_id_of",
]

VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
WRAPPED_KEY_BYTES = KEY_BYTES + TAG_BYTES
# Everything after the header: both nonces, the wrapped key and at least the ciphertext's tag.
_MIN_BODY_BYTES = NONCE_BYTES + WRAPPED_KEY_BYTES + NONCE_BYTES + TAG_BYTES
# Key ids travel in the "id:key,id:key" config string and in every blob: keep them short and free
# of the separators.
_KEY_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class CryptoError(Exception):
    """Base class for errors raised by this module."""


class DecryptionError(CryptoError):
    """A blob cannot be decrypted: malformed, tampered with, wrong aad or unknown master key."""


class KeyConfigError(CryptoError, ValueError):
    """The master key configuration is invalid (never carries key material in its message)."""


def generate_master_key() -> str:
    """Return a new random 256-bit master key as urlsafe base64 text, ready for ``MASTER_KEYS``."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def key_id_of(blob: bytes) -> str:
    """Return the id of the master key that wrapped ``blob``."""
    return _parse(blob).key_id


class KeyRing:
    """A set of master keys by id; the active one wraps new data keys."""

    def __init__(self, keys: Mapping[str, bytes], active_key_id: str) -> None:
        if not keys:
            raise KeyConfigError("at least one master key is required")
        for key_id, key in keys.items():
            _check_key(key_id, key)
        if active_key_id not in keys:
            raise KeyConfigError(f"active master key id {active_key_id!r} is not among the keys")
        self._ciphers = {key_id: AESGCM(bytes(key)) for key_id, key in keys.items()}
        self._active_key_id = active_key_id

    @classmethod
    def from_config(cls, value: str, active: str | None = None) -> KeyRing:
        """Build a ring from ``"k1:BASE64KEY,k2:BASE64KEY"``; ``active`` defaults to the last id."""
        if not (value or "").strip():
            raise KeyConfigError("no master keys configured; expected 'id:base64key[,id:base64key...]'")
        keys: dict[str, bytes] = {}
        for position, entry in enumerate((value or "").split(","), start=1):
            key_id, key = _parse_config_entry(entry.strip(), position)
            if key_id in keys:
                raise KeyConfigError(f"master key id {key_id!r} is listed twice")
            keys[key_id] = key
        return cls(keys, active or list(keys)[-1])

    @property
    def active_key_id(self) -> str:
        """The id of the key used by :meth:`encrypt` and :meth:`rewrap`."""
        return self._active_key_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        """All ids this ring can decrypt, in configuration order."""
        return tuple(self._ciphers)

    def __repr__(self) -> str:
        # Deliberately shows ids only: a ring may end up in a traceback or a debugger.
        return f"KeyRing(key_ids={list(self._ciphers)!r}, active={self._active_key_id!r})"

    def encrypt(self, plaintext: bytes, *, aad: bytes = b"") -> bytes:
        """Encrypt ``plaintext`` under a fresh data key wrapped by the active master key.

        ``aad`` (e.g. ``b"client:42:certificate"``) is authenticated but not stored: the same value
        must be given to :meth:`decrypt`, which stops a blob being copied to another row.
        """
        data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        data_nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(data_key).encrypt(data_nonce, plaintext, _data_aad(aad))
        return self._wrap(data_key) + data_nonce + ciphertext

    def decrypt(self, blob: bytes, *, aad: bytes = b"") -> bytes:
        """Return the plaintext of ``blob``; raise :class:`DecryptionError` if that is impossible."""
        parsed = _parse(blob)
        data_key = self._unwrap(parsed)
        try:
            return AESGCM(data_key).decrypt(parsed.data_nonce, parsed.ciphertext, _data_aad(aad))
        except InvalidTag:
            raise DecryptionError("the ciphertext or its aad does not authenticate") from None

    def rewrap(self, blob: bytes) -> bytes:
        """Return ``blob`` with its data key wrapped by the active master key.

        The ciphertext is kept as is, so no aad is needed. A blob already under the active key is
        returned unchanged (rotation scripts can run twice).
        """
        parsed = _parse(blob)
        if parsed.key_id == self._active_key_id:
            return bytes(blob)
        data_key = self._unwrap(parsed)
        return self._wrap(data_key) + parsed.data_nonce + parsed.ciphertext

    def key_id_of(self, blob: bytes) -> str:
        """Return the id of the master key that wrapped ``blob`` (same as :func:`key_id_of`)."""
        return key_id_of(blob)

    def _wrap(self, data_key: bytes) -> bytes:
        header = _header(self._active_key_id)
        nonce = os.urandom(NONCE_BYTES)
        wrapped = self._ciphers[self._active_key_id].encrypt(nonce, data_key, header)
        return header + nonce + wrapped

    def _unwrap(self, parsed: _Blob) -> bytes:
        cipher = self._ciphers.get(parsed.key_id)
        if cipher is None:
            raise DecryptionError(f"unknown master key id {parsed.key_id!r}")
        try:
            return cipher.decrypt(parsed.wrap_nonce, parsed.wrapped_key, parsed.header)
        except InvalidTag:
            raise DecryptionError("the wrapped data key does not authenticate") from None


class _Blob:
    """The fields of a version-1 blob (see the module docstring)."""

    __slots__ = (
        "ciphertext",
        "data_nonce",
        "header",
        "key_id",
        "wrap_nonce",
        "wrapped_key",
    )

    def __init__(self, blob: bytes) -> None:
        header_end = 2 + blob[1]
        if len(blob) < header_end + _MIN_BODY_BYTES:
            raise DecryptionError("malformed blob: too short")
        try:
            self.key_id = blob[2:header_end].decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionError("malformed blob: the key id is not UTF-8") from None
        self.header = blob[:header_end]
        fields = _split(blob[header_end:], NONCE_BYTES, WRAPPED_KEY_BYTES, NONCE_BYTES)
        self.wrap_nonce, self.wrapped_key, self.data_nonce, self.ciphertext = fields


def _parse(blob: bytes) -> _Blob:
    blob = bytes(blob)
    if len(blob) < 2:
        raise DecryptionError("malformed blob: too short")
    if blob[0] != VERSION:
        raise DecryptionError(f"unsupported blob version {blob[0]}")
    return _Blob(blob)


def _split(data: bytes, *sizes: int) -> list[bytes]:
    """Cut ``data`` into pieces of ``sizes`` plus the rest."""
    pieces, offset = [], 0
    for size in sizes:
        pieces.append(data[offset : offset + size])
        offset += size
    return [*pieces, data[offset:]]


def _header(key_id: str) -> bytes:
    encoded = key_id.encode("utf-8")
    return bytes([VERSION, len(encoded)]) + encoded


def _data_aad(aad: bytes) -> bytes:
    # The version is bound so a future format cannot be confused with this one; the key id is not,
    # because rewrap changes it without touching the ciphertext.
    return bytes([VERSION]) + bytes(aad)


def _check_key(key_id: str, key: bytes) -> None:
    if not isinstance(key_id, str) or not _KEY_ID_RE.fullmatch(key_id):
        raise KeyConfigError(f"invalid master key id {key_id!r}: use 1-64 letters, digits, '_', '.' or '-'")
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        raise KeyConfigError(f"master key {key_id!r} must be exactly {KEY_BYTES} bytes")


def _parse_config_entry(entry: str, position: int) -> tuple[str, bytes]:
    """Parse one ``id:base64key`` entry; error messages name the id or position, never the key."""
    if not entry:
        raise KeyConfigError(f"master key entry {position} is empty; expected 'id:base64key[,id:base64key...]'")
    key_id, colon, encoded = entry.partition(":")
    key_id = key_id.strip()
    if not colon:
        raise KeyConfigError(f"master key entry {position} has no ':'; expected 'id:base64key'")
    if not _KEY_ID_RE.fullmatch(key_id):
        raise KeyConfigError(
            f"master key entry {position} has an invalid id {key_id!r}: use 1-64 letters, digits, '_', '.' or '-'"
        )
    return key_id, _decode_key(key_id, encoded.strip())


def _decode_key(key_id: str, encoded: str) -> bytes:
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(padded, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise KeyConfigError(f"master key {key_id!r} is not valid urlsafe base64") from None
    if len(key) != KEY_BYTES:
        raise KeyConfigError(
            f"master key {key_id!r} decodes to {len(key)} bytes; it must be {KEY_BYTES} bytes "
            "(generate one with generate_master_key())"
        )
    return key
