"""Collect candidate workbooks from an inbox folder, deciding every file's fate by its bytes.

:func:`collect` walks the folder (never following links), opens ``.zip`` archives and saved ``.eml``
e-mails in memory, and sorts everything it finds into three lists:

- :class:`Item`: a workbook that :func:`~selfeval_xlsx.safety.check_workbook` found safe to open (with
  ``check=False``, one whose bytes say it is an .xlsx/.xlsm: the reader runs the same check later, and
  its findings are the same, so a merge does not inflate every package twice; with ``defer=True``, an
  inbox file with a workbook's name and a zip's bytes, whose kind :func:`refused` decides in the worker);
- :class:`Rejected`: something that looks like a submission but cannot be read (old ``.xls``, WPS
  ``.et``, ``.xlsb``, password-protected, corrupt, a zip bomb, a PDF renamed ``.xlsx``…), with findings
  telling the township what to do;
- :class:`Skipped`: everything else, with a Chinese reason (lock files, hidden files, unrelated
  documents, links, byte-identical copies).

Nothing is modified, nothing is written anywhere, and no exception about one file stops the batch.

Counting (``Intake.seen``): every outcome is one entry in exactly one list, so
``seen == len(items) + len(skipped) + len(rejected)``. An archive or e-mail that could be opened is not
counted itself, only what it holds; one that could not be opened (corrupt, nested too deep, empty, no
attachment) is counted as its own Rejected/Skipped entry; one whose members were cut off at
``max_extracted`` adds a Rejected entry saying so. A hidden or system sub-folder counts as one Skipped
entry (its files are not looked at). Unread input is never a quiet skip: a folder or file that cannot be
read (permissions, a disk error) is a Rejected entry (``unreadable-file``) naming its path, so the merge
exits non-zero. Folders deeper than ``max_inbox_depth`` are listed, not read: every file under them is
an entry of its own (a workbook, archive or e-mail is Rejected with ``too-deep``, anything else Skipped).

Names a clerk could not tell apart (the same name in NFC and NFD, or with an invisible character) are
shown with the differing characters escaped (``退回A\\u200b.xlsx``); names that would still be
identical get a ``〔2〕``, ``〔3〕`` marker. The tool's own outputs found in an inbox are recognised:
``rollup.json`` and ``merge.log`` by name and content, staging leftovers by name (all Skipped), and
completed or returned workbooks by content (:func:`generated_by_tool`, used by ``merge``).

Old ``.xls`` workbooks are Rejected (``unsupported-format``, "save as .xlsx") rather than read with
python-calamine: the reader and every cell-level check work on the grid of :mod:`selfeval_xlsx.xlsx.grid`
(formulas as text, merged ranges, hidden rows, the exact cells of the template); a values-only BIFF reader
would give those checks different answers for the same table, and re-saving takes a township clerk a few
seconds.
"""

from __future__ import annotations

import email
import email.header
import email.message
import email.policy
import hashlib
import mimetypes
import os
import re
import stat
import unicodedata
import urllib.parse
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path, PurePosixPath

from .filenames import display_name, safe_member_path, safe_name, visible_text, zip_member_name
from .findings import Finding, make
from .limits import DEFAULT_LIMITS, MB, Limits, size_text
from .messages import phrase, text
from .safety import UnsafeInput, check_workbook, refusal
from .sniff import (
    CONTAINER_KINDS,
    KIND_LABELS,
    READABLE_KINDS,
    UNREADABLE_WORKBOOK_KINDS,
    WORKBOOK_SUFFIXES,
    ZIP_MAGICS,
    kind_of,
    sniff,
)
from .xlsx.zipread import ZipRefused, open_zip, read_member

__all__ = [
    "ChangedFile",
    "Intake",
    "Item",
    "Rejected",
    "Skipped",
    "collect",
    "generated_by_tool",
    "refused",
    "safe_name",
]

SEP = " › "  # between a container's name and a member's name in display names

_SYSTEM_FILES = {"thumbs.db": "Thumbs.db", "ehthumbs.db": "ehthumbs.db", "desktop.ini": "desktop.ini"}
_SYSTEM_DIRS = {"__macosx", "$recycle.bin", "system volume information"}
_DOC_SUFFIXES = frozenset({".doc", ".docx", ".ppt", ".pptx", ".pdf", ".wps", ".dps"})
_UNOPENED_CONTAINERS = frozenset({"rar", "7z", "gzip", "msg"})  # may hold submissions: Rejected
_OPENED_SUFFIXES = frozenset({".zip", ".eml", ".xls", ".et", ".xlsb", ".rar", ".7z", ".msg"})
_STAGING_PREFIX = ".staging-"  # merge.STAGING_PREFIX: a folder an interrupted merge left behind
_TOOL_TMP = re.compile(r"^\.(?:汇总_.*\.xlsx|rollup\.json|.*\.xlsx)\..*\.tmp$")  # merge.atomic_file's names
_BOUNDARY = re.compile(rb"boundary\s*=", re.IGNORECASE)
_CONTENT_HEADER = re.compile(rb"(?im)^content-([a-z-]{1,40})[ \t]*:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*")


@dataclass(frozen=True)
class Item:
    """One candidate workbook, safe to hand to the reader."""

    name: str  # display name: '宋营镇2023.xlsx', 'mail.eml › 附件.xlsx', 'a.zip › dir/b.xlsx'
    origin: str  # inbox-relative path of the file on disk that held it
    held: bytes  # the bytes, for members of archives and e-mails; b'' when ``path`` is set
    kind: str  # 'xlsx' | 'xlsm' | DEFERRED ('': not sniffed yet, see :func:`refused`)
    sha256: str
    mtime: float  # of the file on disk
    email_date: datetime | None  # Date header of the e-mail it came from
    findings: tuple[Finding, ...] = ()  # warnings: unsafe-name, macro-ignored, extra-data
    path: str = ""  # absolute path of a workbook that is itself a file in the inbox (read again on use)
    size: int = 0  # bytes intake read (with sha256: the re-read must give the same file)
    email_from: str = ""  # From header of the e-mail it came from (the address a reply goes to)

    @property
    def data(self) -> bytes:
        """The workbook's bytes: kept in memory, or read again from the inbox file.

        Workbooks that are plain inbox files are not held in memory between intake and processing, so
        an inbox of any size costs the same memory. Raises :class:`ChangedFile` if the file no longer has
        the bytes intake checked (it changed, or was replaced, while the merge ran).
        """
        if not self.path:
            return self.held
        try:
            data, _ = _read_file(self.path, max(self.size, 1))
        except (OSError, _TooLarge) as exc:
            raise ChangedFile(self.name) from exc
        if len(data) != self.size or hashlib.sha256(data).hexdigest() != self.sha256:
            raise ChangedFile(self.name)
        return data


class ChangedFile(Exception):
    """An inbox file changed between intake and processing."""


@dataclass(frozen=True)
class Skipped:
    """A file that is not a submission (or a copy of one already kept), with the reason in Chinese."""

    name: str
    origin: str
    reason: str
    duplicate_of: str | None = None  # display name of the kept copy, for byte-identical duplicates


@dataclass(frozen=True)
class Rejected:
    """A file that looks like a submission but cannot be read; the findings say what to do."""

    name: str
    origin: str
    kind: str
    sha256: str  # '' when the bytes were not read (too large, or could not be extracted)
    findings: tuple[Finding, ...]
    email_from: str = ""  # From header of the e-mail it came from
    email_date: datetime | None = None
    mtime: float = 0.0


@dataclass
class Intake:
    """Every file's fate, each list sorted by (origin, name)."""

    items: list[Item] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    seen: int = 0  # == len(items) + len(skipped) + len(rejected); see the module docstring


@dataclass(frozen=True)
class _Blob:
    """A file's bytes with where they came from, before classification."""

    name: str
    origin: str
    data: bytes
    mtime: float
    email_date: datetime | None
    depth: int  # how many containers enclose it
    findings: tuple[Finding, ...] = ()
    path: str = ""  # the file on disk, when the blob is one (not an archive member or attachment)
    email_from: str = ""  # From header of the e-mail it came from

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name.rsplit(SEP, 1)[-1]).suffix.lower()


def collect(
    inbox: Path, limits: Limits = DEFAULT_LIMITS, *, check: bool = True, defer: bool = False
) -> Intake:
    """Walk ``inbox`` recursively and return every file's fate, without modifying anything.

    ``check=False`` leaves :func:`~selfeval_xlsx.safety.check_workbook` of .xlsx/.xlsm packages to the
    reader (:func:`~selfeval_xlsx.reader.read_workbook` runs it first; ``merge`` uses this, so the check
    runs once, in the worker processes); formats that cannot be read are still Rejected here.
    ``defer=True`` (with ``check=False``; ``merge``) also leaves the sniffing of an inbox file with a
    workbook's name and a zip's bytes (nearly every submission) to the worker: it is an :class:`Item` of
    kind :data:`DEFERRED`, and :func:`refused` gives the Rejected entry it would have been here. Only the
    kind waits: the bytes are read and hashed here, so copies, counts and changed files are decided as
    before. Raises only for a bad ``inbox`` argument (missing, not a folder); every problem with a file
    becomes a Skipped or Rejected entry.
    """
    root = Path(inbox).resolve(strict=True)
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {inbox}")
    collector = _Collector(root, limits, check, defer and not check)
    collector.walk(root, "", 0)
    return collector.result()


def collect_file(path: Path, limits: Limits = DEFAULT_LIMITS) -> Intake:
    """One file named on the command line (``validate FILE…``), as :func:`collect` would see it in an
    inbox: a workbook, or each workbook in a .zip or .eml (named ``容器 › 成员``), with the same fates.
    Packages are left to the reader to check (as ``collect(check=False)``)."""
    path = Path(path)
    collector = _Collector(path.parent.resolve(), limits, check=False)
    name = _fs_text(path.name)
    try:
        data, mtime = _read_file(str(path), limits.max_file_bytes)
    except _TooLarge as big:
        collector._too_large_on_disk(str(path), name, name, big.size)
    except OSError as exc:
        collector._unreadable(name, name, exc)
    else:
        collector._consider(_Blob(name, name, data, mtime, None, 0, (), str(path)))
    return collector.result()


class _Collector:
    def __init__(self, root: Path, limits: Limits, check: bool = True, defer: bool = False) -> None:
        self.root = root
        self.limits = limits
        self.check = check
        self.defer = defer
        self.items: list[Item] = []
        self.skipped: list[Skipped] = []
        self.rejected: list[Rejected] = []
        self.walked = 0
        self.held = 0  # bytes of accepted items kept in memory

    # --- the folder -----------------------------------------------------------------------------

    def walk(self, folder: Path, rel: str, depth: int) -> None:
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            shown = self._shown(rel) + "/" if rel else "./"
            self._unreadable(shown, rel or ".", exc, folder=True)
            return
        entries.sort(key=_entry_sort_key)
        for entry in entries:
            rel_path = f"{rel}/{_fs_text(entry.name)}" if rel else _fs_text(entry.name)
            if self.walked >= self.limits.max_inbox_files:
                reason = phrase("skip", "too-many-files", limit=self.limits.max_inbox_files)
                self._skip(rel_path, rel_path, reason)
                return
            self.walked += 1
            try:
                self._entry(entry, rel_path, depth)
            except Exception as exc:  # never let one entry stop the batch
                self._unreadable(self._shown(rel_path), rel_path, exc)

    def _shown(self, rel_path: str) -> str:
        return display_name(rel_path, self.limits.max_name_chars)

    def _unreadable(self, name: str, origin: str, exc: BaseException, folder: bool = False) -> None:
        """A folder or file that could not be read: Rejected (unread input is not success)."""
        if isinstance(exc, PermissionError):
            why = phrase("unreadable-why", "no-permission")
        elif isinstance(exc, OSError):
            why = exc.strerror or type(exc).__name__
        else:
            why = type(exc).__name__
        if folder:
            message = text("unreadable-file", "folder", name=name, why=why)
        else:
            message = text("unreadable-file", "file", name=name, why=why)
        finding = make("unreadable-file", message, file=name)
        self._reject(name, origin, "folder" if folder else "unknown", "", [finding])

    def _entry(self, entry: os.DirEntry[str], rel_path: str, depth: int) -> None:
        name = self._shown(rel_path)
        if entry.is_symlink():
            target = os.path.realpath(entry.path)  # resolves the name only; the link is never opened
            try:
                inside = os.path.commonpath([str(self.root), target]) == str(self.root)
            except ValueError:  # another drive (Windows)
                inside = False
            self._skip(name, rel_path, phrase("skip", "inside-link" if inside else "outside-link"))
        elif entry.is_dir(follow_symlinks=False):
            low = entry.name.lower()
            if entry.name.startswith(_STAGING_PREFIX):
                self._skip(name + "/", rel_path, phrase("skip", "staging-folder"))
            elif entry.name.startswith(".") or low in _SYSTEM_DIRS or _win_hidden(entry):
                self._skip(name + "/", rel_path, phrase("skip", "hidden-folder"))
            elif depth + 1 > self.limits.max_inbox_depth:
                self._too_deep(Path(entry.path), rel_path)
            else:
                self.walk(Path(entry.path), rel_path, depth + 1)
        elif entry.is_file(follow_symlinks=False):
            self._disk_file(entry, name, rel_path)
        else:
            self._skip(name, rel_path, phrase("skip", "not-regular"))

    def _too_deep(self, folder: Path, rel: str) -> None:
        """List (never read) every file under a folder deeper than ``max_inbox_depth``, each by name."""
        limit = self.limits.max_inbox_depth
        reason = phrase("skip", "too-deep", limit=limit)
        message = text("too-deep", limit=limit)
        stack = [(folder, rel)]
        while stack:
            here, here_rel = stack.pop()
            try:
                with os.scandir(here) as it:
                    entries = sorted(it, key=_entry_sort_key, reverse=True)
            except OSError as exc:
                self._unreadable(self._shown(here_rel) + "/", here_rel, exc, folder=True)
                continue
            for entry in entries:
                rel_path = f"{here_rel}/{_fs_text(entry.name)}"
                name = self._shown(rel_path)
                if self.walked >= self.limits.max_inbox_files:
                    limit_files = self.limits.max_inbox_files
                    self._skip(name, rel_path, phrase("skip", "too-many-files", limit=limit_files))
                    return
                self.walked += 1
                try:
                    is_dir = entry.is_dir(follow_symlinks=False) and not entry.is_symlink()
                except OSError:
                    is_dir = False
                if is_dir:
                    stack.append((Path(entry.path), rel_path))
                elif PurePosixPath(entry.name).suffix.lower() in WORKBOOK_SUFFIXES | _OPENED_SUFFIXES:
                    self._reject(name, rel_path, "unknown", "", [make("too-deep", message, file=name)])
                else:
                    self._skip(name, rel_path, reason)

    def _disk_file(self, entry: os.DirEntry[str], name: str, rel_path: str) -> None:
        base = entry.name
        reason = _ignored_name(base) or (phrase("skip", "hidden-file") if _win_hidden(entry) else None)
        if _TOOL_TMP.match(base):
            reason = phrase("skip", "tool-temporary")
        if reason:
            self._skip(name, rel_path, reason)
            return
        findings = _name_findings(rel_path, name)
        try:
            data, mtime = _read_file(entry.path, self.limits.max_file_bytes)
        except _TooLarge as big:
            self._too_large_on_disk(entry.path, name, rel_path, big.size)
            return
        except OSError as exc:
            self._unreadable(name, rel_path, exc)
            return
        self._consider(_Blob(name, rel_path, data, mtime, None, 0, findings, entry.path))

    def _too_large_on_disk(self, path: str, name: str, rel_path: str, size: int) -> None:
        try:
            head, _ = _read_file(path, 8192, head_only=True)
        except OSError:
            head = b""
        kind = sniff(head)
        suffix = PurePosixPath(name).suffix.lower()
        wanted = {"zip", "ole", "eml", "xls", *_UNOPENED_CONTAINERS}
        if suffix in WORKBOOK_SUFFIXES or suffix == ".zip" or kind in wanted:
            message = text(
                "too-large", "inbox-file", size=size_text(size), limit=size_text(self.limits.max_file_bytes)
            )
            self._reject(name, rel_path, kind, "", [make("too-large", message, file=name)])
        else:
            label = KIND_LABELS.get(kind, kind)
            self._skip(name, rel_path, phrase("skip", "large-other", label=label))

    # --- classification ---------------------------------------------------------------------------

    def _consider(self, blob: _Blob) -> None:
        try:
            self._classify(blob)
        except Exception:  # a hostile file must never stop the batch
            sha = hashlib.sha256(blob.data).hexdigest()
            self._reject(blob.name, blob.origin, "unknown", sha, [_structure(blob.name)], blob)

    def _classify(self, blob: _Blob) -> None:
        if self.defer and blob.path and blob.suffix in WORKBOOK_SUFFIXES and blob.data.startswith(ZIP_MAGICS):
            self._workbook(blob, DEFERRED)  # whatever its kind, it goes to _workbook: see refused()
            return
        kind = kind_of(blob.data, blob.name)
        if kind in CONTAINER_KINDS and not (kind == "zip" and blob.suffix in WORKBOOK_SUFFIXES):
            self._container(blob, kind)
        elif kind == "ole-encrypted" and blob.suffix in _DOC_SUFFIXES:
            self._skip(blob.name, blob.origin, phrase("skip", "other-kind", label=KIND_LABELS[kind]))
        elif (
            kind in READABLE_KINDS
            or kind in UNREADABLE_WORKBOOK_KINDS
            or kind in _UNOPENED_CONTAINERS
            or blob.suffix in WORKBOOK_SUFFIXES
        ):
            self._workbook(blob, kind)
        elif kind == "empty":
            self._skip(blob.name, blob.origin, phrase("skip", "empty"))
        elif _tool_text(blob):
            self._skip(blob.name, blob.origin, _tool_text(blob) or "")
        else:
            self._skip(
                blob.name, blob.origin, phrase("skip", "other-kind", label=KIND_LABELS.get(kind, kind))
            )

    def _workbook(self, blob: _Blob, kind: str) -> None:
        sha = hashlib.sha256(blob.data).hexdigest()
        readable = kind in READABLE_KINDS or kind == DEFERRED
        found = check_workbook(blob.data, blob.name, self.limits) if self.check or not readable else []
        findings = [*blob.findings, *found]
        if not readable or any(f.severity == "error" for f in found):
            self._reject(blob.name, blob.origin, kind, sha, findings, blob)
            return
        path = os.path.abspath(blob.path) if blob.path else ""
        if not path and self.held + len(blob.data) > self.limits.max_intake_bytes:
            message = text("too-large", "batch", limit=size_text(self.limits.max_intake_bytes))
            self._reject(
                blob.name, blob.origin, kind, sha, [make("too-large", message, file=blob.name)], blob
            )
            return
        if not path:
            self.held += len(blob.data)
        self.items.append(
            Item(
                blob.name,
                blob.origin,
                b"" if path else blob.data,
                kind,
                sha,
                blob.mtime,
                blob.email_date,
                tuple(findings),
                path,
                len(blob.data),
                blob.email_from,
            )
        )

    # --- archives and e-mails -----------------------------------------------------------------------

    def _container(self, blob: _Blob, kind: str) -> None:
        if blob.depth >= self.limits.max_depth:
            what = "压缩包" if kind == "zip" else "邮件"
            message = text("too-large", "nested", what=what, limit=self.limits.max_depth)
            sha = hashlib.sha256(blob.data).hexdigest()
            self._reject(
                blob.name, blob.origin, kind, sha, [make("too-large", message, file=blob.name)], blob
            )
        elif kind == "zip":
            self._zip(blob)
        else:
            self._email(blob)

    def _zip(self, blob: _Blob) -> None:
        try:
            zf = open_zip(blob.data, self.limits)
        except ZipRefused as exc:
            sha = hashlib.sha256(blob.data).hexdigest()
            finding = _archive_finding(refusal(exc, self.limits), blob.name)
            self._reject(blob.name, blob.origin, "zip", sha, [finding], blob)
            return
        members = sorted((i for i in zf.infolist() if not i.is_dir()), key=lambda i: zip_member_name(i))
        if not members:
            self._skip(blob.name, blob.origin, phrase("skip", "empty-zip"))
            return
        left = self.limits.max_total_uncompressed
        for count, info in enumerate(members):
            if count >= self.limits.max_extracted:
                self._cut_off(blob, "压缩包", len(members) - count)
                break
            raw = zip_member_name(info)
            name, findings = self._member_name(blob, raw)
            ignored = _ignored_path(raw)
            if ignored:
                self._skip(name, blob.origin, ignored)
                continue
            try:
                cap = min(self.limits.max_file_bytes, left)
                data = read_member(blob.data, info, cap=cap, limits=self.limits)
            except ZipRefused as exc:
                self._reject(
                    name, blob.origin, "unknown", "", [_archive_finding(refusal(exc, self.limits), name)]
                )
                continue
            left -= len(data)
            member = _Blob(
                name,
                blob.origin,
                data,
                blob.mtime,
                blob.email_date,
                blob.depth + 1,
                findings,
                "",
                blob.email_from,
            )
            self._consider(member)

    def _email(self, blob: _Blob) -> None:
        if _mime_too_complex(blob.data, self.limits):
            message = text("too-large", "email")
            sha = hashlib.sha256(blob.data).hexdigest()
            self._reject(
                blob.name, blob.origin, "eml", sha, [make("too-large", message, file=blob.name)], blob
            )
            return
        msg = email.message_from_bytes(blob.data, policy=email.policy.default)
        if _own_draft(msg):
            self._skip(blob.name, blob.origin, phrase("skip", "own-draft"))
            return
        date = _email_date(msg)
        attachments: list[tuple[str, email.message.Message]] = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            filename = _attachment_filename(part)
            ctype = part.get_content_type()
            if not filename:
                if part.get_content_disposition() != "attachment" and ctype.startswith(
                    ("text/", "image/", "message/", "multipart/")
                ):
                    continue  # the body of the mail (or an inline picture), not a file
                ext = mimetypes.guess_extension(ctype) or ""
                filename = f"附件{len(attachments) + 1}{ext}"
            attachments.append((filename, part))
        if not attachments:
            self._skip(blob.name, blob.origin, phrase("skip", "no-attachments"))
            return
        for count, (filename, attached) in enumerate(attachments):
            if count >= self.limits.max_extracted:
                self._cut_off(blob, "邮件", len(attachments) - count)
                break
            name, findings = self._member_name(blob, filename)
            ignored = _ignored_path(filename)
            if ignored:
                self._skip(name, blob.origin, ignored)
                continue
            payload = attached.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            if len(data) > self.limits.max_file_bytes:
                message = text("too-large", "attachment", limit=size_text(self.limits.max_file_bytes))
                self._reject(name, blob.origin, "unknown", "", [make("too-large", message, file=name)])
                continue
            sender = _email_from(msg)
            self._consider(
                _Blob(name, blob.origin, data, blob.mtime, date, blob.depth + 1, findings, "", sender)
            )

    def _member_name(self, blob: _Blob, raw: str) -> tuple[str, tuple[Finding, ...]]:
        """Display name of a member, and an unsafe-name finding if its raw name had to be changed."""
        path = safe_member_path(raw, self.limits.max_name_chars)
        name = f"{blob.name}{SEP}{path}"
        if path == raw.replace("\\", "/"):
            return name, blob.findings
        shown = _escape(raw)
        message = text("unsafe-name", "member", shown=shown, path=path)
        return name, (*blob.findings, make("unsafe-name", message, file=name, value=shown))

    def _cut_off(self, blob: _Blob, what: str, rest: int) -> None:
        message = text("too-large", "members", what=what, limit=self.limits.max_extracted, rest=rest)
        sha = hashlib.sha256(blob.data).hexdigest()
        kind = "zip" if what == "压缩包" else "eml"
        self._reject(blob.name, blob.origin, kind, sha, [make("too-large", message, file=blob.name)], blob)

    # --- results --------------------------------------------------------------------------------------

    def _skip(self, name: str, origin: str, reason: str) -> None:
        self.skipped.append(Skipped(name, origin, reason))

    def _reject(
        self, name: str, origin: str, kind: str, sha: str, findings: list[Finding], blob: _Blob | None = None
    ) -> None:
        sent = (blob.email_from, blob.email_date, blob.mtime) if blob else ("", None, 0.0)
        self.rejected.append(Rejected(name, origin, kind, sha, tuple(findings), *sent))

    def result(self) -> Intake:
        """Sorted lists, with byte-identical copies after the first (in that order) moved to Skipped."""

        def key(e: Item | Skipped | Rejected) -> tuple[str, str]:
            return (e.origin, e.name)

        _tell_apart(self)
        kept: dict[str, str] = {}
        items: list[Item] = []
        rejected: list[Rejected] = []
        skipped = list(self.skipped)
        # Of byte-identical copies the one kept is the one a person calls the original: a name not marked
        # 副本/Copy/(1) before one that is, then the earliest received, then (origin, name).
        entries: list[Item | Rejected] = [*self.items, *self.rejected]
        for entry in sorted(entries, key=_original_first):
            if entry.sha256 and entry.sha256 in kept:
                first = kept[entry.sha256]
                skipped.append(
                    Skipped(entry.name, entry.origin, phrase("skip", "duplicate", first=first), first)
                )
                continue
            if entry.sha256:
                kept[entry.sha256] = entry.name
            if isinstance(entry, Item):
                items.append(entry)
            else:
                rejected.append(entry)
        skipped.sort(key=key)
        items.sort(key=key)
        rejected.sort(key=key)
        return Intake(items, skipped, rejected, len(items) + len(skipped) + len(rejected))


#: The kind of an Item whose bytes are not sniffed yet (``collect(defer=True)``): see :func:`refused`.
DEFERRED = ""


def refused(item: Item, data: bytes, limits: Limits = DEFAULT_LIMITS) -> Rejected | None:
    """For an Item of kind :data:`DEFERRED` and its bytes ``data``: the Rejected entry :func:`collect`
    would have made of it without ``defer`` (its bytes are not an .xlsx/.xlsm package: an .xlsb, an .ods,
    a plain zip renamed), or None when it is a workbook to read. The same steps as the collector's
    (sniff, then the package check of an unreadable kind), in the worker that reads the file anyway.
    Never raises."""
    if item.kind != DEFERRED:
        return None
    try:
        kind = kind_of(data, item.name)
        if kind in READABLE_KINDS:
            return None
        findings = (*item.findings, *check_workbook(data, item.name, limits))
    except Exception:  # as _Collector._consider: a hostile file must never stop the batch
        kind, findings = "unknown", (_structure(item.name),)
    return Rejected(
        item.name, item.origin, kind, item.sha256, findings, item.email_from, item.email_date, item.mtime
    )


def _structure(name: str) -> Finding:
    """A file whose structure broke the intake itself."""
    return make("corrupt-workbook", text("corrupt-workbook", "structure"), file=name)


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------

#: A name marked as a copy of another file: 副本, 复件, Copy, or a trailing (1) as Windows and browsers add.
COPY_MARK = re.compile(r"副本|复件|(?<![a-z])copy(?![a-z])|[(（]\s*\d+\s*[)）]\s*$", re.I)


def copy_marked(name: str) -> bool:
    """Whether a file's own name (not its folder or archive) says it is a copy."""
    stem = name.rsplit(SEP, 1)[-1].rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return bool(COPY_MARK.search(stem))


def _original_first(entry: Item | Rejected) -> tuple[bool, float, str, str]:
    stamp = entry.mtime
    if entry.email_date is not None:
        with suppress(OverflowError, OSError, ValueError):
            stamp = entry.email_date.timestamp()
    return (copy_marked(entry.name), stamp, entry.origin, entry.name)


def _own_draft(msg: email.message.Message) -> bool:
    """Whether an e-mail is one of this tool's reply or reminder drafts (``drafts.DRAFT_HEADER``)."""
    try:
        return str(msg.get("X-Selfeval-Xlsx", "")).strip() in ("reply-draft", "reminder-draft")
    except Exception:
        return False


def _email_from(msg: email.message.Message) -> str:
    """The sender's From header as text ('梨园镇财政所 <lyz@example.cn>'), '' when missing or broken."""
    try:
        value = msg["From"]
        return str(value).strip() if value else ""
    except Exception:
        return ""


def _tell_apart(c: _Collector) -> None:
    """Give entries whose display names are identical names a clerk can tell apart.

    A name shown cleaned (NFC, invisible characters dropped) that equals another entry's is shown with
    the differing characters escaped instead (``Ru\\u0308ckgabe.xlsx``, ``退回A\\u200b.xlsx``); names
    still identical (members of archives) get ``〔2〕``, ``〔3〕``… before the extension, in walk order.
    """
    groups: dict[str, list[tuple[str, int]]] = defaultdict(list)
    lists: dict[str, list] = {"items": c.items, "rejected": c.rejected, "skipped": c.skipped}
    for which, entries in lists.items():
        for i, e in enumerate(entries):
            groups[e.name].append((which, i))
    used = set(groups)

    def marked(text: str) -> str:
        stem, dot, ext = text.rpartition(".")
        for k in range(2, len(used) + 3):
            out = f"{stem}〔{k}〕.{ext}" if dot and stem else f"{text}〔{k}〕"
            if out not in used:
                return out
        return text  # unreachable: there are fewer names than markers tried

    for name, members in groups.items():
        if len(members) < 2:
            continue
        plain_taken = False
        for which, i in members:
            e = lists[which][i]
            new = name
            if SEP not in name and e.origin:
                escaped = _escape_path(e.origin) + ("/" if name.endswith("/") else "")
                new = escaped if escaped != name else name
            if new == name:
                if plain_taken:
                    new = marked(name)
                plain_taken = True
            elif new in used:
                new = marked(new)
            if new == name:
                continue
            used.add(new)
            renamed = replace(e, name=new)
            if hasattr(e, "findings"):
                fixed = tuple(replace(f, file=new) if f.file == name else f for f in e.findings)
                renamed = replace(renamed, findings=fixed)
            lists[which][i] = renamed


def _escape_path(raw: str) -> str:
    """``raw`` with the characters that cleaning would drop or recompose spelled out (``\\u200b``)."""
    out = []
    for level in raw.split("/"):
        decomposed = unicodedata.normalize("NFC", level) != level
        chars = []
        for ch in level:
            cat = unicodedata.category(ch)
            if cat in ("Cc", "Cf", "Cs", "Zl", "Zp") or (decomposed and cat.startswith("M")):
                chars.append(ascii(ch)[1:-1])
            else:
                chars.append(ch)
        out.append("".join(chars))
    return "/".join(out)


def _tool_text(blob: _Blob) -> str | None:
    """Why a text file is one of this tool's own outputs (``rollup.json``, ``merge.log``), else None."""
    base = blob.name.rsplit("/", 1)[-1].rsplit(SEP, 1)[-1].lower()
    head = blob.data[:4096]
    if base.endswith(".json") and head.lstrip().startswith(b"{") and b'"tool_version"' in head:
        return phrase("skip", "rollup-json")
    if base.endswith(".log") and b"selfeval_xlsx." in head:
        return phrase("skip", "merge-log")
    return None


_SHEET_NAMES = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheet\b[^>]*?\bname\s*=\s*[\"']([^\"']*)[\"']")
_CORE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(lastModifiedBy|created|modified)\b[^>]*>([^<]*)<")
RESULT_SHEET = "评分结果"  # completed.RESULT_SHEET
RETURN_SHEET = "退回说明"  # completed.RETURN_SHEET


def generated_by_tool(data: bytes) -> str:
    """Whether a workbook is one of this tool's outputs, by its content: ``"completed"`` (a completed
    ``_已评分`` workbook: it has the 评分结果 sheet), ``"returned"`` (a returned copy, 退回说明 sheet,
    saved again by another program: the township's resubmission), ``"returned-unedited"`` (a returned
    copy exactly as written: never saved by Excel, WPS or LibreOffice, which record who saved it and
    when), or ``""``. Never raises."""
    if not data.startswith(b"PK"):
        return ""
    try:
        zf = open_zip(data)
        book = read_member(data, zf.getinfo("xl/workbook.xml"), cap=1024 * 1024)
        sheets = {m.decode("utf-8", "replace") for m in _SHEET_NAMES.findall(book)}
        if RESULT_SHEET in sheets:
            return "completed"
        if RETURN_SHEET not in sheets:
            return ""
        try:
            core = read_member(data, zf.getinfo("docProps/core.xml"), cap=64 * 1024)
        except KeyError:
            return "returned"
        props = {k.decode(): v.strip() for k, v in _CORE.findall(core)}
        unedited = not props.get("lastModifiedBy") and props.get("created") == props.get("modified")
        return "returned-unedited" if unedited else "returned"
    except Exception:  # anything odd: not ours
        return ""


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _read_file(path: str, limit: int, head_only: bool = False) -> tuple[bytes, float]:
    """Read a regular file without following a link or blocking on a pipe; at most ``limit`` bytes."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block the walk
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, phrase("unreadable-why", "not-regular"))
        if st.st_size > limit and not head_only:
            raise _TooLarge(st.st_size)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 * MB, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit and not head_only:
            raise _TooLarge(total)  # the file grew while we read it
        return b"".join(chunks)[:limit], st.st_mtime
    finally:
        os.close(fd)


def _entry_sort_key(entry: os.DirEntry[str]) -> str:
    """Sort a folder's entries so the walk visits files in the order of their relative paths."""
    try:
        is_dir = entry.is_dir(follow_symlinks=False)
    except OSError:
        is_dir = False
    return _fs_text(entry.name) + ("/" if is_dir else "")


def _fs_text(name: str) -> str:
    """A file-system name as text: undecodable bytes (GBK names on a UTF-8 system) read as GB18030."""
    if not any(0xDC80 <= ord(c) <= 0xDCFF for c in name):
        return name
    raw = os.fsencode(name)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace")


def _name_findings(raw: str, shown: str) -> tuple[Finding, ...]:
    if raw == shown:
        return ()
    message = text("unsafe-name", "shown", raw=_escape(raw), shown=shown)
    return (make("unsafe-name", message, file=shown, value=_escape(raw)),)


def _escape(text: str, limit: int = 200) -> str:
    """``text`` with invisible characters spelled out (``\\x00``, ``\\u202e``), cut to ``limit``."""
    out = "".join(ch if ch == visible_text(ch) else ascii(ch)[1:-1] for ch in text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def _ignored_name(base: str) -> str | None:
    """Why a file name alone says "not a submission" (lock, hidden, system files), else None."""
    low = base.lower()
    if base.startswith("~$"):
        return phrase("skip", "lock-file")
    if low in _SYSTEM_FILES:
        return phrase("skip", "system-file", label=_SYSTEM_FILES[low])
    if base.startswith("."):
        return phrase("skip", "hidden-file")
    return None


def _ignored_path(raw: str) -> str | None:
    """Like :func:`_ignored_name` for a path inside an archive; also skips ``__MACOSX/`` folders."""
    parts = [p for p in raw.replace("\\", "/").split("/") if p]
    if any(p.lower() in _SYSTEM_DIRS or (p.startswith(".") and p.strip(".")) for p in parts[:-1]):
        return phrase("skip", "in-hidden-folder")
    return _ignored_name(parts[-1]) if parts else None


def _win_hidden(entry: os.DirEntry[str]) -> bool:
    try:
        attrs = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
    except OSError:
        return False
    return bool(attrs & 0x2)  # FILE_ATTRIBUTE_HIDDEN


def _archive_finding(exc: UnsafeInput, name: str) -> Finding:
    if exc.code == "corrupt-workbook":
        message = text("corrupt-workbook", "archive")
        return make("corrupt-workbook", message, file=name)
    return exc.finding(name)


def _mime_too_complex(data: bytes, limits: Limits) -> bool:
    """Whether an e-mail would make the stdlib parser slow: too many multiparts or parts, or a
    ``Content-*`` header (with its continuation lines) longer than ``max_mime_header_chars``."""
    for count, _ in enumerate(_BOUNDARY.finditer(data), 1):
        if count > limits.max_mime_multiparts:
            return True
    parts = 0
    for m in _CONTENT_HEADER.finditer(data):
        if len(m.group(0)) > limits.max_mime_header_chars:
            return True
        parts += m.group(1).lower() == b"type"
        if parts > limits.max_mime_parts:
            return True
    return False


def _email_date(msg: email.message.Message) -> datetime | None:
    try:
        header = msg["Date"]
        value = getattr(header, "datetime", None)
        return value if isinstance(value, datetime) else None
    except Exception:
        return None


def _attachment_filename(part: email.message.Message) -> str | None:
    """An attachment's file name, decoded however the sender's mail program encoded it.

    Handles RFC 2231 (``filename*=UTF-8''…``), encoded words (``=?GBK?B?…?=``), GB2312 labels on GBK text,
    and raw 8-bit GBK or UTF-8 bytes in the header (some Chinese mail programs send them).
    """
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name and not _garbled(name):
        return name
    raw_items = part.raw_items() if hasattr(part, "raw_items") else part.items()
    headers = {k.lower(): _repair(str(v)) for k, v in raw_items}
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        found = _raw_param(headers.get(header, ""), param)
        if found and not _garbled(found):
            return found
    return name


_PARAM = re.compile(r"""(?ix) (?:^|;) \s* ({name}) (\*?) \s*=\s* ("(?:[^"\\]|\\.)*"|[^;\s]+)""")
_GBK_LABELS = frozenset({"gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936", "euc-cn", "x-euc-cn", "csgb2312"})


def _raw_param(value: str, param: str) -> str | None:
    """A parameter read from a raw header value, for names the stdlib could not decode."""
    m = re.compile(_PARAM.pattern.format(name=re.escape(param)), _PARAM.flags).search(value)
    if not m:
        return None
    text = m.group(3)
    if text.startswith('"'):
        text = re.sub(r"\\(.)", r"\1", text[1:-1])
    if m.group(2):  # RFC 2231: charset'language'percent-encoded
        charset, _, rest = text.partition("'")
        encoded = rest.partition("'")[2]
        return _decode_bytes(urllib.parse.unquote_to_bytes(encoded), charset)
    if "=?" in text:
        try:
            words = email.header.decode_header(text)
        except Exception:
            return text
        return "".join(w if isinstance(w, str) else _decode_bytes(w, cs) for w, cs in words)
    return text


def _decode_bytes(data: bytes, charset: str | None) -> str:
    codec = (charset or "utf-8").lower()
    if codec in _GBK_LABELS:
        codec = "gb18030"  # GB2312 labels often carry GBK characters; GB18030 is a superset of both
    try:
        return data.decode(codec)
    except (LookupError, UnicodeDecodeError):
        return _repair(data.decode("utf-8", "surrogateescape"))


def _garbled(text: str) -> bool:
    return "\ufffd" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def _repair(text: str) -> str:
    """Text whose undecodable bytes were kept as surrogates, decoded as UTF-8 or else GB18030."""
    if not any(0xDC80 <= ord(c) <= 0xDCFF for c in text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    for codec in ("utf-8", "gb18030"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")
