"""Files only the office's own account may read: folders 0700, files 0600.

The office database holds 身份证号 and phone numbers; key files and the registration hold secrets.
Everything the app creates goes through these helpers (and the ``counter-app`` process runs with
``umask 077`` as a second line), so a file is never readable by another account even for a moment:
it is created with its final mode, not created and then narrowed.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077


def restrict_process() -> None:
    """Make every file this process creates private by default (``umask 077``)."""
    os.umask(UMASK)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; narrow it if it already exists."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if (path.stat().st_mode & 0o777) != DIR_MODE:
        path.chmod(DIR_MODE)
    return path


def touch_private(path: Path) -> Path:
    """Create an empty 0600 file if it does not exist; narrow an existing one to 0600."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        if path.is_file() and (path.stat().st_mode & 0o777) != FILE_MODE:
            # Another account's file is not ours to change: SQLite then says what it can.
            with contextlib.suppress(PermissionError):
                path.chmod(FILE_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically (a temporary file, then rename) to a 0600 file.

    A pulled USB stick or a crash leaves the old file or the new one, never half of it.
    """
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.chmod(FILE_MODE)
    tmp.replace(path)
