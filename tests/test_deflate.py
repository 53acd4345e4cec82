"""The deflate library behind the zip parts (``xlsx/deflate.py``): ISA-L when installed (a declared
dependency), its streams read by the standard library, and its errors refused like zlib's."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest

from selfeval_xlsx.limits import DEFAULT_LIMITS
from selfeval_xlsx.xlsx import deflate
from selfeval_xlsx.xlsx.zipread import ZipRefused, read_member


def test_isal_is_the_library_in_use() -> None:
    assert deflate.ISAL  # pyproject declares it: without it every output costs more CPU, silently


def test_runs_with_full_flushes_inflate_with_the_standard_library() -> None:
    runs = [f'<row r="{i}"><c r="A{i}"><v>{i * 7}</v></c></row>'.encode() * 40 for i in range(1, 30)]
    z = deflate.compressor()
    packed = b"".join(z.compress(r) + z.flush(deflate.Z_FULL_FLUSH) for r in runs) + z.flush()
    assert zlib.decompress(packed, -15) == b"".join(runs)
    assert deflate.crc32(b"".join(runs)) == zlib.crc32(b"".join(runs))


def _zip_with(member: bytes) -> tuple[bytes, zipfile.ZipInfo]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", member)
    data = buf.getvalue()
    return data, zipfile.ZipFile(io.BytesIO(data)).infolist()[0]


def test_a_corrupt_stream_is_refused_as_corrupt() -> None:
    data, info = _zip_with(b"<workbook>" + b"x" * 5000 + b"</workbook>")
    start = (
        info.header_offset
        + 30
        + struct.unpack("<H", data[info.header_offset + 26 : info.header_offset + 28])[0]
    )
    broken = bytearray(data)
    broken[start] = 0xFF  # a reserved block type (BTYPE 11)
    broken[start + 1] = 0xFF
    with pytest.raises(ZipRefused) as exc:
        read_member(bytes(broken), info, cap=1 << 20, limits=DEFAULT_LIMITS)
    assert exc.value.reason == "corrupt"


def test_a_member_larger_than_the_cap_is_refused() -> None:
    data, info = _zip_with(b"0" * 300_000)
    assert read_member(data, info, cap=1 << 20) == b"0" * 300_000
    with pytest.raises(ZipRefused) as exc:
        read_member(data, info, cap=100_000)
    assert exc.value.reason == "inflated"
