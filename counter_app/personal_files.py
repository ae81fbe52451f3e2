"""Files with personal data outside the office database: kept only as long as a setting says.

PDFs "printed" to a file (the default printer, and every ``kind = "file"`` printer's folder) and
the plain copy ``db encrypt`` leaves beside the database hold 身份证号 and medical data in clear.
``personal_files`` lists them (``doctor`` shows the list); ``prune_personal_files`` deletes those
older than ``personal_file_days`` — the app runs it at start-up and after the day close.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from counter_app.settings import Settings

#: What ``db encrypt`` names the plain backup it makes first (beside the database).
PLAIN_BACKUP_SUFFIX = ".before-encrypt"


@dataclass(frozen=True)
class PersonalFile:
    """One file with personal data outside the database."""

    path: Path
    size: int
    modified: datetime  # UTC
    kind: str  # 打印文件 or 加密前明文备份


def personal_file_places(settings: Settings) -> list[tuple[Path, str]]:
    """The folders (and single files) where such files are written, with what they hold."""
    places: list[tuple[Path, str]] = []
    for printer in settings.printer_list():
        if printer.kind == "file":
            places.append((Path(printer.address), "打印文件"))
    default = settings.database_path().parent / "prints"
    if all(place != default for place, _ in places):
        places.append((default, "打印文件"))
    return places


def _files_in(place: Path) -> list[Path]:
    if place.is_file():
        return [place]
    if place.is_dir():
        return sorted(path for path in place.rglob("*") if path.is_file())
    return []


def personal_files(settings: Settings) -> list[PersonalFile]:
    """Every file with personal data outside the database, oldest first."""
    found: dict[Path, PersonalFile] = {}
    db_path = settings.database_path()
    candidates = [
        (path, kind) for place, kind in personal_file_places(settings) for path in _files_in(place)
    ]
    candidates += [
        (path, "加密前明文备份")
        for path in sorted(db_path.parent.glob(f"*{PLAIN_BACKUP_SUFFIX}"))
        if path.is_file()
    ]
    for path, kind in candidates:
        try:
            stat = path.stat()
        except OSError:
            continue
        modified = datetime.fromtimestamp(stat.st_mtime, UTC)
        found[path.resolve()] = PersonalFile(path, stat.st_size, modified, kind)
    return sorted(found.values(), key=lambda item: (item.modified, str(item.path)))


def prune_personal_files(settings: Settings, now: datetime | None = None) -> list[Path]:
    """Delete the files older than ``settings.personal_file_days``; the paths deleted."""
    limit = (now or settings.now()) - timedelta(days=settings.personal_file_days)
    removed = []
    for item in personal_files(settings):
        if item.modified < limit:
            with contextlib.suppress(OSError):
                item.path.unlink()
                removed.append(item.path)
    return removed
