"""A document's text as the verifier reads it: a PDF through poppler's ``pdftotext``, or a text
file (a typed or OCR'd copy of the paper); and the QR payload printed under the code."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from counter_app.domain.errors import CounterError

# Signature and digest are 80 bits in base32: exactly 16 characters, so the match ends there even
# when the extracted text runs on without a space.
_PAYLOAD = re.compile(
    r"YB2:[A-Z]{3}:[A-Z0-9]+:[A-Z0-9]+:[A-Z2-7]{16}:[A-Z2-7]{16}"
    r"|YB1:[A-Z]{3}:[A-Z0-9]+:[A-Z0-9]+:[A-Z2-7]{16}"
)


class PaperError(CounterError, ValueError):
    """A document that cannot be read; the message is Chinese."""


def paper_text(path: Path) -> str:
    """The text of a PDF or text file."""
    if not path.is_file():
        raise PaperError(f"找不到文书文件：{path}")
    data = path.read_bytes()
    if data.startswith(b"%PDF"):
        tool = shutil.which("pdftotext")
        if tool is None:
            raise PaperError("读取 PDF 需要 pdftotext（poppler-utils），请安装后重试")
        done = subprocess.run(
            [tool, "-raw", str(path), "-"], capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            raise PaperError(f"无法读取 PDF：{path}")
        return done.stdout
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise PaperError(f"文书文件应为 PDF 或 UTF-8 文本：{path}") from None


def payload_in(text: str) -> str | None:
    """The QR payload printed in the document's text (under the code), if any."""
    found = _PAYLOAD.search("".join(text.split()))
    return found.group(0) if found else None
