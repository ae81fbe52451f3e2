"""``counter-app sync …`` (the office) and ``counter-app province …`` (the reference server).

Everything heavy is imported inside the commands, so ``counter-app --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

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
    from counter_app.settings import Settings

    return Settings()


def _office_db(path: Path | None):  # type: ignore[no-untyped-def]
    from counter_app.storage.db import Database

    return Database.open(path or _settings().database_path())


def _store(url: str | None):  # type: ignore[no-untyped-def]
    from counter_app.sync.store import ProvinceStore, default_url

    return ProvinceStore(url or default_url())


def _refuse(message: str, code: int = EXIT_INVALID) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


# -- office side --------------------------------------------------------------------------


@sync_app.command("run")
def sync_run(db: DbOption = None) -> None:
    """上传待上传事件、下载线上申请与更新包、对账。"""
    from counter_app.rules_engine import build_engine
    from counter_app.sync.client import SyncBusy, SyncError, run_sync
    from counter_app.sync.pulled import with_pulled_calendar

    settings = _settings()
    database = _office_db(db)
    engine = with_pulled_calendar(build_engine(settings.policy, settings.pack_file), database)

    def progress(done: int, total: int, stage: str) -> None:
        if total:
            typer.echo(f"{stage} {done}/{total}")

    try:
        report = run_sync(
            database, engine, settings.sync.client_config(), settings.current_date(), progress
        )
    except SyncBusy as exc:
        _refuse(f"未同步：{exc}", EXIT_BUSY)
    except SyncError as exc:
        _refuse(f"同步未完成：{exc}", EXIT_FAILED)
    tally, pulled = report.tally, report.pulled
    typer.echo(
        f"上传：接收 {tally.accepted}，已有 {tally.duplicate}，退回 {tally.rejected}；"
        f"下载：线上申请 {pulled.applications}，其他 {pulled.inbox}，更新包 {pulled.packages}"
    )
    for refusal in pulled.refused:
        typer.echo(f"更新包未导入：{refusal}")
    if report.resent:
        typer.echo(f"对账发现省平台缺少 {report.resent} 个事件，已补传")
    if report.reconciled:
        typer.echo(f"对账一致：省平台共有本机构事件 {report.server_count} 个")
    else:
        _refuse(f"对账不符：第 {report.mismatched_blocks} 批，请联系省平台", EXIT_FAILED)
    if tally.rejected:
        typer.echo("有被退回的事件，请在同步界面处理（counter-app sync problems）")


@sync_app.command("status")
def sync_status(db: DbOption = None) -> None:
    """待上传事件数、被退回的事件数、上次成功同步时间。"""
    from counter_app.sync import outbox

    state = outbox.status(_office_db(db))
    last = state.last_ok_at.isoformat(timespec="seconds") if state.last_ok_at else "从未"
    typer.echo(f"待上传 {state.pending}，待处理退回 {state.problems}，上次成功同步 {last}")
    if state.last_error:
        typer.echo(f"上次同步：{state.last_error}")


@sync_app.command("problems")
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
def sync_export(
    file: Annotated[Path, typer.Argument(help="写入的批次文件（如 U 盘上的 batch.json）")],
    db: DbOption = None,
) -> None:
    """把待上传事件写入签名文件（无网络时用 U 盘送省平台）。"""
    from counter_app.sync.transfer import export_batch

    settings = _settings()
    if not settings.sync.token:
        _refuse("未配置本机构令牌（sync.token），无法签名")
    count = export_batch(_office_db(db), settings.sync.token, file)
    typer.echo(f"已导出 {count} 个事件到 {file}")


@sync_app.command("import-answer")
def sync_import_answer(
    file: Annotated[Path, typer.Argument(help="省平台给出的回执文件")],
    db: DbOption = None,
) -> None:
    """导入省平台的签名回执，标记已接收的事件。"""
    from counter_app.sync.protocol import SignatureError
    from counter_app.sync.transfer import import_answer

    settings = _settings()
    try:
        tally = import_answer(_office_db(db), settings.sync.token, file)
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
) -> None:
    """启动省平台 HTTP 服务（协议 /v1）。"""
    from counter_app.sync.server import serve
    from counter_app.sync.store import default_url

    typer.echo(f"省平台服务 http://{host}:{port}/v1 （数据库 {db or default_url()}）")
    serve(db or default_url(), host, port, workers)


@province_app.command("office-add")
def province_office_add(
    code: Annotated[str, typer.Option("--code", help="经办机构代码")],
    name: Annotated[str, typer.Option("--name", help="经办机构名称")],
    pool: Annotated[str, typer.Option("--pool", help="所属统筹区代码")],
    db: ProvinceDb = None,
) -> None:
    """登记经办机构并发给令牌（令牌只显示这一次）。"""
    from counter_app.sync.store import StoreError

    try:
        token = _store(db).add_office(code, name, pool)
    except StoreError as exc:
        _refuse(str(exc))
    typer.echo(token)


@province_app.command("token")
def province_token(
    code: Annotated[str, typer.Option("--code", help="经办机构代码")], db: ProvinceDb = None
) -> None:
    """给经办机构换发新令牌（旧令牌立即失效）。"""
    from counter_app.sync.store import StoreError

    try:
        typer.echo(_store(db).new_token(code))
    except StoreError as exc:
        _refuse(str(exc))


@province_app.command("import")
def province_import(
    file: Annotated[Path, typer.Argument(help="经办机构导出的批次文件")],
    answer: Annotated[Path, typer.Option("--answer", help="写入的回执文件")],
    db: ProvinceDb = None,
) -> None:
    """导入离线批次文件，写出签名回执。"""
    from counter_app.sync.protocol import SignatureError
    from counter_app.sync.transfer import import_batch

    try:
        counts = import_batch(_store(db), file, answer)
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
    from counter_app.domain.idnumber import mask_id

    store = _store(db)
    for office_code, count in sorted(store.counts().items()):
        typer.echo(f"经办机构 {office_code}：事件 {count} 个")
    for f in store.office_filings(office):
        until = f["valid_until"] or "长期"
        typer.echo(
            f"{f['number']}  {f['office']}  {f['name']} {mask_id(f['id_number'])}  "
            f"{f['status']}  {f['destination']}  {f['valid_from']}～{until}"
        )


def _json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _refuse(f"无法读取 {path}：{exc}")


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
