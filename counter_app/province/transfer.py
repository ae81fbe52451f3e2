"""The provincial side of the offline transfer: check, apply and answer an office's batch file.

The file format and the office side live in ``counter_app.sync.transfer``; this module checks the
batch against the public key the store holds for that office, applies its events exactly as an
online push (same idempotency, same answers) and writes an answer signed with the store's key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from counter_app.province.keys import active_keys, signing_key_path, store_key
from counter_app.province.store import ProvinceStore
from counter_app.storage.models import utcnow
from counter_app.sync import protocol, signing
from counter_app.sync.protocol import SignatureError

# The file format is shared with the office side: one reader, one shape check, one writer.
from counter_app.sync.transfer import BatchBody, _read, _shape, _write


def import_batch(
    store: ProvinceStore, path: Path, answer_path: Path, key_path: Path | None = None
) -> dict[str, int]:
    """Provincial side: check, apply and answer a batch file; counts per answer."""
    document = _read(path)
    if isinstance(document, dict) and isinstance(document.get("signature"), str):
        signing.verify(document, {}, protocol.BATCH_FILE, "经办机构")  # the old way: refused
    body = document.get("body") if isinstance(document, dict) else None
    claimed = body.get("office") if isinstance(body, dict) else None
    plain = isinstance(claimed, str) and claimed.isascii() and claimed.isalnum()
    office = (
        store.office(claimed) if isinstance(claimed, str) and plain and len(claimed) <= 12 else None
    )
    if office is None:
        raise SignatureError(f"文件中的经办机构 {str(claimed)[:20]} 未在省平台登记")
    keys = active_keys(store, office.code)
    if not keys:
        raise SignatureError(
            f"经办机构 {office.code} 还没有向省平台登记公钥："
            "请导入它的公钥文件（province office-key）"
        )
    body = signing.verify(document, keys, protocol.BATCH_FILE, f"经办机构 {office.code}")
    batch: BatchBody = _shape(BatchBody, body, "批次文件")
    key = store_key(key_path or signing_key_path(store.url), create=True)
    assert key is not None
    results: list[dict[str, Any]] = []
    for start in range(0, len(batch.events), protocol.BATCH_MAX):
        chunk = batch.events[start : start + protocol.BATCH_MAX]
        answers = store.apply_batch(office, chunk, f"{batch.batch_id}-{start}"[:64])
        results.extend(
            {"id": e["id"] if isinstance(e.get("id"), str) else None, **a}
            for e, a in zip(chunk, answers, strict=True)
        )
    answer = {
        "format": protocol.ANSWER_FILE,
        "office": office.code,
        "batch_id": batch.batch_id,
        "answered_at": utcnow().isoformat(),
        "results": results,
    }
    _write(answer_path, signing.sign(answer, key))
    counts = {protocol.ACCEPTED: 0, protocol.DUPLICATE: 0, protocol.REJECTED: 0}
    for result in results:
        counts[result["status"]] += 1
    return counts
