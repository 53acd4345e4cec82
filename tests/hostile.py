"""Generators of hostile and broken input files, for tests.

Each public function writes one file at ``path`` and returns ``path`` (so ``hostile.pdf(tmp / "a.xlsx")``
reads well in a test); the ``*_bytes`` helpers return bytes for building archives and e-mails. Everything
is made here, in memory, from the standard library and xlsxwriter, or (hostile content in the real
template) by filling the standard workbook with ``tests/openpyxl_fill.py``: no fixture files, no network.

:func:`catalogue` lists every case of issue 5 as a :class:`Case`: how to build it and what ``validate``,
``score`` and ``merge`` must make of it (``tests/test_hostile.py`` runs them all;
``benchmarks/bench_hostile.py`` measures them).

Low-level builders (return bytes): :func:`raw_zip` (a zip writer that can lie: raw name bytes, flags,
extra fields, declared sizes), :func:`cfb` (a minimal OLE2 compound-file writer), :func:`rebuild_xlsx` and
:func:`xlsx_with` (a valid workbook with some parts replaced), :func:`repeat_deflate` (a gigabyte of
deflate data in a megabyte, made in a fraction of a second).
"""

from __future__ import annotations

import inspect
import io
import os
import random
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from workbooks import cell_of as cell
from workbooks import indicator_cell

MB = 1024 * 1024
CST = timezone(timedelta(hours=8))


# ------------------------------------------------------------------------------------------------
# real workbooks
# ------------------------------------------------------------------------------------------------


def xlsx_bytes(title: str = "宋营镇人民政府", rows: int = 12, macro: bool = False) -> bytes:
    """A small, valid workbook (two sheets, Chinese text, numbers, a formula), made with xlsxwriter."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("预算执行")
    ws.write_row(0, 0, ["单位名称", title])
    ws.write_row(1, 0, ["项目", "年初预算数", "全年预算数", "全年执行数", "执行率"])
    for r in range(rows):
        ws.write_row(r + 2, 0, [f"项目{r + 1}", 100 + r, 110 + r, 90 + r])
        ws.write_formula(r + 2, 4, f"=D{r + 3}/C{r + 3}")
    ws2 = wb.add_worksheet("绩效指标")
    ws2.write_row(0, 0, ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分"])
    ws2.write_row(1, 0, ["产出指标", "数量指标", "预算项目个数", "38", "38", 20, 20])
    if macro:
        wb.add_vba_project(io.BytesIO(b"\x00" * 512), is_stream=True)
    wb.close()
    data = buf.getvalue()
    if macro:  # xlsxwriter needs the .xlsm name to set the macro content type; patch it in
        data = rebuild_xlsx(data, {"[Content_Types].xml": _macro_content_types(data)})
    return data


def _macro_content_types(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        ct = zf.read("[Content_Types].xml")
    return ct.replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )


def xlsx(path: Path, **kwargs: object) -> Path:
    path.write_bytes(xlsx_bytes(**kwargs))  # type: ignore[arg-type]
    return path


def xlsm(path: Path) -> Path:
    path.write_bytes(xlsx_bytes(macro=True))
    return path


def parts(data: bytes) -> dict[str, bytes]:
    """A zip's members by name (trusted input only: our own workbooks)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def rebuild_xlsx(data: bytes, replace: Mapping[str, bytes], drop: tuple[str, ...] = ()) -> bytes:
    """``data`` (a zip) rewritten with some members replaced or added, others dropped."""
    members = {k: v for k, v in parts(data).items() if k not in drop}
    members.update(replace)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------
# not workbooks
# ------------------------------------------------------------------------------------------------


def empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def random_bytes(path: Path, size: int = 4096, seed: int = 1) -> Path:
    data = bytearray(random.Random(seed).randbytes(size))
    data[:4] = b"\x13\x37\x00\xff"  # never a magic number by chance
    path.write_bytes(bytes(data))
    return path


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def pdf(path: Path) -> Path:
    """A minimal PDF (write it as ``something.xlsx`` for a renamed one)."""
    path.write_bytes(PDF)
    return path


def docx_bytes() -> bytes:
    """A minimal Word document package (word/document.xml)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def docx(path: Path) -> Path:
    path.write_bytes(docx_bytes())
    return path


def png(path: Path) -> Path:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    return path


def text(path: Path, body: str = "宋营镇,2023,100\n") -> Path:
    path.write_bytes(body.encode("utf-8"))
    return path


def truncated_zip(path: Path, keep: float = 0.6) -> Path:
    """A valid workbook cut short (a download that did not finish)."""
    data = xlsx_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def zip_without_workbook(path: Path) -> Path:
    """An OOXML-looking package with no workbook part."""
    data = rebuild_xlsx(xlsx_bytes(), {}, drop=("xl/workbook.xml",))
    members = {k: v for k, v in parts(data).items() if not k.startswith("xl/")}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    path.write_bytes(buf.getvalue())
    return path


def plain_zip_bytes(members: Mapping[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return buf.getvalue()


def plain_zip(path: Path, members: Mapping[str, bytes]) -> Path:
    path.write_bytes(plain_zip_bytes(members))
    return path


# ------------------------------------------------------------------------------------------------
# OLE2 compound files: .xls, .et, password-protected OOXML
# ------------------------------------------------------------------------------------------------

_FREE, _END, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def cfb(streams: Mapping[str, bytes]) -> bytes:
    """A minimal valid OLE2 compound file (version 3, 512-byte sectors) holding ``streams``.

    Streams are padded to 4096 bytes so they live in regular sectors (no mini stream); the directory is a
    right-leaning chain of black nodes in [MS-CFB] name order, which readers accept.
    """
    ordered = sorted(streams.items(), key=lambda kv: (len(kv[0]), kv[0].upper()))
    bodies = [body.ljust(4096, b"\x00") for _, body in ordered]
    n_dir = -(-(len(ordered) + 1) // 4)
    n_data = [-(-len(b) // 512) for b in bodies]
    n_fat = 1
    while n_fat * 128 < n_fat + n_dir + sum(n_data):
        n_fat += 1
    fat = [_FATSECT] * n_fat
    first_dir = len(fat)
    fat += [first_dir + i + 1 for i in range(n_dir - 1)] + [_END]
    starts = []
    for n in n_data:
        starts.append(len(fat))
        fat += [len(fat) + i + 1 for i in range(n - 1)] + [_END]
    fat += [_FREE] * (n_fat * 128 - len(fat))

    def entry(name: str, kind: int, right: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le")
        head = raw.ljust(64, b"\x00") + struct.pack("<HBB", len(raw) + 2, kind, 1)
        return (
            head
            + struct.pack("<III", _NOSTREAM, right, child)
            + b"\x00" * 36
            + struct.pack("<IQ", start, size)
        )

    dirs = [entry("Root Entry", 5, _NOSTREAM, 1 if ordered else _NOSTREAM, _END, 0)]
    for i, ((name, _), start, body) in enumerate(zip(ordered, starts, bodies, strict=True)):
        right = i + 2 if i + 1 < len(ordered) else _NOSTREAM
        dirs.append(entry(name, 2, right, _NOSTREAM, start, len(body)))
    empty_entry = b"\x00" * 64 + struct.pack("<HBB", 0, 0, 0) + struct.pack("<III", *[_NOSTREAM] * 3)
    empty_entry += b"\x00" * 36 + struct.pack("<IQ", 0, 0)
    dirs += [empty_entry] * (n_dir * 4 - len(dirs))

    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIII", header, 40, 0, n_fat, first_dir, 0)
    struct.pack_into("<IIIII", header, 56, 4096, _END, 0, _END, 0)
    difat = list(range(n_fat)) + [_FREE] * (109 - n_fat)
    struct.pack_into("<109I", header, 76, *difat)
    out = bytes(header) + struct.pack(f"<{len(fat)}I", *fat) + b"".join(dirs)
    return out + b"".join(b.ljust(n * 512, b"\x00") for b, n in zip(bodies, n_data, strict=True))


_BIFF8 = (
    struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x1234, 1997, 0, 0)  # BOF, workbook globals
    + struct.pack("<HH", 0x000A, 0)  # EOF
)


def xls_bytes() -> bytes:
    """An old Excel 97–2003 workbook as far as sniffing goes: OLE2 with a BIFF8 ``Workbook`` stream."""
    return cfb({"Workbook": _BIFF8, "\x05SummaryInformation": b"\xfe\xff"})


def old_xls(path: Path) -> Path:
    path.write_bytes(xls_bytes())
    return path


def wps_et(path: Path) -> Path:
    """A WPS 表格 .et file: an OLE2 file with a ``Workbook`` stream, like .xls."""
    path.write_bytes(cfb({"Workbook": _BIFF8, "\x05DocumentSummaryInformation": b"\xfe\xff"}))
    return path


def encrypted_ole_bytes() -> bytes:
    """A password-protected OOXML file: OLE2 with ``EncryptionInfo`` and ``EncryptedPackage`` streams."""
    info = struct.pack("<HHI", 4, 4, 0x40) + b'<?xml version="1.0"?><encryption/>'
    package = struct.pack("<Q", 12345) + random.Random(7).randbytes(4000)
    return cfb({"EncryptionInfo": info, "EncryptedPackage": package})


def encrypted_ole(path: Path) -> Path:
    path.write_bytes(encrypted_ole_bytes())
    return path


def velvet_sweatshop(data: bytes, password: str = "VelvetSweatshop") -> bytes:
    """``data`` (an OOXML package) encrypted as Excel encrypts it, by default with Excel's own default
    password (a workbook saved "read-only recommended" or with only a password to modify)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt(password, out)
    return out.getvalue()


def default_password(path: Path, index: int = 0) -> Path:
    """A filled workbook encrypted with Excel's default password: Excel opens it without asking."""
    path.write_bytes(velvet_sweatshop(template_bytes(index)))
    return path


def default_password_bomb(path: Path) -> Path:
    """A 1 GB zip bomb encrypted with Excel's default password: decrypted, then refused like any bomb."""
    zip_bomb(path)
    path.write_bytes(velvet_sweatshop(path.read_bytes()))
    return path


def outlook_msg(path: Path) -> Path:
    """An Outlook message saved as .msg: OLE2 with ``__substg1.0_…`` property streams."""
    streams = {"__properties_version1.0": b"\x00" * 32, "__substg1.0_0037001F": "自评表".encode("utf-16-le")}
    path.write_bytes(cfb(streams))
    return path


def rar(path: Path) -> Path:
    path.write_bytes(b"Rar!\x1a\x07\x01\x00" + b"\x00" * 64)
    return path


def xlsb(path: Path) -> Path:
    """An Excel binary workbook package (xl/workbook.bin)."""
    path.write_bytes(
        plain_zip_bytes(
            {"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"\x83\x01\x00", "_rels/.rels": b""}
        )
    )
    return path


def ods(path: Path) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<office:document-content/>")
    path.write_bytes(buf.getvalue())
    return path


# ------------------------------------------------------------------------------------------------
# zips that lie
# ------------------------------------------------------------------------------------------------


@dataclass
class RawMember:
    """One member for :func:`raw_zip`; ``None`` fields are computed honestly."""

    name: bytes  # raw name bytes, written as is
    data: bytes = b""  # uncompressed content (used for CRC/sizes/compression unless overridden)
    flags: int = 0  # general purpose flags (bit 11 = UTF-8 name, bit 0 = encrypted)
    method: int = 8  # 0 stored, 8 deflate
    compressed: bytes | None = None  # raw compressed bytes to write instead of compressing ``data``
    crc: int | None = None
    size: int | None = None  # declared uncompressed size (both headers)
    csize: int | None = None  # declared compressed size (both headers)
    local_size: int | None = None  # declared uncompressed size in the local header only
    extra: bytes = b""  # extra fields (both headers)


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def raw_zip(members: list[RawMember]) -> bytes:
    """A zip written byte by byte, so tests can set raw name bytes, flags, extra fields and (false) sizes."""
    out = bytearray()
    central = bytearray()
    for m in members:
        body = m.compressed if m.compressed is not None else (_deflate(m.data) if m.method == 8 else m.data)
        crc = zlib.crc32(m.data) if m.crc is None else m.crc
        size = len(m.data) if m.size is None else m.size
        csize = len(body) if m.csize is None else m.csize
        local_size = size if m.local_size is None else m.local_size
        common = (m.flags, m.method, 0, 0x5821, crc, csize)  # flags, method, time, date, crc, csize
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, *common, local_size, len(m.name), len(m.extra))
        out += m.name + m.extra + body
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            *common,
            size,
            len(m.name),
            len(m.extra),
            0,
            0,
            0,
            0,
            offset,
        )
        central += m.name + m.extra
    cd_offset = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), cd_offset, 0)
    return bytes(out)


def xlsx_with(replace: Mapping[str, bytes | RawMember]) -> bytes:
    """A valid workbook rebuilt with :func:`raw_zip`, some members replaced (bytes or raw members)."""
    original = parts(xlsx_bytes())
    members = []
    for name in [*original, *(n for n in replace if n not in original)]:
        new = replace.get(name, original.get(name, b""))
        members.append(new if isinstance(new, RawMember) else RawMember(name.encode(), new))
    return raw_zip(members)


def repeat_deflate(size: int, unit: bytes = b"<c/>") -> tuple[bytes, int]:
    """Raw deflate data for ``size`` bytes (a multiple of 1 MB) of ``unit`` repeated, and its CRC-32.

    Made quickly: with a full flush after each megabyte the compressor's output for every megabyte is
    the same, so the stream is one compressed megabyte repeated (ratio ≈ 1000), then an empty final block.
    The default unit looks like XML, so only size and ratio checks can catch it.
    """
    megabyte = (unit * (MB // len(unit) + 1))[:MB]
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(megabyte) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(size // MB):
        crc = zlib.crc32(megabyte, crc)
    return block * (size // MB) + b"\x03\x00", crc


def zip_bomb(path: Path, inflated: int = 1024 * MB, lie: bool = False) -> Path:
    """A workbook whose first sheet inflates to ``inflated`` bytes of ``<c/><c/>…`` (ratio ≈ 1000).

    The headers tell the truth (so the declared ratio refuses it before inflating anything), or with
    ``lie`` declare the sheet as 1 KB inflated (so only counting real bytes while inflating catches it).
    """
    body, crc = repeat_deflate(inflated)
    sheet = RawMember(
        b"xl/worksheets/sheet1.xml", compressed=body, crc=crc, size=1024 if lie else inflated, csize=len(body)
    )
    path.write_bytes(xlsx_with({"xl/worksheets/sheet1.xml": sheet}))
    return path


def overlapping_zip(path: Path, copies: int = 50) -> Path:
    """A "better zip bomb" (Fifield): many central entries pointing at one member's data."""
    one = RawMember(b"[Content_Types].xml", b"<Types/>" * 1000)
    data = bytearray(raw_zip([one]))
    eocd = data.rfind(b"PK\x05\x06")
    (cd_offset,) = struct.unpack_from("<I", data, eocd + 16)
    entry = bytes(data[cd_offset:eocd])
    names = [f"xl/media/img{i:03}.bin".encode() for i in range(copies)]  # same length as the original
    central = entry + b"".join(entry.replace(b"[Content_Types].xml", n) for n in names)
    tail = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, copies + 1, copies + 1, len(central), cd_offset, 0)
    path.write_bytes(bytes(data[:cd_offset]) + central + tail)
    return path


def lying_sizes_xlsx(path: Path, declared: int = 100) -> Path:
    """A workbook whose sheet's headers declare ``declared`` bytes although it inflates to more."""
    sheet = parts(xlsx_bytes())["xl/worksheets/sheet1.xml"]
    path.write_bytes(
        xlsx_with({"xl/worksheets/sheet1.xml": RawMember(b"xl/worksheets/sheet1.xml", sheet, size=declared)})
    )
    return path


def huge_declared_xlsx(path: Path) -> Path:
    """A workbook whose sheet declares 3 GB inflated (refused before inflating anything)."""
    sheet = parts(xlsx_bytes())["xl/worksheets/sheet1.xml"]
    member = RawMember(b"xl/worksheets/sheet1.xml", sheet, size=3 * 1024 * MB)
    path.write_bytes(xlsx_with({"xl/worksheets/sheet1.xml": member}))
    return path


def zip_encrypted_member(path: Path) -> Path:
    """A workbook whose sheet has the zip 'encrypted' flag set (zip-level password)."""
    sheet = parts(xlsx_bytes())["xl/worksheets/sheet1.xml"]
    member = RawMember(b"xl/worksheets/sheet1.xml", sheet, flags=0x1)
    path.write_bytes(xlsx_with({"xl/worksheets/sheet1.xml": member}))
    return path


def many_members_xlsx(path: Path, count: int = 1200) -> Path:
    extra = {f"xl/media/pad{i}.bin": b"x" for i in range(count)}
    path.write_bytes(rebuild_xlsx(xlsx_bytes(), extra))
    return path


# ------------------------------------------------------------------------------------------------
# hostile XML inside an otherwise valid workbook
# ------------------------------------------------------------------------------------------------

_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _cell(text: bytes) -> bytes:
    row = b'<row r="1"><c r="A1" t="inlineStr"><is><t>' + text + b"</t></is></c></row>"
    return b"><sheetData>" + row + b"</sheetData></worksheet>"


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "' % i + (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10 + b'">\n'
        for i in range(1, 10)
    )
    + b"]>\n<worksheet "
    + _NS
    + _cell(b"&lol9;")
)

QUADRATIC = (
    b'<?xml version="1.0"?>\n<!DOCTYPE q [<!ENTITY a "'
    + b"x" * 50_000
    + b'">]>\n<worksheet '
    + _NS
    + b'><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
    + b"&a;" * 50_000
    + b"</t></is></c></row></sheetData></worksheet>"
)

EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<worksheet '
    + _NS
    + _cell(b"&xxe;")
)


def _xml_in_sheet(path: Path, xml: bytes, part: str = "xl/worksheets/sheet1.xml") -> Path:
    path.write_bytes(rebuild_xlsx(xlsx_bytes(), {part: xml}))
    return path


def billion_laughs_xlsx(path: Path) -> Path:
    return _xml_in_sheet(path, BILLION_LAUGHS)


def quadratic_blowup_xlsx(path: Path) -> Path:
    return _xml_in_sheet(path, QUADRATIC)


def external_entity_xlsx(path: Path) -> Path:
    return _xml_in_sheet(path, EXTERNAL_ENTITY)


def utf16_doctype_xlsx(path: Path) -> Path:
    """Billion laughs in a UTF-16 encoded shared-strings part (hides from a naive ASCII scan)."""
    xml = BILLION_LAUGHS.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
    return _xml_in_sheet(path, "\ufeff".encode("utf-16-le") + xml.encode("utf-16-le"), "xl/sharedStrings.xml")


def ebcdic_xlsx(path: Path) -> Path:
    """An XML part declared in EBCDIC (cp500), where '<!DOCTYPE' would not be visible as ASCII bytes."""
    xml = BILLION_LAUGHS.decode().replace('version="1.0"', 'version="1.0" encoding="cp500"')
    return _xml_in_sheet(path, xml.encode("cp500"))


def huge_dimension_xlsx(path: Path, ref: bytes = b"A1:XFD1048576") -> Path:
    """A valid workbook whose first sheet declares the dimension ``ref``."""
    data = xlsx_bytes()
    sheet = parts(data)["xl/worksheets/sheet1.xml"]
    start = sheet.index(b'<dimension ref="') + len(b'<dimension ref="')
    end = sheet.index(b'"', start)
    path.write_bytes(rebuild_xlsx(data, {"xl/worksheets/sheet1.xml": sheet[:start] + ref + sheet[end:]}))
    return path


# ------------------------------------------------------------------------------------------------
# archives with awkward names
# ------------------------------------------------------------------------------------------------


def gbk_names_zip(path: Path, members: Mapping[str, bytes]) -> Path:
    """A zip as made on Chinese Windows: names in GBK, UTF-8 flag (bit 11) unset."""
    path.write_bytes(raw_zip([RawMember(name.encode("gbk"), body) for name, body in members.items()]))
    return path


def unicode_path_extra(name: str, raw_name: bytes) -> bytes:
    """The Info-ZIP Unicode Path extra field (0x7075) that WinRAR and 7-Zip add beside a legacy name."""
    body = b"\x01" + struct.pack("<I", zlib.crc32(raw_name)) + name.encode("utf-8")
    return struct.pack("<HH", 0x7075, len(body)) + body


def utf8_names_zip(path: Path, members: Mapping[str, bytes], flag: bool = True) -> Path:
    """Names in UTF-8, with (or, like some tools, without) the UTF-8 flag."""
    path.write_bytes(
        raw_zip([RawMember(n.encode("utf-8"), b, flags=0x800 if flag else 0) for n, b in members.items()])
    )
    return path


TRAVERSAL_NAMES = ("../evil.xlsx", "/abs.xlsx", "C:\\x.xlsx", "CON.xlsx", "dir/../../up.xlsx")


def traversal_zip(path: Path) -> Path:
    """A zip whose member names try to escape: ``../``, absolute, drive letter, reserved device name,
    a control character and a 300-character name; every member holds a distinct valid workbook."""
    names = [*TRAVERSAL_NAMES, "tab\there.xlsx", "长" * 300 + ".xlsx"]
    members = [
        RawMember(n.encode("utf-8"), xlsx_bytes(title=f"单位{i}"), flags=0x800) for i, n in enumerate(names)
    ]
    path.write_bytes(raw_zip(members))
    return path


def nested_zip(path: Path, depth: int, body: bytes, name: str = "宋营镇.xlsx") -> Path:
    """A workbook wrapped in ``depth`` zips (depth 1 = one zip holding the workbook)."""
    data, inner = body, name
    for level in range(depth):
        data = plain_zip_bytes({inner: data})
        inner = f"level{depth - level}.zip"
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------------------------------------
# e-mails
# ------------------------------------------------------------------------------------------------

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
EMAIL_DATE = datetime(2024, 1, 15, 9, 30, tzinfo=CST)


def eml_rfc2231(path: Path, attachments: Mapping[str, bytes], date: datetime = EMAIL_DATE) -> Path:
    """A mail built with :class:`EmailMessage`: non-ASCII names go out as RFC 2231 ``filename*=utf-8''…``."""
    msg = EmailMessage()
    msg["From"] = "宋营镇财政所 <czs@example.cn>"
    msg["To"] = "county@example.cn"
    msg["Subject"] = "2023年度整体支出绩效自评表"
    msg["Date"] = format_datetime(date)
    msg.set_content("请查收附件。")
    for name, body in attachments.items():
        msg.add_attachment(body, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=name)
    path.write_bytes(bytes(msg))
    return path


def _b64(data: bytes) -> bytes:
    import base64

    encoded = base64.b64encode(data)
    return b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def eml_raw(
    path: Path,
    filename_header: bytes,
    body: bytes,
    date: bytes = b"Mon, 15 Jan 2024 09:30:00 +0800",
) -> Path:
    """A hand-written mail (as Foxmail/Outlook send them) whose attachment's Content-Type and
    Content-Disposition carry ``filename_header`` verbatim, e.g. ``b'"=?GBK?B?...?="'``."""
    mail = (
        b"Received: from mail.example.cn by mx.example.cn; Mon, 15 Jan 2024 09:30:05 +0800\r\n"
        b"From: =?GBK?B?y87Tqs3y?= <czs@example.cn>\r\n"
        b"To: county@example.cn\r\n"
        b"Subject: =?GBK?B?19TGwLHt?=\r\n"
        b"Date: " + date + b"\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="----=_NextPart_000"\r\n'
        b"\r\n"
        b"------=_NextPart_000\r\n"
        b'Content-Type: text/plain; charset="gb2312"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + _b64("请查收。".encode("gb2312")) + b"\r\n\r\n"
        b"------=_NextPart_000\r\n"
        b"Content-Type: application/octet-stream; name=" + filename_header + b"\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename="
        + filename_header
        + b"\r\n\r\n"
        + _b64(body)
        + b"\r\n\r\n"
        b"------=_NextPart_000--\r\n"
    )
    path.write_bytes(mail)
    return path


def encoded_word(name: str, charset: str = "GBK") -> bytes:
    """``name`` as an RFC 2047 encoded word, ``=?GBK?B?…?=``."""
    import base64

    return b'"=?' + charset.encode() + b"?B?" + base64.b64encode(name.encode(charset)) + b'?="'


def eml_nested_multipart(path: Path, levels: int = 200) -> Path:
    """A mail with ``levels`` nested multiparts (makes the stdlib parser slow)."""
    head = b"From: a@example.cn\r\nTo: b@example.cn\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
    body = b""
    for i in range(levels):
        body += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
    path.write_bytes(head + body + b"Content-Type: text/plain\r\n\r\nx\r\n")
    return path


# ------------------------------------------------------------------------------------------------
# inbox debris
# ------------------------------------------------------------------------------------------------


def lock_file(path: Path) -> Path:
    """An Office owner/lock file (``~$宋营镇.xlsx``): 165 bytes holding the user's name."""
    path.write_bytes(b"\x05zhang" + b"\x20" * 48 + b"\x05\x00z\x00h\x00a\x00n\x00g\x00" + b"\x00" * 101)
    return path


def symlink(path: Path, target: Path) -> Path | None:
    """A symbolic link at ``path`` to ``target``; None where the platform does not allow it."""
    try:
        os.symlink(target, path)
    except (OSError, NotImplementedError):
        return None
    return path


# ------------------------------------------------------------------------------------------------
# hostile content in the real template
# ------------------------------------------------------------------------------------------------
# These start from the standard workbook filled by ``tests/openpyxl_fill.py`` (openpyxl edits of the real
# template, as a clerk would make them), for townships of a county the bundled samples do not use
# (元氏县, 130132), each with its own code, so that they never replace a sample township in a merge.

OUTSIDER_COUNTY = ("130132", "元氏县")
OUTSIDER_YEAR = 2023


def outsider(index: int) -> dict[str, Any]:
    """A valid township of 元氏县 (``index`` 0–89 gives code ``130132{110 + index}000``)."""
    import sampledata

    data = sampledata.township(1, seed_value=700 + index)  # a 镇: codes 100–199
    data["identity"].update(
        division_code=f"{OUTSIDER_COUNTY[0]}{110 + index:03d}000",
        county=OUTSIDER_COUNTY[1],
        unit_name=f"元氏{index}镇人民政府",
    )
    return data


def template_bytes(
    index: int = 0, edit: Callable[[Any], None] | None = None, data: dict[str, Any] | None = None
) -> bytes:
    """The standard workbook filled for :func:`outsider` ``index`` (or ``data``), then ``edit(wb)``."""
    from openpyxl_fill import filled_bytes

    return filled_bytes(data or outsider(index), OUTSIDER_YEAR, edit)


def template_xlsx(path: Path, index: int = 0, edit: Callable[[Any], None] | None = None) -> Path:
    """A valid filled workbook (optionally edited with openpyxl by ``edit(wb)``)."""
    path.write_bytes(template_bytes(index, edit))
    return path


def set_cells(**values: Any) -> Callable[[Any], None]:
    """An edit typing values into cells given as ``预算执行__D17=…`` (sheet, two underscores, A1)."""

    def edit(wb: Any) -> None:
        for key, value in values.items():
            sheet, ref = key.split("__")
            wb[sheet][ref] = value

    return edit


def at(where: tuple[str, str], value: Any) -> Callable[[Any], None]:
    """An edit typing ``value`` into the cell ``where`` = (sheet, A1)."""
    return set_cells(**{f"{where[0]}__{where[1]}": value})


#: Formula-like text, as a clerk might paste it or an attacker craft it (CSV/formula injection).
INJECTIONS = (
    '=HYPERLINK("http://x.cn","点")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "{=1+1}",
    "\t=1+1",
    "\r=1+1",
)


def injection_data(index: int = 0) -> dict[str, Any]:
    """:func:`outsider` with formula-like text in every free-text field (names, goals, indicators…)."""
    data = outsider(index)
    payloads = iter(INJECTIONS * 20)
    for section in ("goals", "review"):
        for key in data[section]:
            data[section][key] = next(payloads)
    data["identity"]["preparer"] = next(payloads)
    data["narrative"] = {"overview": next(payloads), "process": next(payloads)}
    for ind in data["indicators"]:
        ind["level3"] = next(payloads)
        if ind.get("reason"):
            ind["reason"] = next(payloads)
    for member in data["members"]:
        for key in ("name", "org", "post", "title"):
            member[key] = next(payloads)
    return data


def injection_xlsx(path: Path, index: int = 0) -> Path:
    path.write_bytes(template_bytes(data=injection_data(index)))
    return path


def template_xlsm(path: Path, index: int = 0) -> Path:
    """A filled workbook saved as macro-enabled: a VBA project part, its relationship and content types."""
    data = template_bytes(index)
    members = parts(data)
    ct = members["[Content_Types].xml"].replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    ct = ct.replace(
        b"</Types>",
        b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
    )
    rels = members["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/'
        b'vbaProject" Target="vbaProject.bin"/></Relationships>',
    )
    vba = cfb({"PROJECT": b'ID="{00000000}"\r\nDocument=ThisWorkbook/&H00000000\r\n', "dir": b"\x01" * 64})
    path.write_bytes(
        rebuild_xlsx(
            data,
            {"[Content_Types].xml": ct, "xl/_rels/workbook.xml.rels": rels, "xl/vbaProject.bin": vba},
        )
    )
    return path


def _sheet_part(data: bytes, sheet: str) -> str:
    """The zip member holding ``sheet`` (openpyxl numbers them in workbook order)."""
    import re

    members = parts(data)
    names = re.findall(rb'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', members["xl/workbook.xml"])
    rid = next(r for n, r in names if n.decode() == sheet)
    rels = members["xl/_rels/workbook.xml.rels"]
    target = re.search(rb'Id="' + rid + rb'"[^>]*Target="([^"]+)"', rels) or re.search(
        rb'Target="([^"]+)"[^>]*Id="' + rid + rb'"', rels
    )
    assert target is not None
    return "xl/" + target.group(1).decode().lstrip("/").removeprefix("xl/")


def template_dimension(
    path: Path, ref: bytes = b"A1:J1048576", sheet: str = "预算执行", index: int = 0
) -> Path:
    """A filled workbook whose sheet declares the dimension ``ref`` (a million rows, 16,384 columns…)."""
    import re

    data = template_bytes(index)
    part = _sheet_part(data, sheet)
    xml = parts(data)[part]
    xml, n = re.subn(rb'<dimension ref="[^"]*"', b'<dimension ref="' + ref + b'"', xml)
    assert n == 1
    path.write_bytes(rebuild_xlsx(data, {part: xml}))
    return path


def template_raw_number(
    path: Path, token: bytes = b"NaN", pointer: str = "/budget/total/executed", index: int = 0
) -> Path:
    """A filled workbook whose numeric cell holds ``token`` verbatim in ``<v>`` (NaN, INF, 1E+400…),
    as no spreadsheet program writes it but a script could."""
    import re

    sheet, ref = cell(pointer)
    marker = 7777.25
    data = template_bytes(index, edit=at((sheet, ref), marker))
    part = _sheet_part(data, sheet)
    xml = parts(data)[part]
    pattern = rb'(<c r="' + ref.encode() + rb'"[^>]*>)<v>7777.25</v>'
    xml, n = re.subn(pattern, rb"\1<v>" + token + rb"</v>", xml)
    assert n == 1, ref
    path.write_bytes(rebuild_xlsx(data, {part: xml}))
    return path


def _indicator_rows(count: int) -> Callable[[Any], None]:
    def edit(wb: Any) -> None:
        from selfeval_xlsx import layout

        p = layout.INDICATOR_SHEET.find("indicators")
        ws = wb[layout.INDICATOR_SHEET.name]
        first = layout.table_row(p, 0)
        cols = range(1, len(p.block.columns) + 1)
        template = [[ws.cell(first + r, c).value for c in cols] for r in range(6)]
        for i in range(count):
            row = template[i % len(template)]
            for c, value in zip(cols, row, strict=True):
                ws.cell(first + i, c).value = i + 1 if c == 1 else value

    return edit


def many_indicator_rows(path: Path, count: int = 10_000, index: int = 0) -> Path:
    """A filled workbook whose indicator table goes on for ``count`` rows (the template has 50)."""
    path.write_bytes(template_bytes(index, edit=_indicator_rows(count)))
    return path


def sheets_edited(path: Path, how: str, index: int = 0) -> Path:
    """A filled workbook with its sheets ``renamed`` / ``missing`` / ``extra`` / ``reordered``."""

    def edit(wb: Any) -> None:
        # the 绩效指标 sheet: every panel mode needs it (a missing 评价小组 is only a warning under auto)
        if how == "renamed":
            wb["绩效指标"].title = "指标"
        elif how == "missing":
            del wb["绩效指标"]
        elif how == "extra":
            wb.create_sheet("Sheet1")["A1"] = "草稿：不要报送"
        elif how == "reordered":
            wb._sheets.reverse()
        else:
            raise ValueError(how)

    path.write_bytes(template_bytes(index, edit=edit))
    return path


def merged_range() -> str:
    """The budget's 当年财政拨款 row, from 年初预算数 to 全年执行数 (three input cells)."""
    return cell("/budget/current/initial")[1] + ":" + cell("/budget/current/executed")[1]


def merged_inputs(path: Path, index: int = 0) -> Path:
    """A filled workbook whose budget row inputs are merged into one cell (the values beside are lost)."""
    sheet = cell("/budget/current/initial")[0]
    path.write_bytes(template_bytes(index, edit=lambda wb: wb[sheet].merge_cells(merged_range())))
    return path


def _row_of(ref: str) -> int:
    return int("".join(ch for ch in ref if ch.isdigit()))


def extra_column_cell() -> str:
    """Column T of the first indicator row: well to the right of the table."""
    from selfeval_xlsx.xlsx.cells import a1

    return a1(_row_of(indicator_cell(0, "level3")[1]), 20)


def extra_column(path: Path, index: int = 0) -> Path:
    """A filled workbook with a note typed to the right of the indicator table."""
    sheet = indicator_cell(0, "level3")[0]
    path.write_bytes(template_bytes(index, edit=at((sheet, extra_column_cell()), "备注：此列为自加")))
    return path


def hidden_row_first_cell() -> str:
    """Column A of the third indicator row (the one :func:`hidden_row` hides)."""
    from selfeval_xlsx.xlsx.cells import a1

    return a1(_row_of(indicator_cell(2, "level3")[1]), 1)


def hidden_row(path: Path, index: int = 0) -> Path:
    """A filled workbook with an indicator row that holds data but is hidden."""
    sheet, ref = indicator_cell(2, "level3")
    row = _row_of(ref)

    def edit(wb: Any) -> None:
        wb[sheet].row_dimensions[row].hidden = True

    path.write_bytes(template_bytes(index, edit=edit))
    return path


def template_version(path: Path, key: str = "template_version", value: str = "0.9", index: int = 0) -> Path:
    """A filled workbook claiming another template version (or id) in its hidden ``_meta`` sheet."""
    from selfeval_xlsx import layout

    def edit(wb: Any) -> None:
        for row in wb[layout.META_SHEET_NAME].iter_rows(max_col=2):
            if row[0].value == key:
                row[1].value = value

    path.write_bytes(template_bytes(index, edit=edit))
    return path


#: Archive-member and attachment names that try to escape, or that Windows cannot create.
DANGEROUS_NAMES = (
    "../逃逸.xlsx",
    "/etc/绝对路径.xlsx",
    "C:\\Windows\\盘符.xlsx",
    "CON.xlsx",
    "dir/../../上两级.xlsx",
    "控制\t字符.xlsx",
    "空\x00字符.xlsx",
    "长" * 150 + ".xlsx",
)


def traversal_template_zip(path: Path, first: int = 50) -> Path:
    """A zip whose members carry :data:`DANGEROUS_NAMES` and each hold a distinct valid township."""
    members = [
        RawMember(n.encode("utf-8"), template_bytes(first + i), flags=0x800)
        for i, n in enumerate(DANGEROUS_NAMES)
    ]
    path.write_bytes(raw_zip(members))
    return path


def traversal_template_eml(path: Path, first: int = 60) -> Path:
    """A mail whose attachments carry dangerous names (no NUL: mail headers cannot hold it), each a
    distinct valid township."""
    names = [n for n in DANGEROUS_NAMES if "\x00" not in n and "\t" not in n]
    return eml_rfc2231(path, {n: template_bytes(first + i) for i, n in enumerate(names)})


def symlink_outside(path: Path, index: int = 80) -> Path | None:
    """A link at ``path`` to a valid township's workbook beside the inbox (outside it)."""
    target = path.parent.parent / f"{path.stem}（收件箱外）.xlsx"
    template_xlsx(target, index)
    return symlink(path, target)


def html_xls(path: Path) -> Path:
    """A web page saved with an .xls name (what some systems export)."""
    path.write_bytes(
        b"\xef\xbb\xbf<html xmlns:x='urn:schemas-microsoft-com:office:excel'><body><table><tr><td>1</td>"
        b"</tr></table></body></html>"
    )
    return path


# ------------------------------------------------------------------------------------------------
# the catalogue: every case of issue 5, with what the commands must make of it
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One hostile or broken input and how ``validate``, ``score`` and ``merge`` must treat it.

    ``gen(folder / name, **kwargs)`` writes it. ``codes`` are finding codes that ``validate`` must report
    for the file (the first at ``where`` = (sheet, cell) when given); ``valid`` says whether validate and
    score accept it (warnings at most). ``fate`` is what a merge of an inbox holding only this file
    counts besides ``seen`` (an archive counts its members), and ``merge_codes`` the codes its findings
    carry there (default: ``codes``).
    """

    id: str
    name: str
    gen: Callable[..., Any]
    codes: tuple[str, ...] = ()
    where: tuple[str | None, str | None] | None = None
    valid: bool = False
    fate: tuple[tuple[str, int], ...] = (("rejected", 1),)
    merge_codes: tuple[str, ...] | None = None
    kwargs: tuple[tuple[str, Any], ...] = ()
    category: str = ""

    def build(self, folder: Path) -> Path | None:
        """Write the case into ``folder``; None where the platform cannot make it (symlinks)."""
        return self.gen(folder / self.name, **dict(self.kwargs))

    @property
    def counts(self) -> dict[str, int]:
        """The merge's expected counts, ``seen`` included."""
        out = {"accepted": 0, "superseded": 0, "rejected": 0, "skipped": 0, **dict(self.fate)}
        return {"seen": sum(out.values()), **out}

    @property
    def expected_merge_codes(self) -> tuple[str, ...]:
        return self.codes if self.merge_codes is None else self.merge_codes


def _kw(**kwargs: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(kwargs.items())


def catalogue() -> list[Case]:
    """Every case listed in issue 5 (and a few more), once each."""
    budget, indicators, panel = "预算执行", "绩效指标", "评价小组"
    executed = cell("/budget/total/executed")
    initial = cell("/budget/total/initial")
    filled_on = cell("/identity/filled_on")
    problems = cell("/review/problems")
    unit_name = cell("/identity/unit_name")
    weight0 = indicator_cell(0, "weight")
    R, A, S = "rejected", "accepted", "skipped"
    not_wb, corrupt, unsupported = ("not-a-workbook",), ("corrupt-workbook",), ("unsupported-format",)
    too_large, encrypted = ("too-large",), ("encrypted-workbook",)

    index = iter(range(1, 50))  # each template-based case is another township (none supersedes another)

    def c(
        category: str, id: str, name: str, gen: Callable[..., Any], codes: tuple[str, ...], **kw: Any
    ) -> Case:
        if "index" in inspect.signature(gen).parameters and "index" not in dict(kw.get("kwargs", ())):
            kw["kwargs"] = (*kw.get("kwargs", ()), ("index", next(index)))
        fate = kw.pop("fate", ((R, 1),))
        if isinstance(fate, str):
            fate = ((fate, 1),)
        elif isinstance(fate, dict):
            fate = tuple(fate.items())
        return Case(id, name, gen, codes, fate=fate, category=category, **kw)

    NOT = "not a workbook"
    RES = "resource attacks"
    INJ = "injection"
    PATH = "paths"
    STRUCT = "structure"
    return [
        # --- not a workbook ---------------------------------------------------------------------
        c(NOT, "empty", "空文件.xlsx", empty, not_wb),
        c(NOT, "random-bytes", "乱码.xlsx", random_bytes, corrupt),
        c(NOT, "pdf-renamed", "其实是PDF.xlsx", pdf, not_wb),
        c(NOT, "docx-renamed", "其实是Word.xlsx", docx, not_wb),
        c(NOT, "png-renamed", "截图.xlsx", png, not_wb),
        c(NOT, "text-renamed", "导出.xls", text, not_wb),
        c(NOT, "html-xls", "网页导出.xls", html_xls, unsupported),
        c(NOT, "truncated-zip", "没下载完.xlsx", truncated_zip, corrupt),
        c(NOT, "zip-without-workbook", "没有工作簿.xlsx", zip_without_workbook, corrupt),
        c(NOT, "encrypted-ole", "有打开密码.xlsx", encrypted_ole, encrypted),
        c(
            NOT,
            "default-password",
            "建议只读.xlsx",
            default_password,
            ("default-password",),
            valid=True,
            fate=A,
        ),
        c(NOT, "old-xls", "旧格式.xls", old_xls, unsupported),
        c(NOT, "wps-et", "WPS表格.et", wps_et, unsupported),
        c(NOT, "xlsb", "二进制.xlsb", xlsb, unsupported),
        c(NOT, "ods", "开放格式.ods", ods, unsupported),
        c(NOT, "rar", "压缩包.rar", rar, unsupported),
        c(NOT, "outlook-msg", "邮件.msg", outlook_msg, unsupported),
        c(NOT, "not-the-template", "别的表格.xlsx", xlsx, ("missing-sheet",), where=(panel, None)),
        c(NOT, "lock-file", "~$宋营镇2023.xlsx", lock_file, corrupt, fate=S, merge_codes=()),
        # --- resource attacks ---------------------------------------------------------------------
        c(RES, "zip-bomb-1gb", "压缩炸弹.xlsx", zip_bomb, too_large),
        c(RES, "zip-bomb-lying", "撒谎的压缩炸弹.xlsx", zip_bomb, corrupt, kwargs=_kw(lie=True)),
        c(
            RES,
            "default-password-bomb",
            "默认密码炸弹.xlsx",
            default_password_bomb,
            ("default-password", "too-large"),
        ),
        c(RES, "lying-sizes", "尺寸不符.xlsx", lying_sizes_xlsx, corrupt),
        c(RES, "declared-3gb", "声称3GB.xlsx", huge_declared_xlsx, too_large),
        c(RES, "zip-encrypted-member", "压缩密码.xlsx", zip_encrypted_member, encrypted),
        c(RES, "many-members", "部件过多.xlsx", many_members_xlsx, too_large),
        c(RES, "overlapping-zip", "重叠压缩.xlsx", overlapping_zip, corrupt),
        c(RES, "billion-laughs", "实体炸弹.xlsx", billion_laughs_xlsx, corrupt),
        c(RES, "quadratic-blowup", "二次膨胀.xlsx", quadratic_blowup_xlsx, corrupt),
        c(RES, "external-entity", "外部实体.xlsx", external_entity_xlsx, corrupt),
        c(RES, "utf16-doctype", "UTF16实体.xlsx", utf16_doctype_xlsx, corrupt),
        c(RES, "ebcdic", "EBCDIC编码.xlsx", ebcdic_xlsx, corrupt),
        c(RES, "dimension-not-template", "大范围.xlsx", huge_dimension_xlsx, ("missing-sheet", "extra-data")),
        c(
            RES,
            "dimension-million-rows",
            "百万行.xlsx",
            template_dimension,
            ("extra-data",),
            where=(budget, None),
            valid=True,
            fate=A,
        ),
        c(
            RES,
            "dimension-16384-columns",
            "一万六千列.xlsx",
            template_dimension,
            ("extra-data",),
            where=(budget, None),
            valid=True,
            fate=A,
            kwargs=_kw(ref=b"A1:XFD60"),
        ),
        c(
            RES,
            "10000-indicator-rows",
            "一万行指标.xlsx",
            many_indicator_rows,
            ("weights-total", "extra-data"),
        ),
        c(RES, "1mb-string", "超长文字.xlsx", template_big_string, ("too-long",), where=problems),
        c(RES, "nested-multipart-eml", "复杂邮件.eml", eml_nested_multipart, not_wb, merge_codes=too_large),
        c(
            RES,
            "zip-in-zip-in-zip",
            "三层压缩.zip",
            nested_zip,
            not_wb,
            merge_codes=too_large,
            kwargs=_kw(depth=3, body=b"PK"),
        ),
        # --- injection -----------------------------------------------------------------------------
        c(INJ, "formula-like-text", "公式注入.xlsx", injection_xlsx, (), valid=True, fate=A),
        c(INJ, "xlsm-macros", "带宏.xlsm", template_xlsm, ("macro-ignored",), valid=True, fate=A),
        c(INJ, "xlsm-not-template", "宏表格.xlsm", xlsm, ("macro-ignored", "missing-sheet")),
        # --- paths ---------------------------------------------------------------------------------
        c(
            PATH,
            "traversal-zip",
            "危险文件名.zip",
            traversal_zip,
            not_wb,
            fate={R: len(TRAVERSAL_NAMES) + 2},
            merge_codes=("unsafe-name", "missing-sheet"),
        ),
        c(
            PATH,
            "traversal-zip-templates",
            "危险文件名（自评表）.zip",
            traversal_template_zip,
            not_wb,
            fate={A: len(DANGEROUS_NAMES)},
            merge_codes=("unsafe-name",),
        ),
        c(
            PATH,
            "traversal-eml",
            "危险附件名.eml",
            traversal_template_eml,
            not_wb,
            fate={A: len(DANGEROUS_NAMES) - 2},
            merge_codes=("unsafe-name",),
        ),
        c(
            PATH,
            "gbk-names-zip",
            "城关镇.zip",
            gbk_names_zip,
            not_wb,
            fate={A: 1},
            merge_codes=(),
            kwargs=_kw(members={"元氏70镇2023自评表.xlsx": template_bytes(70)}),
        ),
        c(
            PATH,
            "unit-name-traversal",
            "单位名称含路径.xlsx",
            template_xlsx,
            (),
            valid=True,
            fate=A,
            kwargs=_kw(edit=at(unit_name, "../../..\\Windows\\元氏路径镇人民政府")),
        ),
        c(
            PATH,
            "gbk-encoded-word-eml",
            "李村镇来信.eml",
            eml_raw,
            not_wb,
            fate=A,
            merge_codes=(),
            kwargs=_kw(filename_header=encoded_word("元氏72镇自评表.xlsx", "GBK"), body=template_bytes(72)),
        ),
        c(
            PATH,
            "rfc2231-eml",
            "王楼乡来信.eml",
            eml_rfc2231,
            not_wb,
            fate=A,
            merge_codes=(),
            kwargs=_kw(attachments={"元氏73镇2023年自评表.xlsx": template_bytes(73)}),
        ),
        c(
            PATH,
            "utf8-names-zip-no-flag",
            "无标志.zip",
            utf8_names_zip,
            not_wb,
            fate=A,
            merge_codes=(),
            kwargs=_kw(members={"元氏74镇/自评表.xlsx": template_bytes(74)}, flag=False),
        ),
        c(
            PATH,
            "zip-in-zip",
            "两层压缩.zip",
            nested_zip,
            not_wb,
            fate=A,
            merge_codes=(),
            kwargs=_kw(depth=2, body=template_bytes(75)),
        ),
        c(
            PATH,
            "empty-zip",
            "空压缩包.zip",
            plain_zip,
            not_wb,
            fate=S,
            merge_codes=(),
            kwargs=_kw(members={}),
        ),
        c(PATH, "symlink-outside", "外部链接.xlsx", symlink_outside, (), valid=True, fate=S, merge_codes=()),
        # --- structure -----------------------------------------------------------------------------
        c(
            STRUCT,
            "sheet-renamed",
            "改了表名.xlsx",
            sheets_edited,
            ("missing-sheet",),
            where=(indicators, None),
            kwargs=_kw(how="renamed"),
        ),
        c(
            STRUCT,
            "sheet-missing",
            "少了一张表.xlsx",
            sheets_edited,
            ("missing-sheet",),
            where=(indicators, None),
            kwargs=_kw(how="missing"),
        ),
        c(
            STRUCT,
            "sheet-extra",
            "多了一张表.xlsx",
            sheets_edited,
            ("extra-data",),
            where=("Sheet1", None),
            valid=True,
            fate=A,
            kwargs=_kw(how="extra"),
        ),
        c(
            STRUCT,
            "sheets-reordered",
            "表的顺序变了.xlsx",
            sheets_edited,
            (),
            valid=True,
            fate=A,
            kwargs=_kw(how="reordered"),
        ),
        c(
            STRUCT,
            "merged-inputs",
            "合并了单元格.xlsx",
            merged_inputs,
            ("merged-input", "sum-mismatch"),
            where=(budget, merged_range()),
        ),
        c(
            STRUCT,
            "extra-column",
            "多了一列.xlsx",
            extra_column,
            ("extra-data",),
            where=(indicators, extra_column_cell()),
            valid=True,
            fate=A,
        ),
        c(
            STRUCT,
            "hidden-row",
            "隐藏行.xlsx",
            hidden_row,
            ("value-normalised",),
            where=(indicators, hidden_row_first_cell()),
            valid=True,
            fate=A,
        ),
        c(
            STRUCT,
            "formula-recomputed",
            "金额用公式.xlsx",
            template_xlsx,
            ("formula-recomputed",),
            where=executed,
            valid=True,
            fate=A,
            kwargs=_kw(edit=_sum_formula),
        ),
        c(
            STRUCT,
            "formula-in-text",
            "名称用公式.xlsx",
            template_xlsx,
            ("formula-not-allowed",),
            where=unit_name,
            kwargs=_kw(edit=at(unit_name, '=CONCAT("元氏","镇")')),
        ),
        c(
            STRUCT,
            "div0",
            "除以零.xlsx",
            template_xlsx,
            ("cell-error",),
            where=executed,
            kwargs=_kw(edit=at(executed, "#DIV/0!")),
        ),
        c(
            STRUCT,
            "ref-error",
            "引用错误.xlsx",
            template_xlsx,
            ("cell-error",),
            where=weight0,
            kwargs=_kw(edit=at(weight0, "#REF!")),
        ),
        c(STRUCT, "nan-in-xml", "NaN.xlsx", template_raw_number, corrupt, kwargs=_kw(token=b"NaN")),
        c(STRUCT, "infinity-in-xml", "INF.xlsx", template_raw_number, corrupt, kwargs=_kw(token=b"INF")),
        c(
            STRUCT,
            "overflow-in-xml",
            "1E400.xlsx",
            template_raw_number,
            ("type-error",),
            where=executed,
            kwargs=_kw(token=b"1E+400"),
        ),
        c(
            STRUCT,
            "nan-text",
            "金额填NaN.xlsx",
            template_xlsx,
            ("type-error",),
            where=executed,
            kwargs=_kw(edit=at(executed, "NaN")),
        ),
        c(
            STRUCT,
            "infinity-text",
            "金额填Infinity.xlsx",
            template_xlsx,
            ("type-error",),
            where=executed,
            kwargs=_kw(edit=at(executed, "-Infinity")),
        ),
        c(
            STRUCT,
            "negative-amount",
            "负数金额.xlsx",
            template_xlsx,
            ("out-of-range",),
            where=initial,
            kwargs=_kw(edit=at(initial, -5000)),
        ),
        c(
            STRUCT,
            "absurd-amount",
            "天文数字.xlsx",
            template_xlsx,
            ("out-of-range",),
            where=initial,
            kwargs=_kw(edit=at(initial, 1e300)),
        ),
        c(
            STRUCT,
            "date-1900",
            "1900年.xlsx",
            template_xlsx,
            ("out-of-range",),
            where=filled_on,
            kwargs=_kw(edit=at(filled_on, datetime(1900, 1, 1))),
        ),
        c(
            STRUCT,
            "date-9999",
            "9999年.xlsx",
            template_xlsx,
            ("out-of-range",),
            where=filled_on,
            kwargs=_kw(edit=at(filled_on, datetime(9999, 12, 31))),
        ),
        c(STRUCT, "old-template-version", "旧版模板.xlsx", template_version, ("template-version",)),
        c(
            STRUCT,
            "foreign-template-id",
            "别家模板.xlsx",
            template_version,
            ("unknown-template",),
            kwargs=_kw(key="template_id", value="another-vendor/selfeval"),
        ),
    ]


def _sum_formula(wb: Any) -> None:
    """The total 全年执行数 typed as ``=SUM(…)`` of its parts (the parts as filled)."""
    sheet, first = cell("/budget/current/executed")
    _, last = cell("/budget/other/executed")
    _, total = cell("/budget/total/executed")
    wb[sheet][total] = f"=SUM({first}:{last})"


def template_big_string(path: Path, chars: int = 1_000_000, index: int = 0) -> Path:
    """A filled workbook with a 1 MB (a million characters) text in 存在的问题."""
    path.write_bytes(template_bytes(index, edit=at(cell("/review/problems"), "问" * chars)))
    return path
