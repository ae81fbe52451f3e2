"""The errors of counter_app: one ``CounterError`` family, and input errors that name the field.

Every exception class of the project derives from ``CounterError`` (besides the built-in class it
always had, so ``except ValueError`` still catches what it caught): its message is Chinese, fit
for a clerk, and the app's one worker-state handler shows it under the class's ``title``.

Every bad field of a request is reported at once as ``{"field": ..., "message": ...}``; pydantic's
English messages are translated here so no English reaches a clerk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from pydantic import ValidationError


class CounterError(Exception):
    """The base of every error counter_app raises on purpose; ``str(error)`` is Chinese."""

    #: The heading the clerk sees above the message.
    title: ClassVar[str] = "出错了"
    #: Said when the error carries no message of its own.
    default_message: ClassVar[str] = "操作未能完成"

    def clerk_message(self) -> str:
        """The Chinese message for the clerk."""
        return str(self) or self.default_message


@dataclass(frozen=True)
class FieldError:
    """One bad field: its dotted path (``amounts.total``, ``materials[2]``) and the problem."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form."""
        return {"field": self.field, "message": self.message}


class InvalidInput(CounterError, ValueError):
    """A request the engine cannot decide on; carries every bad field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("；".join(f"{e.field}：{e.message}" for e in errors))


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("amounts", "total")`` → ``amounts.total``; ``("materials", 2)`` → ``materials[2]``."""
    path = ""
    for item in loc:
        if isinstance(item, int):
            path += f"[{item}]"
        else:
            path += ("." if path else "") + str(item)
    return path or "(请求)"


def _expected(ctx: dict[str, Any] | None) -> str:
    expected = str((ctx or {}).get("expected", ""))
    return expected.replace("'", "").replace(" or ", "、").replace(", ", "、")


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx")
    if kind == "missing":
        return "缺少必填字段"
    if kind == "extra_forbidden":
        return "未知字段（请检查拼写）"
    if kind == "literal_error":
        return f"取值无效，应为 {_expected(ctx)} 之一"
    if kind.startswith("date") or kind.startswith("datetime"):
        return "日期无效，应为 YYYY-MM-DD 格式的真实日期"
    if kind.startswith("bool"):
        return "应为 true 或 false"
    if kind.startswith("int") or kind == "greater_than_equal" or kind == "less_than_equal":
        if kind == "greater_than_equal":
            return f"不能小于 {ctx['ge']}" if ctx else "取值过小"
        if kind == "less_than_equal":
            return f"不能大于 {ctx['le']}" if ctx else "取值过大"
        return "应为整数"
    if kind in ("string_type", "string_too_short"):
        return "应为非空字符串"
    if kind == "string_too_long":
        return f"过长（最多 {ctx['max_length']} 个字符）" if ctx else "过长"
    if kind == "string_pattern_mismatch":
        return "格式无效"
    if kind in ("list_type", "tuple_type"):
        return "应为列表"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "应为对象"
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ")
    return "取值无效"


def describe_error(error: dict[str, Any]) -> str:
    """The Chinese message of one pydantic error (``ValidationError.errors()`` item)."""
    if error.get("type") == "too_long":
        ctx = error.get("ctx") or {}
        return f"项数过多（最多 {ctx.get('max_length', '?')} 项）"
    if error.get("type") == "enum":
        return f"取值无效，应为 {_expected(error.get('ctx'))} 之一"
    return _message(error)


def from_validation(exc: ValidationError) -> InvalidInput:
    """Translate a pydantic ``ValidationError`` into ``InvalidInput`` with Chinese messages."""
    errors = [
        FieldError(field_path(tuple(e["loc"])), describe_error(dict(e))) for e in exc.errors()
    ]
    return InvalidInput(errors)
