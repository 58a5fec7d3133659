"""The application's master-key ring for secrets at rest (see ``core.crypto``).

Configured by ``MASTER_KEYS`` ("id:base64key,...") and ``MASTER_KEY_ACTIVE`` (default: the last
id). The embedded default (no ``MASTER_KEYS``) keeps its keys in ``<instance>/master.key`` (mode
0600), one ``id:base64key`` per line, the last line active; the file is created with one key on
first use. Nothing here logs or prints key material, only key ids and the file's path.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

from flask import current_app

from core.crypto import KeyConfigError, KeyRing, generate_master_key
from core.files import fsync_folder

__all__ = ["KEY_FILE_NAME", "add_local_key", "get_keyring", "keyring_for", "load_or_create_local_keyring"]

log = logging.getLogger(__name__)

KEY_FILE_NAME = "master.key"
_LOCAL_ID_RE = re.compile(r"local(\d+)")
_lock = threading.Lock()
# One ring per configuration (or per key-file version), so rotating the file is picked up by
# running workers without a restart and tests may swap MASTER_KEYS.
_cache: dict[tuple, KeyRing] = {}


def get_keyring() -> KeyRing:
    """The ring for the current app's configuration."""
    config = current_app.config
    return keyring_for(config.get("MASTER_KEYS") or "", config.get("MASTER_KEY_ACTIVE"), config["INSTANCE_PATH"])


def keyring_for(master_keys: str, active: str | None, instance_path: str) -> KeyRing:
    """A ring from configuration, or from the instance key file when no keys are configured."""
    if master_keys.strip():
        cache_key = ("config", master_keys, active)
        ring = _cache.get(cache_key)
        if ring is None:
            ring = _cache[cache_key] = KeyRing.from_config(master_keys, active)
        return ring
    return load_or_create_local_keyring(Path(instance_path) / KEY_FILE_NAME, active)


def load_or_create_local_keyring(path: Path, active: str | None = None) -> KeyRing:
    """Read the key file (creating it with one new key if missing); cached by the file's mtime."""
    with _lock:
        if not path.exists():
            _create_key_file(path)
        stat = path.stat()
        cache_key = ("file", str(path), stat.st_mtime_ns, stat.st_size, active)
        ring = _cache.get(cache_key)
        if ring is None:
            ring = _cache[cache_key] = KeyRing.from_config(_read_entries(path), active)
        return ring


def add_local_key(path: Path) -> str:
    """Append a new key to the key file and make it active (it is the last line); return its id."""
    with _lock:
        entries = _read_entries(path).split(",") if path.exists() else []
        numbers = [int(m.group(1)) for e in entries if (m := _LOCAL_ID_RE.fullmatch(e.split(":", 1)[0]))]
        key_id = f"local{max(numbers, default=0) + 1}"
        _write_key_file(path, [*entries, f"{key_id}:{generate_master_key()}"])
    log.info("added master key %s to %s (now active)", key_id, path)
    return key_id


def _read_entries(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(encoding="ascii").splitlines()]
    entries = [line for line in lines if line and not line.startswith("#")]
    if not entries:
        raise KeyConfigError(f"the key file {path} holds no keys")
    return ",".join(entries)


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it first: use theirs
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(_HEADER + f"local1:{generate_master_key()}\n")
        handle.flush()
        os.fsync(handle.fileno())  # on the disk before any secret is encrypted with it
    fsync_folder(path.parent)
    log.warning(
        "no MASTER_KEYS configured: generated a new master key (id local1) in %s; back this file up, "
        "the certificates and integration keys stored with it cannot be read without it",
        path,
    )


def _write_key_file(path: Path, entries: list[str]) -> None:
    """Replace the file atomically, never readable by others even for a moment."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(_HEADER + "".join(f"{entry}\n" for entry in entries))
        handle.flush()
        os.fsync(handle.fileno())  # whole on the disk before it replaces the old file
    os.replace(temporary, path)
    fsync_folder(path.parent)


_HEADER = "# Revenda master keys (id:base64key), the last one is active. Keep secret; back up.\n"
