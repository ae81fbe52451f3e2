"""The sync protocol v1 shared by the client and the reference provincial server (no IO).

Canonical JSON, the event hash that makes "same id, different payload" detectable, the per-block
digests the reconcile call compares, the answer codes with their Chinese messages, and the formats
of the offline transfer files (their Ed25519 signatures are in ``signing``).
``docs/sync-protocol.md`` describes the wire format.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from counter_app.domain.errors import CounterError

VERSION = "v1"
PREFIX = f"/{VERSION}"

#: The client's protocol revision, sent with every request in ``PROTOCOL_HEADER`` with the app's
#: version in ``VERSION_HEADER``. Clients from before these headers are revision 1.
CLIENT_PROTOCOL = 2
PROTOCOL_HEADER = "X-Counter-Protocol"
VERSION_HEADER = "X-Counter-Version"
#: What the store accepts unless told otherwise: this revision and the previous one (a rollout
#: to a hundred offices takes weeks; both must sync meanwhile).
MIN_CLIENT_PROTOCOL = CLIENT_PROTOCOL - 1
#: The HTTP status and code of a refused client (426 Upgrade Required).
CLIENT_TOO_OLD = 426


def version_tuple(text: str) -> tuple[int, ...] | None:
    """``"1.2.10"`` → ``(1, 2, 10)``; ``None`` for anything else."""
    parts = text.strip().split(".")
    if not 1 <= len(parts) <= 4 or not all(p.isdigit() and len(p) <= 6 for p in parts):
        return None
    return tuple(int(p) for p in parts)


def client_refusal(
    protocol_header: str | None,
    version_header: str | None,
    min_protocol: int = MIN_CLIENT_PROTOCOL,
    min_version: str = "",
) -> tuple[int, str, str] | None:
    """Why the store refuses this client: (HTTP status, code, Chinese message), or ``None``.

    No protocol header means revision 1 (clients from before the header). A revision below
    ``min_protocol``, or a version below ``min_version`` (empty: no minimum; a client that does
    not say its version is then refused too), is answered 426; a header that is no revision
    this store knows (not a number, 0, newer than the store) is a bad request (400).
    """
    raw = (protocol_header or "1").strip()
    revision = int(raw) if raw.isdigit() and len(raw) <= 4 else None
    version = (version_header or "").strip()[:20]
    shown = f"本机程序版本 {version or '未知'}，协议 {raw[:8]}"
    advice = (
        "请安装省里下发的新版本离线安装包（README“更新到新版本”），安装后再同步；"
        "待上传的业务都保留在本机，不会丢失"
    )
    if revision is None or not 1 <= revision <= CLIENT_PROTOCOL:
        return (
            400,
            "bad_request",
            f"省平台不认识本机的协议版本（{shown}；省平台支持 1 至 {CLIENT_PROTOCOL}）",
        )
    if revision < min_protocol:
        message = f"本机的经办窗口程序版本过旧（{shown}），省平台只接受协议 {min_protocol} 及以上"
        return CLIENT_TOO_OLD, "client_too_old", f"{message}：{advice}"
    wanted = version_tuple(min_version) if min_version else None
    have = version_tuple(version) if version else None
    if wanted is not None and (have is None or have < wanted):
        message = f"本机的经办窗口程序版本过旧（{shown}），省平台要求 {min_version} 及以上"
        return CLIENT_TOO_OLD, "client_too_old", f"{message}：{advice}"
    return None


#: A push carries at most this many events; reconcile compares blocks of this many sequence numbers.
BATCH_MAX = 500

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"

#: Event kinds the server applies; ``claim.*`` is a family (claim events are kept as they come).
FILING_KINDS = ("filing.new", "filing.change", "filing.cancel")
REVIEW_KIND = "application.review"
KIND_FAMILIES = ("claim.",)

#: Machine codes of rejected events, and the Chinese message a clerk reads.
REASONS: dict[str, str] = {
    "payload_mismatch": "同一事件编号已以不同内容上传过，本次内容被拒绝（请联系省平台核查）",
    "seq_conflict": "本机构的事件序号已被另一事件占用",
    "wrong_office": "事件不属于本机构的令牌，不能代其他经办机构上传",
    "unknown_kind": "省平台不认识的事件类型",
    "bad_event": "事件格式不完整",
    "active_filing_elsewhere": "参保人在其他经办机构已有有效备案，须先由该机构变更或取消",
    "unknown_filing": "省平台没有该备案，无法变更或取消",
    "not_your_filing": "该备案由其他经办机构办理，本机构不能变更或取消",
    "unknown_application": "省平台没有这笔线上申请，或它不是派给本机构审核的",
    "application_reviewed": "这笔线上申请已审核过",
    "number_taken": "省平台已有该编号的备案，新增备案不能沿用已有编号",
    "bad_transition": "备案当前的状态不允许这项操作",
    "person_mismatch": "该备案不是此参保人的，不能据此变更、取消或替代",
    "active_filing_conflict": "参保人在本机构已有有效备案，与本次备案不能并存",
    "no_policy": "省平台没有适用于本机构统筹区的策略包，无法核对备案",
    "bad_application": "线上申请的内容不完整，省平台无法据此生成备案",
}

#: Kinds of numbered packages the store publishes, with their Chinese names.
PACKAGES = {"policy_pack": "策略包", "holiday_calendar": "节假日日历", "registry": "参保登记"}

#: File formats of the offline transfer (USB stick); version 2 is signed with Ed25519 keys.
BATCH_FILE = "counter-sync-batch/2"
ANSWER_FILE = "counter-sync-answer/2"
#: The file the store hands an office at registration (token and the store's public key).
REGISTRATION_FILE = "counter-registration/1"
#: An office's new public key, proven by the new key and endorsed by the one it replaces.
OFFICE_KEY_FILE = "counter-office-key/1"


def canonical(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same text on both sides for the same data.

    ``json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))``, made by
    the C encoder ``json.dumps`` itself ends up in (with the same options and a fresh
    circular-reference check), without building a ``JSONEncoder`` and its wrappers each time.
    """
    if _make_encoder is None:  # pragma: no cover - CPython always has the C encoder
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    encode = _make_encoder({}, _refuse, _encode_text, None, ":", ",", True, False, True)
    return "".join(encode(value, 0))


def _refuse(value: Any) -> Any:
    """What ``json.dumps`` does with a value it cannot encode."""
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_make_encoder: Callable[..., Any] | None = json.encoder.c_make_encoder  # type: ignore[attr-defined]
_encode_text: Callable[[str], str] = json.encoder.encode_basestring


def event_hash(event: dict[str, Any]) -> str:
    """SHA-256 over what makes an event itself: id, office, seq, clerk, kind and payload."""
    core = {k: event.get(k) for k in ("id", "office", "seq", "clerk", "kind", "payload")}
    return hashlib.sha256(canonical(core).encode()).hexdigest()


def known_kind(kind: str) -> bool:
    """Whether the server applies events of this kind."""
    return kind in (*FILING_KINDS, REVIEW_KIND) or any(
        kind.startswith(family) and len(kind) > len(family) for family in KIND_FAMILIES
    )


def rejection(code: str, detail: str = "") -> dict[str, str]:
    """A rejected answer: machine code and Chinese message (with the case's detail)."""
    message = REASONS[code]
    return {
        "status": REJECTED,
        "code": code,
        "message": f"{message}：{detail}" if detail else message,
    }


def block_of(seq: int) -> int:
    """The reconcile block a sequence number falls in (blocks of ``BATCH_MAX``)."""
    return (seq - 1) // BATCH_MAX


def block_digests(rows: Iterable[tuple[int, str, str]]) -> dict[int, dict[str, Any]]:
    """Per block: the count and a SHA-256 over ``seq:id:hash`` lines in sequence order."""
    grouped: dict[int, list[tuple[int, str, str]]] = {}
    for seq, event_id, digest in rows:
        grouped.setdefault(block_of(seq), []).append((seq, event_id, digest))
    out: dict[int, dict[str, Any]] = {}
    for block, items in sorted(grouped.items()):
        lines = "\n".join(f"{s}:{i}:{h}" for s, i, h in sorted(items))
        out[block] = {"count": len(items), "hash": hashlib.sha256(lines.encode()).hexdigest()}
    return out


class SignatureError(CounterError, ValueError):
    """A transfer file that is not intact or not for this office; the message is Chinese."""
