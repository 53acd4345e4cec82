"""Issue 5: hostile and broken inputs. Nothing crashes, nothing is lost, nobody gets in.

Every case of ``hostile.catalogue()`` goes through ``validate`` and ``score`` (library and CLI) and
``merge`` (CLI): no traceback, the exit code the case calls for, findings with stable codes that name
the file (and its sheet and cell where there is one), the input's bytes unchanged and nothing written
outside the output folder. Then: the good samples merge the same with every case beside them; a merge
killed with SIGKILL leaves no half-written output and the next run completes; and a property test
mutates valid workbooks at random.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import hostile
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils.exceptions import IllegalCharacterError

from selfeval_xlsx import api, layout
from selfeval_xlsx.cli import cli
from selfeval_xlsx.findings import CODES

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "inbox"
CASES = hostile.catalogue()
IDS = [c.id for c in CASES]
#: Generators used only inside other generators (``symlink_outside`` makes its link with ``symlink``).
BUILDING_BLOCKS = {"symlink"}
#: Pieces of ``hostile.INJECTIONS``: no formula cell of any output may hold one.
FORMULA_MARKERS = ("cmd|", "HYPERLINK", "SUM(1+1)")


def made_of_user_text(formula: str) -> bool:
    """Whether a formula cell's text came from one of ``hostile.INJECTIONS``."""
    bare = formula.strip().lstrip("={").rstrip("}")
    return any(m in formula for m in FORMULA_MARKERS) or bare == "1+1"


Place = Callable[[hostile.Case, Path], Path]


# --- helpers ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def place() -> Place:
    """Write a case into a folder; each case is generated once per session, then copied."""
    cache_: dict[str, bytes] = {}

    def put(case: hostile.Case, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        if case.id in cache_:
            path = folder / case.name
            path.write_bytes(cache_[case.id])
            return path
        path = case.build(folder)
        if path is None:
            pytest.skip("symbolic links are not available on this platform")
        if not path.is_symlink():
            cache_[case.id] = path.read_bytes()
        return path

    return put


def snapshot(root: Path, skip: Path | None = None) -> dict[str, str]:
    """Every path under ``root`` (links not followed; ``skip`` and what is under it left out) with its
    content hash, link target or 'dir'."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if skip is not None and (here == skip or skip in here.parents):
            continue
        for name in dirnames + filenames:
            p = here / name
            if p == skip:
                continue
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[rel] = "dir"
    return out


def layout_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(inbox, outdir) under ``tmp_path``; the working directory is an empty folder beside them, so
    that a file written to the current directory shows up in the snapshot."""
    inbox, out, cwd = tmp_path / "work" / "inbox", tmp_path / "out", tmp_path / "cwd"
    inbox.mkdir(parents=True)
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return inbox, out


def assert_clean(res: Result, exit_code: int) -> None:
    """The command ended by itself with ``exit_code``: no exception escaped, no traceback printed."""
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exc_info
    assert "Traceback" not in res.output
    assert res.exit_code == exit_code, res.output[-2000:]


def check_findings(case: hostile.Case, findings: list[dict[str, Any]], name: str) -> None:
    """Findings (as JSON dicts) say what the case calls for, with stable codes, naming the file."""
    codes = [f["code"] for f in findings]
    assert set(case.codes) <= set(codes), codes
    for f in findings:
        assert f["code"] in CODES, f
        assert f["file"] == name, f
        assert f["message"], f
        if f["cell"]:
            assert f["sheet"], f
    errors = [f for f in findings if f["severity"] == "error"]
    assert bool(errors) is not case.valid, findings
    if case.where is not None:
        first = next(f for f in findings if f["code"] == case.codes[0])
        assert (first["sheet"], first["cell"]) == case.where


def owned_by(file: str, name: str) -> bool:
    """Whether a display name in a merge's results is the file ``name`` or a member of it."""
    return file == name or file.startswith(name + " › ")


def check_outputs(out: Path, scan_formulas: bool) -> None:
    """Everything in OUTDIR is a plain file inside it, with a safe name; no leftovers; every workbook is
    complete, holds no macros and (``scan_formulas``) no formula made of user text."""
    real = out.resolve()
    for p in out.rglob("*"):
        assert not p.is_symlink(), p
        assert p.resolve().is_relative_to(real), p
        assert not any(ord(ch) < 32 for ch in p.name), p
        assert len(p.name.encode("utf-8")) <= 255, p
    assert not list(out.glob(".staging-*"))
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    for book in out.rglob("*.xlsx"):
        with zipfile.ZipFile(book) as zf:
            assert zf.testzip() is None, book
            assert not [n for n in zf.namelist() if "vba" in n.lower()], book
        if scan_formulas:
            wb = load_workbook(book)
            for ws in wb.worksheets:
                for row in ws.iter_rows():
                    for c in row:
                        if c.data_type == "f":
                            text = str(getattr(c.value, "text", c.value))  # array formulas: their text
                            assert not made_of_user_text(text), (book, ws.title, c.coordinate)
            wb.close()


def strings_in(book: Path) -> set[str]:
    """Every text cell's value in a workbook (cells typed as text, never formulas)."""
    wb = load_workbook(book)
    found = {
        c.value
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.data_type in ("s", "inlineStr")
    }
    wb.close()
    return {v for v in found if isinstance(v, str)}


# --- the catalogue itself ----------------------------------------------------------------------------


def test_catalogue_covers_every_generator_and_every_category() -> None:
    generators = {
        name
        for name, f in vars(hostile).items()
        if inspect.isfunction(f)
        and f.__module__ == hostile.__name__
        and not name.startswith("_")
        and list(inspect.signature(f).parameters)[:1] == ["path"]
    }
    used = {c.gen.__name__ for c in CASES}
    assert generators - used - BUILDING_BLOCKS == set()
    assert len(set(IDS)) == len(IDS) and len({c.name for c in CASES}) == len(CASES)
    categories = Counter(c.category for c in CASES)
    assert set(categories) == {"not a workbook", "resource attacks", "injection", "paths", "structure"}
    for case in CASES:
        assert set(case.codes) | set(case.expected_merge_codes) <= set(CODES), case.id
    # distinct townships: no valid case supersedes another in a merge of them all
    indexes = [dict(c.kwargs)["index"] for c in CASES if "index" in dict(c.kwargs)]
    assert len(indexes) == len(set(indexes))


# --- every case, through the library ----------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_library_validate_and_score(case: hostile.Case, place: Place, tmp_path: Path, monkeypatch) -> None:
    inbox, _out = layout_for(tmp_path, monkeypatch)
    path = place(case, inbox)
    before = snapshot(tmp_path)

    _doc, report = api.validate_workbook(path)
    assert report.file == path.name
    check_findings(case, [f.to_dict() for f in report.findings], path.name)
    assert report.valid is case.valid

    rules = api.load_rules()
    scored = api.score_workbook(path, rules=rules)
    check_findings(case, [f.to_dict() for f in scored.report.findings], path.name)
    assert scored.valid is case.valid
    assert (scored.result is not None) is case.valid
    if scored.result is not None:
        assert Decimal(0) <= scored.result.total.shown <= Decimal(100)
        assert scored.result.grade in rules.grades

    # the same findings from the bytes (as a merge reads an archive member)
    _doc, from_bytes = api.validate_workbook(path.read_bytes(), name=path.name)
    assert from_bytes.flatten(["code", "severity", "sheet", "cell"]) == report.flatten(
        ["code", "severity", "sheet", "cell"]
    )
    assert snapshot(tmp_path) == before  # the input unchanged, nothing written anywhere


# --- every case, through the CLI: validate and score -------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_validate_and_score(case: hostile.Case, place: Place, tmp_path: Path, monkeypatch) -> None:
    inbox, out = layout_for(tmp_path, monkeypatch)
    path = place(case, inbox)
    out.mkdir()
    before = snapshot(tmp_path, skip=out)
    runner = CliRunner()
    exit_code = 0 if case.valid else 1

    if path.suffix.lower() not in (".xlsx", ".xlsm"):  # validate reads .zip/.eml as merge does (issue 16)
        fate = dict(case.fate)
        res = runner.invoke(cli, ["validate", "--json", str(path)])
        assert_clean(res, 0 if fate.get("accepted") and not fate.get("rejected") else 1)
        codes = {f["code"] for r in json.loads(res.stdout) for f in r.get("findings", [])}
        assert set(case.merge_codes if case.merge_codes is not None else case.codes) <= codes
    else:
        res = runner.invoke(cli, ["validate", "--json", str(path)])
        assert_clean(res, exit_code)
        [report] = json.loads(res.stdout)
        assert report["file"] == path.name and report["valid"] is case.valid
        check_findings(case, report["findings"], path.name)

    res = runner.invoke(cli, ["validate", str(path)])
    assert path.name in res.stdout
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        assert_clean(res, exit_code)
        for code in case.codes:
            assert code in res.stdout
    if case.where is not None and path.suffix.lower() in (".xlsx", ".xlsm"):
        sheet, cell = case.where  # no location printed where there is none (issue 16)
        assert (f"] {sheet}!{cell}  " if cell else f"] {sheet}  ") in res.stdout

    target = out / "评分结果.xlsx"
    res = runner.invoke(cli, ["score", "--json", "-o", str(target), str(path)])
    assert_clean(res, exit_code)
    scored = json.loads(res.stdout)
    check_findings(case, scored["findings"], path.name)
    if case.valid:
        assert scored["output"] == str(target) and scored["total"] is not None
        load_workbook(target).close()
        check_outputs(out, scan_formulas=True)
    else:
        assert scored["output"] is None
        assert list(out.iterdir()) == []
    assert snapshot(tmp_path, skip=out) == before


# --- every case, through the CLI: merge -------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_merge(case: hostile.Case, place: Place, tmp_path: Path, monkeypatch) -> None:
    inbox, out = layout_for(tmp_path, monkeypatch)
    path = place(case, inbox)
    before = snapshot(tmp_path, skip=out)
    fate = {k: v for k, v in case.fate if v}

    res = CliRunner().invoke(cli, ["merge", str(inbox), "-o", str(out), "--jobs", "1", "--json"])
    if not fate.get("accepted") and not fate.get("rejected"):  # no workbook at all: a usage error
        assert_clean(res, 2)
        assert "没有可汇总的内容" in res.output and not out.exists()
        assert snapshot(tmp_path, skip=out) == before
        return
    assert_clean(res, 1 if fate.get("rejected") else 0)
    assert json.loads(res.stdout)["counts"] == case.counts
    assert snapshot(tmp_path, skip=out) == before  # inputs unchanged, nothing written outside OUTDIR

    rolls = json.loads((out / "rollup.json").read_text(encoding="utf-8"))["rollups"]
    assert rolls and all(r["counts"] == case.counts for r in rolls)
    rows = {(f["file"], f["status"], f["reason"]) for r in rolls for f in r["files"]}
    rows |= {(t["file"], "accepted", "") for r in rolls for t in r["townships"]}
    assert Counter(status for _, status, _ in rows) == fate  # every file accounted for, once
    for file, status, reason in rows:
        assert owned_by(file, path.name), file
        if status == "rejected":
            assert f"《{file}》" in reason  # the reply to the township names the file
    found = {f["finding"] for r in rolls for f in r["findings"] if owned_by(f["file"], path.name)}
    assert set(case.expected_merge_codes) <= found
    assert {f["finding"] for r in rolls for f in r["findings"]} <= set(CODES)

    accepted = fate.get("accepted", 0)
    completed = sorted((out / "completed").iterdir()) if (out / "completed").exists() else []
    assert len(completed) == accepted
    assert len({t["code"] for r in rolls for t in r["townships"]}) == accepted
    check_outputs(out, scan_formulas=bool(accepted))
    if case.gen is hostile.injection_xlsx:
        wanted = {p.strip() for p in hostile.INJECTIONS}
        for book in [*completed, *out.glob("汇总_*.xlsx")]:
            assert wanted <= {s.strip() for s in strings_in(book)}, book.name


def test_names_stay_recognisable_after_sanitising(place: Place, tmp_path: Path, monkeypatch) -> None:
    """Dangerous member names are shown cleaned, but still say which file it was."""
    case = next(c for c in CASES if c.id == "traversal-zip-templates")
    inbox, out = layout_for(tmp_path, monkeypatch)
    place(case, inbox)
    result = api.merge(inbox, out, jobs=1)
    shown = sorted(p.name.split(" › ", 1)[1] for p in result.accepted)
    for fragment in (
        "逃逸.xlsx",
        "绝对路径.xlsx",
        "盘符.xlsx",
        "CON.xlsx",
        "上两级.xlsx",
        "字符.xlsx",
        "长长长",
    ):
        assert any(fragment in s for s in shown), (fragment, shown)
    assert not any(s.startswith(("/", "..")) or ":" in s or "\\" in s or "\x00" in s for s in shown), shown
    assert all(len(s) <= 120 for s in shown)
    found = [f for p in result.accepted for f in p.findings if f.code == "unsafe-name"]
    assert {f.value for f in found} >= {"../逃逸.xlsx", "/etc/绝对路径.xlsx", "dir/../../上两级.xlsx"}


CLI_CMD = [sys.executable, "-c", "from selfeval_xlsx.cli import main; main()"]


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(), reason="needs POSIX")
def test_pipes_and_devices_are_refused_unread(tmp_path: Path) -> None:
    """Reading a named pipe blocks and /dev/zero never ends: both are refused without reading (in a
    child process with a timeout, so that a regression fails instead of hanging the suite)."""
    fifo = tmp_path / "管道.xlsx"
    os.mkfifo(fifo)
    run = [*CLI_CMD, "validate", "--json", str(fifo), "/dev/zero"]
    proc = subprocess.run(run, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1, proc.stderr
    reports = json.loads(proc.stdout)
    assert [(r["file"], [f["code"] for f in r["findings"]]) for r in reports] == [
        ("管道.xlsx", ["not-a-workbook"]),
        ("zero", ["not-a-workbook"]),
    ]
    run = [*CLI_CMD, "score", "-o", str(tmp_path / "结果.xlsx"), str(fifo)]
    proc = subprocess.run(run, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1 and "not-a-workbook" in proc.stdout, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["管道.xlsx"]


# --- the good samples beside every case ---------------------------------------------------------------


def _statuses(result: Any) -> list[tuple[str, str]]:
    return [
        *((p.name, "accepted") for p in result.accepted),
        *((r.file, "rejected") for r in result.rejected),
        *((r.file, "superseded") for r in result.superseded),
        *((r.file, "skipped") for r in result.skipped),
    ]


def test_good_samples_merge_the_same_beside_every_case(place: Place, tmp_path: Path) -> None:
    alone, mixed = tmp_path / "alone" / "inbox", tmp_path / "mixed" / "inbox"
    shutil.copytree(SAMPLES, alone)
    shutil.copytree(SAMPLES, mixed)
    for case in CASES:
        assert not (mixed / case.name).exists(), case.name
        place(case, mixed)
    inputs = snapshot(tmp_path / "mixed")

    a = api.merge(alone, tmp_path / "alone" / "out", jobs=2)
    b = api.merge(mixed, tmp_path / "mixed" / "out", jobs=2)
    assert snapshot(tmp_path / "mixed", skip=tmp_path / "mixed" / "out") == inputs

    ja = json.loads((tmp_path / "alone" / "out" / "rollup.json").read_text(encoding="utf-8"))["rollups"]
    jb = json.loads((tmp_path / "mixed" / "out" / "rollup.json").read_text(encoding="utf-8"))["rollups"]
    [good] = ja
    [same] = [r for r in jb if r["county_code"] == good["county_code"] and r["year"] == good["year"]]
    assert good["townships"] and good["indicators"] and good["panel"]
    for key in ("townships", "indicators", "panel", "totals"):
        assert same[key] == good[key], key
    samples = {f for f, _ in _statuses(a)}
    assert sorted(x for x in _statuses(b) if x[0] in samples) == sorted(_statuses(a))
    for key in ("files", "findings"):
        assert [r for r in same[key] if r["file"] in samples] == good[key], key

    # every hostile file is accounted for, with the same fate as when merged alone
    cb = b.counts
    assert cb["seen"] == cb["accepted"] + cb["superseded"] + cb["rejected"] + cb["skipped"]
    for key in ("accepted", "superseded", "rejected", "skipped"):
        assert cb[key] == a.counts[key] + sum(c.counts[key] for c in CASES), key
    mine = [(f, s) for f, s in _statuses(b) if f not in samples]
    for case in CASES:
        got = Counter(s for f, s in mine if owned_by(f, case.name))
        assert got == {k: v for k, v in case.fate if v}, case.id
    assert len(mine) == sum(c.counts["seen"] for c in CASES)


def test_every_rejected_file_is_listed_when_a_merge_spans_counties(tmp_path: Path) -> None:
    """A merge over two counties makes two roll-ups; a rejected file whose code names neither (no such
    county) must still be listed, not left out of both."""
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLES, inbox)
    hostile.template_xlsx(inbox / "元氏县的一个镇.xlsx", index=3)  # a second county: two roll-ups
    result = api.merge(inbox, tmp_path / "out", jobs=1)
    rolls = json.loads((tmp_path / "out" / "rollup.json").read_text(encoding="utf-8"))["rollups"]
    assert len(rolls) == 2
    listed = {f["file"] for r in rolls for f in r["files"] if f["status"] == "rejected"}
    # '错误样例-区划代码错误.xlsx' (code 130199207000: no such county) is in neither roll-up
    assert {r.file for r in result.rejected} <= listed


# --- a merge killed with SIGKILL ----------------------------------------------------------------------


def township_copies(folder: Path, n: int) -> None:
    """``n`` valid, distinct township workbooks, made fast: one filled workbook with its identity
    (code and unit name, whole shared strings) rewritten, re-zipped."""
    base = hostile.template_bytes(index=0)
    code, name = (
        hostile.outsider(0)["identity"]["division_code"],
        hostile.outsider(0)["identity"]["unit_name"],
    )
    members = hostile.parts(base)
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        new_code, new_name = f"{hostile.OUTSIDER_COUNTY[0]}{110 + k:03d}000", f"元氏{k}镇人民政府"
        replaced, hits = {}, 0
        for part, body in members.items():
            if part.startswith("xl/") and part.endswith(".xml"):
                for old, new in ((code, new_code), (name, new_name)):
                    for old_b, new_b in zip(_xml_forms(old), _xml_forms(new), strict=True):
                        hits += body.count(old_b)
                        body = body.replace(old_b, new_b)
            replaced[part] = body
        assert hits >= 2
        (folder / f"{new_name}2023自评表.xlsx").write_bytes(hostile.rebuild_xlsx(base, replaced))


def _xml_forms(text: str) -> list[bytes]:
    """A whole cell's text as an XML writer may have put it: UTF-8 or decimal character references."""
    refs = "".join(ch if ord(ch) < 128 else f"&#{ord(ch)};" for ch in text)
    return [f">{text}<".encode(), f">{refs}<".encode()]


MERGE_CMD = [*CLI_CMD, "merge"]


def run_until(cmd: list[str], stop: Callable[[float], bool], timeout: float = 120) -> bool:
    """Run ``cmd``; SIGKILL its whole process group (the merge and its workers) as soon as
    ``stop(elapsed)`` holds. Returns whether it was killed (False: it finished first)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    started = time.monotonic()
    try:
        while proc.poll() is None:
            elapsed = time.monotonic() - started
            if stop(elapsed):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return True
            assert elapsed < timeout, "merge did not finish"
            time.sleep(0.002)
        return False
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def assert_complete_or_absent(out: Path) -> None:
    """What a killed merge leaves: published outputs are complete (hidden leftovers may remain)."""
    if not out.exists():
        return
    for book in out.glob("汇总_*.xlsx"):
        load_workbook(book, read_only=True).close()
    if (out / "rollup.json").exists():
        data = json.loads((out / "rollup.json").read_text(encoding="utf-8"))
        for r in data["rollups"]:
            c = r["counts"]
            assert c["seen"] == c["accepted"] + c["superseded"] + c["rejected"] + c["skipped"]
    for folder in ("completed", "returned"):
        for book in (out / folder).glob("*") if (out / folder).exists() else []:
            with zipfile.ZipFile(book) as zf:
                assert zf.testzip() is None, book


def assert_finished(out: Path, n: int) -> None:
    """A merge that ran to the end: every output complete and consistent, nothing left behind."""
    data = json.loads((out / "rollup.json").read_text(encoding="utf-8"))
    [roll] = [r for r in data["rollups"] if r["townships"]]
    assert roll["counts"] == {"seen": n + 3, "accepted": n, "superseded": 0, "rejected": 3, "skipped": 0}
    assert len(roll["townships"]) == n
    completed = sorted((out / "completed").iterdir())
    assert {p.name.split("_")[0] for p in completed} == {t["code"] for t in roll["townships"]}
    assert len(list((out / "returned").iterdir())) == 2
    books = [*completed, *(out / "returned").iterdir(), *out.glob("汇总_*.xlsx")]
    for book in books:
        load_workbook(book, read_only=True).close()
    assert not list(out.glob(".staging-*")) and not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_merge_killed_with_sigkill_then_run_again(place: Place, tmp_path: Path) -> None:
    n = 24
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    township_copies(inbox, n)
    for case_id in ("zip-bomb-1gb", "div0", "date-9999"):  # rejected at intake, and twice with a return
        place(next(c for c in CASES if c.id == case_id), inbox)
    cmd = [*MERGE_CMD, str(inbox), "-o", str(out), "--jobs", "2", "--json"]
    inputs = snapshot(inbox)

    def appears(pattern: str) -> Callable[[float], bool]:
        return lambda _elapsed: out.exists() and any(True for _ in out.glob(pattern))

    killed = []
    # everything is built in the staging folder and published at the end (selfeval_xlsx/output.py)
    first_run = [
        lambda t: t >= 0.3,
        lambda t: t >= 0.8,
        appears(".staging-*/rows/*"),
        appears(".staging-*/new/returned/*"),
    ]
    for stop in first_run:  # each on what the previous kill left
        killed.append(run_until(cmd, stop))
        assert_complete_or_absent(out)
    assert not run_until(cmd, lambda _t: False)
    assert_finished(out, n)
    before = json.loads((out / "rollup.json").read_text(encoding="utf-8"))

    again = [appears(".staging-*/new/.rollup.json.*.tmp"), appears(".staging-*/new/汇总_*.xlsx")]
    for stop in again:  # over complete outputs: those must stay complete until replaced
        killed.append(run_until(cmd, stop))
        assert_complete_or_absent(out)
        assert (out / "rollup.json").exists()
    assert not run_until(cmd, lambda _t: False)
    assert_finished(out, n)
    after = json.loads((out / "rollup.json").read_text(encoding="utf-8"))
    for a, b in zip(before["rollups"], after["rollups"], strict=True):
        assert (a["townships"], a["indicators"], a["files"]) == (b["townships"], b["indicators"], b["files"])
    assert snapshot(inbox) == inputs
    print(f"SIGKILL points reached before the merge finished: {killed}")
    assert sum(killed) >= 4, killed  # most kill points were reached before the merge finished


# --- property: random edits of a valid workbook -------------------------------------------------------


@cache
def _base() -> bytes:
    return hostile.template_bytes(index=0)


_DATA_SHEETS = [s.name for s in layout.WORKBOOK.data_sheets]
_ALL_SHEETS = [*_DATA_SHEETS, layout.META_SHEET_NAME, "填表说明"]
_ODD_VALUES = st.sampled_from(
    [
        "NaN",
        "Infinity",
        "-inf",
        "1e309",
        "#DIV/0!",
        "#REF!",
        "#N/A",
        "#VALUE!",
        "=1/0",
        "=SUM(A1:A3)",
        "=A1",
        '=INDIRECT("A1")',
        "=B17*2",
        "{=1}",
        "+cmd|' /C calc'!A0",
        "１２３",
        "12,345.67万元",
        "88%",
        "≥",
        "定性",
        "达成",
        "",
        " ",
        "\x00",
        "\u202e",
    ]
)
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(lambda d: float(d)),
    st.text(max_size=40),
    st.integers(min_value=1, max_value=40_000).map(lambda k: "字" * k),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 12, 31)),
    st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31)),
    _ODD_VALUES,
)
_EDIT = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(_DATA_SHEETS), st.integers(1, 60), st.integers(1, 14), _VALUES),
    st.tuples(st.just("delete_rows"), st.sampled_from(_DATA_SHEETS), st.integers(1, 60), st.integers(1, 5)),
    st.tuples(st.just("insert_rows"), st.sampled_from(_DATA_SHEETS), st.integers(1, 60), st.integers(1, 3)),
    st.tuples(st.just("drop_sheet"), st.sampled_from(_ALL_SHEETS)),
    st.tuples(st.just("merge"), st.sampled_from(_DATA_SHEETS), st.integers(1, 60), st.integers(1, 12)),
    st.tuples(st.just("hide_row"), st.sampled_from(_DATA_SHEETS), st.integers(1, 60)),
)


def _apply(wb: Any, edit: tuple[Any, ...]) -> None:
    kind, sheet, *args = edit
    if sheet not in wb.sheetnames:
        return
    ws = wb[sheet]
    if kind == "set":
        row, col, value = args
        cell = ws.cell(row, col)
        if type(cell).__name__ == "MergedCell":
            return
        try:
            cell.value = value
        except (ValueError, TypeError, IllegalCharacterError):  # a person could not type these either
            cell.value = repr(value)
    elif kind == "delete_rows":
        ws.delete_rows(args[0], args[1])
    elif kind == "insert_rows":
        ws.insert_rows(args[0], args[1])
    elif kind == "drop_sheet":
        if len(wb.sheetnames) > 1:
            del wb[sheet]
    elif kind == "merge":
        row, col = args
        ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=col + 2)
    elif kind == "hide_row":
        ws.row_dimensions[args[0]].hidden = True


def _member_seq_cell() -> tuple[int, int]:
    p = layout.PANEL_SHEET.find("members")
    return layout.table_row(p, 0), layout.table_col(p, "seq")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(edits=st.lists(_EDIT, min_size=1, max_size=6))
@example(
    edits=[("set", layout.PANEL_SHEET.name, *_member_seq_cell(), -2)]
)  # was: ValueError in validate._panel
def test_random_edits_never_escape(edits: list[tuple[Any, ...]]) -> None:
    wb = load_workbook(io.BytesIO(_base()))
    for edit in edits:
        _apply(wb, edit)
    buf = io.BytesIO()
    try:
        wb.save(buf)
    except (ValueError, TypeError):  # openpyxl cannot write this combination; nothing to test
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "改过的自评表.xlsx"
        path.write_bytes(buf.getvalue())
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        for run in (api.validate_workbook, api.score_workbook):
            got = run(path)
            report = got[1] if isinstance(got, tuple) else got.report
            assert report.valid or report.errors
            for f in report.findings:
                assert f.code in CODES and f.file == path.name, f
            if not isinstance(got, tuple):
                assert (got.result is not None) is report.valid
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
        assert sorted(os.listdir(tmp)) == [path.name]
