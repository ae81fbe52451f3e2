"""The provincial store's keys: its own signing key (a file) and the offices' public keys (a table).

The store signs answer files with a private key kept in a 0600 file beside its database, never in
it, so a copy of the database cannot sign anything. Of each office it keeps only public keys: one
active key per office, earlier ones retired (a batch signed with a retired key is refused with a
message to export again). An office announces a new key with a document proven by the new key and
endorsed by the key it replaces; issuing a new registration (a new token) retires the office's
keys, so an office that lost its key registers again. The table has its own ``MetaData`` and is
created on first use, so these keys stay apart from the store's event tables.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Column, DateTime, MetaData, String, Table, insert, select, update

from counter_app.province.store import ProvinceStore, StoreError
from counter_app.sync import protocol, signing
from counter_app.sync.protocol import SignatureError

key_metadata = MetaData()
office_keys = Table(
    "province_office_key",
    key_metadata,
    Column("key_id", String(40), primary_key=True),
    Column("office", String(12), nullable=False, index=True),
    Column("public_key", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True)),
)

_ready: set[int] = set()


def _tables(store: ProvinceStore) -> None:
    if id(store.engine) not in _ready:
        key_metadata.create_all(store.engine)
        _ready.add(id(store.engine))


def _now() -> datetime:
    return datetime.now(UTC)


# -- the store's own key ----------------------------------------------------------------------


def signing_key_path(url: str) -> Path:
    """``COUNTER_PROVINCE_KEY``, else beside a SQLite database, else ``province-signing.key``."""
    override = os.environ.get("COUNTER_PROVINCE_KEY")
    if override:
        return Path(override)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        database = Path(url.removeprefix("sqlite:///"))
        return database.with_name(database.name + ".signing-key")
    return Path("province-signing.key")


def store_key(path: Path, *, create: bool = False) -> Ed25519PrivateKey | None:
    """The store's signing key; made (0600) on first need when ``create``."""
    if path.exists():
        return signing.load_key(path)
    if not create:
        return None
    key = signing.new_key()
    signing.save_key(path, key)
    return key


def store_key_id(path: Path) -> str | None:
    """The id of the store's current key, or None before it has one."""
    key = store_key(path)
    return signing.key_id_of(key) if key is not None else None


def rotate_store_key(path: Path) -> tuple[str | None, str]:
    """A new signing key; the old file is kept aside (``.retired-<time>``). Returns both ids."""
    old = store_key(path)
    if old is not None:
        path.replace(path.with_name(f"{path.name}.retired-{_now():%Y%m%dT%H%M%S}"))
    new = signing.new_key()
    signing.save_key(path, new)
    return (signing.key_id_of(old) if old else None), signing.key_id_of(new)


def registration(
    store: ProvinceStore, code: str, token: str, key: Ed25519PrivateKey, url: str = ""
) -> dict[str, Any]:
    """The registration file an office imports: its token and the store's public key."""
    office = store.office(code)
    if office is None:
        raise StoreError(f"经办机构 {code} 未登记")
    return {
        "format": protocol.REGISTRATION_FILE,
        "office": office.code,
        "name": office.name,
        "pool_code": office.pool_code,
        "url": url,
        "token": token,
        "store_public_key": signing.public_hex(key),
        "store_key_id": signing.key_id_of(key),
        "issued_at": _now().isoformat(),
    }


# -- the offices' public keys ------------------------------------------------------------------


def active_keys(store: ProvinceStore, code: str) -> dict[str, str]:
    """The office's active public keys (key id → hex); at most one."""
    _tables(store)
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(office_keys.c.key_id, office_keys.c.public_key).where(
                office_keys.c.office == code, office_keys.c.retired_at.is_(None)
            )
        ).all()
    return {r.key_id: r.public_key for r in rows}


def retire_keys(store: ProvinceStore, code: str) -> int:
    """Retire every key of an office (a new registration starts a new chain); how many."""
    _tables(store)
    with store.engine.connect() as conn, conn.begin():
        done = conn.execute(
            update(office_keys)
            .where(office_keys.c.office == code, office_keys.c.retired_at.is_(None))
            .values(retired_at=_now())
        )
    return done.rowcount


def accept_key(store: ProvinceStore, document: Any, code: str | None = None) -> str:
    """Take an office's key announcement; returns the new key id.

    ``code`` is the office the request came from (online: its token's office); the announcement
    must be for that office. When the office has an active key, the new one must be endorsed by it.
    """
    try:
        office, public, endorsement = signing.read_announcement(document)
    except SignatureError as exc:
        raise StoreError(str(exc)) from None
    if code is not None and office != code:
        raise StoreError(f"公钥文件属于经办机构 {office}，不是 {code}")
    if store.office(office) is None:
        raise StoreError(f"经办机构 {office} 未登记")
    new_id = signing.key_id(public)
    current = active_keys(store, office)
    if new_id in current:
        return new_id  # announced twice: nothing changes
    if current and not any(
        signing.endorsed_by(office, public, endorsement, k) for k in current.values()
    ):
        raise StoreError(
            "新公钥没有经办机构当前密钥的背书，未采用："
            "请在本机构用 counter-app sync rotate-key 更换，"
            "或由省平台重新发放登记文件（province token --out）后重新登记"
        )
    _tables(store)
    with store.engine.connect() as conn, conn.begin():
        conn.execute(
            update(office_keys)
            .where(office_keys.c.office == office, office_keys.c.retired_at.is_(None))
            .values(retired_at=_now())
        )
        taken = conn.execute(
            select(office_keys.c.office).where(office_keys.c.key_id == new_id)
        ).first()
        if taken is not None:
            raise StoreError("这个公钥以前用过并已停用，不能再次启用：请生成新的密钥")
        conn.execute(
            insert(office_keys).values(
                key_id=new_id, office=office, public_key=public, created_at=_now()
            )
        )
    return new_id
