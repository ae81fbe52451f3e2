"""``counter-app sync …`` (the office) and ``counter-app province …`` (the reference server).

Everything heavy is imported inside the commands, so ``counter-app --help`` stays fast.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

sync_app = typer.Typer(help="与省平台的日终同步（本机构）", no_args_is_help=True)
province_app = typer.Typer(help="省平台参考实现（服务端）", no_args_is_help=True)

EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_BUSY = 4

DbOption = Annotated[Path | None, typer.Option("--db", help="本机构数据库文件（默认取配置）")]
ProvinceDb = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="省平台数据库 URL：sqlite:///province.db（默认）或 postgresql+psycopg://…",
    ),
]


def _settings():  # type: ignore[no-untyped-def]
    from counter_app.run_settings import command_settings

    return command_settings()


def _office_db(path: Path | None):  # type: ignore[no-untyped-def]
    from counter_app.storage.db import Database
    from counter_app.storage.encryption import EncryptionError, unlock_with_prompt

    db = Database.open(path) if path else _settings().open_database()
    try:  # an encrypted database: a clerk's password (or the recovery key) at the prompt
        unlock_with_prompt(db, lambda label, hidden: str(typer.prompt(label, hide_input=hidden)))
    except EncryptionError as exc:
        typer.echo(f"未打开：{exc}", err=True)
        raise typer.Exit(2) from None
    return db


def _store(url: str | None):  # type: ignore[no-untyped-def]
    from counter_app.sync.store import ProvinceStore, default_url

    return ProvinceStore(url or default_url())


def _refuse(message: str, code: int = EXIT_INVALID) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


F = TypeVar("F", bound=Callable[..., Any])


def _clean(command: F) -> F:
    """Every failure ends as a Chinese message and a non-zero exit, never a traceback.

    Refusals the code names (a bad file, a missing registration, a store refusal) exit 2; anything
    else exits 1 with its kind only, so no secret or personal data in an exception's text leaks.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from counter_app.sync.client import SyncBusy, SyncError
        from counter_app.sync.protocol import SignatureError
        from counter_app.sync.registration import RegistrationError
        from counter_app.sync.store import StoreError

        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except SyncBusy as exc:
            _refuse(f"未同步：{exc}", EXIT_BUSY)
        except SyncError as exc:
            _refuse(f"同步未完成：{exc}", EXIT_FAILED)
        except (SignatureError, RegistrationError, StoreError) as exc:
            _refuse(f"未完成：{exc}")
        except LookupError as exc:
            _refuse(f"未完成：{exc.args[0] if exc.args else '找不到所需的记录'}")
        except Exception as exc:  # the last line: no traceback reaches the operator
            _refuse(f"命令未完成：出现意外错误（{type(exc).__name__}）", EXIT_FAILED)

    return wrapper  # type: ignore[return-value]


def _key_folder(database: Any) -> Path:
    from counter_app.sync.registration import key_dir

    return key_dir(database.path, _settings().sync.key_dir)


# -- office side --------------------------------------------------------------------------


@sync_app.command("run")
@_clean
def sync_run(db: DbOption = None) -> None:
    """先核对省平台与令牌，再上传待上传事件、下载线上申请与更新包、对账。"""
    from counter_app.rules_engine import build_engine
    from counter_app.sync.client import run_sync
    from counter_app.sync.pulled import with_pulled_calendar

    settings = _settings()
    database = _office_db(db)
    engine = with_pulled_calendar(build_engine(settings.policy, settings.pack_file), database)

    def progress(done: int, total: int, stage: str) -> None:
        if total:
            typer.echo(f"{stage} {done}/{total}")

    report = run_sync(
        database, engine, settings.sync.client_config(), settings.current_date(), progress
    )
    if report.interrupted:
        typer.echo(f"上次有 {report.interrupted} 次同步没有正常结束，已记为中断")
    if report.alignment.restored:
        typer.echo(report.alignment.message())
    tally, pulled = report.tally, report.pulled
    typer.echo(
        f"上传：接收 {tally.accepted}，已有 {tally.duplicate}，退回 {tally.rejected}；"
        f"下载：线上申请 {pulled.applications}，其他 {pulled.inbox}，更新包 {pulled.packages}"
    )
    for refusal in pulled.refused:
        typer.echo(f"更新包未导入：{refusal}")
    if report.resent:
        typer.echo(f"对账发现省平台缺少 {report.resent} 个事件，已补传")
    for refused in report.resend_refused:
        typer.echo(f"补传被省平台拒收（事件仍记为已上传，请联系省平台）：{refused}")
    if report.reconciled:
        typer.echo(f"对账一致：省平台共有本机构事件 {report.server_count} 个")
    else:
        hint = (
            f"本数据库缺少省平台已有的 {report.missing_here} 个本机构事件，"
            "运行 counter-app sync recover 取回"
            if report.missing_here
            else "请联系省平台"
        )
        _refuse(f"对账不符：第 {report.mismatched_blocks} 批，{hint}", EXIT_FAILED)
    if tally.rejected:
        typer.echo("有被退回的事件，请在同步界面处理（counter-app sync problems）")


@sync_app.command("recover")
@_clean
def sync_recover(db: DbOption = None) -> None:
    """从省平台取回本机构已上传、但本数据库没有的记录（数据库从备份恢复后使用）。"""
    from counter_app.sync.client import recover

    lines = recover(_office_db(db), _settings().sync.client_config())
    if not lines:
        typer.echo("本数据库不缺省平台上的本机构记录，无需恢复")
        return
    typer.echo(f"已从省平台取回 {len(lines)} 条记录：")
    for line in lines:
        typer.echo(f"  {line}")


def _announce(database: Any, change: Any, token: Any, url: str, out: Path | None) -> None:
    """Tell the store the office's new public key: online when possible, else a file."""
    from counter_app.sync.client import ProvinceClient, SyncError
    from counter_app.sync.registration import write_announcement

    settings = _settings()
    if url and out is None:
        config = settings.sync.client_config()
        try:
            client = ProvinceClient(
                type(config)(
                    url=url,
                    token=token,
                    timeout=config.timeout,
                    attempts=config.attempts,
                    ca_file=config.ca_file,
                    allow_insecure=config.allow_insecure,
                )
            )
            try:
                client.announce_key(change.announcement)
            finally:
                client.close()
            typer.echo(f"已把本机构的新公钥（{change.key_id}）报送省平台")
            return
        except SyncError as exc:
            typer.echo(f"未能在线报送公钥：{exc}", err=True)
    from counter_app.sync import outbox

    name = f"office-key-{outbox.office_of(database).code}.json"
    # Beside the database file; a PostgreSQL office database has none: in the key folder.
    target = out or (
        database.path.with_name(name) if database.path else _key_folder(database) / name
    )
    write_announcement(target, change)
    typer.echo(
        f"本机构公钥文件已写入 {target}：请交省平台导入（province office-key {target.name}）"
    )


@sync_app.command("register")
@_clean
def sync_register(
    file: Annotated[Path, typer.Argument(help="省平台发放的登记文件（office.json）")],
    db: DbOption = None,
    key_out: Annotated[
        Path | None,
        typer.Option("--key-out", help="把本机构公钥写入此文件交省平台（不在线报送）"),
    ] = None,
) -> None:
    """导入省平台的登记文件（令牌与省平台公钥），生成本机构签名密钥并报送公钥。"""
    from counter_app.sync import outbox
    from counter_app.sync.registration import register

    database = _office_db(db)
    office = outbox.office_of(database)
    registered, change = register(_key_folder(database), file, office.code)
    typer.echo(
        f"已登记：经办机构 {registered.office}，省平台密钥 {registered.store_key_id}；"
        f"本机构签名密钥 {change.key_id}"
    )
    _announce(database, change, registered.token, _settings().sync.url or registered.url, key_out)


@sync_app.command("rotate-key")
@_clean
def sync_rotate_key(
    db: DbOption = None,
    key_out: Annotated[
        Path | None,
        typer.Option("--key-out", help="把新公钥写入此文件交省平台（不在线报送）"),
    ] = None,
) -> None:
    """更换本机构的签名密钥（新公钥由旧密钥背书后报送省平台）。"""
    from counter_app.sync import outbox
    from counter_app.sync.client import with_registration
    from counter_app.sync.registration import load, make_key

    database = _office_db(db)
    office = outbox.office_of(database)
    folder = _key_folder(database)
    if load(folder) is None:
        _refuse("本机构还没有登记：请先运行 counter-app sync register 登记文件")
    change = make_key(folder, office.code)
    typer.echo(f"已生成新的签名密钥 {change.key_id}（原密钥 {change.previous}）")
    config = with_registration(_settings().sync.client_config(), database.path)
    _announce(database, change, config.token, config.url, key_out)


@sync_app.command("status")
@_clean
def sync_status(db: DbOption = None) -> None:
    """待上传事件数、被退回的事件数、上次成功同步时间。"""
    from counter_app.sync import outbox

    state = outbox.status(_office_db(db))
    last = state.last_ok_at.isoformat(timespec="seconds") if state.last_ok_at else "从未"
    typer.echo(f"待上传 {state.pending}，待处理退回 {state.problems}，上次成功同步 {last}")
    if state.last_error:
        typer.echo(f"上次同步：{state.last_error}")


@sync_app.command("problems")
@_clean
def sync_problems(db: DbOption = None) -> None:
    """列出被省平台退回、等待处理的事件。"""
    from counter_app.sync import outbox

    problems = outbox.problems(_office_db(db))
    for p in problems:
        typer.echo(f"{p.event_id}  #{p.seq} {p.kind} {p.summary}  [{p.code}] {p.message}")
    if problems:
        typer.echo(
            "处理：counter-app sync retry 编号…|--all（冲突已解决后重新上传）；"
            "counter-app sync dismiss 编号 --reason 原因（撤回）"
        )


ClerkOption = Annotated[str, typer.Option("--clerk", help="办理的经办人用户名（记入审计）")]
PasswordOption = Annotated[
    str,
    typer.Option(
        "--password",
        prompt="密码",
        hide_input=True,
        envvar="COUNTER_CLERK_PASSWORD",
        help="经办人密码（不给时交互输入）",
    ),
]


def _clerk(database, username: str, password: str):  # type: ignore[no-untyped-def]
    from counter_app.storage.clerks import sign_in

    signed = sign_in(database, username, password)
    if signed is None:
        _refuse("用户名或密码不正确")
    return signed


@sync_app.command("retry")
def sync_retry(
    clerk: ClerkOption,
    ids: Annotated[
        list[str] | None,
        typer.Argument(help="被退回事件的编号、序号或备案编号（sync problems 列出）"),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="全部被退回的事件")] = False,
    password: PasswordOption = "",
    db: DbOption = None,
) -> None:
    """冲突已解决（如对方机构已取消备案）：被退回的事件在下次同步时重新上传。"""
    from counter_app.workflows import refusals

    if bool(ids) == all_:
        _refuse("请给出要重新上传的事件，或用 --all 表示全部")
    database = _office_db(db)
    signed = _clerk(database, clerk, password)
    try:
        event_ids = None if all_ else [refusals.find(database, key).event_id for key in ids or []]
        done = refusals.retry(database, signed.clerk_id, event_ids)
    except refusals.ResolveRefused as exc:
        _refuse(str(exc))
    typer.echo(f"已重新排队上传 {len(done)} 个事件，下次同步时由省平台重新判断")


@sync_app.command("dismiss")
def sync_dismiss(
    key: Annotated[str, typer.Argument(help="被退回事件的编号、序号或备案编号")],
    reason: Annotated[str, typer.Option("--reason", help="撤回原因（记入审计）")],
    clerk: ClerkOption,
    password: PasswordOption = "",
    db: DbOption = None,
) -> None:
    """不再上传被退回的事件，并在本机构撤回它办理的备案（写明原因，记入审计）。"""
    from counter_app.workflows import refusals

    database = _office_db(db)
    signed = _clerk(database, clerk, password)
    try:
        refusal = refusals.find(database, key)
        done = refusals.withdraw(database, signed.clerk_id, refusal.event_id, reason)
    except refusals.ResolveRefused as exc:
        _refuse(str(exc))
    typer.echo(done)


@sync_app.command("export")
@_clean
def sync_export(
    file: Annotated[Path, typer.Argument(help="写入的批次文件（如 U 盘上的 batch.json）")],
    db: DbOption = None,
) -> None:
    """把待上传事件写入用本机构私钥签名的文件（无网络时用 U 盘送省平台）。"""
    from counter_app.sync.transfer import export_batch

    database = _office_db(db)
    count = export_batch(database, _key_folder(database), file, _settings().sync.signing_key)
    typer.echo(f"已导出 {count} 个事件到 {file}")


@sync_app.command("import-answer")
@_clean
def sync_import_answer(
    file: Annotated[Path, typer.Argument(help="省平台给出的回执文件")],
    db: DbOption = None,
) -> None:
    """导入省平台签名的回执，标记已接收的事件（同一回执只能导入一次）。"""
    from counter_app.sync.protocol import SignatureError
    from counter_app.sync.transfer import import_answer

    database = _office_db(db)
    try:
        tally = import_answer(database, _key_folder(database), file)
    except SignatureError as exc:
        _refuse(f"回执未导入：{exc}")
    typer.echo(f"回执：接收 {tally.accepted}，已有 {tally.duplicate}，退回 {tally.rejected}")


# -- provincial side ----------------------------------------------------------------------


@province_app.command("serve")
def province_serve(
    db: ProvinceDb = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8700,
    workers: Annotated[
        int, typer.Option("--workers", help="工作进程数（PostgreSQL 时可多于 1）", min=1)
    ] = 1,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="TLS 证书（PEM）；与 --tls-key 一起启用 HTTPS")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="TLS 私钥（PEM）")] = None,
    docs: Annotated[
        bool, typer.Option("--docs", help="开放 /docs 与 /openapi.json（默认关闭）")
    ] = False,
) -> None:
    """启动省平台 HTTP 服务（协议 /v1）。"""
    from counter_app.sync.server import serve
    from counter_app.sync.store import default_url

    if (tls_cert is None) != (tls_key is None):
        _refuse("--tls-cert 与 --tls-key 须同时给出")
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            _refuse(f"找不到文件 {path}")
    scheme = "https" if tls_cert else "http"
    typer.echo(f"省平台服务 {scheme}://{host}:{port}/v1 （数据库 {db or default_url()}）")
    serve(
        db or default_url(),
        host,
        port,
        workers,
        docs=docs,
        tls_cert=str(tls_cert) if tls_cert else None,
        tls_key=str(tls_key) if tls_key else None,
    )


KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        help="省平台签名私钥文件（默认：COUNTER_PROVINCE_KEY，或 SQLite 数据库旁的 .signing-key）",
    ),
]


def _key_path(db: str | None, key: Path | None) -> Path:
    from counter_app.sync.province_keys import signing_key_path
    from counter_app.sync.store import default_url

    return key or signing_key_path(db or default_url())


def _write_registration(
    db: str | None, key: Path | None, code: str, token: str, url: str, out: Path
) -> None:
    from counter_app.private_files import write_private
    from counter_app.sync.province_keys import registration, store_key

    signing_key = store_key(_key_path(db, key), create=True)
    assert signing_key is not None
    content = registration(_store(db), code, token, signing_key, url)
    write_private(out, json.dumps(content, ensure_ascii=False, indent=1).encode())
    typer.echo(
        f"登记文件已写入 {out}（含令牌，请当面或加密交给经办机构，用后删除）；"
        f"省平台密钥 {content['store_key_id']}"
    )


UrlOption = Annotated[str, typer.Option("--url", help="经办机构连接省平台的地址（写入登记文件）")]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="写出登记文件（令牌与省平台公钥），不在屏幕显示令牌")
]


@province_app.command("office-add")
@_clean
def province_office_add(
    code: Annotated[str, typer.Option("--code", help="经办机构代码")],
    name: Annotated[str, typer.Option("--name", help="经办机构名称")],
    pool: Annotated[str, typer.Option("--pool", help="所属统筹区代码")],
    db: ProvinceDb = None,
    out: OutOption = None,
    url: UrlOption = "",
    key: KeyOption = None,
) -> None:
    """登记经办机构并发给令牌（令牌只显示或写出这一次，省平台只保存其摘要）。"""
    token = _store(db).add_office(code, name, pool)
    if out is None:
        typer.echo(token)
        return
    _write_registration(db, key, code, token, url, out)


@province_app.command("token")
@_clean
def province_token(
    code: Annotated[str, typer.Option("--code", help="经办机构代码")],
    db: ProvinceDb = None,
    out: OutOption = None,
    url: UrlOption = "",
    key: KeyOption = None,
) -> None:
    """给经办机构换发新令牌（旧令牌立即失效；写出登记文件时同时停用它的公钥，须重新登记）。"""
    from counter_app.sync.province_keys import retire_keys

    store = _store(db)
    token = store.new_token(code)
    if out is None:
        typer.echo(token)
        return
    retire_keys(store, code)
    _write_registration(db, key, code, token, url, out)


@province_app.command("office-key")
@_clean
def province_office_key(
    file: Annotated[
        Path, typer.Argument(help="经办机构的公钥文件（sync register 或 rotate-key 写出）")
    ],
    db: ProvinceDb = None,
) -> None:
    """导入经办机构的签名公钥（新公钥须由它当前的密钥背书）。"""
    from counter_app.sync.province_keys import accept_key

    document = _json_file(file)
    key_id = accept_key(_store(db), document)
    typer.echo(f"已采用经办机构 {document.get('office')} 的公钥 {key_id}")


@province_app.command("key-rotate")
@_clean
def province_key_rotate(db: ProvinceDb = None, key: KeyOption = None) -> None:
    """更换省平台的签名密钥；各经办机构须用新的登记文件重新登记（province token --out）。"""
    from counter_app.sync.province_keys import rotate_store_key

    old, new = rotate_store_key(_key_path(db, key))
    typer.echo(f"省平台签名密钥已更换：{old or '无'} → {new}")
    typer.echo(
        "各经办机构在重新登记前会拒绝与省平台同步："
        "请为每个机构运行 province token --code 代码 --out 文件"
    )


@province_app.command("import")
@_clean
def province_import(
    file: Annotated[Path, typer.Argument(help="经办机构导出的批次文件")],
    answer: Annotated[Path, typer.Option("--answer", help="写入的回执文件")],
    db: ProvinceDb = None,
    key: KeyOption = None,
) -> None:
    """导入离线批次文件（核对经办机构的签名），写出省平台签名的回执。"""
    from counter_app.sync.protocol import SignatureError
    from counter_app.sync.transfer import import_batch

    try:
        counts = import_batch(_store(db), file, answer, _key_path(db, key))
    except SignatureError as exc:
        _refuse(f"未导入：{exc}")
    typer.echo(
        f"接收 {counts['accepted']}，已有 {counts['duplicate']}，退回 {counts['rejected']}；"
        f"回执已写入 {answer}"
    )


@province_app.command("show")
def province_show(
    office: Annotated[str | None, typer.Option("--office", help="只看这个经办机构")] = None,
    db: ProvinceDb = None,
) -> None:
    """列出省平台上的备案（身份证号只显示前 6 后 4 位）。"""
    from datetime import date

    from counter_app.domain.idnumber import mask_id
    from counter_app.domain.status import STATUS_LABELS, filing_status
    from counter_app.regions_data import load_region_table

    regions = load_region_table()
    store = _store(db)
    for office_code, count in sorted(store.counts().items()):
        typer.echo(f"经办机构 {office_code}：事件 {count} 个")
    for f in store.office_filings(office):
        until = f["valid_until"] or "长期"
        # the status on today's date, as everywhere else (an ended filing is not shown active)
        status = STATUS_LABELS[
            filing_status(
                f["status"],
                date.fromisoformat(str(f["valid_from"])),
                date.fromisoformat(str(f["valid_until"])) if f["valid_until"] else None,
                date.today(),
            )
        ]
        region = regions.get(f["destination"])
        place = region.full_name if region else f["destination"]
        typer.echo(
            f"{f['number']}  经办机构 {f['office']}  {f['name']} {mask_id(f['id_number'])}  "
            f"{status}  就医地 {place}  {f['valid_from']}～{until}"
        )


def _json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _refuse(f"无法读取 {path}：{type(exc).__name__}")


@province_app.command("application-add")
def province_application_add(
    office: Annotated[str, typer.Option("--office", help="负责审核的经办机构代码")],
    file: Annotated[Path, typer.Argument(help="线上申请（JSON）")],
    db: ProvinceDb = None,
) -> None:
    """登记一笔线上（不见面）备案申请，派给经办机构审核。"""
    from counter_app.sync.store import StoreError

    try:
        typer.echo(_store(db).add_application(office, _json_file(file)))
    except StoreError as exc:
        _refuse(str(exc))


@province_app.command("package-add")
def province_package_add(
    kind: Annotated[str, typer.Option("--kind", help="policy_pack、holiday_calendar 或 registry")],
    number: Annotated[int, typer.Option("--number", help="包编号（只增不减）")],
    file: Annotated[Path, typer.Argument(help="包内容（JSON）")],
    db: ProvinceDb = None,
) -> None:
    """发布一个编号的更新包（策略包、节假日日历、参保登记）。"""
    from counter_app.sync.store import StoreError

    try:
        _store(db).add_package(kind, number, _json_file(file))
    except StoreError as exc:
        _refuse(str(exc))
    typer.echo(f"已发布 {kind} 第 {number} 号")


@province_app.command("registry-add")
def province_registry_add(
    pool: Annotated[str, typer.Option("--pool", help="统筹区代码（发给该统筹区所有经办机构）")],
    file: Annotated[Path, typer.Argument(help="参保登记变更（JSON）")],
    db: ProvinceDb = None,
) -> None:
    """发布一条参保登记变更，供该统筹区的经办机构下载。"""
    _store(db).add_registry_update(pool, _json_file(file))
    typer.echo(f"已发布给统筹区 {pool}")
