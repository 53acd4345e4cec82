"""What a file really is (by its bytes), whether a workbook is safe to open, and safe names.

Everything here treats its input as hostile: it reads only within :class:`~selfeval_xlsx.limits.Limits`,
never inflates more than a bounded amount at a time, never writes anything, and turns every problem into
a :class:`~selfeval_xlsx.findings.Finding` (or an :class:`UnsafeInput` for the few helpers that return
data instead of findings).
"""

from __future__ import annotations

import codecs
import io
import re
import struct
import unicodedata
import zipfile
from pathlib import PurePosixPath

from .findings import Finding, make
from .limits import DEFAULT_LIMITS, MB, Limits, size_text
from .xlsx.cells import parse_a1
from .xlsx.zipread import ZipRefused, check_directory, check_members, inflate, open_zip, read_small, zip_names

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


class UnsafeInput(Exception):
    """A file (or zip member) that must not be read further; ``finding`` says why, for the clerk."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def finding(self, file: str | None) -> Finding:
        return make(self.code, self.message, file=file)


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
        if _DTD_MARK.search(xml) or not xml.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"<"):
            return None
        _check_encoding(xml)
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


# ------------------------------------------------------------------------------------------------
# the workbook check
# ------------------------------------------------------------------------------------------------

_CORRUPT = "文件已损坏或不完整，无法读取。请在Excel或WPS中打开后重新保存，再重新发送。"
_ENCRYPTED = (
    "文件设有打开密码，无法读取。请取消密码（文件→信息→保护工作簿→用密码进行加密，清空密码）后重新发送。"
)
_DEFAULT_PASSWORD = (
    "文件以Excel的默认密码加密（设为“建议只读”或只设了修改密码时会这样保存），打开时不需要密码，"
    "已自动解密后读取；原文件未作任何改动。"
)
_ZIP_ENCRYPTED = "压缩包设有密码，无法解压。请去掉密码后重新压缩发送，或直接发送.xlsx文件。"
_ZIP_METHOD = (
    "压缩包使用了不常见的压缩方式，无法解压。"
    "请用系统自带的“发送到→压缩(zipped)文件夹”重新压缩，或直接发送.xlsx文件。"
)
_DTD = (
    "文件内部含有不允许的XML声明（DOCTYPE/ENTITY），可能是被篡改或恶意构造的文件，已拒绝读取。"
    "请在Excel或WPS中把内容复制到新的工作簿，另存为.xlsx后重新发送。"
)
_ODD_ENCODING = "文件内部的XML使用了异常的字符编码，已拒绝读取。请在Excel或WPS中另存为新的.xlsx后重新发送。"
_MACRO = (
    "文件含有宏（VBA），宏不会运行，也不会保留在汇总结果中。如表中数据依赖宏计算，请先运行宏并另存为.xlsx。"
)
_RESAVE = "请在Excel或WPS中打开，点“文件→另存为”，文件类型选“Excel工作簿（*.xlsx）”，保存后重新发送。"
_UNSUPPORTED = {
    "xls": ".xls为旧格式，无法读取。" + _RESAVE,
    "et": "该文件为WPS表格格式（.et），无法读取。" + _RESAVE,
    "xlsb": "该文件为Excel二进制工作簿（.xlsb），无法读取。" + _RESAVE,
    "ods": "该文件为OpenDocument表格（.ods），无法读取。" + _RESAVE,
    "xml-spreadsheet": "该文件为Excel 2003 XML表格，不是标准的Excel工作簿。" + _RESAVE,
    "html": "该文件实际是网页文件（常见于系统导出或“另存为网页”），不是Excel工作簿。" + _RESAVE,
    "mht": "该文件实际是单个网页文件（.mht），不是Excel工作簿。" + _RESAVE,
    "rar": "RAR压缩包无法解压。请直接发送.xlsx文件，或改用ZIP格式压缩。",
    "7z": "7z压缩包无法解压。请直接发送.xlsx文件，或改用ZIP格式压缩。",
    "gzip": "gzip压缩文件无法解压。请直接发送.xlsx文件，或改用ZIP格式压缩。",
    "msg": "Outlook邮件（.msg）无法读取。请在Outlook中把附件“另存为”文件后放入收件箱，或把邮件另存为.eml。",
}

_XML_ENCODINGS = frozenset(
    {"utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "us-ascii", "ascii", "iso-8859-1", "latin-1"}
    | {"latin1", "gbk", "gb2312", "gb18030", "windows-1252", "cp1252", "big5"}
)
# '<!DOCTYPE' / '<!ENTITY' in ASCII-compatible encodings and in UTF-16 (the LE pattern also matches BE)
_DTD_MARK = re.compile(
    rb"<!(?:DOCTYPE|ENTITY)|<\x00!\x00(?:D\x00O\x00C\x00T\x00Y\x00P\x00E|E\x00N\x00T\x00I\x00T\x00Y)"
)
_XML_DECL_ENCODING = re.compile(r"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']{0,40})[\"']")
_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\b[^>]*?\bref\s*=\s*[\"']([^\"']{1,40})[\"']")
_NOT_XML_SUFFIXES = (".bin", ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".emf", ".wmf", ".tif", ".tiff", ".svg")
_NOT_XML_SUFFIXES += (".ico", ".webp", ".wdp", ".jxr", ".ttf", ".odttf", ".fntdata")


#: With ``check_workbook(parts=…)``: the largest XML part kept, and the most kept in all.
KEEP_PART_BYTES = 8 * MB
KEEP_TOTAL_BYTES = 32 * MB


def check_workbook(
    data: bytes, name: str, limits: Limits = DEFAULT_LIMITS, *, parts: dict[str, bytes] | None = None
) -> list[Finding]:
    """Whether ``data`` is a workbook openpyxl may safely open; findings for the clerk if not.

    No ``error`` finding means safe to open; warnings (``macro-ignored``, an absurd sheet dimension as
    ``extra-data``) may accompany a safe workbook. For zip packages it bounds the directory, then
    stream-inflates every member with hard caps (real bytes are counted; declared sizes only serve to
    refuse early), checks the compression ratio, CRC and sizes, and refuses any XML part that declares a
    DOCTYPE or ENTITY (billion laughs, quadratic blow-up, external entities) or uses an encoding in
    which such a declaration could hide. Nothing is kept in memory but one chunk at a time, unless
    ``parts`` is given: it then receives the inflated bytes of the XML parts (each up to
    :data:`KEEP_PART_BYTES`, :data:`KEEP_TOTAL_BYTES` in all), checked, so that a reader (see
    :func:`selfeval_xlsx.xlsx.grid.load_grid`) need not inflate them again; use them only when no
    finding is an error.
    """
    if len(data) > limits.max_file_bytes:
        return [make("too-large", _too_large_file(len(data), limits), file=name)]
    try:
        kind, zf = _kind(data, name)
        if kind == "default-password":
            inner = decrypt_default_password(data, limits)
            if inner is None:  # beyond these limits (the kind was decided with the defaults)
                return [make("encrypted-workbook", _ENCRYPTED, file=name)]
            return [
                make("default-password", _DEFAULT_PASSWORD, file=name),
                *check_workbook(inner, name, limits, parts=parts),
            ]
        if kind not in READABLE_KINDS:
            return [_not_readable(kind, data, name)]
        if zf is None:  # recognised from local headers only: say why the directory could not be used
            open_zip(data, limits)
            return [make("corrupt-workbook", _CORRUPT, file=name)]
        warnings = _check_package(zf, data, name, limits, parts)
    except ZipRefused as exc:
        return [refusal(exc, limits).finding(name)]
    except UnsafeInput as exc:
        return [exc.finding(name)]
    except Exception:  # anything unforeseen in a hostile file is a refusal, never a crash
        return [make("corrupt-workbook", _CORRUPT, file=name)]
    if kind == "xlsm":
        warnings.insert(0, make("macro-ignored", _MACRO, file=name))
    return warnings


def _not_readable(kind: str, data: bytes, name: str) -> Finding:
    label = KIND_LABELS.get(kind, kind)
    if kind == "ole-encrypted":
        return make("encrypted-workbook", _ENCRYPTED, file=name)
    if kind in _UNSUPPORTED:
        return make("unsupported-format", _UNSUPPORTED[kind], file=name)
    if kind == "empty":
        return make(
            "not-a-workbook", "文件为空（0字节），可能保存或下载未完成。请重新保存后发送。", file=name
        )
    if kind == "text":
        return make("not-a-workbook", "该文件是文本文件（如CSV），不是Excel工作簿。" + _RESAVE, file=name)
    if kind in ("unknown", "ole"):
        return make("corrupt-workbook", _CORRUPT, file=name)
    if kind == "zip":
        names, _ = zip_names(data)
        if any(n.lower() in ("[content_types].xml", "_rels/.rels") for n in names):
            return make("corrupt-workbook", _CORRUPT, file=name)
        message = "该文件实际是ZIP压缩包，不是Excel工作簿。请解压后发送其中的.xlsx文件。"
        return make("not-a-workbook", message, file=name)
    return make(
        "not-a-workbook",
        f"该文件实际是{label}，不是Excel工作簿。请确认是否发错了文件，重新发送自评表（.xlsx）。",
        file=name,
    )


def _check_package(
    zf: zipfile.ZipFile, data: bytes, name: str, limits: Limits, parts: dict[str, bytes] | None = None
) -> list[Finding]:
    check_directory(data, limits)
    check_members(zf, data, limits)
    infos = zf.infolist()
    if "[Content_Types].xml" not in zf.NameToInfo:
        raise UnsafeInput("corrupt-workbook", _CORRUPT)
    for info in infos:  # declared sizes first: refuse a bomb that admits it before inflating anything
        if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(
            1, info.compress_size
        ):
            raise UnsafeInput("too-large", _bomb(limits))
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_total_uncompressed:
        raise UnsafeInput("too-large", _too_large_inflated(limits))
    left = limits.max_total_uncompressed
    dims: dict[str, str] = {}
    small: dict[str, bytes] = {}
    room = KEEP_TOTAL_BYTES  # for ``parts``
    for info in infos:
        if info.is_dir():
            continue
        lower = info.filename.lower()
        xml = not lower.endswith(_NOT_XML_SUFFIXES) and "/media/" not in lower and "/embeddings/" not in lower
        strict = lower.endswith((".xml", ".rels", ".vml"))
        cap = min(left, limits.max_sheet_xml_bytes) if xml else left
        sheet = lower.startswith("xl/worksheets/") and lower.endswith(".xml")
        keep = info.filename in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")
        whole = parts is not None and xml and info.file_size <= min(KEEP_PART_BYTES, room)
        produced, first, tail, kept, everything = 0, True, b"", [], []
        for chunk in inflate(data, info, cap=cap, limits=limits):
            produced += len(chunk)
            if xml:
                if first:
                    if strict:
                        _check_encoding(chunk)
                    at = chunk.find(b"dimension", 0, 65536) if sheet else -1
                    m = _DIMENSION.match(chunk, max(0, chunk.rfind(b"<", 0, at))) if at > 0 else None
                    if m:
                        dims[info.filename] = m.group(1).decode("ascii", "replace")
                    first = False
                window = tail + chunk if tail else chunk
                if b"!" in window and _DTD_MARK.search(window):  # '!' is rare in XML: a fast pre-filter
                    raise UnsafeInput("corrupt-workbook", _DTD)
                tail = window[-24:]
            if keep and produced <= 1 * MB:
                kept.append(chunk)
            if whole:
                everything.append(chunk)
        left -= produced
        if keep:
            small[info.filename] = b"".join(kept)
        if whole and parts is not None and produced == info.file_size:
            parts[info.filename] = b"".join(everything)
            room -= produced
    return _dimension_warnings(dims, small, name, limits)


def _check_encoding(first: bytes) -> None:
    """Refuse XML whose encoding could hide a DOCTYPE from a byte scan (UTF-32, EBCDIC, UTF-7…)."""
    body = first.removeprefix(b"\xef\xbb\xbf")
    if body.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise UnsafeInput("corrupt-workbook", _ODD_ENCODING)
    if body.startswith((b"\xff\xfe", b"\xfe\xff")) or body[:2] in (b"<\x00", b"\x00<"):
        try:
            text = body[:400].decode("utf-16-be" if body[:1] in (b"\xfe", b"\x00") else "utf-16-le", "ignore")
        except UnicodeError as exc:
            raise UnsafeInput("corrupt-workbook", _ODD_ENCODING) from exc
        text = text.lstrip("\ufeff")
    else:
        stripped = body.lstrip(b" \t\r\n")
        if stripped and not stripped.startswith(b"<"):
            raise UnsafeInput("corrupt-workbook", _ODD_ENCODING)
        text = body[:400].decode("latin-1")
    m = _XML_DECL_ENCODING.match(text)
    if m and m.group(1).strip().lower() not in _XML_ENCODINGS:
        raise UnsafeInput("corrupt-workbook", _ODD_ENCODING)


def _dimension_warnings(
    dims: dict[str, str], small: dict[str, bytes], name: str, limits: Limits
) -> list[Finding]:
    out: list[Finding] = []
    sheet_names: dict[str, str] | None = None
    for part, ref in sorted(dims.items()):
        rows, cols = _extent(ref)
        if rows <= limits.max_rows and cols <= limits.max_cols:
            continue
        if sheet_names is None:
            sheet_names = _sheet_names(small)
        sheet = sheet_names.get(part)
        label = f"工作表“{sheet}”" if sheet else "工作表"
        out.append(
            make(
                "extra-data",
                f"{label}记录的数据范围为{ref}，远超模板大小；本工具只读取前{limits.max_rows}行、"
                f"前{limits.max_cols}列。若有内容填在模板以外，请移回模板对应位置；否则无需处理。",
                severity="warning",
                file=name,
                sheet=sheet,
                value=ref,
            )
        )
    return out


def _extent(ref: str) -> tuple[int, int]:
    """Last row and column number of an A1 range (0, 0 if unreadable)."""
    try:
        return parse_a1(ref.split(":")[-1].strip())
    except ValueError:
        return 0, 0


def _sheet_names(small: dict[str, bytes]) -> dict[str, str]:
    """Map worksheet part names to sheet names (best effort; these parts were already scanned)."""
    from defusedxml import ElementTree

    try:
        wb = ElementTree.fromstring(small.get("xl/workbook.xml", b""))
        rels = ElementTree.fromstring(small.get("xl/_rels/workbook.xml.rels", b""))
    except Exception:
        return {}
    targets = {}
    for rel in rels:
        target = rel.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else "xl/" + target
        targets[rel.get("Id")] = str(PurePosixPath(path))
    out = {}
    for el in wb.iter():
        if el.tag.endswith("}sheet"):
            rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            if rid in targets:
                out[targets[rid]] = el.get("name", "")
    return out


def _too_large_file(size: int, limits: Limits) -> str:
    return (
        f"文件大小为{size_text(size)}，超过处理上限{size_text(limits.max_file_bytes)}。"
        "请删除无关的工作表和图片后重新保存发送。"
    )


def _too_large_inflated(limits: Limits) -> str:
    return (
        f"文件解压后的内容超过处理上限（{size_text(limits.max_total_uncompressed)}，单个部件"
        f"{size_text(limits.max_sheet_xml_bytes)}）。请删除无关的工作表、行和图片后重新保存发送。"
    )


def _bomb(limits: Limits) -> str:
    return (
        f"文件的压缩比异常（超过{limits.max_ratio}倍），可能是恶意构造的“压缩炸弹”，已拒绝读取。"
        "请在Excel或WPS中另存为新的.xlsx后重新发送。"
    )


def _too_many_members(count: int, limits: Limits) -> str:
    return (
        f"文件内部包含的部件过多（{count}个，上限{limits.max_members}个），已拒绝读取。"
        "请删除无关内容后重新保存发送。"
    )


def refusal(exc: ZipRefused, limits: Limits = DEFAULT_LIMITS) -> UnsafeInput:
    """What to tell the clerk about a zip that :mod:`selfeval_xlsx.xlsx.zipread` refused."""
    if exc.reason == "members":
        return UnsafeInput("too-large", _too_many_members(exc.count, limits))
    if exc.reason == "bomb":
        return UnsafeInput("too-large", _bomb(limits))
    if exc.reason == "inflated":
        return UnsafeInput("too-large", _too_large_inflated(limits))
    if exc.reason == "encrypted":
        return UnsafeInput("encrypted-workbook", _ZIP_ENCRYPTED)
    if exc.reason == "method":
        return UnsafeInput("unsupported-format", _ZIP_METHOD)
    return UnsafeInput("corrupt-workbook", _CORRUPT)


# ------------------------------------------------------------------------------------------------
# names
# ------------------------------------------------------------------------------------------------

_FORBIDDEN = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')
_SEPARATORS = re.compile(r"[/\\]+")
_DRIVE = re.compile(r"^(?:\\\\[?.]\\|//[?.]/)?[A-Za-z]:")
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in "0123456789¹²³"}
    | {f"LPT{i}" for i in "0123456789¹²³"}
)
_MAX_NAME_BYTES = 240  # UTF-8 bytes; most file systems allow 255 per name


def clean_text(text: str) -> str:
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
    text = _DRIVE.sub("", clean_text(name))
    parts = [p for p in _SEPARATORS.split(text) if p.strip(" .")]
    return _safe_component("_".join(parts), max_chars)


def display_name(path: str, max_chars: int = DEFAULT_LIMITS.max_name_chars) -> str:
    """A path made safe to show (not to use): each ``/`` level without control or format characters and
    at most ``max_chars`` long (shortened keeping the extension); otherwise unchanged."""
    return "/".join(_shorten(clean_text(p), max_chars) for p in path.split("/"))


def safe_member_path(name: str, max_chars: int = DEFAULT_LIMITS.max_name_chars) -> str:
    """A safe relative display path for a name from an archive or e-mail: like :func:`safe_name` for
    each folder level, joined by ``/``; ``..``, ``.``, empty levels, leading ``/`` and drive letters are
    dropped."""
    text = _DRIVE.sub("", clean_text(name))
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
