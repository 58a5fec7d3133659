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
