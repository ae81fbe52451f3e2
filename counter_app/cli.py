"""The ``counter-app`` command: the terminal UI, and the JSON rules interface for scripts.

``counter-app rules filing|claim FILE`` reads one JSON request (a path, or ``-`` for stdin) and
prints one JSON result. Exit codes: 0 a decided result (a refusal is a decided result); 2 invalid
input, printed as ``{"errors": [{"field": ..., "message": ...}]}`` naming every bad field; 3 a
broken policy pack or data file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from counter_app.run_settings import command_settings

if TYPE_CHECKING:
    from counter_app.storage.db import Database

app = typer.Typer(
    help="异地就医经办窗口终端应用（counter_app）",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
)
rules_app = typer.Typer(help="规则引擎的 JSON 接口（供脚本调用）", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

EXIT_INVALID = 2
EXIT_CONFIG = 3

PackOption = Annotated[
    Path | None,
    typer.Option("--pack", help="使用本机构自己的策略包文件（TOML），代替内置策略包"),
]


def _emit(payload: Any, code: int = 0) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")
    raise typer.Exit(code)


def _fail(field: str, message: str, code: int = EXIT_INVALID) -> None:
    _emit({"errors": [{"field": field, "message": message}]}, code)


def _read_request(source: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        _fail("(文件)", f"找不到请求文件 {source}")
    except (OSError, UnicodeDecodeError) as exc:
        _fail("(文件)", f"无法读取请求文件 {source}：{exc}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail("(请求)", f"JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）：{exc.msg}")
    if not isinstance(data, dict):
        _fail("(请求)", "请求应为一个 JSON 对象")
    if "today" not in data:
        from counter_app.settings import business_date

        data["today"] = business_date().isoformat()  # the day in China, not the machine's UTC
    return data


def _decide(kind: str, source: str, pack_file: Path | None) -> None:
    from counter_app.domain.errors import InvalidInput
    from counter_app.packs import SHIPPED, PackError
    from counter_app.rules_engine import build_engine

    data = _read_request(source)
    policy = data.get("policy")
    if not isinstance(policy, str) or (pack_file is None and policy not in SHIPPED):
        _fail("policy", f"地区取值无效，应为 {'、'.join(SHIPPED)} 之一")
    try:
        engine = build_engine(str(policy), pack_file)
        result = engine.filing(data) if kind == "filing" else engine.claim(data)
    except InvalidInput as exc:
        _emit({"errors": [e.as_dict() for e in exc.errors]}, EXIT_INVALID)
    except PackError as exc:
        _fail("policy", str(exc), EXIT_CONFIG)
    _emit(result.model_dump(mode="json"))


@rules_app.command("filing")
def rules_filing(
    request: Annotated[str, typer.Argument(help="请求 JSON 文件路径，或 - 表示标准输入")],
    pack: PackOption = None,
) -> None:
    """备案（新增/变更/取消）规则判断。"""
    _decide("filing", request, pack)


@rules_app.command("claim")
def rules_claim(
    request: Annotated[str, typer.Argument(help="请求 JSON 文件路径，或 - 表示标准输入")],
    pack: PackOption = None,
) -> None:
    """零星报销规则判断与待遇计算。"""
    _decide("claim", request, pack)


@rules_app.command("materials")
def rules_materials(
    policy: Annotated[str, typer.Option("--policy", help="地区：jiangsu、beijing、wuhu、hunan")],
    pack: PackOption = None,
) -> None:
    """列出材料代码与名称。"""
    from counter_app.packs import SHIPPED, PackError, load_pack, shipped_pack

    if pack is None and policy not in SHIPPED:
        _fail("policy", f"地区取值无效，应为 {'、'.join(SHIPPED)} 之一")
    try:
        loaded = load_pack(pack) if pack else shipped_pack(policy)
    except PackError as exc:
        _fail("policy", str(exc), EXIT_CONFIG)
    _emit(
        {
            "policy": loaded.pack.id,
            "materials": [{"id": m.id, "label": m.label} for m in loaded.materials],
        }
    )


@rules_app.command("check-pack")
def rules_check_pack(
    path: Annotated[Path, typer.Argument(help="策略包文件（TOML）")],
) -> None:
    """校验一个策略包文件，列出示例参数（需本机构修改的数值）。"""
    from counter_app.packs import PackError, load_pack

    try:
        loaded = load_pack(path)
    except PackError as exc:
        _fail("pack", str(exc), EXIT_CONFIG)
    from counter_app.golive import example_values

    examples = [
        {"key": item.key, "meaning": item.meaning, "citation": item.citation, "values": item.values}
        for item in example_values(loaded)
    ]
    _emit({"ok": True, "policy": loaded.pack.id, "name": loaded.pack.name, "examples": examples})


clerk_app = typer.Typer(help="经办人管理", no_args_is_help=True)
office_app = typer.Typer(help="经办机构管理", no_args_is_help=True)
app.add_typer(clerk_app, name="clerk")
app.add_typer(office_app, name="office")


def _database() -> Database:
    from counter_app.storage.db import open_office_database

    return unlocked(open_office_database(command_settings()))


def unlocked(db: Any) -> Any:
    """An encrypted database unlocked by a clerk's password (or the recovery key) typed at the
    prompt; a wrong one ends the command with a Chinese message (exit 2)."""
    from counter_app.storage.encryption import EncryptionError, unlock_with_prompt

    def ask(label: str, hidden: bool) -> str:
        return str(typer.prompt(label, hide_input=hidden))

    try:
        unlock_with_prompt(db, ask)
    except EncryptionError as exc:
        typer.echo(f"未打开：{exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    return db


@office_app.command("add")
def office_add(
    code: Annotated[str, typer.Option("--code", help="经办机构代码（区县行政区划代码）")],
    name: Annotated[str, typer.Option("--name", help="经办机构名称")],
    pool: Annotated[
        str | None, typer.Option("--pool", help="参保统筹区代码（默认取策略包）")
    ] = None,
) -> None:
    """登记本机构。"""
    from counter_app.packs import shipped_pack
    from counter_app.storage.clerks import ClerkError, ensure_office

    settings = command_settings()
    pack = shipped_pack(settings.policy)
    try:
        office = ensure_office(
            _database(), code, name, settings.policy, pool or pack.pack.home_pool_code
        )
    except ClerkError as exc:
        typer.echo(f"未登记：{exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    typer.echo(f"经办机构 {office.code} {office.name}（{settings.policy}）")


@office_app.command("init-db")
def office_init_db(
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="PostgreSQL 数据库地址 postgresql+psycopg://用户@主机/库名（默认取配置 db_url）",
        ),
    ] = None,
) -> None:
    """建立或升级多窗口共用的 PostgreSQL 机构数据库（表结构、审计保护），可重复执行。"""
    from sqlalchemy.exc import SQLAlchemyError

    from counter_app.storage.db import describe_postgres, open_postgres

    target = url or command_settings().database_url()
    if not target or not target.startswith("postgresql"):
        typer.echo(
            "未指定 PostgreSQL 数据库：用 --url postgresql+psycopg://用户@主机/库名，"
            "或在配置中设置 db_url。单窗口机构用本机数据库文件，无须此命令。",
            err=True,
        )
        raise typer.Exit(EXIT_INVALID)
    try:
        database = open_postgres(target)
        try:
            report = describe_postgres(database)
        finally:
            database.close()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        typer.echo(f"无法建立数据库：{reason}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    for line in report:
        typer.echo(line)


@office_app.command("set")
def office_set(
    code: Annotated[
        str | None, typer.Option("--code", help="经办机构代码（本数据库只有一个机构时可不写）")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="经办机构名称")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="咨询电话")] = None,
    address: Annotated[str | None, typer.Option("--address", help="地址")] = None,
    hours: Annotated[
        str | None, typer.Option("--hours", help="办公时间，如“周一至周五 8:30-17:30”")
    ] = None,
) -> None:
    """设置本机构的名称、电话、地址、办公时间（印在每份文书上）。"""
    from sqlmodel import select

    from counter_app.storage.clerks import ClerkError, set_office_details
    from counter_app.storage.models import Office

    db = _database()
    if code is None:
        with db.read() as session:
            codes = list(session.exec(select(Office.code)))
        if len(codes) != 1:
            _fail("--code", "本数据库有多个经办机构或没有经办机构，请用 --code 指定")
        code = codes[0]
    try:
        office = set_office_details(db, code, name=name, phone=phone, address=address, hours=hours)
    except ClerkError as exc:
        typer.echo(f"未修改：{exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    typer.echo(
        f"经办机构 {office.code} {office.name}；电话 {office.phone or '（未设）'}；"
        f"地址 {office.address or '（未设）'}；办公时间 {office.hours or '（未设）'}"
    )


@clerk_app.command("add")
def clerk_add(
    username: Annotated[str, typer.Option("--username", help="登录用户名")],
    name: Annotated[str, typer.Option("--name", help="姓名")],
    office: Annotated[str, typer.Option("--office", help="经办机构代码")],
    role: Annotated[
        str, typer.Option("--role", help="clerk（经办人）或 supervisor（科长）")
    ] = "clerk",
    password: Annotated[
        str,
        typer.Option(
            "--password",
            prompt="密码",
            hide_input=True,
            confirmation_prompt="再次输入密码",
            help="不写时交互输入（不回显）",
        ),
    ] = "",
) -> None:
    """添加经办人（密码以 argon2 哈希保存）。"""
    from counter_app.storage.clerks import ClerkError, add_clerk

    try:
        add_clerk(_database(), office, username, name, password, role)
    except ClerkError as exc:
        typer.echo(f"未添加：{exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    typer.echo(f"已添加经办人 {username}（{name}）")


@app.command("setup")
def setup_from_file(
    source: Annotated[
        Path,
        typer.Option(
            "--from", help="设置文件（TOML：[office]、[supervisor]、[[printers]]、[store]）"
        ),
    ],
) -> None:
    """按设置文件一次完成新机构设置（与界面中的设置向导相同的检查和提示），供多台电脑批量部署。"""
    from counter_app.office_setup import RECOVERY_ADVICE, SetupError, apply_plan, read_plan
    from counter_app.packs import PackError

    settings = command_settings()
    try:
        plan = read_plan(source)
        report = apply_plan(plan, _database(), settings, settings.now())
    except (SetupError, PackError) as exc:
        typer.echo(f"设置未完成：{exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    report.db.close()
    for line in report.lines:
        typer.echo(line)
    if report.recovery_key:
        typer.echo(RECOVERY_ADVICE)
        typer.echo(f"恢复密钥：{report.recovery_key}")
    typer.echo("设置完成。正式使用前，请科长在界面中（命令面板：示例参数核对）逐项确认示例参数。")


@app.command("text-check")
def text_check(
    clean_now: Annotated[
        bool, typer.Option("--clean", help="把仍含控制字符的值清理掉（每项记入审计日志）")
    ] = False,
) -> None:
    """列出已存文字中清理过的控制字符（供科长核对），以及仍含控制字符的值。"""
    from counter_app.storage.text_cleanup import clean, cleaned, find

    db = _database()
    with db.writer.begin() as connection:
        done = cleaned(connection)
        remaining = clean(connection) if clean_now else find(connection)
    for entry in done:
        typer.echo(
            f"已清理 {entry['at']:%Y-%m-%d %H:%M} {entry['entity']}#{entry['entity_id']} "
            f"{entry['label']}：“{entry['before']}” → “{entry['after']}”"
        )
    for finding in remaining:
        verb = "已清理" if clean_now else "含控制字符"
        typer.echo(
            f"{verb} {finding.table}#{finding.row_id} {finding.label}：“{finding.shown}”"
            f" → “{finding.after}”"
        )
    if not done and not remaining:
        typer.echo("已存文字中没有控制字符")
    raise typer.Exit(EXIT_INVALID if remaining and not clean_now else 0)


# -- encryption at rest (issue 16) -----------------------------------------------------------

db_app = typer.Typer(help="本机构数据库：加密、更换密钥", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("encrypt")
def db_encrypt(
    username: Annotated[str, typer.Option("--username", help="科长的用户名")],
    password: Annotated[
        str, typer.Option("--password", prompt="科长密码", hide_input=True, help="不写时交互输入")
    ] = "",
    backup: Annotated[
        Path | None,
        typer.Option("--backup", help="加密前的明文备份文件（默认在数据库旁 .before-encrypt）"),
    ] = None,
) -> None:
    """把未加密的本机构数据库转为加密（SQLCipher），先做备份；打印一次恢复密钥。"""
    from counter_app.storage.clerks import ClerkError
    from counter_app.storage.encryption import EncryptionError, encrypt_database

    path = command_settings().database_path()
    target = backup or path.with_name(path.name + ".before-encrypt")
    try:
        done = encrypt_database(path, username, password, target)
    except (ClerkError, EncryptionError) as exc:
        typer.echo(f"未加密：{exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    typer.echo(f"数据库已加密：{path}")
    typer.echo(f"恢复密钥（只显示这一次，请抄写或打印后交科长锁柜保管）：{done.recovery_key}")
    typer.echo(
        f"加密前的明文备份：{done.backup}（其中有未加密的个人信息：确认新数据库可用后请删除）"
    )
    typer.echo("其他经办人在科长登录过的窗口上登录一次后，即可用自己的密码打开数据库。")


@db_app.command("rekey")
def db_rekey(
    new_recovery: Annotated[
        bool, typer.Option("--new-recovery", help="同时更换恢复密钥（原恢复密钥作废）")
    ] = False,
) -> None:
    """更换数据库密钥：所有密钥槽重新封装，经办人密码不变（须先关闭所有窗口的程序）。"""
    from counter_app.storage.encryption import EncryptionError, rekey_database

    db = _database()
    try:
        recovery = rekey_database(db, new_recovery=new_recovery)
    except EncryptionError as exc:
        typer.echo(f"未更换：{exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    finally:
        db.close()
    typer.echo("数据库密钥已更换，所有经办人的密钥槽已重新封装。")
    if recovery:
        typer.echo(f"新的恢复密钥（只显示这一次，原恢复密钥已作废）：{recovery}")


def _add_sync_commands() -> None:
    """``counter-app sync …`` (counter_app/sync/commands.py) and ``counter-app province …``
    (counter_app/province/commands.py: the reference server, its ``serve`` needs the extra)."""
    from counter_app.province.commands import province_app
    from counter_app.sync.commands import sync_app

    app.add_typer(sync_app, name="sync")
    app.add_typer(province_app, name="province")


_add_sync_commands()


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    policy: Annotated[
        str | None, typer.Option("--policy", help="本机构所在地区的策略包（默认取配置）")
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="演示模式：单独的演示数据库，自动生成演示数据")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", help="显示程序版本和同步协议版本后退出", is_eager=True)
    ] = False,
) -> None:
    """不带子命令时启动终端界面；--policy、--demo 也作用于子命令（写在子命令之前）。"""
    if version:
        from counter_app import __version__
        from counter_app.sync import protocol

        typer.echo(
            f"counter-app {__version__}（同步协议 {protocol.VERSION}，"
            f"客户端协议版本 {protocol.CLIENT_PROTOCOL}）"
        )
        raise typer.Exit(0)
    from counter_app.private_files import restrict_process

    restrict_process()  # every file this run creates (database, keys, prints) is 0600, folders 0700
    ctx.obj = {"policy": policy} if policy else {}
    if demo:
        ctx.obj["demo"] = True
    if ctx.invoked_subcommand is None:
        from counter_app.launch import start_ui

        start_ui(policy, demo)


def main() -> None:
    """The command line (``counter_app.launch`` starts the UI itself when that is all asked)."""
    app()


# -- printing (issue 5) ------------------------------------------------------------------------


@app.command("print")
def print_document(
    kind: Annotated[
        str,
        typer.Argument(
            help="文书：filing_form 备案表、commitment 承诺书、filing_receipt 备案回执、"
            "settlement_slip 结算单、missing_notice 一次性告知书、claim_receipt 受理回执、"
            "injury_commitment 外伤承诺书"
        ),
    ],
    number: Annotated[str, typer.Argument(help="备案编号或报销编号")],
    out: Annotated[
        Path, typer.Option("--out", help="输出文件：.pdf（A4）、.png（小票预览）、.bin（小票字节）")
    ],
    paper: Annotated[str, typer.Option("--paper", help="小票纸宽：58 或 80")] = "80",
    hanzi: Annotated[
        str, typer.Option("--hanzi", help="小票中文：gb18030、gbk 或 image")
    ] = "gb18030",
    qr: Annotated[str, typer.Option("--qr", help="小票二维码：native 或 image")] = "native",
) -> None:
    """把一份文书输出为 PDF、小票预览 PNG 或小票字节（供脚本使用）。"""
    from counter_app.printing.forms import DOCUMENT_KINDS, FormError
    from counter_app.printing.gate import NotPrintable
    from counter_app.printing.pdf import render_pdf
    from counter_app.printing.receipt import render_preview, render_receipt
    from counter_app.printing.sources import NotFound, build_checked, print_context

    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".png", ".bin"):
        _fail("--out", "输出文件的扩展名应为 .pdf、.png 或 .bin")
    if kind not in DOCUMENT_KINDS:
        _fail("KIND", f"文书种类无效，应为 {'、'.join(DOCUMENT_KINDS)} 之一")
    if paper not in ("58", "80") or hanzi not in ("gb18030", "gbk", "image"):
        _fail("--paper/--hanzi", "纸宽应为 58 或 80，中文方式应为 gb18030、gbk 或 image")
    if qr not in ("native", "image"):
        _fail("--qr", "二维码方式应为 native 或 image")
    settings = command_settings()
    db = _database()
    context = print_context(db, settings)
    try:
        document = build_checked(kind, number, context)
    except (NotFound, FormError) as exc:
        _fail("NUMBER", str(exc))
    except NotPrintable as exc:
        _fail("KIND", str(exc))
    if suffix == ".pdf":
        rendered = render_pdf(document)
    elif suffix == ".png":
        rendered = render_preview(document, paper)  # type: ignore[arg-type]
    else:
        rendered = render_receipt(document, paper, hanzi, qr)  # type: ignore[arg-type]
    out.write_bytes(rendered.data)
    _audit_print(db, kind, number, out)
    for warning in rendered.warnings:
        typer.echo(f"注意：{warning}", err=True)
    typer.echo(f"{document.name} {document.number} → {out}（{len(rendered.data)} 字节）")


def _audit_print(db: Any, kind: str, number: str, out: Path) -> None:
    """A document printed from the command line holds personal data: record who and where."""
    import getpass

    from counter_app.storage.records import audit

    with db.write() as session:
        audit(
            session,
            None,
            "print_cli",
            "document",
            number,
            kind=kind,
            out=str(out),
            os_user=getpass.getuser(),
        )


@app.command("verify")
def verify(
    payload: Annotated[
        str | None, typer.Argument(help="扫描得到的二维码内容（给出 --document 时可省略）")
    ] = None,
    document: Annotated[
        Path | None,
        typer.Option(
            "--document", "-d", help="文书文件（PDF 或文本）：逐项核对纸面内容与二维码签名"
        ),
    ] = None,
) -> None:
    """核验文书二维码：真实有效时退出码 0，伪造或被改动时 2。

    显示打印时的关键内容（姓名、身份证号、状态、日期、金额）与记录现状；给出文书文件时，
    纸面上的金额、日期等与打印时不符即不通过。
    """
    from counter_app.printing.paper import PaperError, paper_text, payload_in
    from counter_app.printing.verify import verify_payload

    settings = command_settings()
    text = None
    if document is not None:
        try:
            text = paper_text(document)
        except PaperError as exc:
            typer.echo(str(exc))
            raise typer.Exit(EXIT_INVALID) from None
        payload = payload or payload_in(text)
    if not payload:
        typer.echo("没有二维码内容：请给出扫描结果，或在文书上找不到“扫码核验”一行")
        raise typer.Exit(EXIT_INVALID)
    key = settings.qr_key.get_secret_value() if settings.qr_key else None
    result = verify_payload(
        _database(),
        payload,
        key,
        today=settings.current_date(),
        forms_dir=settings.forms_dir,
        paper_text=text,
        pack_file=settings.pack_file,
    )
    typer.echo(result.message)
    raise typer.Exit(0 if result.genuine else EXIT_INVALID)


# -- backups (issue 16) --------------------------------------------------------------------------

backup_app = typer.Typer(
    help="本机构数据库的备份：立即备份、列出、核对、恢复", no_args_is_help=True
)
app.add_typer(backup_app, name="backup")


@backup_app.command("now")
def backup_now_command() -> None:
    """立即备份到配置的每个位置（核对完整性，按保留天数删除过期备份）。"""
    from counter_app.storage.backup import BackupError, backup_now, pg_backup

    settings = command_settings()
    url = str(getattr(settings, "db_url", "") or "")
    if url.startswith("postgresql"):
        try:
            done = pg_backup(url, settings.backup_places()[0])
        except BackupError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(EXIT_CONFIG) from None
        typer.echo(f"已用 pg_dump 备份到 {done}")
        return
    key = _database_key(settings.database_path())
    try:
        outcome = backup_now(
            settings.database_path(),
            settings.backup_places(),
            settings.backup.keep_days,
            key=key,
        )
    except BackupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    for line in outcome.lines():
        typer.echo(line)
    raise typer.Exit(0 if outcome.ok and not outcome.failed else EXIT_CONFIG)


def _database_key(db_path: Path) -> bytes | None:
    """The key of an encrypted office database, unlocked at the prompt like other commands
    (``None`` for a plain or missing database); the database's engines are closed again, so a
    restore does not find it in use."""
    from counter_app.storage.encryption import is_encrypted

    if not is_encrypted(db_path):
        return None
    db = _database()
    try:
        return db.key
    finally:
        db.close()


def _backup_key(file: Path) -> bytes:
    """The key of an encrypted backup from the key-slot file taken with it (the database it
    replaces is missing or plain): a clerk's password of that time, or the recovery key."""
    from counter_app.storage.keyslots import KeySlotError, KeySlots, slot_file_path

    username = str(typer.prompt("备份已加密。用户名（用恢复密钥时输入 recovery）")).strip()
    secret = str(typer.prompt("恢复密钥" if username == "recovery" else "密码", hide_input=True))
    try:
        slots = KeySlots.load(slot_file_path(file))
        if username == "recovery":
            return slots.unlock_recovery(secret)
        return slots.unlock(username, secret)
    except KeySlotError as exc:
        typer.echo(f"未打开：{exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None


def _opens(file: Path, key: bytes) -> bool:
    """Whether ``key`` opens the encrypted file."""
    from counter_app.storage.encryption import EncryptionError, check_key

    try:
        check_key(file, key)
    except EncryptionError:
        return False
    return True


@backup_app.command("list")
def backup_list() -> None:
    """列出各位置的备份（最新的在前）。"""
    from counter_app.settings import CHINA_TIME
    from counter_app.storage.backup import age_text, list_backups, newest

    settings = command_settings()
    db_path, places = settings.database_path(), settings.backup_places()
    for place in places:
        state = "可用" if place.is_dir() and os.access(place, os.W_OK) else "✘ 不可达或不可写"
        typer.echo(f"位置 {place}：{state}")
    found = list_backups(db_path, places)
    for backup in found:
        when = backup.taken_at.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(f"{when}  {backup.size / 1_048_576:8.1f} MB  {backup.path}")
    typer.echo(f"共 {len(found)} 份；{age_text(newest(db_path, places))}")


@backup_app.command("verify")
def backup_verify(
    file: Annotated[
        Path | None, typer.Argument(help="要核对的备份文件（不写时核对每个位置的全部备份）")
    ] = None,
) -> None:
    """核对备份文件：SQLite 完整性检查，并确认是本应用的经办机构数据库。"""
    from counter_app.storage.backup import check_file, list_backups

    settings = command_settings()
    files = (
        [file]
        if file
        else [b.path for b in list_backups(settings.database_path(), settings.backup_places())]
    )
    if not files:
        typer.echo("没有找到备份", err=True)
        raise typer.Exit(EXIT_INVALID)
    from counter_app.storage.encryption import is_encrypted

    key = _database_key(settings.database_path()) if any(is_encrypted(f) for f in files) else None
    bad = 0
    for path in files:
        problem = check_file(path, key)
        bad += problem is not None
        typer.echo(f"✘ {path}：{problem}" if problem else f"OK {path}")
    raise typer.Exit(EXIT_INVALID if bad else 0)


@backup_app.command("restore")
def backup_restore(
    file: Annotated[Path, typer.Argument(help="要恢复的备份文件")],
    yes: Annotated[bool, typer.Option("--yes", help="不再询问，直接恢复")] = False,
) -> None:
    """用备份替换本机构数据库（先关闭所有窗口；现有数据库另存在旁边）。"""
    from counter_app.storage.backup import BackupError, check_file, looks_encrypted, restore
    from counter_app.storage.db import Database
    from counter_app.storage.encryption import is_encrypted
    from counter_app.storage.records import audit

    settings = command_settings()
    db_path = settings.database_path()
    key = _database_key(db_path) if is_encrypted(db_path) else None
    backup_key = key
    if looks_encrypted(file) and (key is None or not _opens(file, key)):
        # A lost (or a plain) database, or a backup from before ``db rekey``: the backup's own
        # slots give its key.
        backup_key = _backup_key(file)
    problem = check_file(file, backup_key)
    if problem:
        typer.echo(f"备份文件 {file} 不能用于恢复：{problem}", err=True)
        raise typer.Exit(EXIT_INVALID)
    if not yes and not typer.confirm(
        f"用 {file} 替换 {db_path}？请先关闭本机构所有窗口的程序", default=False
    ):
        raise typer.Exit(1)
    try:
        aside = restore(file, db_path, key=key, backup_key=backup_key)
    except BackupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_INVALID) from None
    # A backup of an older version is upgraded here (an encrypted one with the same key).
    db = Database.open(db_path, key=backup_key if is_encrypted(db_path) else None)
    with db.write() as session:
        audit(session, None, "backup_restore", "database", str(db_path), file=str(file))
    db.close()
    typer.echo(f"已从 {file} 恢复 {db_path}")
    if aside:
        typer.echo(f"原数据库另存为 {aside}")
    typer.echo(
        "备份之后办理的业务不在恢复的数据库中：下次同步时编号自动接续省平台，"
        "再运行 counter-app sync recover 从省平台取回已上传的备案与报销"
    )


# -- health check (issue 16) ---------------------------------------------------------------------


@app.command("doctor")
def doctor_command(
    unlock: Annotated[
        bool,
        typer.Option("--unlock", help="数据库已加密时输入经办人密码（或恢复密钥），以检查完整性"),
    ] = False,
) -> None:
    """系统检查：数据库、备份、加密、打印机、省平台、时钟；每项 OK/⚠/✘ 及处理办法。

    退出码：0 全部正常或只有 ⚠，2 有 ✘。
    """
    from counter_app.doctor import run_checks, worst

    settings = command_settings()
    if settings.demo and not settings.database_path().exists():
        # A fresh demo office is created as the counter creates it on its first start.
        from counter_app.rules_engine import build_engine
        from counter_app.storage.db import Database
        from counter_app.storage.demo import seed_demo

        db = Database.open(settings.database_path())
        seed_demo(db, build_engine(settings.policy, settings.pack_file), settings.current_date())
        db.close()
    url = str(getattr(settings, "db_url", "") or "")
    key = _database_key(settings.database_path()) if unlock and not url else None
    checks = run_checks(settings, key)
    for check in checks:
        typer.echo(check.line())
    counts = {m: sum(c.mark == m for c in checks) for m in ("OK", "⚠", "✘")}
    typer.echo(f"共 {len(checks)} 项：OK {counts['OK']}，⚠ {counts['⚠']}，✘ {counts['✘']}")
    raise typer.Exit(EXIT_INVALID if worst(checks) == "fail" else 0)
