"""Where outputs are written: single files atomically, and a merge's output folder as one unit.

A merge never changes its output folder (OUT) until it has built everything it will publish. It takes a
lock on OUT (a second merge into the same folder stops at once), builds completed/, returned/, reports/,
the roll-up workbooks, ``rollup.json`` and ``merge.log`` in a hidden staging folder inside OUT, and then
publishes them in one short step of renames with Ctrl-C held off. If any rename fails, the ones done are
undone, so OUT is either the previous run's or this run's, never a mix. A run that fails or is interrupted
before that step leaves OUT exactly as it was (its log goes with the staging folder).

The tool deletes only what it created: a manifest (``.selfeval-xlsx-outputs.json``) records every file it
published with its size and time. A file in completed/, returned/ or reports/ that is not in the
manifest, or was changed since (a township's corrected copy saved into returned/), is carried into the
new folder instead of being deleted (renamed ``…(保留).xlsx`` if the new run wrote the same name).
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from loguru import logger

from .errors import DiskFull, FolderError, OutputBusy, OutputError
from .limits import size_text
from .rollup import ROLLUP_FILE_GLOB

STAGING_PREFIX = ".staging-"
LOCK_NAME = ".selfeval-xlsx.lock"
MANIFEST_NAME = ".selfeval-xlsx-outputs.json"
LOG_NAME = "merge.log"
#: The folders a merge replaces as a whole (their foreign files are carried over).
FOLDERS = ("completed", "returned", "drafts", "reports")
#: Names the tool gives its outputs: what counts as its own in an output folder written before the
#: manifest existed (tool version 0.x).
_OWN_NAMES = re.compile(
    r"(.*_已评分\.xlsx|退回_.*\.(?:xlsx|eml)|.*_自评报告\.docx|汇总_.*\.xlsx|rollup\.json|merge\.log)"
)
_SPACE_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


# --- single files ------------------------------------------------------------------------------------


def atomic_write(target: Path, write: Callable[[Any], None]) -> None:
    """Write via a temporary file in the same folder, then rename over ``target``."""
    with atomic_file(target) as fh:
        write(fh)


@contextmanager
def atomic_file(target: Path) -> Iterator[BinaryIO]:
    """A binary file that appears at ``target`` (by rename) only if the block completes."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_output(target: str | Path, write: Callable[[Any], None]) -> None:
    """Write one output file atomically; a full disk or an unwritable place is an :class:`OutputError`
    in Chinese, and leaves no partial file behind (an existing file at ``target`` stays as it was)."""
    target = Path(target)
    buffer = io.BytesIO()  # built in memory first: a full disk never meets a half-written zip
    write(buffer)
    try:
        atomic_write(target, lambda fh: fh.write(buffer.getbuffer()))
    except OSError as exc:
        raise output_error(exc, target, needed=len(buffer.getbuffer())) from exc


@contextmanager
def writing(where: Path) -> Iterator[None]:
    """Turn the operating system's errors while writing ``where`` into :class:`OutputError`."""
    try:
        yield
    except OSError as exc:
        raise output_error(exc, where) from exc


def output_error(exc: OSError, where: Path, needed: int | None = None, releasing: int = 0) -> OutputError:
    """The Chinese error for an OS error met while writing under ``where`` (``needed``: the bytes the
    run would need; ``releasing``: what the failed run wrote and is about to remove)."""
    if exc.errno in _SPACE_ERRNOS:
        free = _free_bytes(where)
        free = None if free is None else free + releasing
        need = f"，约需 {_mb(needed)}" if needed else ""
        return DiskFull(
            f"磁盘空间不足：无法写入“{where}”（所在磁盘剩余 {_mb(free)}{need}）。"
            "本次未写出任何结果，原有结果保持不变；请清理磁盘或用 -o 换一个输出位置后重新运行。"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "所在磁盘为只读" if exc.errno == errno.EROFS else "没有写入权限"
        return OutputError(
            f"无法写入“{where}”：{why}。本次未写出任何结果，原有结果保持不变；"
            "请用 -o 换一个可写的输出位置，或请管理员开放权限后重新运行。"
        )
    return OutputError(
        f"无法写入“{where}”（{exc.strerror or type(exc).__name__}）。本次未写出任何结果，原有结果保持不变。"
    )


def os_error_in(exc: BaseException | None) -> OSError | None:
    """The operating system's error behind ``exc``, if any (xlsxwriter wraps it in FileCreateError)."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OSError):
            return exc
        inner = next((a for a in exc.args if isinstance(a, OSError)), None)
        exc = inner or exc.__cause__ or exc.__context__
        seen += 1
    return None


class LogFile:
    """A log file (a logging stream) that never raises: a full disk ends the log, not the run (the run then
    stops with its own Chinese error)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None
        self._failed = False

    def write(self, message: str) -> None:
        if self._failed:
            return
        try:
            if self._fh is None:
                self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
            self._fh.write(message)
            self._fh.flush()
        except OSError:
            self._failed = True

    def stop(self) -> None:
        if self._fh is not None:
            with suppress(OSError):
                self._fh.close()
            self._fh = None


def _free_bytes(where: Path) -> int | None:
    for p in (where, *where.parents):
        try:
            return shutil.disk_usage(p).free
        except OSError:
            continue
    return None


def _mb(n: int | None) -> str:
    if n is None:
        return "未知"
    return size_text(n)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- the output folder of a merge ----------------------------------------------------------------------


def check_folders(inbox: Path, outdir: Path) -> None:
    """Refuse an output folder inside the inbox (outputs would be read as inputs) and an inbox inside the
    output folder (publishing replaces returned/ and completed/: the files being merged would vanish)."""
    i, o = inbox.resolve(), outdir.resolve()
    if o == i or i in o.parents:
        raise FolderError(
            f"输出目录“{outdir}”不能位于收件目录“{inbox}”之内：请用 -o 指定收件目录以外的文件夹。"
        )
    if o in i.parents:
        raise FolderError(
            f"收件目录“{inbox}”位于输出目录“{outdir}”之内：汇总会替换输出目录中的 returned/、completed/ 等文件夹，"
            "其中的文件会被移走。请先把要汇总的文件复制到输出目录以外的文件夹（如“收件”），再对该文件夹运行汇总。"
        )


@dataclass
class Workspace:
    """A locked output folder and the staging folder where this run builds what it will publish."""

    outdir: Path
    staging: Path
    log_sink: Any = None  # the handler writing this run's merge.log (runlog.log_to)

    @property
    def new(self) -> Path:
        """The folder that becomes OUT's content: ``new/completed``, ``new/汇总_….xlsx``…"""
        return self.staging / "new"

    @property
    def log(self) -> Path:
        return self.new / LOG_NAME


@contextmanager
def workspace(outdir: Path) -> Iterator[Workspace]:
    """Create and lock ``outdir``, clean what an interrupted run left there, and give a fresh staging
    folder, removed afterwards. Another merge holding the lock is :class:`OutputBusy`."""
    from filelock import FileLock, Timeout

    with writing(outdir):
        outdir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(outdir / LOCK_NAME), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise OutputBusy(
                f"另一个汇总正在写入输出目录“{outdir}”，本次未运行。请等它结束后再运行，或用 -o 指定其他输出目录。"
            ) from None
    try:
        _clean_stale_staging(outdir)
        with writing(outdir):
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=outdir))
            (staging / "new").mkdir()
        try:
            yield Workspace(outdir, staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        lock.release()


def staged_bytes(ws: Workspace) -> int:
    """How much this run has written so far (for the space estimate of a full disk)."""
    total = 0
    for root, _dirs, files in os.walk(ws.staging):
        for f in files:
            with suppress(OSError):
                total += os.lstat(os.path.join(root, f)).st_size
    return total


@dataclass
class Published:
    """What :func:`publish` did: the paths now in OUT, and foreign files it kept."""

    outputs: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    interrupted: bool = False


def publish(ws: Workspace, replace: list[str]) -> Published:
    """Make the staged ``new/`` the content of OUT for the entries named in ``replace`` (folders and
    top-level files), with the manifest; remove this tool's earlier top-level outputs that this run did not
    write again. All or nothing: a failed rename undoes the ones done."""
    out, new, old = ws.outdir, ws.new, ws.staging / "old"
    with writing(out):
        old.mkdir(exist_ok=True)
        previous = _read_manifest(out)
        entries = [name for name in replace if (new / name).exists() or name in FOLDERS]
        for name in entries:
            if name in FOLDERS and not (new / name).exists():
                (new / name).mkdir()
        carried = _foreign_files(out, previous, [n for n in entries if n in FOLDERS])
        foreign_top = {
            n for n in entries if n not in FOLDERS and (out / n).exists() and not _own(n, out / n, previous)
        }
        stale = _stale_outputs(out, previous, set(entries))
        manifest = _manifest(new, entries, previous, out)
        (new / MANIFEST_NAME).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
        entries.append(MANIFEST_NAME)

    moves: list[tuple[Path, Path]] = []

    def move(src: Path, dst: Path) -> None:
        os.replace(src, dst)
        moves.append((src, dst))

    result = Published()
    with _held_interrupts() as held:
        try:
            for name in entries:
                final = out / name
                if name in foreign_top:  # edited by someone since: kept beside the new one
                    kept = _free_name(out, name)
                    move(final, kept)
                    result.kept.append(kept)
                elif os.path.lexists(final):
                    move(final, old / name)
                move(new / name, final)
            for folder, files in carried.items():
                for f in files:
                    target = _free_name(out / folder, f)
                    move(old / folder / f, target)
                    result.kept.append(target)
            for name in stale:
                move(out / name, old / f"stale-{name}")
        except OSError as exc:
            for src, dst in reversed(moves):
                try:
                    os.replace(dst, src)
                except OSError:  # pragma: no cover - the rename back onto a free name cannot fail
                    logger.exception("could not undo {} → {}", src, dst)
            raise output_error(exc, out) from exc
    result.interrupted = bool(held)
    for name in entries:
        if name == MANIFEST_NAME:
            continue
        final = out / name
        result.outputs.extend(sorted(final.iterdir()) if final.is_dir() else [final])
    return result


@contextmanager
def _held_interrupts() -> Iterator[list[int]]:
    """Hold off Ctrl-C (and SIGTERM) during the few renames that publish a run: the signals received are
    listed, not raised, so that OUT is never left half-published."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    handlers = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handlers[sig] = signal.signal(sig, lambda s, _f: received.append(s))
    try:
        yield received
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    if not os.path.lexists(target):
        return target
    stem, suffix = os.path.splitext(name)
    n = 1
    while True:
        target = folder / (f"{stem}(保留){suffix}" if n == 1 else f"{stem}(保留{n}){suffix}")
        if not os.path.lexists(target):
            return target
        n += 1


def _read_manifest(out: Path) -> dict[str, list[int]] | None:
    """The previous run's manifest (relative path → [size, mtime_ns]); None when there is none."""
    try:
        data = json.loads((out / MANIFEST_NAME).read_text("utf-8"))
        files = data["files"]
        if isinstance(files, dict):
            return {str(k): list(v) for k, v in files.items()}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _stat(path: Path) -> list[int]:
    st = os.lstat(path)
    return [st.st_size, st.st_mtime_ns]


def _own(rel: str, path: Path, previous: dict[str, list[int]] | None) -> bool:
    """Whether the file at ``path`` (``rel`` in OUT) is this tool's, unchanged since it wrote it.

    Without a manifest (an output folder of version 0.x), a file is taken as the tool's when it has one of
    the tool's names and is not newer than that run's ``rollup.json`` (written last): a returned copy
    that a township corrected and saved again is newer."""
    try:
        if previous is None:
            if not path.is_file() or path.is_symlink() or not _OWN_NAMES.fullmatch(path.name):
                return False
            root = path.parent.parent if "/" in rel else path.parent
            last = root / "rollup.json"
            return not last.exists() or os.lstat(path).st_mtime_ns <= os.lstat(last).st_mtime_ns
        return previous.get(rel) == _stat(path)
    except OSError:
        return False


def _foreign_files(
    out: Path, previous: dict[str, list[int]] | None, folders: list[str]
) -> dict[str, list[str]]:
    """Per folder about to be replaced: the entries in it that the tool did not write (or that were
    changed since), to carry into the new folder."""
    carried: dict[str, list[str]] = {}
    for folder in folders:
        here = out / folder
        if not here.is_dir() or here.is_symlink():
            continue
        for entry in sorted(os.listdir(here)):
            if not _own(f"{folder}/{entry}", here / entry, previous):
                carried.setdefault(folder, []).append(entry)
    return carried


def _stale_outputs(out: Path, previous: dict[str, list[int]] | None, entries: set[str]) -> list[str]:
    """Top-level roll-ups of an earlier run (over other files) that this run did not write again."""
    stale = []
    for path in sorted(out.glob(ROLLUP_FILE_GLOB)):
        if path.name not in entries and _own(path.name, path, previous):
            stale.append(path.name)
    return stale


def _manifest(
    new: Path, entries: list[str], previous: dict[str, list[int]] | None, out: Path
) -> dict[str, Any]:
    files: dict[str, list[int]] = {}
    for name in entries:
        path = new / name
        if path.is_dir():
            for child in sorted(path.iterdir()):
                files[f"{name}/{child.name}"] = _stat(child)
        else:
            files[name] = _stat(path)
    # folders this run leaves as they were (completed/ under --no-completed) keep their record
    for rel, stat in (previous or {}).items():
        top = rel.split("/", 1)[0]
        if top in FOLDERS and top not in entries and os.path.lexists(out / rel):
            files[rel] = stat
    return {"files": files}


def _clean_stale_staging(outdir: Path) -> None:
    """Remove what an interrupted run left behind (staging folders and temporary files)."""
    for p in outdir.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in outdir.glob(".*.tmp"):
        p.unlink(missing_ok=True)
