"""``counter-app sync …``: the office's end-of-day sync (``counter-app province …`` is in
``counter_app.province.commands``).

Everything heavy is imported inside the commands, so ``counter-app --help`` stays fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from counter_app.settings import Settings
    from counter_app.storage.clerks import SignedIn
    from counter_app.storage.db import Database

sync_app = typer.Typer(help="与省平台的日终同步（本机构）", no_args_is_help=True)

EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_BUSY = 4

DbOption = Annotated[Path | None, typer.Option("--db", help="本机构数据库文件（默认取配置）")]


def _settings() -> Settings:
    from counter_app.run_settings import command_settings

    return command_settings()


def _office_db(path: Path | None) -> Database:
    from counter_app.storage.db import Database, open_office_database
    from counter_app.storage.encryption import EncryptionError, unlock_with_prompt

    db = Database.open(path) if path else open_office_database(_settings())
    try:  # an encrypted database: a clerk's password (or the recovery key) at the prompt
        unlock_with_prompt(db, lambda label, hidden: str(typer.prompt(label, hide_input=hidden)))
    except EncryptionError as exc:
        typer.echo(f"未打开：{exc}", err=True)
        raise typer.Exit(2) from None
    return db


def _refuse(message: str, code: int = EXIT_INVALID) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


F = TypeVar("F", bound=Callable[..., Any])


def _office_refusals() -> tuple[type[Exception], ...]:
    from counter_app.sync.protocol import SignatureError
    from counter_app.sync.registration import RegistrationError

    return (SignatureError, RegistrationError)


def cleaned(
    refusals: Callable[[], tuple[type[Exception], ...]] = _office_refusals,
) -> Callable[[F], F]:
    """``_clean`` with the given refusal types (imported when a command runs, not at start)."""

    def decorate(command: F) -> F:
        return _clean(command, refusals)

    return decorate


def _clean(command: F, refusals: Callable[[], tuple[type[Exception], ...]] = _office_refusals) -> F:
    """Every failure ends as a Chinese message and a non-zero exit, never a traceback.

    Refusals the code names (a bad file, a missing registration, a store refusal) exit 2; anything
    else exits 1 with its kind only, so no secret or personal data in an exception's text leaks.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from counter_app.sync.client import SyncBusy, SyncError

        named = refusals()
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except SyncBusy as exc:
            _refuse(f"未同步：{exc}", EXIT_BUSY)
        except SyncError as exc:
            _refuse(f"同步未完成：{exc}", EXIT_FAILED)
        except named as exc:
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
    from counter_app.sync.client import ClientConfig, run_sync
    from counter_app.sync.pulled import with_pulled_calendar

    settings = _settings()
    database = _office_db(db)
    engine = with_pulled_calendar(build_engine(settings.policy, settings.pack_file), database)

    def progress(done: int, total: int, stage: str) -> None:
        if total:
            typer.echo(f"{stage} {done}/{total}")

    report = run_sync(
        database,
        engine,
        ClientConfig.from_settings(settings.sync),
        settings.current_date(),
        progress,
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
    from counter_app.sync.client import ClientConfig, recover

    lines = recover(_office_db(db), ClientConfig.from_settings(_settings().sync))
    if not lines:
        typer.echo("本数据库不缺省平台上的本机构记录，无需恢复")
        return
    typer.echo(f"已从省平台取回 {len(lines)} 条记录：")
    for line in lines:
        typer.echo(f"  {line}")


def _announce(database: Any, change: Any, token: Any, url: str, out: Path | None) -> None:
    """Tell the store the office's new public key: online when possible, else a file."""
    from counter_app.sync.client import ClientConfig, ProvinceClient, SyncError
    from counter_app.sync.registration import write_announcement

    settings = _settings()
    if url and out is None:
        config = ClientConfig.from_settings(settings.sync)
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
    from counter_app.sync.client import ClientConfig, with_registration
    from counter_app.sync.registration import load, make_key

    database = _office_db(db)
    office = outbox.office_of(database)
    folder = _key_folder(database)
    if load(folder) is None:
        _refuse("本机构还没有登记：请先运行 counter-app sync register 登记文件")
    change = make_key(folder, office.code)
    typer.echo(f"已生成新的签名密钥 {change.key_id}（原密钥 {change.previous}）")
    config = with_registration(ClientConfig.from_settings(_settings().sync), database.path)
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


def _clerk(database: Database, username: str, password: str) -> SignedIn:
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


refuse = _refuse
