"""Faults of the real machine, made on purpose for tests."""

import os
from contextlib import contextmanager


@contextmanager
def disk_full_after_first_write(written: int):
    """Inside the block, the first ``os.write`` writes only ``written`` bytes and every later one fails with
    ENOSPC: a disk that fills in the middle of a file."""
    real_write, calls = os.write, []

    def disk_full(handle, data):
        calls.append(1)
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        return real_write(handle, bytes(data[:written]))

    os.write = disk_full
    try:
        yield
    finally:
        os.write = real_write


def record_syncs_and_renames(monkeypatch) -> list[tuple[str, str]]:
    """From now on (for the test), each ``os.fsync`` and ``os.replace`` is done and recorded in order, as
    ("fsync", the path of the synced file or folder) and ("replace", the target): what a power cut would keep."""
    steps: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(handle):
        steps.append(("fsync", os.readlink(f"/proc/self/fd/{handle}")))
        return real_fsync(handle)

    def replace(source, target):
        steps.append(("replace", str(target)))
        return real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return steps
