"""The sign-in lock-out rule: how many wrong passwords in a row lock a clerk out, and how long."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lockout:
    """How many wrong passwords in a row lock a clerk out, and for how long."""

    attempts: int = 5
    minutes: int = 15
