"""One error family: every exception class of counter_app derives from ``CounterError``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import counter_app
from counter_app.domain.errors import CounterError, FieldError, InvalidInput
from counter_app.domain.money import MoneyError, parse_money
from counter_app.storage.claims import ClaimRefused, StaleClaim
from counter_app.storage.filings import FilingRefused, StaleFiling

#: Modules that need an optional extra or a running server to import are skipped, not failed.
OPTIONAL = ("counter_app.sync.server", "counter_app.province")


def _project_exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module in pkgutil.walk_packages(counter_app.__path__, "counter_app."):
        if module.name.startswith(OPTIONAL) or module.name.endswith("__main__"):
            continue
        try:
            loaded = importlib.import_module(module.name)
        except ImportError:
            continue
        for _, value in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("counter_app."):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def test_every_exception_class_of_the_project_is_a_counter_error() -> None:
    classes = _project_exceptions()
    assert len(classes) >= 25, classes  # the walk found the project's exceptions
    outside = [c for c in classes if not issubclass(c, CounterError)]
    assert outside == []


def test_the_built_in_base_is_kept_so_existing_handlers_still_catch() -> None:
    assert issubclass(FilingRefused, ValueError) and issubclass(StaleFiling, RuntimeError)
    assert issubclass(ClaimRefused, ValueError) and issubclass(StaleClaim, RuntimeError)
    with pytest.raises(ValueError, match="两位小数"):
        parse_money("1.234")
    with pytest.raises(CounterError) as caught:
        parse_money("1.234")
    assert isinstance(caught.value, MoneyError)


def test_the_message_is_chinese_and_has_a_heading() -> None:
    error = InvalidInput([FieldError("amounts.total", "金额无效")])
    assert error.clerk_message() == "amounts.total：金额无效" == str(error)
    assert CounterError.title == "出错了"
    assert CounterError().clerk_message() == "操作未能完成"  # no message of its own: still Chinese
