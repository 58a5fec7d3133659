"""Files that must survive a power cut: a file is fsynced before it is renamed into place (its writer does
that), and the folder after, so that the new name is on the disk too."""

import os


def fsync_folder(folder: str | os.PathLike) -> None:
    """fsync a folder, so that a file created or renamed into it survives a power cut (POSIX; a no-op where
    folders cannot be opened, as on Windows)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
