"""``counter-app …`` run in the test process, reported as a subprocess would report it.

The same Typer app the ``counter-app`` script runs, through ``CliRunner``: a subprocess per
command spent seconds importing the app each time. The environment the command sees is the
test's plus ``env``; the umask the command sets for its files is put back afterwards. An
exception the command lets through is raised here (a subprocess would have printed a traceback).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from typer.testing import CliRunner


@dataclass
class Ran:
    """A command's exit code and output (the fields of ``subprocess.CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Ran:
    """Run ``counter-app *args`` in this process (``input``: its standard input)."""
    from counter_app.cli import app

    umask = os.umask(0o022)
    os.umask(umask)
    try:
        result = CliRunner().invoke(
            app, list(args), input=input, env=env or {}, catch_exceptions=True
        )
    finally:
        os.umask(umask)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)
