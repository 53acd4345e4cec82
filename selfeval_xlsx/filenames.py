"""File names from untrusted sources (e-mails, archives, township file names) made safe to use or show."""

from __future__ import annotations

import re
import struct
import unicodedata
import zipfile

from .limits import DEFAULT_LIMITS

_FORBIDDEN = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')
_SEPARATORS = re.compile(r"[/\\]+")
_DRIVE = re.compile(r"^(?:\\\\[?.]\\|//[?.]/)?[A-Za-z]:")
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in "0123456789¹²³"}
    | {f"LPT{i}" for i in "0123456789¹²³"}
)
_MAX_NAME_BYTES = 240  # UTF-8 bytes; most file systems allow 255 per name


def visible_text(text: str) -> str:
    """``text`` without control, format (bidi overrides, zero-width), surrogate and line-separator
    characters, NFC-normalised: what may be shown to a clerk."""
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))


def safe_name(name: str, max_chars: int = DEFAULT_LIMITS.max_name_chars) -> str:
    """One safe file-name component built from any name (for output files).

    Keeps Chinese and other letters; drops drive letters and control characters; turns path separators
    and characters Windows forbids into ``_``; strips leading dots and trailing dots/spaces; prefixes
    reserved device names (``CON``, ``NUL``, ``COM1``… with any extension) with ``_``; shortens to
    ``max_chars`` characters and 240 UTF-8 bytes keeping the extension. Never empty, ``.`` or ``..``.
    """
    text = _DRIVE.sub("", visible_text(name))
    parts = [p for p in _SEPARATORS.split(text) if p.strip(" .")]
    return _safe_component("_".join(parts), max_chars)


def display_name(path: str, max_chars: int = DEFAULT_LIMITS.max_name_chars) -> str:
    """A path made safe to show (not to use): each ``/`` level without control or format characters and
    at most ``max_chars`` long (shortened keeping the extension); otherwise unchanged."""
    return "/".join(_shorten(visible_text(p), max_chars) for p in path.split("/"))


def safe_member_path(name: str, max_chars: int = DEFAULT_LIMITS.max_name_chars) -> str:
    """A safe relative display path for a name from an archive or e-mail: like :func:`safe_name` for
    each folder level, joined by ``/``; ``..``, ``.``, empty levels, leading ``/`` and drive letters are
    dropped."""
    text = _DRIVE.sub("", visible_text(name))
    parts = [_safe_component(p, max_chars) for p in _SEPARATORS.split(text) if p.strip(" .")]
    if not parts:
        return "未命名"
    path = "/".join(parts)
    if len(path) > max_chars:
        path = _shorten(path, max_chars)
    return path


def _safe_component(text: str, max_chars: int) -> str:
    text = _FORBIDDEN.sub("_", text).strip(" ").lstrip(".").rstrip(" .")
    if not text:
        return "未命名"
    stem = text.split(".", 1)[0].rstrip(" ")
    if stem.upper() in _RESERVED:
        text = "_" + text
    return _shorten(text, max_chars)


def _shorten(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` characters and 240 UTF-8 bytes, keeping a short extension."""
    if len(text) <= max_chars and len(text.encode("utf-8")) <= _MAX_NAME_BYTES:
        return text
    dot = text.rfind(".")
    ext = text[dot:] if dot > 0 and len(text) - dot <= 10 else ""
    stem = text[: len(text) - len(ext)]
    room = max(1, max_chars - len(ext) - 1)
    stem = stem[:room]
    while len((stem + "…" + ext).encode("utf-8")) > _MAX_NAME_BYTES and len(stem) > 1:
        stem = stem[:-1]
    return stem + "…" + ext


def zip_member_name(info: zipfile.ZipInfo) -> str:
    """The name a zip member was given, decoded the way its maker meant.

    Zips made on Chinese Windows store names in GBK without the UTF-8 flag (bit 11); Python then decodes
    them as cp437. Order: the Info-ZIP Unicode Path extra field (0x7075) when present; names flagged
    UTF-8 as is; otherwise the raw bytes as UTF-8 if valid (some tools omit the flag), else GB18030 (a
    superset of GBK and GB2312), else cp437.
    """
    unicode_path = _unicode_path_extra(info)
    if unicode_path is not None:
        return unicode_path
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for codec in ("utf-8", "gb18030"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return info.filename


def _unicode_path_extra(info: zipfile.ZipInfo) -> str | None:
    extra = info.extra
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        if tag == 0x7075 and len(body) > 5 and body[0] == 1:
            try:
                return body[5:].decode("utf-8")
            except UnicodeDecodeError:
                return None
        pos += 4 + size
    return None
