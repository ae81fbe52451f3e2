"""Where the shipped data folders (``assets/`` and ``forms/``) are on this machine.

In a source checkout or an editable install they are the top-level folders of the repository; a
wheel carries them inside the package as ``counter_app/_assets`` and ``counter_app/_forms``.
``COUNTER_ASSETS_DIR`` overrides the assets folder (an office's own copy).
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"数据目录不存在：{candidates[0]}")


def assets_dir() -> Path:
    """The folder holding policy packs, region codes and fonts."""
    override = os.environ.get("COUNTER_ASSETS_DIR")
    if override:
        return _first_existing(Path(override))
    return _first_existing(_PACKAGE / "_assets", _PACKAGE.parent / "assets")


def forms_dir() -> Path:
    """The folder holding the printed documents' wording and layout."""
    return _first_existing(_PACKAGE / "_forms", _PACKAGE.parent / "forms")


def migrations_dir() -> Path:
    """The folder holding the alembic migrations (``db/``)."""
    return _first_existing(_PACKAGE / "_db", _PACKAGE.parent / "db")
