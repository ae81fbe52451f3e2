"""The office's side of trust: its registration with the store and its own signing key.

``counter-app sync register office.json`` imports the file the provincial store issued (the
office's token and the store's public key) into the office's key folder, beside the database
(``counter.db.keys/``, 0700; files 0600), and makes the office's key pair there. The store's key id
is pinned: a store that answers with another key is refused until the office registers again. The
office's private key never leaves the folder; the store learns the public half from an
announcement (online, or a file for the operator). ``sync.token`` and ``sync.signing_key`` in the
settings, when set, take precedence over the folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from counter_app.domain.errors import CounterError
from counter_app.private_files import private_dir, write_private
from counter_app.sync import protocol, signing
from counter_app.sync.protocol import SignatureError

REGISTRATION = "registration.json"
OFFICE_KEY = "office.key"


class RegistrationError(CounterError, ValueError):
    """A registration that cannot be used; the message is Chinese and says what to do."""


class Registration(BaseModel):
    """What the office keeps of its registration (the token is a secret, never printed)."""

    model_config = ConfigDict(extra="ignore")

    format: str
    office: str
    name: str = ""
    pool_code: str = ""
    url: str = ""
    token: SecretStr
    store_public_key: str
    store_key_id: str
    issued_at: str = ""

    def store_keys(self) -> dict[str, str]:
        """The store's pinned public key, as ``signing.verify`` takes it."""
        return {self.store_key_id: self.store_public_key}


def key_dir(db_path: Path | None, override: Path | None = None) -> Path:
    """The office's key folder: ``override`` or ``<database>.keys`` beside the database.

    A PostgreSQL office database has no file to keep the keys beside: the settings give the
    folder (``Settings`` defaults it to the window's local data folder when ``db_url`` is set).
    """
    if override:
        return override
    if db_path is None:
        raise RegistrationError(
            "机构数据库在 PostgreSQL 上，没有数据库文件：请在配置 [sync] 一节设置 key_dir"
            "（本机构密钥文件夹，放在做日终同步的那台窗口机上）"
        )
    return db_path.with_name(db_path.name + ".keys")


def load(folder: Path) -> Registration | None:
    """The stored registration, or None before the office registered."""
    path = folder / REGISTRATION
    if not path.exists():
        return None
    try:
        return parse(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise RegistrationError(
            f"登记信息 {path} 已损坏（{type(exc).__name__}），请重新登记"
        ) from None


def parse(data: Any) -> Registration:
    """A registration file's content, checked; ``RegistrationError`` when it is not one."""
    if not isinstance(data, dict) or data.get("format") != protocol.REGISTRATION_FILE:
        raise RegistrationError(f"不是省平台的登记文件（应为 {protocol.REGISTRATION_FILE}）")
    try:
        registration = Registration.model_validate(data)
    except ValidationError as exc:
        fields = "、".join(str(e["loc"][0]) for e in exc.errors() if e["loc"])
        raise RegistrationError(f"登记文件缺少或写错了：{fields}") from None
    try:
        if signing.key_id(registration.store_public_key) != registration.store_key_id:
            raise ValueError
    except ValueError:
        raise RegistrationError("登记文件中的省平台公钥与密钥编号不符，文件可能被修改过") from None
    return registration


def save(folder: Path, registration: Registration) -> None:
    """Keep the registration (0600, in the 0700 key folder)."""
    private_dir(folder)
    data = registration.model_dump(mode="json")
    data["token"] = registration.token.get_secret_value()
    write_private(folder / REGISTRATION, json.dumps(data, ensure_ascii=False, indent=1).encode())


def office_key(folder: Path, configured: SecretStr | None = None) -> Ed25519PrivateKey | None:
    """The office's signing key: from the settings, else the key folder, else None."""
    if configured is not None and configured.get_secret_value():
        return signing.key_from_text(configured.get_secret_value())
    path = folder / OFFICE_KEY
    return signing.load_key(path) if path.exists() else None


@dataclass(frozen=True)
class KeyChange:
    """A new office key and the announcement that tells the store about it."""

    key_id: str
    previous: str | None
    announcement: dict[str, Any]


def make_key(folder: Path, office: str) -> KeyChange:
    """A new key pair for the office (a registration or a rotation); the old key is kept aside.

    The announcement is endorsed by the old key, so a store that still trusts it takes the new
    one; a store that retired the office's keys (a new registration) takes it without.
    """
    private_dir(folder)
    path = folder / OFFICE_KEY
    old = signing.load_key(path) if path.exists() else None
    new = signing.new_key()
    if old is not None:
        signing.save_key(folder / f"{OFFICE_KEY}.previous", old)
    signing.save_key(path, new)
    return KeyChange(
        signing.key_id_of(new),
        signing.key_id_of(old) if old else None,
        signing.announce(office, new, old),
    )


def register(folder: Path, file: Path, office_code: str) -> tuple[Registration, KeyChange]:
    """Import a registration file for this office and make sure the office has its key pair."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistrationError(f"找不到登记文件 {file}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegistrationError(
            f"登记文件 {file.name} 无法读取或已损坏：{type(exc).__name__}"
        ) from None
    registration = parse(data)
    if registration.office != office_code:
        raise RegistrationError(
            f"登记文件属于经办机构 {registration.office}，与本机构 {office_code} 不符，未登记"
        )
    save(folder, registration)
    try:
        change = make_key(folder, office_code)
    except SignatureError as exc:
        raise RegistrationError(str(exc)) from None
    return registration, change


def write_announcement(path: Path, change: KeyChange) -> None:
    """The announcement as a file for the store's operator (``province office-key``)."""
    text = json.dumps(change.announcement, ensure_ascii=False, indent=1)
    write_private(path, text.encode())
