"""``counter-app province …``: the reference provincial server and its store.

Needs the ``province`` extra for ``serve`` (FastAPI, uvicorn; psycopg for PostgreSQL); the other
commands need only SQLAlchemy. Everything heavy is imported inside the commands, so
``counter-app --help`` stays fast and a counter without the extra still starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from counter_app.sync.commands import EXIT_INVALID, cleaned
from counter_app.sync.commands import refuse as _refuse

if TYPE_CHECKING:
    from counter_app.province.store import ProvinceStore

province_app = typer.Typer(help="省平台参考实现（服务端）", no_args_is_help=True)

ProvinceDb = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="省平台数据库 URL：sqlite:///province.db（默认）或 postgresql+psycopg://…",
    ),
]


def _store_refusals() -> tuple[type[Exception], ...]:
    from counter_app.province.store import StoreError
    from counter_app.sync.protocol import SignatureError
    from counter_app.sync.registration import RegistrationError

    return (SignatureError, RegistrationError, StoreError)


_clean_store = cleaned(_store_refusals)


def _store(url: str | None) -> ProvinceStore:
    from counter_app.province.store import ProvinceStore, default_url

    return ProvinceStore(url or default_url())


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
    try:
        from counter_app.province.server import serve
    except ImportError as exc:
        _refuse(
            f"本机未安装省平台服务组件（缺少 {exc.name}）：请安装 counter-app[province]",
            EXIT_INVALID,
        )
    from counter_app.province.store import default_url

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
    from counter_app.province.keys import signing_key_path
    from counter_app.province.store import default_url

    return key or signing_key_path(db or default_url())


def _write_registration(
    db: str | None, key: Path | None, code: str, token: str, url: str, out: Path
) -> None:
    from counter_app.private_files import write_private
    from counter_app.province.keys import registration, store_key

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
@_clean_store
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
@_clean_store
def province_token(
    code: Annotated[str, typer.Option("--code", help="经办机构代码")],
    db: ProvinceDb = None,
    out: OutOption = None,
    url: UrlOption = "",
    key: KeyOption = None,
) -> None:
    """给经办机构换发新令牌（旧令牌立即失效；写出登记文件时同时停用它的公钥，须重新登记）。"""
    from counter_app.province.keys import retire_keys

    store = _store(db)
    token = store.new_token(code)
    if out is None:
        typer.echo(token)
        return
    retire_keys(store, code)
    _write_registration(db, key, code, token, url, out)


@province_app.command("office-key")
@_clean_store
def province_office_key(
    file: Annotated[
        Path, typer.Argument(help="经办机构的公钥文件（sync register 或 rotate-key 写出）")
    ],
    db: ProvinceDb = None,
) -> None:
    """导入经办机构的签名公钥（新公钥须由它当前的密钥背书）。"""
    from counter_app.province.keys import accept_key

    document = _json_file(file)
    key_id = accept_key(_store(db), document)
    typer.echo(f"已采用经办机构 {document.get('office')} 的公钥 {key_id}")


@province_app.command("key-rotate")
@_clean_store
def province_key_rotate(db: ProvinceDb = None, key: KeyOption = None) -> None:
    """更换省平台的签名密钥；各经办机构须用新的登记文件重新登记（province token --out）。"""
    from counter_app.province.keys import rotate_store_key

    old, new = rotate_store_key(_key_path(db, key))
    typer.echo(f"省平台签名密钥已更换：{old or '无'} → {new}")
    typer.echo(
        "各经办机构在重新登记前会拒绝与省平台同步："
        "请为每个机构运行 province token --code 代码 --out 文件"
    )


@province_app.command("import")
@_clean_store
def province_import(
    file: Annotated[Path, typer.Argument(help="经办机构导出的批次文件")],
    answer: Annotated[Path, typer.Option("--answer", help="写入的回执文件")],
    db: ProvinceDb = None,
    key: KeyOption = None,
) -> None:
    """导入离线批次文件（核对经办机构的签名），写出省平台签名的回执。"""
    from counter_app.province.transfer import import_batch
    from counter_app.sync.protocol import SignatureError

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
    from counter_app.province.store import StoreError

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
    from counter_app.province.store import StoreError

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
