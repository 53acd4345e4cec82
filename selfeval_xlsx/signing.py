"""Ed25519 signatures on roll-ups passed up the chain (county → city → province).

A county signs each roll-up it writes with its private key; the level above keeps the counties' public
keys, each bound to the area code it may sign for, and refuses a roll-up that is unsigned, signed by an
unknown key or a key of another area, or whose data no longer matches its signature.

What is signed (:func:`signed_message`): a fixed label, then the canonical JSON (sorted keys, no spaces,
ASCII) of ``{"area", "year", "signer", "rollup"}`` where ``rollup`` is the roll-up's data exactly as in the
hidden ``_rollup`` sheet and in ``rollup.json`` (amounts as exact decimal strings), minus the
``signature`` block itself. The block (:data:`SIGNATURE_KEY`) is stored in that same data.

Key files (:func:`generate_keys`), in the key folder (``--keys``, else ``$SELFEVAL_XLSX_KEYS``, else
``~/.selfeval-xlsx/keys``):

- ``<code>_<name>.key``: the private key (PKCS#8 PEM, permissions 0600). Never mailed.
- ``<code>_<name>.pub``: the public key as a short text file (area code, name, fingerprint, key), to be
  mailed to the level above.
- ``trusted/*.pub``: the public keys of the areas below, each file binding one key to one area code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import messages
from .findings import Finding, make

ENV_VAR = "SELFEVAL_XLSX_KEYS"
DEFAULT_DIR = Path("~/.selfeval-xlsx/keys")
TRUSTED_DIR = "trusted"
SIGNATURE_KEY = "signature"
SCHEME = "ed25519"
LABEL = b"selfeval-xlsx/rollup-signature/v1\n"
PUB_HEADER = "# selfeval-xlsx 汇总表签名公钥"
_CODE = re.compile(r"^[0-9]{6}$")


class KeyFileError(ValueError):
    """A key file that cannot be used (message in Chinese, for the clerk)."""


@dataclass(frozen=True)
class PublicKey:
    """A trusted public key and the area code it may sign for."""

    area: str
    name: str
    raw: bytes  # the 32 bytes of the Ed25519 public key
    file: str = ""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.raw)


@dataclass(frozen=True)
class SigningKey:
    """A private key file and the area it signs for (read when signing, never kept in memory)."""

    area: str
    name: str
    path: str
    fingerprint: str


@dataclass(frozen=True)
class KeyRing:
    """What ``merge`` signs with and verifies against. Picklable: workers get it with each task.

    ``verify`` is on when trusted keys are configured; with none, incoming roll-ups are still checked
    but get a warning that their origin is unverified."""

    signing: tuple[SigningKey, ...] = ()
    trusted: tuple[PublicKey, ...] = ()
    sign: bool = True
    verify: bool = True
    problems: tuple[str, ...] = ()  # key files that could not be loaded (Chinese)

    @property
    def verifying(self) -> bool:
        return self.verify and bool(self.trusted)

    def signer_for(self, area: str) -> SigningKey | None:
        """The private key bound to ``area`` (a roll-up is signed only by its own area's key)."""
        if not self.sign:
            return None
        return next((k for k in self.signing if k.area == area), None)


NO_KEYS = KeyRing(sign=False)  # nothing to sign with, no trusted keys: roll-ups get the "unverified" warning


# --- keys ---------------------------------------------------------------------------------------------


def key_dir(directory: str | Path | None = None) -> Path:
    """The key folder: ``directory``, else ``$SELFEVAL_XLSX_KEYS``, else ``~/.selfeval-xlsx/keys``."""
    if directory:
        return Path(directory).expanduser()
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else DEFAULT_DIR.expanduser()


def fingerprint(raw: bytes) -> str:
    """``SHA256:`` and the hex SHA-256 of the raw public key."""
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def show_fingerprint(fp: str) -> str:
    """A fingerprint for reading aloud on the phone: the first 32 hex digits in groups of four."""
    hexdigits = fp.removeprefix("SHA256:")[:32].upper()
    return " ".join(hexdigits[i : i + 4] for i in range(0, len(hexdigits), 4))


def generate_keys(
    area: str, name: str = "", directory: str | Path | None = None, *, overwrite: bool = False
) -> tuple[Path, Path, str]:
    """Create an area's key pair; return (private key file, public key file, fingerprint).

    Refuses to replace an existing key unless ``overwrite`` (a replaced key cannot sign for the files the
    level above already trusts)."""
    if not _CODE.match(area or ""):
        raise KeyFileError(messages.phrase("key-file", "bad-area", area=area))
    if not name:
        from .validate import divisions

        name = divisions().get(area, "")
    from .intake import safe_name

    folder = key_dir(directory)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = safe_name(f"{area}_{name}" if name else area)
    private, public = folder / f"{stem}.key", folder / f"{stem}.pub"
    existing = [p for p in (private, public) if p.exists()]
    if existing and not overwrite:
        raise KeyFileError(messages.phrase("key-file", "exists", path=existing[0]))
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    private.unlink(missing_ok=True)
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(private, 0o600)
    public.write_text(public_key_text(area, name, raw), encoding="utf-8")
    return private, public, fingerprint(raw)


def public_key_text(area: str, name: str, raw: bytes) -> str:
    """The ``.pub`` file: comments for the clerk, then ``area``, ``name``, ``fingerprint``, ``key``."""
    fp = fingerprint(raw)
    return (
        f"{PUB_HEADER}\n"
        f"# 本文件可以公开，请发送给上级财政部门（市/省），由其放入受信任公钥目录。\n"
        f"# 上级收到后，请通过电话与本单位核对指纹：{show_fingerprint(fp)}\n"
        f"area: {area}\n"
        f"name: {name}\n"
        f"fingerprint: {fp}\n"
        f"key: {base64.b64encode(raw).decode('ascii')}\n"
    )


def read_public_key(path: str | Path) -> PublicKey:
    """A ``.pub`` file; :class:`KeyFileError` when it is not one (or its fingerprint does not match its key)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(
            messages.phrase("key-file", "public-unreadable", file=path.name, error=type(exc).__name__)
        ) from exc
    fields: dict[str, str] = {}
    for line in text.splitlines()[:50]:
        if line.startswith("#") or ":" not in line:
            continue
        k, _, v = line.partition(":")
        fields[k.strip()] = v.strip()
    try:
        raw = base64.b64decode(fields.get("key", ""), validate=True)
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise KeyFileError(messages.phrase("key-file", "not-public", file=path.name)) from exc
    area = fields.get("area", "")
    if not _CODE.match(area):
        raise KeyFileError(messages.phrase("key-file", "public-area", file=path.name, area=area))
    if fields.get("fingerprint") and fields["fingerprint"] != fingerprint(raw):
        raise KeyFileError(messages.phrase("key-file", "fingerprint", file=path.name))
    return PublicKey(area=area, name=fields.get("name", ""), raw=raw, file=path.name)


def _read_private(path: str | Path) -> Ed25519PrivateKey:
    data = Path(path).read_bytes()
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(messages.phrase("key-file", "not-ed25519", file=Path(path).name))
    return key


def load_keyring(
    directory: str | Path | None = None,
    *,
    trusted: str | Path | None = None,
    sign: bool = True,
    verify: bool = True,
) -> KeyRing:
    """The keys in the key folder: private keys ``<code>_<name>.key`` (the area is the name's first six
    digits, confirmed by the ``.pub`` beside it when there is one) and trusted keys in ``trusted/`` (or
    the folder ``trusted``). A missing folder means no keys; unreadable files are listed in ``problems``."""
    folder = key_dir(directory)
    problems: list[str] = []
    signing: list[SigningKey] = []
    if sign and folder.is_dir():
        for path in sorted(folder.glob("*.key")):
            area = path.stem[:6]
            if not _CODE.match(area):
                problems.append(messages.phrase("key-file", "private-name", file=path.name))
                continue
            try:
                raw = (
                    _read_private(path)
                    .public_key()
                    .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
                )
            except Exception as exc:  # a broken key file must not stop a merge: it is reported
                problems.append(
                    messages.phrase(
                        "key-file", "private-unreadable", file=path.name, error=type(exc).__name__
                    )
                )
                continue
            name = path.stem[7:]
            signing.append(SigningKey(area, name, str(path), fingerprint(raw)))
    keys: list[PublicKey] = []
    tfolder = Path(trusted).expanduser() if trusted else folder / TRUSTED_DIR
    if verify and tfolder.is_dir():
        for path in sorted(tfolder.glob("*.pub")):
            try:
                keys.append(read_public_key(path))
            except KeyFileError as exc:
                problems.append(str(exc))
    return KeyRing(tuple(signing), tuple(keys), sign, verify, tuple(problems))


# --- signing and verifying ---------------------------------------------------------------------------


def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no spaces, ASCII only (so lone surrogates cannot break encoding)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def signed_message(data: dict[str, Any], area: Any, year: Any, signer: Any) -> bytes:
    """The bytes a signature covers: the label, then the area, year, signer and the data (its own
    ``signature`` block left out)."""
    body = {k: v for k, v in data.items() if k != SIGNATURE_KEY}
    return LABEL + canonical({"area": area, "year": year, "signer": signer, "rollup": body})


def sign_rollup_data(data: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """Sign a roll-up's data (``Rollup.to_dict()``); store and return the signature block."""
    private = _read_private(key.path)
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    signer = fingerprint(raw)
    area, year = data.get("county_code"), data.get("year")
    signature = private.sign(signed_message(data, area, year, signer))
    block = {
        "scheme": SCHEME,
        "area": area,
        "year": year,
        "signer": signer,
        "signer_name": key.name,
        "signed_at": datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
        "value": base64.b64encode(signature).decode("ascii"),
    }
    data[SIGNATURE_KEY] = block
    return block


def verify_rollup_data(
    data: dict[str, Any], keys: KeyRing, *, file: str = "", sheet: str | None = None
) -> list[Finding]:
    """Findings about a roll-up's signature: none when it is signed by a trusted key bound to its area and
    matches its data; errors when trusted keys are configured and it does not; a warning that its origin
    is unverified when none are (or verification is turned off)."""
    where: dict[str, Any] = {"file": file, "sheet": sheet}
    area, year = data.get("county_code"), data.get("year")
    county = data.get("county") or ""
    label = (
        messages.phrase("rollup", county=county, area=area)
        if year is None
        else messages.phrase("rollup", "year", county=county, area=area, year=year)
    )
    if not keys.verifying:
        why = messages.text("rollup-unverified", "no-verify" if not keys.verify else "no-keys", label=label)
        return [make("rollup-unverified", why, **where)]
    block = data.get(SIGNATURE_KEY)
    if not isinstance(block, dict):
        return [
            make(
                "rollup-unsigned",
                messages.text("rollup-unsigned", label=label),
                **where,
            )
        ]
    signer = block.get("signer")
    key = next((k for k in keys.trusted if k.fingerprint == signer), None)
    if key is None:
        return [
            make(
                "rollup-untrusted-key",
                messages.text("rollup-untrusted-key", label=label, fingerprint=show_fingerprint(str(signer))),
                value=signer,
                **where,
            )
        ]
    if key.area != area:
        return [
            make(
                "rollup-key-area",
                messages.text(
                    "rollup-key-area",
                    label=label,
                    signer=key.name or key.area,
                    signer_area=key.area,
                    area=area,
                ),
                value=signer,
                **where,
            )
        ]
    try:
        if block.get("scheme") != SCHEME or block.get("area") != area or block.get("year") != year:
            raise InvalidSignature
        signature = base64.b64decode(str(block.get("value", "")), validate=True)
        Ed25519PublicKey.from_public_bytes(key.raw).verify(
            signature, signed_message(data, area, year, signer)
        )
    except (InvalidSignature, ValueError):
        return [
            make(
                "rollup-bad-signature",
                messages.text("rollup-bad-signature", label=label),
                value=signer,
                **where,
            )
        ]
    return []
