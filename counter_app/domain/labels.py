"""Enumerations that carry their Chinese label: the one place a status or an action is named.

A member is declared as ``NAME = ("stored value", "中文")``; it *is* the stored string (a
``StrEnum``: it compares, hashes and serialises as the value the database and the wire keep) and
``member.label`` is what every screen, document, report and message shows.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class LabelledEnum(StrEnum):
    """A ``StrEnum`` whose members carry a Chinese ``label``."""

    label: str

    def __new__(cls, value: str, label: str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def label_of(cls, value: str) -> str:
        """The label of a stored value; an unknown value is shown as it is."""
        try:
            return cls(value).label
        except ValueError:
            return value

    @classmethod
    def labels(cls) -> dict[str, str]:
        """Every member's label, by value (in declaration order)."""
        return {member.value: member.label for member in cls}
