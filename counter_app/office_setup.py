"""Setting up a new office: one set of checks for the set-up screens and ``counter-app setup``.

Each step is a function that checks its input (messages in Chinese, ``SetupError``) and writes it
to the office database or to the settings file: the region and office (``office add`` and
``office set``'s code), the first supervisor (``add_clerk``), printers (with a test print through
the real renderer and ``printing.printers.send``), the provincial store (a connection test through
the sync client's ``/v1/hello``), and the place for backups (``[backup] places``). The screens
call the steps one by one; ``apply_plan`` runs them all from an ``office.toml``.

The office and its first supervisor are created together by ``found_office``: when the settings
ask for an encrypted database (a real office, by default) it is created encrypted there, with the
supervisor's key slot, and the recovery key is handed back to be shown once.

The settings file is written with tomlkit (comments kept) and mode 0600: it may hold the token.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from counter_app.domain.errors import CounterError
from counter_app.settings import PrinterConfig, Settings, config_file

if TYPE_CHECKING:
    from counter_app.domain.regions import RegionTable
    from counter_app.storage.db import Database


class SetupError(CounterError, ValueError):
    """A set-up input that cannot be used; the message is Chinese and says what to do."""


# -- region and office ----------------------------------------------------------------------


@dataclass(frozen=True)
class OfficeChoice:
    """A county-level office of the GB/T 2260 list and the home pool it belongs to."""

    code: str
    name: str
    pool_code: str
    pool_name: str


def region_names() -> dict[str, str]:
    """The shipped policy packs: id → the region's name."""
    from counter_app.packs import available_policies, shipped_pack

    return {policy: shipped_pack(policy).pack.name for policy in available_policies()}


def _regions() -> RegionTable:
    from counter_app.regions_data import load_region_table

    return load_region_table()


def _choice(regions: RegionTable, code: str) -> OfficeChoice:
    pool = regions.normalise(code, "经办机构代码")
    name = regions.county_name(code) or pool.name
    return OfficeChoice(code=code, name=name, pool_code=pool.code, pool_name=pool.name)


def find_offices(policy: str, text: str, limit: int = 20) -> list[OfficeChoice]:
    """The counties (and cities) of the pack's province whose code or name matches ``text``."""
    from counter_app.packs import shipped_pack

    text = text.strip()
    if not text:
        return []
    regions = _regions()
    province = shipped_pack(policy).pack.province_code
    codes: list[str] = []
    if text.isdigit():
        if len(text) == 6 and text in regions:
            codes = [text]
        else:
            prefix = text
            for city in [province, *(r.code for r in regions.cities(province))]:
                codes += [c for c in regions.counties_of(city) if c.startswith(prefix)]
    else:
        for city in [province, *(r.code for r in regions.cities(province))]:
            codes += [
                c for c in regions.counties_of(city) if text in (regions.county_name(c) or "")
            ]
    found: list[OfficeChoice] = []
    for code in codes:
        try:
            if regions.province_of(code).code != province:
                continue
            found.append(_choice(regions, code))
        except ValueError:
            continue
        if len(found) >= limit:
            break
    return found


def check_office_code(policy: str, code: str) -> OfficeChoice:
    """The office of this code, which must lie in the pack's province."""
    from counter_app.domain.regions import RegionError
    from counter_app.packs import PackError, shipped_pack

    try:
        pack = shipped_pack(policy).pack
    except PackError:
        raise SetupError(f"没有地区“{policy}”的策略包，可选：{'、'.join(region_names())}") from None
    regions = _regions()
    code = code.strip()
    try:
        province = regions.province_of(code, "经办机构代码")
        choice = _choice(regions, code)
    except RegionError as exc:
        raise SetupError(str(exc)) from None
    if province.code != pack.province_code:
        own = regions.get(pack.province_code)
        raise SetupError(
            f"经办机构代码 {code} 属于{province.name}，与所选策略包"
            f"（{pack.name}，{own.name if own else pack.province_code}）的省份不符"
        )
    return choice


@dataclass(frozen=True)
class OfficeDetails:
    """The office as the set-up creates it."""

    policy: str
    code: str
    name: str
    phone: str = ""
    address: str = ""
    hours: str = ""


def create_office(db: Database, details: OfficeDetails, settings_path: Path | None = None) -> str:
    """Create the office (``office add``) and set its details (``office set``); the policy is
    written to the settings file. Returns the home pool's code."""
    from counter_app.storage.clerks import ClerkError, ensure_office, set_office_details

    choice = check_office_code(details.policy, details.code)
    name = details.name.strip() or choice.name
    try:
        ensure_office(db, choice.code, name, details.policy, choice.pool_code)
        set_office_details(
            db,
            choice.code,
            name=name,
            phone=details.phone,
            address=details.address,
            hours=details.hours,
        )
    except ClerkError as exc:
        raise SetupError(str(exc)) from None
    write_settings({"policy": details.policy, "office_name": name}, settings_path)
    return choice.pool_code


def office_code(db: Database) -> str | None:
    """The code of the database's one office (None when it has none yet)."""
    from sqlmodel import select

    from counter_app.storage.models import Office

    with db.read() as session:
        codes = list(session.exec(select(Office.code)))
    return codes[0] if len(codes) == 1 else None


# -- the first supervisor, and the database encrypted with their key slot --------------------


def create_supervisor(
    db: Database, office: str, name: str, username: str, password: str, again: str
) -> int:
    """The office's first supervisor (argon2 through ``add_clerk``); the password twice."""
    from counter_app.storage.clerks import ClerkError, add_clerk, check_new_password

    try:
        check_new_password(password, again)
        return add_clerk(db, office, username, name, password, role="supervisor")
    except ClerkError as exc:
        raise SetupError(str(exc)) from None


@dataclass(frozen=True)
class SupervisorDetails:
    """The first supervisor as the set-up creates them (the password typed twice)."""

    name: str
    username: str
    password: str
    again: str


@dataclass(frozen=True)
class Founded:
    """What ``found_office`` made: the database to use from now on (a new, encrypted one when
    encryption is on: the one passed in is closed), the supervisor and the recovery key."""

    db: Database
    supervisor_id: int
    #: Shown (and printed) once for the supervisor; stored nowhere. None: not newly encrypted.
    recovery_key: str | None


def _encrypts(db: Database, settings: Settings) -> bool:
    """Whether the set-up makes this database encrypted: the settings ask for it and it is a
    plain file (a PostgreSQL office database, or an already encrypted file, is left as it is)."""
    return settings.encrypts_new_database() and db.path is not None and not db.encrypted


def found_office(
    db: Database,
    settings: Settings,
    office: OfficeDetails | None,
    supervisor: SupervisorDetails,
    settings_path: Path | None = None,
) -> Founded:
    """Create the office (``office`` None: it exists already) and its first supervisor.

    With encryption on, the database ends up encrypted with the supervisor's key slot: an empty
    one is closed and replaced by a new encrypted database before anything is written (no plain
    copy of the office ever exists); one that already holds the office is converted after the
    supervisor is added (``encrypt_database``; its plain copy is removed). Every input is checked
    first, so a refused set-up leaves the database as it was.
    """
    from counter_app.storage import encryption
    from counter_app.storage.clerks import ClerkError, check_new_password

    if office is not None:
        check_office_code(office.policy, office.code)
    try:
        check_new_password(supervisor.password, supervisor.again)
    except ClerkError as exc:
        raise SetupError(str(exc)) from None
    username = supervisor.username.strip()
    if not username:
        raise SetupError("用户名不能为空")
    recovery: str | None = None
    if _encrypts(db, settings) and office is not None and office_code(db) is None:
        assert db.path is not None
        path = db.path
        db.close()
        try:
            db, recovery = encryption.create_encrypted(path, username, supervisor.password)
        except encryption.EncryptionError as exc:
            raise SetupError(str(exc)) from None
    if office is not None:
        create_office(db, office, settings_path)
    code = office.code if office is not None else office_code(db)
    if code is None:
        raise SetupError("数据库中还没有经办机构，请先完成“地区与经办机构”一步")
    clerk_id = create_supervisor(
        db, code, supervisor.name, username, supervisor.password, supervisor.again
    )
    if _encrypts(db, settings):
        db, recovery = _convert(db, username, supervisor.password)
    return Founded(db, clerk_id, recovery)


def _convert(db: Database, username: str, password: str) -> tuple[Database, str]:
    """Encrypt a plain database that already held the office (``db encrypt``'s conversion),
    and open it with the supervisor's slot. The conversion's plain copy holds nothing a backup
    needs (nobody could sign in yet) and is removed: it would leave the office unencrypted."""
    from counter_app.storage import encryption
    from counter_app.storage.db import Database

    assert db.path is not None
    path = db.path
    db.close()
    backup = path.with_name(path.name + ".before-encrypt")
    try:
        done = encryption.encrypt_database(path, username, password, backup)
    except encryption.EncryptionError as exc:
        raise SetupError(str(exc)) from None
    finally:
        backup.unlink(missing_ok=True)
    opened = Database.open(path)
    encryption.unlock_for_sign_in(opened, username, password)
    return opened, done.recovery_key


RECOVERY_ADVICE = (
    "数据库已加密。这是恢复密钥，只显示这一次，程序不保存：请立即抄写或打印，"
    "交科长锁柜保管。所有经办人都忘记密码时，只有它能打开数据库。"
)


# -- the settings file -----------------------------------------------------------------------


def write_settings(values: dict[str, Any], path: Path | None = None) -> Path:
    """Merge ``values`` (nested dicts for sections, lists of dicts for ``[[printers]]``) into
    the settings file, keeping its comments; the file is (re)written with mode 0600."""
    import tomlkit

    path = path or config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    document = (
        tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    )
    for key, value in values.items():
        if isinstance(value, dict):
            table = document.get(key)
            if table is None:
                table = tomlkit.table()
                document[key] = table
            for inner, item in value.items():
                table[inner] = item
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            array = tomlkit.aot()
            for item in value:
                array.append(tomlkit.item(item))
            document[key] = array
        else:
            document[key] = value
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(tomlkit.dumps(document))
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path


def read_settings_file(path: Path | None = None) -> dict[str, Any]:
    """The settings file as plain data (empty when there is none)."""
    path = path or config_file()
    if not path.exists():
        return {}
    return tomllib.loads(path.read_text(encoding="utf-8"))


# -- printers ----------------------------------------------------------------------------------

PRINTER_KINDS = {
    "network": "网口（地址 主机:端口）",
    "usb": "USB（地址 厂商ID:产品ID）",
    "serial": "串口（地址 /dev/ttyUSB0）",
    "system": "系统打印（CUPS 队列名）",
    "file": "保存为文件（地址为文件夹）",
}
PAPERS = {"58": "58 毫米小票", "80": "80 毫米小票", "a4": "A4"}
HANZI_MODES = {"gb18030": "GB18030 汉字模式", "gbk": "GBK 汉字模式", "image": "按图像打印"}


def check_printer(values: dict[str, Any]) -> PrinterConfig:
    """One printer from the form or the file, checked by the settings' own model."""
    values = {key: value for key, value in values.items() if value not in (None, "")}
    values.setdefault("name", "打印机")
    if not str(values.get("address", "")).strip() and values.get("kind") != "system":
        raise SetupError("请填写打印机地址")
    values.setdefault("address", "")
    try:
        return PrinterConfig(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SetupError(f"打印机设置 {where} 不正确：{first['msg']}") from None


def render_test_page(printer: PrinterConfig, office_name: str, now: datetime) -> tuple[bytes, str]:
    """A short receipt (58/80 mm) or an A4 test page, rendered as the real documents are."""
    from counter_app.printing.document import Document, Line, Title

    paper = PAPERS[printer.paper]
    document = Document(
        kind="test_page",
        name="打印测试页",
        number=f"TEST-{now:%Y%m%d%H%M%S}",
        blocks=(
            Title("打印测试页"),
            Line(office_name, align="center"),
            Line(f"打印机：{printer.name}（{paper}，{HANZI_MODES[printer.hanzi]}）"),
            Line("中文测试：异地就医备案 医疗保障 ￥12.50"),
            Line(f"时间：{now:%Y-%m-%d %H:%M}"),
            Line("看到以上中文完整无乱码，即设置正确。"),
        ),
        qr_payload=f"TEST {now:%Y%m%d%H%M%S}",
    )
    if printer.paper == "a4":
        from counter_app.printing.pdf import render_pdf

        return render_pdf(document).data, f"{document.number}.pdf"
    from counter_app.printing.receipt import render_receipt

    rendered = render_receipt(document, printer.paper, printer.hanzi, printer.qr)
    return rendered.data, f"{document.number}.bin"


def print_test_page(printer: PrinterConfig, office_name: str, now: datetime) -> str:
    """Send the test page; where it went. Raises ``SetupError`` with the printer's Chinese error."""
    from counter_app.printing.printers import PrinterError, send

    data, filename = render_test_page(printer, office_name, now)
    try:
        return send(printer, data, filename)
    except PrinterError as exc:
        raise SetupError(f"测试打印失败：{exc}") from None


def save_printers(printers: list[PrinterConfig], settings_path: Path | None = None) -> Path:
    """Write the office's printers (``[[printers]]``) to the settings file."""
    rows = [printer.model_dump(mode="json", exclude_defaults=True) for printer in printers]
    return write_settings({"printers": rows}, settings_path)


# -- the provincial store -----------------------------------------------------------------------


@dataclass(frozen=True)
class StoreCheck:
    """What the connection test found."""

    office: str
    key_id: str
    certificate: str


def _certificate(url: str, timeout: float) -> str:
    """The store's TLS certificate, as the supervisor compares it with the store's letter."""
    import hashlib
    import ssl
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme != "https":
        return "明文连接（仅限本机或隔离网络），无证书"
    pem = ssl.get_server_certificate((parts.hostname or "", parts.port or 443), timeout=timeout)
    der = ssl.PEM_cert_to_DER_cert(pem)
    digest = hashlib.sha256(der).hexdigest().upper()
    pairs = ":".join(digest[i : i + 2] for i in range(0, 16, 2))
    return f"证书 SHA-256 指纹 {pairs}…"


def check_store(
    url: str, token: str, office: str, ca_file: Path | None = None, timeout: float = 10.0
) -> StoreCheck:
    """``/v1/hello`` with this token: the store must answer for this office's code."""
    from counter_app.sync.client import ClientConfig, ProvinceClient, SyncError

    url, token = url.strip(), token.strip()
    if not url or not token:
        raise SetupError("请填写省平台地址和本机构令牌")
    try:
        client = ProvinceClient(
            ClientConfig(url=url, token=token, timeout=timeout, attempts=1, ca_file=ca_file)
        )
    except SyncError as exc:
        raise SetupError(str(exc)) from None
    try:
        hello = client.hello()
    except SyncError as exc:
        # The client's retry advice is about pending events; here only the cause matters.
        cause = str(exc).split("，已重试")[0]
        raise SetupError(f"连接失败：{cause}。请核对地址、网络和防火墙") from None
    finally:
        client.close()
    if hello.get("office") != office:
        raise SetupError(
            f"令牌属于经办机构 {hello.get('office')}，与本机构 {office} 不符，请核对令牌"
        )
    try:
        certificate = _certificate(url, timeout)
    except OSError as exc:
        certificate = f"无法读取证书：{exc}"
    return StoreCheck(office=office, key_id=str(hello.get("key_id") or ""), certificate=certificate)


def save_store(url: str, token: str, settings_path: Path | None = None) -> Path:
    """Write the store's address and token to the settings file (mode 0600)."""
    return write_settings({"sync": {"url": url.strip(), "token": token.strip()}}, settings_path)


# -- backups -----------------------------------------------------------------------------------


def save_backup_place(place: str, db_path: Path, settings_path: Path | None = None) -> Path:
    """The folder backups go to: created (0700) and written as the backups' ``[backup] places``.
    It may not be the database's own folder: a backup beside the database is lost with its
    disk."""
    if not place.strip():
        raise SetupError("请填写备份文件夹")
    folder = Path(place.strip()).expanduser()
    if folder.resolve() == db_path.parent.resolve():
        raise SetupError("备份文件夹不能是数据库所在的文件夹，请选另一块磁盘或 U 盘上的文件夹")
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = folder / ".counter-app-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SetupError(f"备份文件夹 {folder} 不可写：{exc.strerror or exc}") from None
    write_settings({"backup": {"places": [str(folder)]}}, settings_path)
    return folder


# -- the whole set-up from a file ---------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanOffice(_Strict):
    """[office] of office.toml."""

    policy: str
    code: str
    name: str = ""
    phone: str = ""
    address: str = ""
    hours: str = ""


class PlanSupervisor(_Strict):
    """[supervisor] of office.toml (the password once: the file is the confirmation)."""

    name: str
    username: str
    password: str


class PlanStore(_Strict):
    """[store] of office.toml."""

    url: str
    token: str
    ca_file: Path | None = None
    test: bool = True


class PlanPrinter(_Strict):
    """[[printers]] of office.toml; ``test`` prints the test page."""

    name: str = "打印机"
    kind: Literal["network", "usb", "serial", "file", "system"]
    address: str = ""
    paper: Literal["58", "80", "a4"] = "80"
    hanzi: Literal["gb18030", "gbk", "image"] = "gb18030"
    test: bool = False


class SetupPlan(_Strict):
    """Everything ``counter-app setup --from office.toml`` sets up; only [office] is required."""

    office: PlanOffice
    supervisor: PlanSupervisor | None = None
    printers: list[PlanPrinter] = Field(default_factory=list)
    store: PlanStore | None = None
    #: The folder backups go to (written as ``[backup] places``).
    backup_place: str = ""


def read_plan(path: Path) -> SetupPlan:
    """The plan in ``path``; a broken file gives a message naming the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SetupError(f"无法读取 {path}：{exc}") from None
    try:
        return SetupPlan.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SetupError(f"{path}：{where} {first['msg']}") from None


@dataclass
class PlanReport:
    """What ``apply_plan`` did, line by line (Chinese), and the database it leaves open."""

    db: Database
    lines: list[str] = field(default_factory=list)
    #: The new encrypted database's recovery key, to print once (None: not newly encrypted).
    recovery_key: str | None = None


def apply_plan(
    plan: SetupPlan,
    db: Database,
    settings: Settings,
    now: datetime,
    settings_path: Path | None = None,
) -> PlanReport:
    """Run every step of the plan in the screens' order; stops at the first ``SetupError``.

    Ends by creating the office's own policy pack (its example values are confirmed later, by the
    supervisor, in the go-live check)."""
    db_path = settings.database_path()
    office = plan.office
    details = OfficeDetails(
        office.policy, office.code, office.name, office.phone, office.address, office.hours
    )
    report = PlanReport(db)
    if plan.supervisor is not None:
        s = plan.supervisor
        founded = found_office(
            db,
            settings,
            details,
            SupervisorDetails(s.name, s.username, s.password, s.password),
            settings_path,
        )
        db = report.db = founded.db
        report.recovery_key = founded.recovery_key
        report.lines.append(f"经办机构 {office.code} 已登记（{region_names()[office.policy]}）")
        report.lines.append(f"科长账户 {s.username}（{s.name}）已创建")
        if founded.recovery_key:
            report.lines.append("数据库已加密（科长的密码可打开）")
    else:
        create_office(db, details, settings_path)
        report.lines.append(f"经办机构 {office.code} 已登记（{region_names()[office.policy]}）")
        if _encrypts(db, settings):
            report.lines.append("数据库尚未加密：创建科长账户时加密（设置向导或再次运行本命令）")
    if plan.printers:
        printers = [
            check_printer(p.model_dump(exclude={"test"}, exclude_none=True)) for p in plan.printers
        ]
        name = office.name or check_office_code(office.policy, office.code).name
        for spec, printer in zip(plan.printers, printers, strict=True):
            if spec.test:
                report.lines.append(
                    f"打印机“{printer.name}”测试页已发送：{print_test_page(printer, name, now)}"
                )
        save_printers(printers, settings_path)
        report.lines.append(f"已保存 {len(printers)} 台打印机")
    if plan.store is not None:
        if plan.store.test:
            found = check_store(plan.store.url, plan.store.token, office.code, plan.store.ca_file)
            report.lines.append(f"省平台连接正常（{found.certificate}）")
        save_store(plan.store.url, plan.store.token, settings_path)
        report.lines.append("省平台地址和令牌已保存")
    if plan.backup_place:
        folder = save_backup_place(plan.backup_place, db_path, settings_path)
        report.lines.append(f"备份文件夹：{folder}")
    from counter_app.golive import ensure_office_pack, example_values
    from counter_app.packs import load_pack

    settings.policy = office.policy
    pack_file = ensure_office_pack(db, settings, settings_path)
    left = len(example_values(load_pack(pack_file)))
    report.lines.append(f"本机构策略包：{pack_file}（还有 {left} 项示例参数待确认）")
    return report
