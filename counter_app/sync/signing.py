"""Ed25519 signatures of the offline transfer files, key ids, and private key files.

Each side signs with a private key only it holds: an office signs its batch files, the provincial
store signs its answer files; each side keeps only the other's public key. So whoever reads the
store's database (which holds public keys and token hashes only) cannot forge an office's batch,
and cannot forge an answer an office accepts without the store's key file. A document is
``{"body": {...}, "signature": {"alg": "ed25519", "key_id": ..., "value": <hex>}}``; the signature
covers the canonical JSON of the body. Files signed the old way (an HMAC string under a key shared
with the store) are refused with a message that says to export again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from counter_app.private_files import write_private
from counter_app.sync.protocol import SignatureError, canonical

ALG = "ed25519"


def new_key() -> Ed25519PrivateKey:
    """A fresh private key."""
    return Ed25519PrivateKey.generate()


def public_hex(key: Ed25519PrivateKey) -> str:
    """The raw 32-byte public key, hex."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def key_id(public: str) -> str:
    """A short name of a public key (hex): ``ed25519:`` and 16 hex digits of its SHA-256."""
    return f"{ALG}:{hashlib.sha256(bytes.fromhex(public)).hexdigest()[:16]}"


def key_id_of(key: Ed25519PrivateKey) -> str:
    """The key id of a private key's public half."""
    return key_id(public_hex(key))


def signature(value: Any, key: Ed25519PrivateKey) -> dict[str, str]:
    """A detached signature of ``value`` (its canonical JSON)."""
    return {
        "alg": ALG,
        "key_id": key_id_of(key),
        "value": key.sign(canonical(value).encode()).hex(),
    }


def sign(body: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """A signed transfer document."""
    return {"body": body, "signature": signature(body, key)}


def check(value: Any, sig: Any, public: str) -> bool:
    """Whether ``sig`` is a valid signature of ``value`` by the key ``public`` (hex)."""
    if not isinstance(sig, dict) or sig.get("alg") != ALG or not isinstance(sig.get("value"), str):
        return False
    try:
        raw = bytes.fromhex(sig["value"])
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public)).verify(
            raw, canonical(value).encode()
        )
    except (ValueError, InvalidSignature):
        return False
    return True


def verify(
    document: Any, keys: Mapping[str, str], expected_format: str, signer: str
) -> dict[str, Any]:
    """The body of a document signed by one of ``keys`` (key id → public hex), else refused.

    ``signer`` names who should have signed, for the messages (e.g. "省平台", "经办机构 340202").
    """
    if not isinstance(document, dict) or not isinstance(document.get("body"), dict):
        raise SignatureError("不是同步传输文件（缺少 body 与 signature）")
    body, sig = document["body"], document.get("signature")
    if isinstance(sig, str):
        raise SignatureError(
            "文件是旧版方式（与省平台共用的密钥）签名的，已不再接受：请用新版本重新导出后再导入"
        )
    if not isinstance(sig, dict) or not isinstance(sig.get("key_id"), str):
        raise SignatureError("文件缺少签名，已拒绝导入")
    if sig["key_id"] not in keys:
        raise SignatureError(
            f"文件由 {signer} 未登记或已停用的密钥（{sig['key_id'][:40]}）签名，已拒绝导入："
            "请用当前密钥重新导出；密钥刚更换过的，先完成登记"
        )
    if not check(body, sig, keys[sig["key_id"]]):
        raise SignatureError(f"文件签名不符：文件被修改过，或不是 {signer} 签发的，已拒绝导入")
    if body.get("format") != expected_format:
        raise SignatureError(f"文件类型不对：应为 {expected_format}，实为 {body.get('format')}")
    return body


def save_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write a private key (PKCS#8 PEM) to a 0600 file."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(path, pem)


def load_key(path: Path) -> Ed25519PrivateKey:
    """Read a private key file; ``SignatureError`` (Chinese) when it is missing or not a key."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise SignatureError(f"找不到密钥文件 {path}") from None
    except (OSError, ValueError, TypeError) as exc:
        raise SignatureError(f"密钥文件 {path} 无法读取：{type(exc).__name__}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(f"密钥文件 {path} 不是 Ed25519 私钥")
    return key


def key_from_text(text: str) -> Ed25519PrivateKey:
    """A private key given as PEM text (``sync.signing_key`` in the settings)."""
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        raise SignatureError("配置中的签名私钥（sync.signing_key）不是有效的 PEM 私钥") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError("配置中的签名私钥（sync.signing_key）不是 Ed25519 私钥")
    return key


def _key_core(office: str, public: str) -> dict[str, str]:
    from counter_app.sync.protocol import OFFICE_KEY_FILE

    return {"format": OFFICE_KEY_FILE, "office": office, "public_key": public}


def announce(office: str, new: Ed25519PrivateKey, old: Ed25519PrivateKey | None) -> dict[str, Any]:
    """An office's new public key for the store: proven by the new key, endorsed by the old."""
    core = _key_core(office, public_hex(new))
    return {
        **core,
        "key_id": key_id_of(new),
        "proof": signature(core, new),
        "endorsement": signature(core, old) if old is not None else None,
    }


def read_announcement(document: Any) -> tuple[str, str, dict[str, Any] | None]:
    """Office code, public key (hex) and endorsement of a key announcement whose proof holds."""
    from counter_app.sync.protocol import OFFICE_KEY_FILE

    if not isinstance(document, dict) or document.get("format") != OFFICE_KEY_FILE:
        raise SignatureError(f"不是经办机构公钥文件（应为 {OFFICE_KEY_FILE}）")
    office, public = document.get("office"), document.get("public_key")
    if not isinstance(office, str) or not isinstance(public, str) or len(public) != 64:
        raise SignatureError("公钥文件缺少经办机构代码或公钥")
    if not (office.isascii() and office.isalnum() and len(office) <= 12):
        raise SignatureError("公钥文件中的经办机构代码不对")
    try:
        bytes.fromhex(public)
    except ValueError:
        raise SignatureError("公钥文件中的公钥不是十六进制") from None
    if not check(_key_core(office, public), document.get("proof"), public):
        raise SignatureError("公钥文件的自签名不符：文件被修改过，已拒绝")
    endorsement = document.get("endorsement")
    return office, public, endorsement if isinstance(endorsement, dict) else None


def endorsed_by(office: str, public: str, endorsement: dict[str, Any] | None, old: str) -> bool:
    """Whether the announcement of ``public`` was signed by the office's current key ``old``."""
    return endorsement is not None and check(_key_core(office, public), endorsement, old)
