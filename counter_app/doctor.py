"""The health check of an office installation (``counter-app doctor`` and the supervisor's screen).

Each check gives one line: OK, ⚠ (works, but needs attention) or ✘ (broken), with what to do in
Chinese. Nothing here changes the database or the settings; a check that cannot run says so as a
⚠ or ✘ line instead of raising. Checks: database integrity, schema version, WAL size, free disk,
backups (age, places reachable), encryption at rest, printers, the provincial store (reachable,
its certificate) and the clock against the store's.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from counter_app.settings import PrinterConfig, Settings
from counter_app.storage.backup import connect, database_errors

Status = Literal["ok", "warn", "fail"]
MARKS: dict[str, str] = {"ok": "OK", "warn": "⚠", "fail": "✘"}

#: Thresholds (documented in the README's health-check section).
WAL_WARN_BYTES = 64 * 1024 * 1024
DISK_FAIL_BYTES = 200 * 1024 * 1024
DISK_WARN_BYTES = 1024 * 1024 * 1024
CERT_WARN_DAYS = 30
SKEW_WARN_S = 60.0
SKEW_FAIL_S = 600.0
NETWORK_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Check:
    """One line of the health check."""

    name: str
    status: Status
    detail: str
    advice: str = ""

    @property
    def mark(self) -> str:
        """OK, ⚠ or ✘."""
        return MARKS[self.status]

    def line(self) -> str:
        """``✘ 数据库完整性：……——怎么办``."""
        advice = f"——{self.advice}" if self.advice and self.status != "ok" else ""
        return f"{self.mark} {self.name}：{self.detail}{advice}"


def _ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


# -- the database file ---------------------------------------------------------------------------

SQLITE_HEADER = b"SQLite format 3\x00"


def encrypted(db_path: Path) -> bool | None:
    """Whether the file is encrypted (no plain SQLite header); ``None`` if it cannot be read."""
    try:
        with open(db_path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError:
        return None
    return bool(header) and header != SQLITE_HEADER


def check_encryption(settings: Settings, db_path: Path) -> Check:
    name = "数据库加密"
    state = encrypted(db_path)
    if state is None:
        return Check(name, "fail", "无法读取数据库文件", "核对数据库路径和文件权限")
    if state:
        from counter_app.storage.encryption import encryption_status

        status = encryption_status(db_path)
        if not status.ok:
            return Check(name, "warn", status.message)  # the message says what to do
        return _ok(name, status.message)
    if settings.demo:
        return _ok(name, "未加密（演示数据库不加密）")
    return Check(
        name,
        "warn",
        "未加密：电脑丢失或被盗时参保人的身份证号和就医信息可被读取",
        "运行 counter-app db encrypt 加密"
        "（个人信息保护法 第五十一条 要求对敏感个人信息采取加密等措施）",
    )


def _read_only(db_path: Path, key: bytes | None) -> Any:
    """A read-only connection (SQLCipher with ``key`` for an encrypted file)."""
    return connect(db_path, key if encrypted(db_path) else None, query="mode=ro")


def check_integrity(db_path: Path, key: bytes | None = None) -> Check:
    name = "数据库完整性"
    if encrypted(db_path) and key is None:
        return Check(
            name,
            "warn",
            "数据库已加密，未登录时无法读取",
            "用 counter-app doctor --unlock 输入密码后检查，或登录后由科长在界面的“系统检查”中运行",
        )
    try:
        connection = _read_only(db_path, key)
        try:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
        finally:
            connection.close()
    except database_errors() as exc:
        return Check(
            name, "fail", f"无法读取（{exc}）", "用 counter-app backup restore 恢复最近的备份"
        )
    first = str(rows[0][0]) if rows else "无结果"
    if first == "ok":
        return _ok(name, "完整（PRAGMA integrity_check 通过）")
    return Check(
        name,
        "fail",
        f"已损坏（{first[:120]}）",
        "停止办理业务，用 counter-app backup verify 找到完好的备份，"
        "counter-app backup restore 恢复，再同步并运行 counter-app sync recover",
    )


def check_schema(db_path: Path, key: bytes | None = None) -> Check:
    name = "数据结构版本"
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from counter_app.resources import migrations_dir

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    if encrypted(db_path) and key is None:
        return Check(name, "warn", f"数据库已加密，无法读取版本（程序为 {head}）", "登录后查看")
    try:
        connection = _read_only(db_path, key)
        try:
            current = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            connection.close()
    except database_errors() as exc:
        return Check(name, "fail", f"无法读取（{exc}）", "核对数据库文件")
    at = current[0] if current else None
    if at == head:
        return _ok(name, f"{at}（最新）")
    known = {rev.revision for rev in script.walk_revisions()}
    if at not in known:
        return Check(
            name,
            "fail",
            f"数据库版本 {at} 是更新的程序写的（本程序为 {head}）",
            "安装与其他窗口相同的新版本程序（README“更新到新版本”）",
        )
    return Check(name, "warn", f"{at}，最新为 {head}", "启动程序（counter-app）时自动升级")


def check_wal(db_path: Path) -> Check:
    name = "WAL 日志大小"
    wal = Path(f"{db_path}-wal")
    size = wal.stat().st_size if wal.exists() else 0
    if size > WAL_WARN_BYTES:
        return Check(
            name,
            "warn",
            f"{_size(size)}（超过 {_size(WAL_WARN_BYTES)}）",
            "有窗口长时间打开着读取事务；关闭所有窗口的程序后重新打开，日志会并回数据库",
        )
    return _ok(name, _size(size))


def check_disk(db_path: Path) -> Check:
    name = "磁盘剩余空间"
    try:
        free = shutil.disk_usage(db_path.parent).free
    except OSError as exc:
        return Check(name, "fail", f"无法读取（{exc.strerror}）", "核对数据库所在的磁盘")
    db_size = db_path.stat().st_size if db_path.exists() else 0
    if free < max(DISK_FAIL_BYTES, db_size):
        return Check(
            name, "fail", f"仅剩 {_size(free)}", "立即清理磁盘：数据库写满时无法办理和备份"
        )
    if free < max(DISK_WARN_BYTES, 3 * db_size):
        return Check(name, "warn", f"剩 {_size(free)}", "清理磁盘或更换更大的硬盘")
    return _ok(name, f"剩 {_size(free)}")


# -- backups -----------------------------------------------------------------------------------


def check_backups(settings: Settings, db_path: Path) -> list[Check]:
    from counter_app.storage.backup import WARN_AGE, newest

    places = settings.backup_places()
    checks = []
    for place in places:
        name = f"备份位置 {place}"
        if not place.exists():
            if place.parent.is_dir() and os.access(place.parent, os.W_OK):
                checks.append(_ok(name, "尚未创建（第一次备份时创建）"))
            else:
                checks.append(
                    Check(
                        name,
                        "fail",
                        "不可达",
                        "插入 U 盘或连接网络共享，或修改配置 [backup] places",
                    )
                )
            continue
        if not (place.is_dir() and os.access(place, os.W_OK)):
            checks.append(Check(name, "fail", "不可写", "核对该文件夹的权限"))
            continue
        try:
            same_disk = place.stat().st_dev == db_path.parent.stat().st_dev
        except OSError:
            same_disk = False
        if same_disk:
            checks.append(
                Check(
                    name,
                    "warn",
                    "可用，但与数据库在同一块磁盘上，硬盘损坏时一起丢失",
                    "在配置 [backup] places 中另加一个位置（第二块硬盘、U 盘或网络共享）",
                )
            )
        else:
            checks.append(_ok(name, "可用"))
    found = newest(db_path, places)
    name = "最新备份"
    if found is None and not settings.backups_automatic():
        checks.append(
            Check(
                name, "warn", "从未备份，自动备份未开启", "正式使用时开启（配置 [backup] enabled）"
            )
        )
    elif found is None:
        checks.append(Check(name, "fail", "从未备份", "运行 counter-app backup now"))
    else:
        local = settings.local(found.taken_at).strftime("%Y-%m-%d %H:%M")
        age = settings.now() - found.taken_at
        if age > WARN_AGE:
            checks.append(
                Check(
                    name,
                    "warn",
                    f"{local}，已超过一天",
                    "运行 counter-app backup now，并检查备份位置和自动备份设置",
                )
            )
        else:
            checks.append(_ok(name, f"{local}（{found.path.name}）"))
    return checks


# -- printers ----------------------------------------------------------------------------------


def check_printer(printer: PrinterConfig) -> Check:
    name = f"打印机 {printer.name}"
    address = printer.address
    timeout = min(printer.timeout, NETWORK_TIMEOUT_S)
    if printer.kind == "network":
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host or address, int(port or 9100)), timeout=timeout):
                pass
        except (OSError, ValueError) as exc:
            return Check(
                name,
                "fail",
                f"{address} 连不上（{type(exc).__name__}）",
                "检查打印机电源、网线和 IP 地址",
            )
        return _ok(name, f"{address} 可连接")
    if printer.kind == "file":
        folder = Path(address)
        folder = folder if folder.suffix == "" else folder.parent
        if folder.is_dir() and os.access(folder, os.W_OK):
            return _ok(name, f"保存到 {folder}")
        if not folder.exists() and os.access(folder.parent, os.W_OK):
            return _ok(name, f"保存到 {folder}（第一次打印时创建）")
        return Check(name, "fail", f"{folder} 不可写", "核对文件夹权限或修改打印机设置")
    if printer.kind == "serial":
        if Path(address).exists():
            return _ok(name, f"{address} 存在")
        return Check(
            name, "fail", f"{address} 不存在", "检查串口线，或核对设备名（如 /dev/ttyUSB0）"
        )
    if printer.kind == "system":
        if shutil.which("lpstat") is None:
            return Check(name, "warn", "本机没有 lpstat，无法检查", "打印一份测试页确认")
        queue = address.split("@")[0]
        args = ["lpstat", "-p", queue] if queue else ["lpstat", "-d"]
        if "@" in address:
            args[1:1] = ["-h", address.split("@", 1)[1]]
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired):
            return Check(name, "fail", "打印服务无响应", "检查 CUPS 服务")
        if done.returncode == 0 and "disabled" not in done.stdout:
            return _ok(name, f"打印队列 {queue or '默认'} 可用")
        return Check(
            name, "fail", f"打印队列 {queue or '默认'} 不可用", "在系统打印设置中检查该打印机"
        )
    # USB: whether the device is on the bus (pyusb needs a libusb backend).
    try:
        import usb.core

        vendor, _, product = address.partition(":")
        device = usb.core.find(idVendor=int(vendor, 16), idProduct=int(product, 16))
    except Exception as exc:  # no backend, a bad address: say so, do not stop the check
        return Check(
            name, "warn", f"无法检查 USB 设备（{type(exc).__name__}）", "打印一份测试页确认"
        )
    if device is None:
        return Check(name, "fail", f"USB 设备 {address} 未连接", "检查 USB 线和打印机电源")
    return _ok(name, f"USB 设备 {address} 已连接")


# -- the provincial store ----------------------------------------------------------------------


def _certificate_days(url: str, context: ssl.SSLContext | bool) -> tuple[int, str]:
    """Days until the store's certificate expires, and its subject's common name."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    if not isinstance(context, ssl.SSLContext):
        context = ssl.create_default_context()
    with (
        socket.create_connection((host, port), timeout=NETWORK_TIMEOUT_S) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        cert = tls.getpeercert() or {}
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
    subject: dict[str, str] = {}
    for rdn in cert.get("subject", ()):
        for pair in rdn:
            if isinstance(pair, tuple) and len(pair) == 2:
                subject[str(pair[0])] = str(pair[1])
    return (expires - datetime.now(UTC)).days, str(subject.get("commonName", host))


def check_store(settings: Settings, db_path: Path) -> list[Check]:
    import contextlib

    import httpx

    from counter_app.sync import protocol
    from counter_app.sync.client import (
        ClientConfig,
        SyncError,
        _Bearer,
        _tls_context,
        client_headers,
        with_registration,
    )

    config = ClientConfig.from_settings(settings.sync)
    with contextlib.suppress(SyncError):
        config = with_registration(config, db_path)
    name = "省平台"
    if not config.url:
        return [
            Check(
                name,
                "warn",
                "未配置省平台地址",
                "用 counter-app sync register 导入省平台的登记文件，"
                "或在配置 [sync] 中设置 url 和 token",
            )
        ]
    checks = []
    try:
        verify = _tls_context(config.ca_file)
        sent = datetime.now(UTC)
        response = httpx.get(
            config.url.rstrip("/") + protocol.PREFIX + "/hello",
            auth=_Bearer(config.secret()),
            headers=client_headers(),
            timeout=NETWORK_TIMEOUT_S,
            verify=verify,
        )
        received = datetime.now(UTC)
    except httpx.ConnectError as exc:
        if "CERTIFICATE" in str(exc).upper():
            return [
                Check(
                    name,
                    "fail",
                    f"{config.url} 的证书未通过验证",
                    "核对地址；省平台使用自建证书时在配置 [sync] 中设置 ca_file",
                )
            ]
        return [Check(name, "fail", f"{config.url} 连不上", "检查网络（医保专网）和省平台地址")]
    except (httpx.HTTPError, SyncError) as exc:
        return [Check(name, "fail", f"{config.url} 无响应（{type(exc).__name__}）", "稍后再试")]
    if response.status_code == 401:
        checks.append(
            Check(
                name,
                "fail",
                "可连接，但不认本机构的令牌",
                "核对 sync.token 或重新登记（counter-app sync register）",
            )
        )
    elif response.status_code == protocol.CLIENT_TOO_OLD:
        checks.append(
            Check(name, "fail", "可连接，但本机程序版本过旧", "安装新版本（README“更新到新版本”）")
        )
    elif response.status_code != 200:
        checks.append(
            Check(name, "fail", f"可连接，但回答 HTTP {response.status_code}", "联系省平台")
        )
    else:
        checks.append(_ok(name, f"{config.url} 可连接（经办机构 {response.json().get('office')}）"))
    if config.url.startswith("https://"):
        try:
            days, subject = _certificate_days(config.url, verify)
        except (OSError, ssl.SSLError, KeyError, ValueError) as exc:
            checks.append(
                Check("省平台证书", "fail", f"无法读取（{type(exc).__name__}）", "联系省平台")
            )
        else:
            if days < 0:
                checks.append(
                    Check("省平台证书", "fail", f"{subject} 已过期", "联系省平台更换证书")
                )
            elif days < CERT_WARN_DAYS:
                checks.append(
                    Check(
                        "省平台证书",
                        "warn",
                        f"{subject} 还有 {days} 天到期",
                        "提醒省平台及时更换证书",
                    )
                )
            else:
                checks.append(_ok("省平台证书", f"{subject}，还有 {days} 天到期"))
    else:
        checks.append(
            Check(
                "省平台证书",
                "warn" if not config.url.startswith(("http://127.", "http://localhost")) else "ok",
                "明文 http 连接，没有证书",
                "改用 https 地址（令牌在网络上可被窃听）",
            )
        )
    checks.append(_clock(response.headers.get("date"), sent, received))
    return checks


def _clock(date_header: str | None, sent: datetime, received: datetime) -> Check:
    name = "时钟"
    if not date_header:
        return Check(name, "warn", "省平台的回答没有时间，无法比对", "核对本机时间")
    try:
        theirs = parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return Check(name, "warn", "省平台的时间格式无法识别", "核对本机时间")
    # The Date header has whole seconds: count only what exceeds the round trip and rounding.
    middle = sent + (received - sent) / 2
    slack = (received - sent).total_seconds() / 2 + 1
    skew = (middle - theirs).total_seconds()
    off = max(0.0, abs(skew) - slack)
    direction = "快" if skew > 0 else "慢"
    if off > SKEW_FAIL_S:
        return Check(
            name,
            "fail",
            f"本机比省平台{direction} {off:.0f} 秒",
            "校准本机时间（启用 NTP 时间同步）：办理日期、编号和日结都按本机时间",
        )
    if off > SKEW_WARN_S:
        return Check(
            name, "warn", f"本机比省平台{direction} {off:.0f} 秒", "校准本机时间（启用 NTP）"
        )
    return _ok(name, "与省平台相差不到 1 分钟")


# -- all of them -------------------------------------------------------------------------------


def run_checks(settings: Settings, key: bytes | None = None) -> list[Check]:
    """Every check, in the order the README lists them (``key``: an encrypted database's key,
    when a clerk has unlocked it, so its integrity and schema can be read)."""
    db_path = settings.database_path()
    url = str(getattr(settings, "db_url", "") or "")
    checks: list[Check] = []

    def guarded(name: str, check: Callable[[], Check | list[Check]]) -> None:
        try:
            result = check()
        except Exception as exc:  # one broken check must not hide the others
            checks.append(Check(name, "fail", f"检查出错（{type(exc).__name__}：{exc}）"[:200]))
            return
        checks.extend(result if isinstance(result, list) else [result])

    if url.startswith("postgresql"):
        checks.append(_ok("数据库", "PostgreSQL（完整性、WAL、加密由数据库服务器管理，见 README）"))
    elif not db_path.exists():
        checks.append(
            Check(
                "数据库",
                "fail",
                f"{db_path} 不存在",
                "核对配置 db_path，或用 counter-app setup 新建",
            )
        )
    else:
        checks.append(_ok("数据库", str(db_path)))
        guarded("数据库完整性", lambda: check_integrity(db_path, key))
        guarded("数据结构版本", lambda: check_schema(db_path, key))
        guarded("WAL 日志大小", lambda: check_wal(db_path))
        guarded("磁盘剩余空间", lambda: check_disk(db_path))
        guarded("备份", lambda: check_backups(settings, db_path))
        guarded("数据库加密", lambda: check_encryption(settings, db_path))
    for printer in settings.printer_list():
        guarded(f"打印机 {printer.name}", lambda p=printer: check_printer(p))  # type: ignore[misc]
    guarded("省平台", lambda: check_store(settings, db_path))
    return checks


def worst(checks: list[Check]) -> Status:
    """The worst status among the checks."""
    statuses = {c.status for c in checks}
    return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "ok"
