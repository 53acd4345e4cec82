"""Bounded reading of zip packages (workbooks and archives) from bytes.

:func:`open_zip` bounds the central directory before :mod:`zipfile` builds one object per member;
:func:`inflate` streams a member counting real bytes (declared sizes can lie). Every refusal is a
:class:`ZipRefused` with a stable :attr:`~ZipRefused.reason`; the caller decides what to tell its user.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterator

from . import deflate
from .limits import DEFAULT_LIMITS, Limits

_CHUNK_IN = 64 * 1024  # compressed bytes fed to zlib at a time
_CHUNK_OUT = 256 * 1024  # most inflated bytes produced by one zlib call

#: Why a zip (or one member) is refused: the values of :attr:`ZipRefused.reason`.
REASONS = frozenset({"corrupt", "members", "encrypted", "method", "bomb", "inflated"})


class ZipRefused(Exception):
    """A zip package or member that must not be read further.

    ``reason`` is one of :data:`REASONS`: ``corrupt`` (broken, truncated, overlapping or duplicate
    members, bad CRC), ``members`` (more members, or a larger directory, than the limits allow; ``count``
    is the declared number), ``encrypted`` (a member with a password), ``method`` (a compression method
    other than stored or deflate), ``bomb`` (a compression ratio above ``max_ratio``) and ``inflated``
    (more inflated bytes than allowed).
    """

    def __init__(self, reason: str, count: int = 0) -> None:
        super().__init__(f"zip refused: {reason}" + (f" ({count})" if count else ""))
        self.reason = reason
        self.count = count


def open_zip(data: bytes, limits: Limits = DEFAULT_LIMITS) -> zipfile.ZipFile:
    """A :class:`zipfile.ZipFile` over ``data``, after bounding its directory; raises :class:`ZipRefused`.

    Refuses (before building one object per member) a central directory larger than ``max_members``
    entries could need, and then more than ``max_members`` members, duplicate names, members whose data
    overlap (the "better zip bomb") or lie outside the file.
    """
    try:
        zf = open_zip_unchecked(data, limits)
    except ZipRefused:
        raise
    except Exception as exc:  # zipfile raises many kinds on hostile input (even NotImplementedError)
        raise ZipRefused("corrupt") from exc
    return check_members(zf, data, limits)


def check_directory(data: bytes, limits: Limits) -> None:
    """Refuse a central directory declaring more than ``max_members`` entries, or larger than they
    could need; :class:`zipfile.BadZipFile` when there is no end-of-central-directory record."""
    count, cd_size = central_directory_size(data)
    if count > limits.max_members or cd_size > max(64 * 1024, limits.max_members * 1024):
        raise ZipRefused("members", count)


def check_members(zf: zipfile.ZipFile, data: bytes, limits: Limits) -> zipfile.ZipFile:
    """``zf`` itself, once its members are known to be few enough, uniquely named, not overlapping and
    inside ``data``; raises :class:`ZipRefused`."""
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise ZipRefused("members", len(infos))
    if len({i.filename for i in infos}) != len(infos):
        raise ZipRefused("corrupt")
    end_prev = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.header_offset < end_prev:
            raise ZipRefused("corrupt")
        end_prev = info.header_offset + 30 + info.compress_size
    if end_prev > len(data):
        raise ZipRefused("corrupt")
    return zf


def open_zip_unchecked(data: bytes, limits: Limits) -> zipfile.ZipFile:
    """A :class:`zipfile.ZipFile` after :func:`check_directory` only (members not checked)."""
    check_directory(data, limits)
    return zipfile.ZipFile(io.BytesIO(data))


def central_directory_size(data: bytes) -> tuple[int, int]:
    """(entries, bytes) the end-of-central-directory record declares; BadZipFile if there is none."""
    eocd = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))
    if eocd < 0 or eocd + 22 > len(data):
        raise zipfile.BadZipFile("no end of central directory")
    count, cd_size = struct.unpack_from("<HI", data, eocd + 10)
    zip64 = eocd >= 20 and data[eocd - 20 : eocd - 16] == b"PK\x06\x07"
    if (count == 0xFFFF or cd_size == 0xFFFFFFFF) and zip64:
        (offset,) = struct.unpack_from("<Q", data, eocd - 12)
        if offset + 56 <= len(data) and data[offset : offset + 4] == b"PK\x06\x06":
            count, cd_size = struct.unpack_from("<QQ", data, offset + 32)
    return count, cd_size


def member_span(data: bytes, info: zipfile.ZipInfo) -> tuple[int, int]:
    """Start and end offsets of a member's compressed bytes, from its local header."""
    off = info.header_offset
    if off + 30 > len(data) or data[off : off + 4] != b"PK\x03\x04":
        raise ZipRefused("corrupt")
    name_len, extra_len = struct.unpack_from("<HH", data, off + 26)
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    if data[off + 30 : off + 30 + name_len] != info.orig_filename.encode(encoding, "replace"):
        raise ZipRefused("corrupt")  # zipfile would refuse it too
    start = off + 30 + name_len + extra_len
    end = start + info.compress_size
    if end > len(data):
        raise ZipRefused("corrupt")
    return start, end


def inflate(data: bytes, info: zipfile.ZipInfo, cap: int, limits: Limits) -> Iterator[bytes]:
    """Yield a member's inflated bytes in chunks, counting real bytes (declared sizes can lie).

    Raises :class:`ZipRefused` as soon as the output passes ``cap``, the member's declared size, or the
    compression-ratio limit (once past ``ratio_floor_bytes``), and when the member is encrypted, uses an
    unusual compression method, is truncated or fails its CRC.
    """
    if info.flag_bits & 0x1:
        raise ZipRefused("encrypted")
    declared_ratio = info.file_size / max(1, info.compress_size)
    if info.file_size > limits.ratio_floor_bytes and declared_ratio > limits.max_ratio:
        raise ZipRefused("bomb")
    if info.file_size > cap:
        raise ZipRefused("inflated")
    start, end = member_span(data, info)
    view = memoryview(data)
    crc = 0
    produced = 0
    if info.compress_type == zipfile.ZIP_STORED:
        for pos in range(start, end, _CHUNK_OUT):
            piece = view[pos : min(pos + _CHUNK_OUT, end)]
            produced += len(piece)
            if produced > cap:
                raise ZipRefused("inflated")
            crc = deflate.crc32(piece, crc)
            yield bytes(piece)
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = deflate.decompressor()
        pos = start
        feed: bytes | memoryview
        while not inflater.eof:
            if inflater.unconsumed_tail:
                feed = inflater.unconsumed_tail
            elif pos < end:
                feed = view[pos : min(pos + _CHUNK_IN, end)]
                pos += len(feed)
            else:
                feed = b""
            try:
                chunk = inflater.decompress(feed, _CHUNK_OUT)
            except deflate.ERRORS as exc:
                raise ZipRefused("corrupt") from exc
            if not chunk and not feed:
                break  # input exhausted before the end of the deflate stream
            produced += len(chunk)
            consumed = max(1, (pos - start) - len(inflater.unconsumed_tail))
            if produced > cap:
                raise ZipRefused("inflated")
            if produced > info.file_size:
                raise ZipRefused("corrupt")
            if produced > limits.ratio_floor_bytes and produced > limits.max_ratio * consumed:
                raise ZipRefused("bomb")
            crc = deflate.crc32(chunk, crc)
            if chunk:
                yield chunk
        if not inflater.eof:
            raise ZipRefused("corrupt")
    else:
        raise ZipRefused("method")
    if produced != info.file_size or crc != info.CRC:
        raise ZipRefused("corrupt")


def read_member(data: bytes, info: zipfile.ZipInfo, cap: int, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """A zip member's bytes, inflated with every bound of :func:`inflate`; raises :class:`ZipRefused`."""
    return b"".join(inflate(data, info, cap=cap, limits=limits))


def zip_names(data: bytes) -> tuple[list[str], zipfile.ZipFile | None]:
    """Member names from the central directory or, when it is unreadable, from local headers (with the
    :class:`zipfile.ZipFile` when the directory was readable)."""
    try:
        zf = open_zip_unchecked(data, DEFAULT_LIMITS)
        return [i.filename for i in zf.infolist()], zf
    except Exception:  # zipfile raises many kinds on hostile input (even NotImplementedError)
        pass
    names: list[str] = []
    pos = data.find(b"PK\x03\x04")
    while pos >= 0 and len(names) < 2000 and pos + 30 <= len(data):
        flags, n_len = struct.unpack_from("<H", data, pos + 6)[0], struct.unpack_from("<H", data, pos + 26)[0]
        raw = data[pos + 30 : pos + 30 + n_len]
        names.append(raw.decode("utf-8" if flags & 0x800 else "cp437", "replace"))
        pos = data.find(b"PK\x03\x04", pos + 30 + n_len)
    return names, None


def read_small(data: bytes, zf: zipfile.ZipFile, name: str, cap: int) -> bytes:
    """A small member's bytes (at most ``cap``), or b'' if it cannot be read safely."""
    try:
        info = zf.getinfo(name)
        return b"".join(inflate(data, info, cap=cap, limits=DEFAULT_LIMITS))
    except (ZipRefused, KeyError, zlib.error, ValueError, struct.error):
        return b""
