"""What a file really is, decided by its bytes (never by its name), and Excel's default password.

:func:`sniff` tells zip packages apart by their member names and ``[Content_Types].xml``, OLE2 compound
files (old Office) by their stream names, and e-mails, web pages and text by their first bytes; everything
is read within bounds (see :mod:`selfeval_xlsx.xlsx.zipread`).
"""

from __future__ import annotations

import codecs
import io
import re
import struct
import zipfile
from pathlib import PurePosixPath

from .limits import DEFAULT_LIMITS, MB, Limits
from .xlsx.xmlguard import DTD_MARK, odd_encoding
from .xlsx.zipread import read_small, zip_names

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

#: What each kind returned by :func:`sniff` is called, for messages to the clerk.
KIND_LABELS: dict[str, str] = {
    "xlsx": "Excel工作簿（.xlsx）",
    "xlsm": "启用宏的Excel工作簿（.xlsm）",
    "xlsb": "Excel二进制工作簿（.xlsb）",
    "xls": "旧版Excel工作簿（.xls）",
    "et": "WPS表格文件（.et）",
    "ods": "OpenDocument表格（.ods）",
    "ole-encrypted": "设有密码的Office文件",
    "default-password": "以Excel默认密码加密的工作簿",
    "docx": "Word文档",
    "pptx": "PowerPoint演示文稿",
    "doc": "Word文档（.doc）",
    "ppt": "PowerPoint演示文稿（.ppt）",
    "msg": "Outlook邮件（.msg）",
    "ole": "Office复合文档",
    "zip": "ZIP压缩包",
    "rar": "RAR压缩包",
    "7z": "7z压缩包",
    "gzip": "gzip压缩文件",
    "pdf": "PDF文档",
    "eml": "电子邮件（.eml）",
    "mht": "单个网页文件（.mht）",
    "html": "网页文件（HTML）",
    "xml-spreadsheet": "Excel 2003 XML表格",
    "xml": "XML文件",
    "text": "文本文件",
    "image": "图片",
    "empty": "空文件",
    "unknown": "无法识别的文件",
}

#: Kinds openpyxl can read (after :func:`check_workbook` found no error).
READABLE_KINDS = frozenset({"xlsx", "xlsm", "default-password"})
#: Spreadsheet formats that we recognise but do not read.
UNREADABLE_WORKBOOK_KINDS = frozenset({"xls", "et", "xlsb", "ods", "ole-encrypted", "xml-spreadsheet"})
#: Kinds that hold other files.
CONTAINER_KINDS = frozenset({"zip", "eml"})
#: File-name extensions that say "this is meant to be a workbook".
WORKBOOK_SUFFIXES = frozenset(
    {".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlt", ".et", ".ett", ".xlsb", ".ods", ".csv"}
)

_SNIFF_HEAD = 4096


# ------------------------------------------------------------------------------------------------
# sniffing
# ------------------------------------------------------------------------------------------------


def sniff(data: bytes) -> str:
    """The kind of a file, decided by its bytes (never by its name); one of :data:`KIND_LABELS`.

    Zip packages are told apart by their member names and ``[Content_Types].xml``; OLE2 compound files
    (old Office) by their stream names. A WPS ``.et`` file is an OLE file with a ``Workbook`` stream, like
    an ``.xls``: bytes alone cannot tell them apart, so this returns ``'xls'`` (see :func:`kind_of`).
    """
    return _sniff_safely(data)[0]


def _sniff_safely(data: bytes) -> tuple[str, zipfile.ZipFile | None]:
    try:
        return _sniff(data)
    except Exception:  # sniffing must never fail, whatever the bytes
        return "unknown", None


def _sniff(data: bytes) -> tuple[str, zipfile.ZipFile | None]:
    """:func:`sniff`, also returning the zip directory it parsed (so checks need not parse it again)."""
    if data.startswith(ZIP_MAGICS):
        return _sniff_zip(data)
    return _sniff_other(data), None


def _sniff_other(data: bytes) -> str:
    if not data:
        return "empty"
    if data.startswith(OLE_MAGIC):
        return _sniff_ole(data)
    head = data[:_SNIFF_HEAD]
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")):
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    return _sniff_text(head)


def kind_of(data: bytes, name: str) -> str:
    """:func:`sniff`, refined by the name only where bytes cannot tell (``.et`` versus ``.xls``)."""
    return _kind(data, name)[0]


def _kind(data: bytes, name: str) -> tuple[str, zipfile.ZipFile | None]:
    kind, zf = _sniff_safely(data)
    if kind == "xls" and PurePosixPath(name.replace("\\", "/")).suffix.lower() in (".et", ".ett"):
        return "et", zf
    if kind == "ole-encrypted":
        inner = decrypt_default_password(data)
        if inner is not None and _sniff_safely(inner)[0] in ("xlsx", "xlsm"):
            return "default-password", None
    return kind, zf


# ------------------------------------------------------------------------------------------------
# Excel's default password
# ------------------------------------------------------------------------------------------------

#: The password Excel uses when a workbook is encrypted without one being asked for (a workbook saved
#: "read-only recommended" or with only a password to modify): Excel opens it without asking.
DEFAULT_PASSWORD = "VelvetSweatshop"
#: Most key-derivation rounds accepted (Excel, WPS and LibreOffice write 100,000; [MS-OFFCRYPTO] allows
#: 10,000,000, which would take seconds of hashing for nothing).
MAX_SPIN_COUNT = 100_000
#: Largest ``EncryptionInfo`` stream read (a real one is about 1 KB of XML).
MAX_ENCRYPTION_INFO = 64 * 1024
_DECRYPTED: list[tuple[bytes, bytes | None]] = []  # the last file tried and its result (by identity)


def decrypt_default_password(data: bytes, limits: Limits = DEFAULT_LIMITS) -> bytes | None:
    """The package inside an encrypted OOXML file (OLE2 with ``EncryptionInfo`` and ``EncryptedPackage``)
    when it was encrypted with Excel's default password, else ``None`` (a real password, an unknown
    method, anything malformed). Done in memory with msoffcrypto-tool, never written to disk; the input is
    capped at ``limits.max_file_bytes`` first (the output is never larger than the input), the
    ``EncryptionInfo`` XML is checked for DOCTYPE/ENTITY like any part, and the key derivation is capped
    at :data:`MAX_SPIN_COUNT` rounds. The decrypted bytes are to be checked like any workbook
    (:func:`check_workbook`). The last result is remembered (a file is looked at by the intake, the
    check and the reader in turn)."""
    if len(data) > limits.max_file_bytes or not data.startswith(OLE_MAGIC):
        return None
    if _DECRYPTED and _DECRYPTED[0][0] is data:
        return _DECRYPTED[0][1]
    try:
        result = _decrypt(data, limits)
    except Exception:  # a hostile or unusual file: simply not one we can open
        result = None
    _DECRYPTED[:] = [(data, result)]
    return result


def _decrypt(data: bytes, limits: Limits) -> bytes | None:
    import olefile
    from msoffcrypto.format.ooxml import OOXMLFile

    if "encryptioninfo" not in {n.lower() for n in ole_stream_names(data)}:
        return None
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        if ole.get_size("EncryptionInfo") > MAX_ENCRYPTION_INFO:
            return None
        if ole.get_size("EncryptedPackage") > limits.max_file_bytes:
            return None
        info = ole.openstream("EncryptionInfo").read(MAX_ENCRYPTION_INFO + 1)
    if info[:4] == b"\x04\x00\x04\x00":  # agile: XML after an 8-byte header, checked like any part
        xml = info[8:]
        if (
            DTD_MARK.search(xml)
            or not xml.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"<")
            or odd_encoding(xml)
        ):
            return None
    office = OOXMLFile(io.BytesIO(data))
    if office.type not in ("agile", "standard"):
        return None
    if office.type == "agile" and not 0 <= int(office.info["spinValue"]) <= MAX_SPIN_COUNT:
        return None
    office.load_key(password=DEFAULT_PASSWORD, verify_password=True)  # InvalidKeyError: a real password
    out = io.BytesIO()
    office.decrypt(out)
    inner = out.getvalue()
    return inner if inner.startswith(ZIP_MAGICS) and len(inner) <= limits.max_file_bytes else None


def _sniff_zip(data: bytes) -> tuple[str, zipfile.ZipFile | None]:
    names, zf = zip_names(data)
    lower = {n.lower() for n in names}
    if "xl/workbook.bin" in lower:
        return "xlsb", zf
    content_types = b""
    if zf is not None:
        if "mimetype" in names:
            mimetype = read_small(data, zf, "mimetype", 256)
            if b"opendocument.spreadsheet" in mimetype:
                return "ods", zf
        if "[Content_Types].xml" in names:
            content_types = read_small(data, zf, "[Content_Types].xml", 1 * MB).lower()
    main = _main_part(content_types)
    workbook = (
        "xl/workbook.xml" in lower
        or (main is not None and main.lower() in lower)
        or (zf is None and any(n.startswith("xl/") for n in lower))
    )
    if workbook:
        if "xl/vbaproject.bin" in lower or b"macroenabled" in content_types:
            return "xlsm", zf
        return "xlsx", zf
    if any(n.startswith("word/") for n in lower):
        return "docx", zf
    if any(n.startswith("ppt/") for n in lower):
        return "pptx", zf
    return "zip", zf


_OVERRIDE = re.compile(rb"<(?:\w+:)?override\b[^>]*>")
_PART_NAME = re.compile(rb'\bpartname\s*=\s*["\']/?([^"\']+)["\']')
_MAIN_TYPE = re.compile(rb'\bcontenttype\s*=\s*["\'][^"\']*(?:sheet|template)\.main\+xml["\']')


def _main_part(content_types: bytes) -> str | None:
    """The workbook part named in (lower-cased) ``[Content_Types].xml``, if any."""
    if b".main+xml" not in content_types:
        return None
    for tag in _OVERRIDE.finditer(content_types):
        if _MAIN_TYPE.search(tag.group(0)):
            m = _PART_NAME.search(tag.group(0))
            if m:
                return m.group(1).decode("utf-8", "replace")
    return None


def _sniff_ole(data: bytes) -> str:
    try:
        names = {n.lower() for n in ole_stream_names(data)}
    except ValueError:
        return "ole"
    if "encryptedpackage" in names or "encryptioninfo" in names:
        return "ole-encrypted"
    if "workbook" in names or "book" in names:
        return "xls"
    if "worddocument" in names:
        return "doc"
    if "powerpoint document" in names:
        return "ppt"
    if any(n.startswith(("__substg1.0_", "__properties_version1.0")) for n in names):
        return "msg"
    return "ole"


_HEADER_LINE = re.compile(rb"^([A-Za-z][A-Za-z0-9-]{0,60}):[ \t]?", re.M)
_MAIL_HEADERS = {b"from", b"to", b"cc", b"received", b"return-path", b"message-id", b"delivered-to"}
_MAIL_HEADERS |= {b"subject"}
_MIME_HEADERS = {b"mime-version", b"content-type", b"date", b"x-mailer", b"reply-to"}


def _sniff_text(head: bytes) -> str:
    body = head.removeprefix(b"\xef\xbb\xbf")
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            body = body[:2048].decode("utf-16", "ignore").encode("utf-8")
        except UnicodeError:
            return "unknown"
    stripped = body.lstrip()
    low = stripped[:1024].lower()
    if low.startswith((b"<!doctype html", b"<html")) or (low.startswith(b"<") and b"<html" in low):
        return "html"
    if low.startswith(b"<?xml") or low.startswith(b"<"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in stripped or b'progid="excel.sheet"' in low:
            return "xml-spreadsheet"
        if b"<html" in low:
            return "html"
        return "xml" if low.startswith(b"<?xml") else ("text" if _is_text(body) else "unknown")
    mail = _mail_kind(body)
    if mail:
        return mail
    return "text" if _is_text(body) else "unknown"


def _mail_kind(head: bytes) -> str | None:
    """'eml' for RFC 822 headers, 'mht' for a MIME document with no mail headers (web archive)."""
    block = head.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    lines = block.splitlines()
    if not lines:
        return None
    first = lines[0]
    if not (first.startswith(b"From ") or _HEADER_LINE.match(first)):
        return None
    names = {m.group(1).lower() for m in _HEADER_LINE.finditer(block)}
    if len(names & _MAIL_HEADERS) >= 1 and len(names & (_MAIL_HEADERS | _MIME_HEADERS)) >= 2:
        return "eml"
    if b"mime-version" in names and b"content-type" in names:
        return "mht"
    return None


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    if controls:
        return False
    for codec in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(codec)().decode(head, final=False)
            return True
        except UnicodeDecodeError:
            continue
    return False


# ------------------------------------------------------------------------------------------------
# OLE2 / compound file binary: stream names only
# ------------------------------------------------------------------------------------------------


def ole_stream_names(data: bytes, max_entries: int = 4096) -> list[str]:
    """Names of the storages and streams in an OLE2 compound file ([MS-CFB]); ValueError if malformed.

    Reads only the header, the FAT sectors that chain the directory, and the directory itself: enough to
    tell an encrypted OOXML package from an ``.xls`` or a ``.doc``, without a dependency.
    """
    try:
        return _ole_stream_names(data, max_entries)
    except (struct.error, IndexError, OverflowError) as exc:
        raise ValueError("malformed OLE2 file") from exc


def _ole_stream_names(data: bytes, max_entries: int) -> list[str]:
    if len(data) < 512 or not data.startswith(OLE_MAGIC):
        raise ValueError("not an OLE2 file")
    shift = struct.unpack_from("<H", data, 30)[0]
    if shift not in (9, 12):
        raise ValueError("bad sector size")
    size = 1 << shift
    per_sector = size // 4
    n_fat, first_dir = struct.unpack_from("<II", data, 44)
    first_difat, n_difat = struct.unpack_from("<II", data, 68)
    n_sectors = max(0, len(data) // size - 1)
    if n_fat > n_sectors or n_difat > n_sectors:
        raise ValueError("bad FAT size")

    def sector(sid: int) -> int:
        off = (sid + 1) * size
        if sid >= 0xFFFFFFFA or off + size > len(data):
            raise ValueError("sector out of range")
        return off

    difat = list(struct.unpack_from("<109I", data, 76))
    sid, hops = first_difat, 0
    while sid < 0xFFFFFFFA and hops < n_difat:
        off = sector(sid)
        entries = struct.unpack_from(f"<{per_sector}I", data, off)
        difat.extend(entries[:-1])
        sid, hops = entries[-1], hops + 1
    fat = [s for s in difat if s < 0xFFFFFFFA][:n_fat]

    def next_sid(sid: int) -> int:
        index, pos = divmod(sid, per_sector)
        if index >= len(fat):
            raise ValueError("FAT too short")
        return struct.unpack_from("<I", data, sector(fat[index]) + pos * 4)[0]

    names: list[str] = []
    sid, visited = first_dir, set()
    while sid < 0xFFFFFFFA:
        if sid in visited or len(names) >= max_entries:
            raise ValueError("directory chain loops or is too long")
        visited.add(sid)
        off = sector(sid)
        for e in range(off, off + size, 128):
            name_len, kind = struct.unpack_from("<HB", data, e + 64)
            if kind in (1, 2, 5) and 2 <= name_len <= 64:
                names.append(data[e : e + name_len - 2].decode("utf-16-le", "replace"))
        sid = next_sid(sid)
    if not names:
        raise ValueError("empty directory")
    return names
