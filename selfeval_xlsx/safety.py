"""Whether a workbook is safe to open (:func:`check_workbook`), and what to tell the clerk when not.

Everything here treats its input as hostile: it reads only within :class:`~selfeval_xlsx.limits.Limits`,
never inflates more than a bounded amount at a time, never writes anything, and turns every problem into
a :class:`~selfeval_xlsx.findings.Finding` (or an :class:`UnsafeInput` for the few helpers that return
data instead of findings). What a file is: :mod:`selfeval_xlsx.sniff`; safe file names:
:mod:`selfeval_xlsx.filenames`; bounded zip reading: :mod:`selfeval_xlsx.xlsx.zipread`.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import PurePosixPath

from . import messages
from .findings import Finding, make
from .limits import DEFAULT_LIMITS, MB, Limits, size_text
from .sniff import KIND_LABELS, READABLE_KINDS, _kind, decrypt_default_password
from .xlsx.cells import parse_a1
from .xlsx.xmlguard import DTD_MARK, odd_encoding
from .xlsx.zipread import ZipRefused, check_directory, check_members, inflate, open_zip, zip_names


class UnsafeInput(Exception):
    """A file (or zip member) that must not be read further; ``finding`` says why, for the clerk."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def finding(self, file: str | None) -> Finding:
        """The refusal as a finding about ``file``."""
        return make(self.code, self.message, file=file)


# ------------------------------------------------------------------------------------------------
# the workbook check
# ------------------------------------------------------------------------------------------------

#: Kinds refused with their own message (``unsupported-format``, its variant named by the kind).
_UNSUPPORTED = frozenset(messages.MESSAGES["unsupported-format"]) - {"zip-method"}

_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\b[^>]*?\bref\s*=\s*[\"']([^\"']{1,40})[\"']")
_NOT_XML_SUFFIXES: tuple[str, ...] = (
    ".bin",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".bmp",
    ".emf",
    ".wmf",
    ".tif",
    ".tiff",
    ".svg",
)
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
                return [
                    make("encrypted-workbook", messages.text("encrypted-workbook", "password"), file=name)
                ]
            return [
                make("default-password", messages.text("default-password"), file=name),
                *check_workbook(inner, name, limits, parts=parts),
            ]
        if kind not in READABLE_KINDS:
            return [_not_readable(kind, data, name)]
        if zf is None:  # recognised from local headers only: say why the directory could not be used
            open_zip(data, limits)
            return [make("corrupt-workbook", _corrupt(), file=name)]
        warnings = _check_package(zf, data, name, limits, parts)
    except ZipRefused as exc:
        return [refusal(exc, limits).finding(name)]
    except UnsafeInput as exc:
        return [exc.finding(name)]
    except Exception:  # anything unforeseen in a hostile file is a refusal, never a crash
        return [make("corrupt-workbook", _corrupt(), file=name)]
    if kind == "xlsm":
        warnings.insert(0, make("macro-ignored", messages.text("macro-ignored"), file=name))
    return warnings


def _not_readable(kind: str, data: bytes, name: str) -> Finding:
    label = KIND_LABELS.get(kind, kind)
    if kind == "ole-encrypted":
        return make("encrypted-workbook", messages.text("encrypted-workbook", "password"), file=name)
    if kind in _UNSUPPORTED:
        return make("unsupported-format", messages.text("unsupported-format", kind), file=name)
    if kind == "empty":
        return make("not-a-workbook", messages.text("not-a-workbook", "empty"), file=name)
    if kind == "text":
        return make("not-a-workbook", messages.text("not-a-workbook", "text"), file=name)
    if kind in ("unknown", "ole"):
        return make("corrupt-workbook", _corrupt(), file=name)
    if kind == "zip":
        names, _ = zip_names(data)
        if any(n.lower() in ("[content_types].xml", "_rels/.rels") for n in names):
            return make("corrupt-workbook", _corrupt(), file=name)
        return make("not-a-workbook", messages.text("not-a-workbook", "zip"), file=name)
    return make("not-a-workbook", messages.text("not-a-workbook", "other-kind", label=label), file=name)


def _check_package(
    zf: zipfile.ZipFile, data: bytes, name: str, limits: Limits, parts: dict[str, bytes] | None = None
) -> list[Finding]:
    check_directory(data, limits)
    check_members(zf, data, limits)
    infos = zf.infolist()
    if "[Content_Types].xml" not in zf.NameToInfo:
        raise UnsafeInput("corrupt-workbook", _corrupt())
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
                if b"!" in window and DTD_MARK.search(window):  # '!' is rare in XML: a fast pre-filter
                    raise UnsafeInput("corrupt-workbook", messages.text("corrupt-workbook", "dtd"))
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
    if odd_encoding(first):
        raise UnsafeInput("corrupt-workbook", messages.text("corrupt-workbook", "odd-encoding"))


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
        rows, cols = limits.max_rows, limits.max_cols
        out.append(
            make(
                "extra-data",
                messages.text("extra-data", "dimension-sheet", sheet=sheet, ref=ref, rows=rows, cols=cols)
                if sheet
                else messages.text("extra-data", "dimension", ref=ref, rows=rows, cols=cols),
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
    return messages.text(
        "too-large", "workbook", size=size_text(size), limit=size_text(limits.max_file_bytes)
    )


def _too_large_inflated(limits: Limits) -> str:
    total, part = size_text(limits.max_total_uncompressed), size_text(limits.max_sheet_xml_bytes)
    return messages.text("too-large", "inflated", total=total, part=part)


def _bomb(limits: Limits) -> str:
    return messages.text("too-large", "bomb", ratio=limits.max_ratio)


def _too_many_members(count: int, limits: Limits) -> str:
    return messages.text("too-large", "parts", count=count, limit=limits.max_members)


def refusal(exc: ZipRefused, limits: Limits = DEFAULT_LIMITS) -> UnsafeInput:
    """What to tell the clerk about a zip that :mod:`selfeval_xlsx.xlsx.zipread` refused."""
    if exc.reason == "members":
        return UnsafeInput("too-large", _too_many_members(exc.count, limits))
    if exc.reason == "bomb":
        return UnsafeInput("too-large", _bomb(limits))
    if exc.reason == "inflated":
        return UnsafeInput("too-large", _too_large_inflated(limits))
    if exc.reason == "encrypted":
        return UnsafeInput("encrypted-workbook", messages.text("encrypted-workbook", "zip"))
    if exc.reason == "method":
        return UnsafeInput("unsupported-format", messages.text("unsupported-format", "zip-method"))
    return UnsafeInput("corrupt-workbook", _corrupt())


def _corrupt() -> str:
    return messages.text("corrupt-workbook", "damaged")
