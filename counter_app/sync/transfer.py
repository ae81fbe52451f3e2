"""Offline transfer for offices without a link: signed files carried on a USB stick.

The office exports its pending events to a batch file signed with HMAC-SHA256 under a key derived
from its token; the provincial side checks the signature with the key it keeps for that office,
applies the events exactly as an online push (same idempotency, same answers) and writes an answer
file signed with the same key, which the office imports to mark what was accepted. A file that was
altered, or signed for another office, is refused before anything is read from it.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from counter_app.storage.db import Database
from counter_app.storage.models import utcnow
from counter_app.sync import outbox, protocol
from counter_app.sync.protocol import SignatureError

if TYPE_CHECKING:
    from counter_app.sync.store import ProvinceStore

EXPORT_LIMIT = 100_000


def _write(path: Path, document: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)  # a pulled USB stick leaves the old file or the new one, never half


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SignatureError(f"找不到文件 {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SignatureError(f"文件 {path.name} 无法读取或已损坏：{exc}") from None


def export_batch(db: Database, token: str, path: Path) -> int:
    """Write every pending event to a signed batch file; returns how many."""
    office = outbox.office_of(db)
    events = outbox.pending_batch(db, office, EXPORT_LIMIT)
    body = {
        "format": protocol.BATCH_FILE,
        "office": office.code,
        "batch_id": f"file-{uuid.uuid4()}",
        "created_at": utcnow().isoformat(),
        "events": events,
    }
    _write(path, protocol.sign(body, protocol.file_key(token)))
    return len(events)


def import_batch(store: ProvinceStore, path: Path, answer_path: Path) -> dict[str, int]:
    """Provincial side: check, apply and answer a batch file; counts per answer."""
    document = _read(path)
    claimed = document.get("body", {}).get("office") if isinstance(document, dict) else None
    office = store.office(str(claimed)) if claimed else None
    if office is None:
        raise SignatureError(f"文件中的经办机构 {claimed} 未在省平台登记")
    body = protocol.verify(document, office.file_key, protocol.BATCH_FILE)
    results: list[dict[str, Any]] = []
    events = body["events"]
    for start in range(0, len(events), protocol.BATCH_MAX):
        chunk = events[start : start + protocol.BATCH_MAX]
        answers = store.apply_batch(office, chunk, f"{body['batch_id']}-{start}")
        results.extend({"id": e.get("id"), **a} for e, a in zip(chunk, answers, strict=True))
    answer = {
        "format": protocol.ANSWER_FILE,
        "office": office.code,
        "batch_id": body["batch_id"],
        "answered_at": utcnow().isoformat(),
        "results": results,
    }
    _write(answer_path, protocol.sign(answer, office.file_key))
    counts = {protocol.ACCEPTED: 0, protocol.DUPLICATE: 0, protocol.REJECTED: 0}
    for result in results:
        counts[result["status"]] += 1
    return counts


def import_answer(db: Database, token: str, path: Path) -> outbox.Tally:
    """Office side: check the answer file and mark what the store accepted."""
    body = protocol.verify(_read(path), protocol.file_key(token), protocol.ANSWER_FILE)
    office = outbox.office_of(db)
    if body.get("office") != office.code:
        raise SignatureError(f"回执属于经办机构 {body.get('office')}，不是本机构 {office.code}")
    run_id = outbox.start_run(db, "file", "")
    tally = outbox.record_answers(db, [(r["id"], r) for r in body["results"]])
    outbox.finish_run(db, run_id, tally, 0)
    return tally
