"""Sending rendered bytes to a printer from the settings: network, USB, serial or a file.

A printer that is off must not stop the window: connections time out after the printer's
``timeout`` and every failure becomes ``PrinterError`` with a Chinese message saying what to do.
A4 printers get the PDF (network printers on port 9100 take it raw, ``system`` printers get it
through the operating system's spooler: CUPS ``lp``, or the Windows shell); receipt printers
ESC/POS.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from counter_app.domain.errors import CounterError
from counter_app.settings import PrinterConfig


class PrinterError(CounterError, RuntimeError):
    """The printer could not take the job; the message is for the clerk."""


PAPER_STATUS = b"\x10\x04\x04"  # DLE EOT 4: transmit the paper roll sensor status
PAPER_END = 0x60  # bits 5 and 6: the roll sensor says the paper has run out


def _check_paper(printer: PrinterConfig, conn: socket.socket) -> None:
    """Ask an ESC/POS printer for its paper sensors before sending; refuse when it is out."""
    conn.sendall(PAPER_STATUS)
    status = conn.recv(1)
    if not status:
        raise PrinterError(f"打印机“{printer.name}”没有回答纸张状态：请检查打印机")
    if status[0] & PAPER_END:
        raise PrinterError(f"打印机“{printer.name}”缺纸：请装纸后在打印队列中重试")


def _network(printer: PrinterConfig, data: bytes) -> None:
    host, _, port = printer.address.rpartition(":")
    if not host or not port.isdigit():
        raise PrinterError(f"打印机“{printer.name}”的地址 {printer.address} 应为 主机:端口")
    try:
        with socket.create_connection((host, int(port)), timeout=printer.timeout) as conn:
            conn.settimeout(printer.timeout)
            if printer.check_paper and printer.paper != "a4":
                _check_paper(printer, conn)
            conn.sendall(data)
    except ConnectionRefusedError:
        raise PrinterError(
            f"打印机“{printer.name}”（{printer.address}）拒绝连接：请检查打印机是否开机、网线是否插好"
        ) from None
    except TimeoutError:
        raise PrinterError(
            f"打印机“{printer.name}”（{printer.address}）{printer.timeout:g} 秒内没有响应："
            "请检查打印机电源、网络和纸张"
        ) from None
    except OSError as exc:
        raise PrinterError(f"打印机“{printer.name}”（{printer.address}）连接失败：{exc}") from None


def _usb(printer: PrinterConfig, data: bytes) -> None:
    from escpos.printer import Usb

    vendor, _, product = printer.address.partition(":")
    try:
        ids = int(vendor, 16), int(product, 16)
    except ValueError:
        raise PrinterError(f"打印机“{printer.name}”的地址应为 厂商ID:产品ID（十六进制）") from None
    try:
        device = Usb(*ids, timeout=int(printer.timeout * 1000))
        device._raw(data)
        device.close()
    except Exception as exc:  # pyusb raises many kinds; all mean "not printed"
        raise PrinterError(
            f"USB 打印机“{printer.name}”（{printer.address}）不可用：{exc}"
            "（请检查连接、libusb 和设备访问权限）"
        ) from None


def _serial(printer: PrinterConfig, data: bytes) -> None:
    from escpos.printer import Serial

    try:
        device = Serial(devfile=printer.address, timeout=printer.timeout)
        device._raw(data)
        device.close()
    except Exception as exc:  # pyserial raises many kinds; all mean "not printed"
        raise PrinterError(
            f"串口打印机“{printer.name}”（{printer.address}）不可用：{exc}"
        ) from None


def _file(printer: PrinterConfig, data: bytes, filename: str) -> Path:
    target = Path(printer.address)
    try:
        if target.is_dir() or not target.suffix:
            target.mkdir(parents=True, exist_ok=True)
            target = target / filename
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    except OSError as exc:
        raise PrinterError(f"无法写入文件 {target}：{exc.strerror or exc}") from None
    return target


def _system(printer: PrinterConfig, data: bytes, filename: str) -> str:
    """The PDF to the system's spooler: CUPS ``lp`` (address: the queue, ``队列@服务器[:端口]``
    for another CUPS server, empty for the default printer), or on Windows the shell's print
    verb (the registered PDF application prints it to the default printer)."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        target = Path(tempfile.gettempdir()) / filename
        target.write_bytes(data)
        try:
            os.startfile(str(target), "print")  # type: ignore[attr-defined]
        except OSError as exc:
            raise PrinterError(
                f"打印机“{printer.name}”：Windows 无法打印 PDF（{exc}），请安装并关联 PDF 阅读器"
            ) from None
        return "Windows 打印"
    lp = shutil.which("lp")
    if lp is None:
        raise PrinterError(
            f"打印机“{printer.name}”：本机没有 CUPS 的 lp 命令，请安装 cups-client 或改用网口打印机"
        )
    queue, _, server = printer.address.partition("@")
    command = [lp, "-t", filename, "-o", "media=A4"]
    if server:
        command[1:1] = ["-h", server]
    if queue:
        command += ["-d", queue]
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=printer.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise PrinterError(
            f"打印机“{printer.name}”：打印服务 {printer.timeout:g} 秒内没有响应，请检查 CUPS 服务"
        ) from None
    answer = (done.stdout or b"").decode(errors="replace").strip()
    if done.returncode != 0:
        reason = (done.stderr or b"").decode(errors="replace").strip() or answer
        raise PrinterError(f"打印机“{printer.name}”（{printer.address or '默认打印机'}）：{reason}")
    job = re.search(r"request id is (\S+)", answer)
    return f"CUPS {job.group(1) if job else printer.address or '默认打印机'}"


def send(printer: PrinterConfig, data: bytes, filename: str) -> str:
    """Deliver ``data``; returns where it went (for the queue). Raises ``PrinterError``."""
    if printer.kind == "network":
        _network(printer, data)
        return printer.address
    if printer.kind == "usb":
        _usb(printer, data)
        return f"USB {printer.address}"
    if printer.kind == "serial":
        _serial(printer, data)
        return printer.address
    if printer.kind == "system":
        return _system(printer, data, filename)
    return str(_file(printer, data, filename))
