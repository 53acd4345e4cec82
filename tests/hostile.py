"""Generators of hostile and broken input files, for tests.

Each public function writes one file at ``path`` and returns ``path`` (so ``hostile.pdf(tmp / "a.xlsx")``
reads well in a test); the ``*_bytes`` helpers return bytes for building archives and e-mails. Everything
is made here, in memory, from the standard library and xlsxwriter: no fixture files, no network.

Low-level builders (return bytes): :func:`raw_zip` (a zip writer that can lie: raw name bytes, flags,
extra fields, declared sizes), :func:`cfb` (a minimal OLE2 compound-file writer), :func:`rebuild_xlsx` and
:func:`xlsx_with` (a valid workbook with some parts replaced), :func:`repeat_deflate` (a gigabyte of
deflate data in a megabyte, made in a fraction of a second).
"""

from __future__ import annotations

import io
import os
import random
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import xlsxwriter

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
