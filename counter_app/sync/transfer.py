"""Offline transfer for offices without a link: signed files carried on a USB stick.

The office exports its pending events to a batch file signed with its own Ed25519 key; the
provincial side (``counter_app.province.transfer``) checks it against the public key it holds for
that office, applies the events exactly as an online push (same idempotency, same answers) and
writes an answer file signed with the store's key and carrying the batch id. The office accepts an
answer only when the store's pinned key signed it, it answers a batch this database exported, and
it was not applied before (a replayed answer is refused). A file that was altered, signed by
another key, signed the old way (shared HMAC key) or not shaped as it should be is refused before
anything is marked, with a Chinese message. Every file is written atomically and 0600.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from sqlmodel import Session, col, select

from counter_app.private_files import write_private
from counter_app.storage.db import Database
from counter_app.storage.models import AuditLog, OutboxEvent, utcnow
from counter_app.storage.records import audit
from counter_app.sync import outbox, protocol, registration, signing
from counter_app.sync.protocol import SignatureError

EXPORT_LIMIT = 100_000
#: A transfer file larger than this is refused before it is parsed.
FILE_MAX_BYTES = 256 * 1024 * 1024
EXPORTED, ANSWERED = "sync_export", "sync_answer"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore")


class BatchBody(_Strict):
    """What a batch file's body must hold."""

    office: str = Field(min_length=1, max_length=12)
    batch_id: str = Field(min_length=1, max_length=64)
    events: list[dict[str, Any]] = Field(max_length=EXPORT_LIMIT)


class AnswerResult(_Strict):
    """One event's answer in an answer file."""

    id: str | None = Field(default=None, max_length=36)
    status: Literal["accepted", "duplicate", "rejected"]
    code: str = Field(default="", max_length=40)
    message: str = Field(default="", max_length=500)


class AnswerBody(_Strict):
    """What an answer file's body must hold."""

    office: str = Field(min_length=1, max_length=12)
    batch_id: str = Field(min_length=1, max_length=64)
    results: list[AnswerResult] = Field(max_length=EXPORT_LIMIT)


def _shape(model: type[_Strict], body: dict[str, Any], what: str) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"][:1]) or "(正文)" for e in exc.errors()})
        raise SignatureError(
            f"{what}的内容不完整或格式不对（{'、'.join(fields)}），未导入"
        ) from None


def _write(path: Path, document: dict[str, Any]) -> None:
    write_private(path, json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8"))


def _no_constant(name: str) -> Any:
    raise ValueError(f"不允许 {name}")


def _read(path: Path) -> Any:
    try:
        if path.stat().st_size > FILE_MAX_BYTES:
            raise SignatureError(
                f"文件 {path.name} 过大（超过 {FILE_MAX_BYTES // 2**20} MB），未导入"
            )
        return json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except FileNotFoundError:
        raise SignatureError(f"找不到文件 {path}") from None
    except IsADirectoryError:
        raise SignatureError(f"{path} 是文件夹，不是同步文件") from None
    except (OSError, UnicodeError, ValueError, RecursionError) as exc:
        raise SignatureError(f"文件 {path.name} 无法读取或已损坏（{type(exc).__name__}）") from None


# -- office side ------------------------------------------------------------------------------


def _registered(folder: Path) -> registration.Registration:
    try:
        found = registration.load(folder)
    except registration.RegistrationError as exc:
        raise SignatureError(str(exc)) from None
    if found is None:
        raise SignatureError(
            "本机构还没有向省平台登记：请用省平台发放的登记文件运行 counter-app sync register"
        )
    return found


def export_batch(
    db: Database, folder: Path, path: Path, configured_key: SecretStr | None = None
) -> int:
    """Write every pending event to a batch file signed with the office's key; returns how many."""
    registered = _registered(folder)
    key = registration.office_key(folder, configured_key)
    if key is None:
        raise SignatureError("找不到本机构的签名私钥：请重新登记（counter-app sync register）")
    office = outbox.office_of(db)
    if registered.office != office.code:
        raise SignatureError(f"登记属于经办机构 {registered.office}，与本机构 {office.code} 不符")
    events = outbox.pending_batch(db, office, EXPORT_LIMIT)
    body = {
        "format": protocol.BATCH_FILE,
        "office": office.code,
        "batch_id": f"file-{uuid.uuid4()}",
        "key_id": signing.key_id_of(key),
        "created_at": utcnow().isoformat(),
        "events": events,
    }
    _write(path, signing.sign(body, key))
    with db.write() as session:
        seqs = [e["seq"] for e in events]
        audit(
            session,
            None,
            EXPORTED,
            "sync_batch",
            body["batch_id"],
            count=len(events),
            first_seq=min(seqs, default=0),
            last_seq=max(seqs, default=0),
        )
    return len(events)


def _entry(session: Session, action: str, batch_id: str) -> AuditLog | None:
    return session.exec(
        select(AuditLog).where(
            AuditLog.action == action,
            AuditLog.entity == "sync_batch",
            AuditLog.entity_id == batch_id,
        )
    ).first()


def import_answer(db: Database, folder: Path, path: Path) -> outbox.Tally:
    """Office side: check the answer file and mark what the store accepted (once)."""
    registered = _registered(folder)
    body = signing.verify(_read(path), registered.store_keys(), protocol.ANSWER_FILE, "省平台")
    answer: AnswerBody = _shape(AnswerBody, body, "回执文件")
    office = outbox.office_of(db)
    if answer.office != office.code:
        raise SignatureError(f"回执属于经办机构 {answer.office}，不是本机构 {office.code}")
    with db.read() as session:
        exported = _entry(session, EXPORTED, answer.batch_id)
        applied = _entry(session, ANSWERED, answer.batch_id)
        if exported is None:
            raise SignatureError(f"回执对应的批次 {answer.batch_id} 不是本数据库导出的，未导入")
        if applied is not None:
            raise SignatureError(
                f"这份回执（批次 {answer.batch_id}）已于 {applied.at:%Y-%m-%d %H:%M} 导入过，"
                "不再重复导入"
            )
        low, high = exported.detail.get("first_seq", 0), exported.detail.get("last_seq", 0)
        ours = set(
            session.exec(
                select(OutboxEvent.id).where(
                    OutboxEvent.office_id == office.id, col(OutboxEvent.seq).between(low, high)
                )
            ).all()
        )
    answers = [(r.id, r.model_dump()) for r in answer.results if r.id is not None and r.id in ours]

    def remember(session: Session) -> None:
        if _entry(session, ANSWERED, answer.batch_id) is not None:
            raise SignatureError(f"这份回执（批次 {answer.batch_id}）已导入过，不再重复导入")
        audit(session, None, ANSWERED, "sync_batch", answer.batch_id, results=len(answers))

    run_id = outbox.start_run(db, "file", "")
    try:
        tally = outbox.record_answers(db, answers, before=remember)
    except SignatureError as exc:
        outbox.finish_run(db, run_id, outbox.Tally(), 0, str(exc))
        raise
    outbox.finish_run(db, run_id, tally, 0)
    return tally
