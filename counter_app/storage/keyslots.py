"""Key slots: the office database's key, wrapped once per clerk and once for the supervisor's
recovery key, in a small file beside the database (as LUKS keeps its key slots in the header).

The file holds no key in clear. Each slot has its own X25519 key pair:

- the private key is sealed (AES-256-GCM) under a key derived from the clerk's password by
  argon2id, with the slot's own salt and cost — so only that password opens the slot, and the
  slot's AEAD tag is what checks the password before the database is open;
- the database key is sealed to the slot's public key (an ephemeral X25519 exchange, HKDF-SHA256,
  AES-256-GCM). Changing the database key (``db rekey``) therefore re-wraps every slot without
  anybody's password, while opening a slot still needs one.

Every sealed value is bound (associated data) to the file's ``database_id``, the slot's kind and
its name, so a slot copied under another clerk's name does not open. Writing the file is atomic
(a temporary file and a rename, mode 0600).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from counter_app.domain.errors import CounterError
from counter_app.private_files import write_private

FORMAT = "counter-app-keyslots"
VERSION = 1
KEY_BYTES = 32
RECOVERY_SLOT = "recovery"
#: Recovery keys are 20 random bytes written as 32 base32 characters in eight groups of four.
RECOVERY_BYTES = 20

SlotKind = Literal["clerk", "recovery"]


class KeySlotError(CounterError, ValueError):
    """A slot that cannot be opened or a slot file that cannot be read; the message is Chinese."""


class WrongSecret(KeySlotError):
    """The password (or recovery key) does not open the slot, or there is no such slot."""


@dataclass(frozen=True)
class KdfCost:
    """argon2id cost of a slot (RFC 9106's second recommended option by default)."""

    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4


#: The cost new slots get; tests may lower it (the cost is stored in each slot).
DEFAULT_COST = KdfCost()


def new_database_key() -> bytes:
    """A fresh random 256-bit database key."""
    return secrets.token_bytes(KEY_BYTES)


def new_recovery_key() -> str:
    """A fresh recovery key as the supervisor writes it down: ``ABCD-EFGH-…`` (8 groups)."""
    text = base64.b32encode(secrets.token_bytes(RECOVERY_BYTES)).decode()
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def normalise_recovery_key(text: str) -> str:
    """A typed recovery key without separators and in upper case (as it was derived)."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def slot_file_path(db_path: Path) -> Path:
    """Where the slots of the database at ``db_path`` live: ``<database>.keyslots``."""
    return db_path.with_name(db_path.name + ".keyslots")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode())


def _derive(secret: str, salt: bytes, cost: KdfCost) -> bytes:
    return hash_secret_raw(
        secret.encode(),
        salt,
        time_cost=cost.time_cost,
        memory_cost=cost.memory_cost,
        parallelism=cost.parallelism,
        hash_len=KEY_BYTES,
        type=Type.ID,
    )


def _seal_to(public: X25519PublicKey, key: bytes, aad: bytes) -> str:
    ephemeral = X25519PrivateKey.generate()
    shared = ephemeral.exchange(public)
    wrap = HKDF(hashes.SHA256(), KEY_BYTES, salt=None, info=b"wrap" + aad).derive(shared)
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(wrap).encrypt(nonce, key, aad)
    return _b64(
        ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) + nonce + sealed
    )


def _open_sealed(private: X25519PrivateKey, blob: str, aad: bytes) -> bytes:
    data = _unb64(blob)
    ephemeral, nonce, sealed = data[:32], data[32:44], data[44:]
    shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    wrap = HKDF(hashes.SHA256(), KEY_BYTES, salt=None, info=b"wrap" + aad).derive(shared)
    return AESGCM(wrap).decrypt(nonce, sealed, aad)


@dataclass
class KeySlots:
    """The slots of one database, as read from (and written back to) its slot file."""

    path: Path
    database_id: str
    slots: list[dict[str, Any]] = field(default_factory=list)

    # -- file -------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path) -> KeySlots:
        """An empty slot set for a new database key (not written until ``save``)."""
        return cls(path, uuid.uuid4().hex)

    @classmethod
    def load(cls, path: Path) -> KeySlots:
        """Read a slot file; ``KeySlotError`` (Chinese) if it is missing or damaged."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KeySlotError(f"找不到密钥槽文件 {path}") from None
        except (OSError, ValueError) as exc:
            raise KeySlotError(f"密钥槽文件 {path} 无法读取：{exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise KeySlotError(f"{path} 不是本系统的密钥槽文件")
        if data.get("version") != VERSION:
            raise KeySlotError(f"密钥槽文件 {path} 的版本 {data.get('version')} 不受支持")
        return cls(path, str(data["database_id"]), list(data.get("slots", [])))

    def save(self, path: Path | None = None) -> None:
        """Write the slots atomically as a 0600 file."""
        data = {
            "format": FORMAT,
            "version": VERSION,
            "database_id": self.database_id,
            "slots": self.slots,
        }
        text = json.dumps(data, ensure_ascii=False, indent=1)
        write_private(path or self.path, text.encode("utf-8"))

    # -- slots ------------------------------------------------------------------------------

    def _aad(self, kind: str, name: str) -> bytes:
        return f"{FORMAT}|{VERSION}|{self.database_id}|{kind}|{name}".encode()

    def _find(self, kind: str, name: str) -> dict[str, Any] | None:
        for slot in self.slots:
            if slot["kind"] == kind and slot["name"] == name:
                return slot
        return None

    def names(self, kind: SlotKind = "clerk") -> list[str]:
        """The names that have a slot of ``kind`` (clerks' user names, or ``recovery``)."""
        return [slot["name"] for slot in self.slots if slot["kind"] == kind]

    def has(self, name: str, kind: SlotKind = "clerk") -> bool:
        """Whether ``name`` has a slot."""
        return self._find(kind, name) is not None

    def set(
        self,
        name: str,
        secret: str,
        key: bytes,
        kind: SlotKind = "clerk",
        cost: KdfCost | None = None,
    ) -> None:
        """Give ``name`` a slot opened by ``secret`` (a new one replaces an old one)."""
        cost = cost or DEFAULT_COST
        if kind == "recovery":
            secret = normalise_recovery_key(secret)
        salt = secrets.token_bytes(16)
        private = X25519PrivateKey.generate()
        aad = self._aad(kind, name)
        nonce = secrets.token_bytes(12)
        raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        sealed_private = AESGCM(_derive(secret, salt, cost)).encrypt(nonce, raw, aad)
        public = private.public_key()
        slot = {
            "kind": kind,
            "name": name,
            "kdf": {
                "name": "argon2id",
                "salt": _b64(salt),
                "time_cost": cost.time_cost,
                "memory_cost": cost.memory_cost,
                "parallelism": cost.parallelism,
            },
            "public_key": _b64(public.public_bytes(Encoding.Raw, PublicFormat.Raw)),
            "private_key": _b64(nonce + sealed_private),
            "wrapped_key": _seal_to(public, key, aad),
        }
        self.remove(name, kind)
        self.slots.append(slot)

    def remove(self, name: str, kind: SlotKind = "clerk") -> bool:
        """Drop ``name``'s slot; whether there was one."""
        before = len(self.slots)
        self.slots = [s for s in self.slots if not (s["kind"] == kind and s["name"] == name)]
        return len(self.slots) != before

    def unlock(self, name: str, secret: str, kind: SlotKind = "clerk") -> bytes:
        """The database key, if ``secret`` opens ``name``'s slot; else ``WrongSecret``."""
        if kind == "recovery":
            secret = normalise_recovery_key(secret)
        slot = self._find(kind, name)
        if slot is None:
            # The same argon2 work as for a real slot: the time taken does not say whether a
            # user name has a slot.
            _derive(secret, b"\0" * 16, DEFAULT_COST)
            raise WrongSecret("用户名或密码不正确")
        kdf = slot["kdf"]
        cost = KdfCost(kdf["time_cost"], kdf["memory_cost"], kdf["parallelism"])
        aad = self._aad(kind, name)
        sealed = _unb64(slot["private_key"])
        try:
            raw = AESGCM(_derive(secret, _unb64(kdf["salt"]), cost)).decrypt(
                sealed[:12], sealed[12:], aad
            )
            return _open_sealed(X25519PrivateKey.from_private_bytes(raw), slot["wrapped_key"], aad)
        except InvalidTag:
            if kind == "recovery":
                raise WrongSecret("恢复密钥不正确") from None
            raise WrongSecret("用户名或密码不正确") from None

    def unlock_recovery(self, recovery_key: str) -> bytes:
        """The database key from the supervisor's recovery key."""
        return self.unlock(RECOVERY_SLOT, recovery_key, "recovery")

    def rewrap(self, new_key: bytes) -> None:
        """Seal ``new_key`` to every slot's public key (no password needed): ``db rekey``."""
        for slot in self.slots:
            public = X25519PublicKey.from_public_bytes(_unb64(slot["public_key"]))
            slot["wrapped_key"] = _seal_to(public, new_key, self._aad(slot["kind"], slot["name"]))


def new_slot_file(
    path: Path, key: bytes, clerk: str, password: str, cost: KdfCost | None = None
) -> tuple[KeySlots, str]:
    """A slot set for ``key`` with ``clerk``'s slot and a new recovery slot (not yet saved).

    Returns the slots and the recovery key, which is shown once and stored nowhere.
    """
    slots = KeySlots.create(path)
    slots.set(clerk, password, key, cost=cost)
    recovery = new_recovery_key()
    slots.set(RECOVERY_SLOT, recovery, key, kind="recovery", cost=cost)
    return slots, recovery


def slot_file_exists(db_path: Path) -> bool:
    """Whether the database at ``db_path`` has a slot file beside it."""
    return os.path.exists(slot_file_path(db_path))
