"""Benchmark ``selfeval-xlsx merge`` against the raw zip floor and a naive openpyxl script.

Usage (see ``benchmarks/README.md``)::

    python benchmarks/bench_merge.py --n 1000 [--jobs J] [--workdir DIR] [--out FILE] [--skip-baseline]

Steps, each run in its own fresh process (a small wrapper process starts it, times it with
``time.perf_counter`` and reads ``getrusage(RUSAGE_CHILDREN)`` and ``/proc`` for its memory):

(a) floor: open every input zip and inflate every member, single process;
(b) ``selfeval-xlsx merge INBOX -o OUT --jobs J`` (with completed workbooks);
(c) the same with ``--no-completed``;
(d) the naive openpyxl pipeline: ``load_workbook`` → add a result sheet → ``save``, single process.

The inbox of N valid, distinct township workbooks is generated once and cached in the work folder: a few
dozen base workbooks are filled from the real template with ``filled_bytes`` of ``tests/openpyxl_fill.py``; every
file is then one of them with its identity (division code, unit name, county, phone) rewritten in the
sheet XML and re-zipped. A sample is validated with :func:`selfeval_xlsx.api.validate_workbook` on every
run (zero errors, identity as intended); a stale cache is rebuilt.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SIZES = (100, 1000, 10_000)
GENERATOR_VERSION = 1  # bump when the generated inbox changes; part of the cache key
ESTIMATE_FILES = 41_000
SAMPLE_S, PSS_EVERY = 0.05, 10  # memory sampling: RSS every 50 ms, PSS every 10th sample
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024  # township workbooks in the country: the target of the estimate

# Township-level code ranges (digits 7-9) by the word in the unit's name; see validate.TOWNSHIP_RANGES.
KINDS = (("街道", 1, 99, "街道办事处"), ("镇", 100, 199, "镇人民政府"), ("乡", 200, 399, "乡人民政府"))
BASE_KIND = {0: "街道", 1: "镇", 2: "镇", 3: "镇", 4: "镇", 5: "镇", 6: "乡", 7: "乡", 8: "乡"}  # TOWNS[i]
# Characters for invented place names: none of 街/道/镇/乡 (they decide the code range).
NAME_CHARS = "东西南北中新老上下大小长高平安和兴福永宁清泉河山石桥林园水田庄营屯店集口坊台沟峪坡湾塘堡寨"


# --- the inbox ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Township:
    """What one generated file claims to be."""

    file: str
    code: str
    name: str
    county: str
    phone: str
    base: int


def _counties() -> list[tuple[str, str]]:
    """Real county-level codes (GB/T 2260, last two digits not 00), 赵县 (130133) first."""
    text = resources.files("selfeval_xlsx").joinpath("data", "divisions.tsv").read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        code, name = line.split("\t", 1)
        if len(code) == 6 and code.isdigit() and code[4:] != "00":
            out.append((code, name.strip()))
    out.sort()
    first = next(i for i, (c, _) in enumerate(out) if c == "130133")
    return out[first:] + out[:first]


def _slots(per_county: int) -> list[tuple[str, int]]:
    """The (kind, township code) of the first ``per_county`` townships of a county, kinds interleaved."""
    slots = [
        (kind, code, (code - lo + 0.5) / (hi - lo + 1))
        for kind, lo, hi, _ in KINDS
        for code in range(lo, hi + 1)
    ]
    slots.sort(key=lambda s: (s[2], s[1]))
    return [(kind, code) for kind, code, _ in slots[:per_county]]


def _place_name(index: int) -> str:
    """A distinct invented two- or three-character place name for each index."""
    n = len(NAME_CHARS)
    a, b = divmod(index, n - 1)
    first = NAME_CHARS[a % n]
    second = [c for c in NAME_CHARS if c != first][b]
    return first + second if a < n else NAME_CHARS[(a // n) % n] + first + second


def plan(n: int, bases_by_kind: dict[str, list[int]], per_county: int) -> list[Township]:
    """Which township each of the ``n`` files is: unique codes, names unique within their county."""
    counties, slots, out = _counties(), _slots(per_county), []
    suffix = {kind: s for kind, _, _, s in KINDS}
    used = dict.fromkeys(bases_by_kind, 0)  # files of each kind so far: cycles through that kind's bases
    for j in range(n):
        c, p = divmod(j, per_county)
        county_code, county = counties[c]
        kind, town = slots[p]
        code = f"{county_code}{town:03d}000"
        name = _place_name(p) + suffix[kind]
        pool = bases_by_kind[kind]
        base, used[kind] = pool[used[kind] % len(pool)], used[kind] + 1
        out.append(
            Township(
                file=f"{code}_{name}.xlsx",
                code=code,
                name=name,
                county=county,
                phone=f"0311-8{j % 10_000_000:07d}",
                base=base,
            )
        )
    return out


@dataclass
class Base:
    """A filled base workbook, unzipped, with the identity strings it holds."""

    members: list[tuple[zipfile.ZipInfo, bytes]]
    code: str
    short: str  # the unit name without 人民政府/办事处 (it also occurs in the goals text)
    suffix: str
    county: str
    phone: str


def make_bases(count: int, office: Path | None = None) -> list[Base]:
    """``count`` workbooks filled from the template with varied data (different seeds and townships).

    ``office``: a cache folder; each base is then re-saved once by LibreOffice (``soffice --convert-to
    xlsx``, a throw-away profile) and the office-saved file is used, as a township's office program
    writes it (shared strings, cached formula values, its own styles)."""
    sys.path.insert(0, str(HERE.parent / "tests"))  # the tests' fixtures: sample data and the openpyxl filler
    from openpyxl_fill import filled_bytes
    from sampledata import TOWNS, township

    datas = [township(k % len(TOWNS), seed_value=10_000 + k) for k in range(count)]
    blobs = [filled_bytes(data) for data in datas]
    if office is not None:
        keys = [json.dumps(d, ensure_ascii=False, sort_keys=True, default=str) for d in datas]
        blobs = office_saved(blobs, office, keys)
    out = []
    for k, (data, blob) in enumerate(zip(datas, blobs, strict=True)):
        i = k % len(TOWNS)
        ident = data["identity"]
        name = ident["unit_name"]
        suffix = next(s for kind, _, _, s in KINDS if kind == BASE_KIND[i])
        assert name.endswith(suffix), (name, suffix)
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            members = [(info, z.read(info)) for info in z.infolist()]
        out.append(
            Base(
                members, ident["division_code"], name[: -len(suffix)], suffix, ident["county"], ident["phone"]
            )
        )
    return out


def office_saved(blobs: Sequence[bytes], cache: Path, keys: Sequence[str]) -> list[bytes]:
    """Each workbook re-saved by LibreOffice, cached in ``cache`` under a hash of its key (what it was
    filled with: openpyxl's bytes hold the time of writing, so they differ at every run)."""
    import hashlib

    cache = cache.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    names = [hashlib.sha256(k.encode("utf-8")).hexdigest()[:24] for k in keys]
    todo = [(n, b) for n, b in zip(names, blobs, strict=True) if not (cache / f"{n}.xlsx").is_file()]
    if todo:
        if not shutil.which("soffice"):
            raise RuntimeError("the office-saved inbox needs LibreOffice (soffice)")
        tmp = cache / "tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "in").mkdir(parents=True)
        for n, b in todo:
            (tmp / "in" / f"{n}.xlsx").write_bytes(b)
        profile = tmp / "lo-profile"
        subprocess.run(
            [
                "soffice",
                "--headless",
                f"-env:UserInstallation={profile.as_uri()}",
                "--convert-to",
                "xlsx:Calc MS Excel 2007 XML",
                "--outdir",
                str(tmp / "out"),
                *(str(tmp / "in" / f"{n}.xlsx") for n, _ in todo),
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
        for n, _ in todo:
            (tmp / "out" / f"{n}.xlsx").replace(cache / f"{n}.xlsx")
        shutil.rmtree(tmp, ignore_errors=True)
    return [(cache / f"{n}.xlsx").read_bytes() for n in names]


def _forms(text: str) -> list[bytes]:
    """The ways a writer may have put ``text`` in XML: UTF-8, or decimal/hex character references."""
    ascii_only = all(ord(c) < 128 for c in text)
    forms = [text.encode("utf-8")]
    if not ascii_only:
        forms.append("".join(c if ord(c) < 128 else f"&#{ord(c)};" for c in text).encode("ascii"))
        forms.append("".join(c if ord(c) < 128 else f"&#x{ord(c):x};" for c in text).encode("ascii"))
    return forms


def _replace(data: bytes, old: str, new: str, *, whole_cell: bool) -> tuple[bytes, int]:
    """Replace ``old`` by ``new`` in XML bytes, in whichever encoding the writer used."""
    hits = 0
    for old_b, new_b in zip(_forms(old), _forms(new), strict=True):
        if whole_cell:
            old_b, new_b = b">" + old_b + b"<", b">" + new_b + b"<"
        hits += data.count(old_b)
        data = data.replace(old_b, new_b)
    return data, hits


def build_file(base: Base, town: Township) -> bytes:
    """The base workbook with the township's identity, re-zipped (members, order and dates kept)."""
    short = town.name[: -len(base.suffix)]
    found = {"code": 0, "name": 0, "county": 0}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in base.members:
            if info.filename.endswith(".xml") and info.filename.startswith("xl/"):
                data, hits = _replace(data, base.code, town.code, whole_cell=True)
                found["code"] += hits
                data, hits = _replace(data, base.short, short, whole_cell=False)
                found["name"] += hits
                data, hits = _replace(data, base.county, town.county, whole_cell=True)
                found["county"] += hits
                data, _ = _replace(data, base.phone, town.phone, whole_cell=True)
            z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    if not all(found.values()):
        raise RuntimeError(f"identity not found in the base workbook's XML: {found}")
    return buf.getvalue()


def _check_sample(inbox: Path, towns: list[Township], size: int = 12) -> dict[str, Any]:
    """Validate a sample of the inbox: zero errors and the identity the generator meant."""
    from selfeval_xlsx.api import load_rules, validate_workbook

    rules = load_rules()
    rng = random.Random(len(towns))
    picks = sorted({0, len(towns) - 1, *rng.sample(range(len(towns)), min(size, len(towns)))})
    warnings = 0
    for i in picks:
        t = towns[i]
        doc, report = validate_workbook(inbox / t.file, rules=rules)
        ident = doc.data.get("identity", {}) if isinstance(doc.data, dict) else {}
        got = (ident.get("division_code"), ident.get("unit_name"), ident.get("county"))
        if report.errors or got != (t.code, t.name, t.county):
            errors = [(f.code, f.sheet, f.cell, f.message) for f in report.errors]
            raise RuntimeError(f"generated {t.file} does not validate: {got} {errors[:5]}")
        warnings += len(report.warnings)
    return {"validated": len(picks), "errors": 0, "warnings": warnings}


def inbox_for(
    n: int, workdir: Path, per_county: int, bases: int, force: bool, *, office: bool = False
) -> tuple[Path, dict[str, Any]]:
    """The cached inbox of ``n`` files (generated when missing, stale or ``force``); ``office``: built
    from bases re-saved by LibreOffice."""
    key = f"n{n}-c{per_county}-b{bases}-g{GENERATOR_VERSION}" + ("-office" if office else "")
    inbox, manifest_path = workdir / f"inbox-{key}", workdir / f"inbox-{key}.json"
    if not force and inbox.is_dir() and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        towns = [Township(**t) for t in manifest.pop("townships")]
        if len(towns) == n and sum(1 for _ in inbox.iterdir()) == n:
            try:
                manifest["sample_check"] = _check_sample(inbox, towns)
                manifest["cached"] = True
                return inbox, manifest
            except RuntimeError as exc:  # the package changed under the cache: rebuild
                print(f"cached inbox is stale ({exc}); regenerating", file=sys.stderr)
    started = time.perf_counter()
    base_list = make_bases(bases, workdir / f"office-bases-g{GENERATOR_VERSION}" if office else None)
    bases_s = time.perf_counter() - started
    by_kind: dict[str, list[int]] = {}
    for k in range(bases):
        by_kind.setdefault(BASE_KIND[k % 9], []).append(k)
    towns = plan(n, by_kind, per_county)
    tmp = workdir / f"inbox-{key}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    total = 0
    sizes = []
    for t in towns:
        data = build_file(base_list[t.base], t)
        (tmp / t.file).write_bytes(data)
        total += len(data)
        sizes.append(len(data))
    shutil.rmtree(inbox, ignore_errors=True)
    tmp.rename(inbox)
    manifest = {
        "n": n,
        "per_county": per_county,
        "bases": bases,
        "generator_version": GENERATOR_VERSION,
        "office_saved": office,
        "counties": len({t.code[:6] for t in towns}),
        "bytes": total,
        "file_kb_min": round(min(sizes) / 1024, 1),
        "file_kb_max": round(max(sizes) / 1024, 1),
        "bases_s": round(bases_s, 2),
        "generate_s": round(time.perf_counter() - started, 2),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    manifest_path.write_text(
        json.dumps({**manifest, "townships": [asdict(t) for t in towns]}, ensure_ascii=False),
        encoding="utf-8",
    )
    manifest["sample_check"] = _check_sample(inbox, towns)
    manifest["cached"] = False
    return inbox, manifest


# --- measured steps (each runs in its own process: `bench_merge.py _floor|_openpyxl ...`) -------------


def step_floor(inbox: Path) -> dict[str, Any]:
    """(a) Open every zip under ``inbox`` and inflate every member."""
    started = time.perf_counter()
    files = inflated = 0
    for path in sorted(inbox.iterdir()):
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                inflated += len(z.read(info))
        files += 1
    return {"files": files, "inflated_bytes": inflated, "inner_s": time.perf_counter() - started}


def step_openpyxl(inbox: Path, outdir: Path, limit: int) -> dict[str, Any]:
    """(d) What a bureau would script: load each workbook, add a result sheet, save a copy."""
    from openpyxl import load_workbook

    started = time.perf_counter()
    outdir.mkdir(parents=True, exist_ok=True)
    files = 0
    for path in sorted(inbox.iterdir())[:limit]:
        wb = load_workbook(path)
        ws = wb.create_sheet("结果")
        ws["A1"], ws["B1"] = "文件", path.name
        ws["A2"], ws["B2"] = "处理时间", datetime.now()
        ws["A3"], ws["B3"] = "状态", "已汇总"
        ws["A4"], ws["B4"] = "工作表数", len(wb.sheetnames)
        wb.save(outdir / path.name)
        files += 1
    return {"files": files, "inner_s": time.perf_counter() - started}


def step_profile(inbox: Path, outdir: Path, prof: Path, top: int = 25) -> str:
    """cProfile of ``merge(jobs=1)`` in this process; the top functions by cumulative and own time."""
    import cProfile
    import pstats

    from loguru import logger

    from selfeval_xlsx.api import merge

    logger.remove()  # as the CLI does: the library logs INFO to merge.log only
    logger.add(sys.stderr, level="WARNING")
    shutil.rmtree(outdir, ignore_errors=True)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    result = merge(inbox, outdir, jobs=1)
    profiler.disable()
    wall = time.perf_counter() - started
    profiler.dump_stats(prof)
    buf = io.StringIO()
    print(f"merge(jobs=1) of {inbox}: {result.counts} in {wall:.1f} s under cProfile", file=buf)
    stats = pstats.Stats(profiler, stream=buf)
    for key in ("cumulative", "tottime"):
        print(f"\n=== top {top} by {key} ===", file=buf)
        stats.sort_stats(key).print_stats(top)
    return buf.getvalue()


# --- the wrapper: run one step in a fresh process tree and measure it --------------------------------


def _children(pid: int) -> list[int]:
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(c) for c in fh.read().split()]
        except OSError:
            pass
    return out


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out


def _rss_kb(pid: int) -> int:
    """RSS of one process in kB from /proc/PID/statm (cheap; 0 when gone)."""
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB, from /proc/PID/smaps_rollup (0, 0 when gone; costly)."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def _busy_cpu_s() -> tuple[float, float]:
    """(non-idle, stolen) CPU seconds of the whole machine since boot (/proc/stat).

    Stolen time is the hypervisor running other guests while this one wanted the CPU.
    """
    try:
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:]] + [0] * 8
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return (f[0] + f[1] + f[2] + f[5] + f[6]) / tick, f[7] / tick


def wrap(cmd: Sequence[str]) -> dict[str, Any]:
    """Run ``cmd``; wall time, the largest single process (getrusage) and sampled process-tree sums."""
    peak = {"rss": 0, "pss": 0, "procs": 0}
    stop = threading.Event()
    busy, stolen = _busy_cpu_s()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)

    def sample() -> None:
        # RSS every 50 ms from statm (cheap); PSS every 500 ms from smaps_rollup, which walks the page
        # tables (~1 ms per 100 MB) and would otherwise steal a few % of a core from the step
        tick = 0
        while not stop.wait(SAMPLE_S):
            pids = _tree(proc.pid)
            peak["rss"] = max(peak["rss"], sum(_rss_kb(p) for p in pids))
            peak["procs"] = max(peak["procs"], len(pids))
            if tick % PSS_EVERY == 0:
                peak["pss"] = max(peak["pss"], sum(_memory_kb(p)[1] for p in pids))
            tick += 1

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = proc.communicate()
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    own = resource.getrusage(resource.RUSAGE_SELF)  # this wrapper, mostly the sampler
    busy_after, stolen_after = _busy_cpu_s()
    return {
        "rc": proc.returncode,
        "wall_s": wall,
        "max_process_rss_mb": usage.ru_maxrss / 1024,  # Linux: kB; the largest process of the tree
        "tree_rss_peak_mb": peak["rss"] / 1024,  # sampled every 50 ms; shared pages counted per process
        "tree_pss_peak_mb": peak["pss"] / 1024,  # sampled; shared pages split between processes
        "processes": peak["procs"],
        "cpu_s": cpu,
        "sampler_cpu_s": own.ru_utime + own.ru_stime,
        # CPU time the whole machine spent on anything but this step and its wrapper: more than a few %
        # of wall × cores means something else was running and the figures are noisy
        "foreign_cpu_s": max(0.0, busy_after - busy - cpu - own.ru_utime - own.ru_stime),
        "stolen_cpu_s": stolen_after - stolen,
        "stdout": stdout.decode("utf-8", "replace"),
    }


def _step_env() -> tuple[dict[str, str], Path]:
    """The environment and folder every step runs in: the package measured is the one ``PYTHONPATH``
    names, else this checkout's, and never whatever the current folder holds (``python -c`` puts the
    current folder first on ``sys.path``: run from another checkout, it would measure that one)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = env.get("PYTHONPATH") or str(HERE.parent)
    return env, STEP_DIR


STEP_DIR = HERE / "work"  # set by run(): the work folder (no package in it)


def measured_package() -> str:
    """Where the steps import ``selfeval_xlsx`` from (recorded in the JSON)."""
    env, cwd = _step_env()
    cwd.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        [sys.executable, "-c", "import selfeval_xlsx; print(selfeval_xlsx.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )
    return out.stdout.strip()


def measure(cmd: Sequence[str]) -> dict[str, Any]:
    """Run ``cmd`` under a fresh wrapper process (so no step's memory is counted for another)."""
    env, cwd = _step_env()
    out = subprocess.run(
        [sys.executable, __file__, "_wrap", "--", *cmd],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=cwd,
    )
    if out.returncode != 0 or not out.stdout.strip():
        raise RuntimeError(f"wrapper failed ({out.returncode}): {out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    cores = os.cpu_count() or 1
    for key, what in (
        ("foreign_cpu_s", "of other work ran"),
        ("stolen_cpu_s", "were stolen by the hypervisor"),
    ):
        if result[key] > 0.05 * result["wall_s"] * cores:
            print(
                f"  warning: {result[key]:.1f} CPU-s {what} during this step "
                f"({result['wall_s']:.1f} s wall × {cores} cores): figures are noisy",
                flush=True,
            )
    return result


# --- the benchmark -------------------------------------------------------------------------------------


def _merge_cmd(inbox: Path, out: Path, jobs: int, completed: bool) -> list[str]:
    argv = ["merge", str(inbox), "-o", str(out), "--jobs", str(jobs)]
    if not completed:
        argv.append("--no-completed")
    # the console script's own entry point, run by this interpreter (no PATH or shim in between)
    return [sys.executable, "-c", "from selfeval_xlsx.cli import main; main()", *argv]


def _merge_facts(out: Path, n: int) -> dict[str, Any]:
    """What the merge reported: counts, its own timing (merge.log), outputs; problems as strings."""
    facts: dict[str, Any] = {"problems": []}
    try:
        data = json.loads((out / "rollup.json").read_text(encoding="utf-8"))
        facts["counts"] = data["rollups"][0]["counts"] if data["rollups"] else {}
        facts["rollups"] = len(data["rollups"])
    except (OSError, ValueError, KeyError, IndexError) as exc:
        facts["problems"].append(f"rollup.json unreadable: {exc!r}")
        facts["counts"] = {}
    log = (out / "merge.log").read_text(encoding="utf-8") if (out / "merge.log").is_file() else ""
    times = re.findall(r"counts \{.*\} in (\d+(?:\.\d+)?)s", log)
    facts["inner_s"] = float(times[-1]) if times else None
    completed = out / "completed"
    facts["completed_files"] = sum(1 for _ in completed.iterdir()) if completed.is_dir() else 0
    c = facts["counts"]
    if c and (c.get("seen") != n or c.get("accepted") != n):
        facts["problems"].append(f"expected {n} seen and accepted, got {c}")
    return facts


def _git() -> dict[str, Any]:
    def run(*args: str) -> str:
        r = subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True, check=False)
        return r.stdout.strip()

    return {
        "commit": run("rev-parse", "HEAD"),
        "dirty": bool(run("status", "--porcelain", "--", "selfeval_xlsx")),
    }


def machine() -> dict[str, Any]:
    """CPU, memory, platform and versions of this run."""
    import openpyxl

    import selfeval_xlsx

    mem_kb = 0
    try:
        with open("/proc/meminfo") as fh:
            mem_kb = int(next(line for line in fh if line.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration):
        pass
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "openpyxl": openpyxl.__version__,
        "selfeval_xlsx": getattr(selfeval_xlsx, "__version__", "?"),
        "git": _git(),
        "date": datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
    }


def _row(label: str, files: int, r: dict[str, Any], start: dict[str, Any] | None = None) -> dict[str, Any]:
    """One line of the table; ``start``: the start-up step, subtracted for the net cost per file."""
    wall = r["wall_s"]
    if start is not None:
        net = max(0.0, wall - start["wall_s"])
    else:
        net = r["inner_s"] if r.get("inner_s") is not None else wall
    return {
        "step": label,
        "files": files,
        "wall_s": round(wall, 3),
        "inner_s": None if r.get("inner_s") is None else round(r["inner_s"], 3),
        "ms_per_file": round(1000 * wall / files, 3),
        "cpu_ms_per_file": round(1000 * r["cpu_s"] / files, 3),
        "net_ms_per_file": round(1000 * net / files, 3),
        "files_per_s": round(files / wall, 1),
        "max_process_rss_mb": round(r["max_process_rss_mb"], 1),
        "tree_rss_peak_mb": round(r["tree_rss_peak_mb"], 1),
        "tree_pss_peak_mb": round(r["tree_pss_peak_mb"], 1),
        "processes": r["processes"],
        "cpu_s": round(r["cpu_s"], 2),
        "foreign_cpu_s": round(r["foreign_cpu_s"], 2),
        "stolen_cpu_s": round(r["stolen_cpu_s"], 2),
    }


def print_table(
    rows: list[dict[str, Any]],
    ratios: dict[str, float | None],
    estimate: dict[str, Any],
    sweep: Sequence[dict[str, Any]] = (),
) -> None:
    head = (
        "step",
        "files",
        "wall s",
        "cpu s",
        "ms/file",
        "cpu ms/f",
        "net ms/f",
        "RSS MB",
        "tree PSS",
        "procs",
    )
    print(f"{head[0]:<34}" + "".join(f"{h:>10}" for h in head[1:]))
    for r in rows:
        cells = (
            r["files"],
            r["wall_s"],
            r["cpu_s"],
            r["ms_per_file"],
            r["cpu_ms_per_file"],
            r["net_ms_per_file"],
        )
        mem = (r["max_process_rss_mb"], r["tree_pss_peak_mb"], r["processes"])
        print(f"{r['step']:<34}" + "".join(f"{c:>10}" for c in (*cells, *mem)))
    print(
        "ratios (per file): "
        + ", ".join(f"{k} = {'-' if v is None else f'{v:.1f}'}" for k, v in ratios.items())
    )
    if sweep:
        print(
            "--jobs sweep (full merge): "
            + ", ".join(f"{s['jobs']}: {s['wall_s']:.2f} s wall / {s['cpu_s']:.2f} s cpu" for s in sweep)
        )
    print(
        f"estimate for {estimate['files']:,} workbooks from (b): {estimate['minutes']:.1f} min "
        f"({estimate['jobs']} jobs on this machine)"
    )
    for note in estimate["notes"]:
        print(f"  note: {note}")


def _estimate(b: dict[str, Any], jobs: int, manifest: dict[str, Any]) -> dict[str, Any]:
    from selfeval_xlsx.limits import DEFAULT_LIMITS

    notes = []
    if DEFAULT_LIMITS.max_inbox_files < ESTIMATE_FILES:
        notes.append(
            f"one inbox holds at most Limits.max_inbox_files = {DEFAULT_LIMITS.max_inbox_files:,} files; "
            f"{ESTIMATE_FILES:,} need the limit raised (library) or several inboxes"
        )
    notes.append(
        "workbooks that are plain inbox files are read again from disk when processed, and each file's "
        "rows are spooled to disk: the main process keeps one small result per file (~7 KB: row, "
        "identity, findings), nothing else grows with the number of files (compare RSS at N = 1,000 "
        "and 10,000); Limits.max_intake_bytes bounds only workbooks taken out of archives and e-mails "
        f"({DEFAULT_LIMITS.max_intake_bytes / 2**20:,.0f} MB)"
    )
    return {
        "files": ESTIMATE_FILES,
        "jobs": jobs,
        "seconds": round(ESTIMATE_FILES * b["ms_per_file"] / 1000, 1),
        "minutes": ESTIMATE_FILES * b["ms_per_file"] / 60_000,
        "notes": notes,
    }


_WARM = """
import compileall, json, sys, sysconfig
import openpyxl, selfeval_xlsx.cli, selfeval_xlsx.completed, selfeval_xlsx.merge, selfeval_xlsx.rollup_read, selfeval_xlsx.rollup_write
stdlib = sysconfig.get_paths()["stdlib"]
roots = set()
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None) or ""
    if path and ("site-packages" in path or not path.startswith(stdlib + "/")):
        top = module.__name__.partition(".")[0]
        root = sys.modules[top].__file__ if top in sys.modules else path
        if root:
            roots.add(root.rsplit("/", 1)[0] if root.endswith("__init__.py") else root)
ok = all(
    compileall.compile_dir(r, quiet=2) if not r.endswith(".py") else compileall.compile_file(r, quiet=2)
    for r in sorted(roots)
)
print(json.dumps({"roots": len(roots), "ok": bool(ok)}))
"""


def warm_bytecode() -> dict[str, Any]:
    """Compile the bytecode of the package and of what a merge imports, as ``pip install`` does.

    Without it, a machine that sets ``PYTHONDONTWRITEBYTECODE`` (this workplace's machines do) compiles every
    module from source at every start (~0.4 s per merge here), which no installed copy would do.
    """
    env, cwd = _step_env()
    out = subprocess.run(
        [sys.executable, "-c", _WARM], capture_output=True, text=True, check=False, env=env, cwd=cwd
    )
    facts = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else {"ok": False}
    facts["PYTHONDONTWRITEBYTECODE"] = os.environ.get("PYTHONDONTWRITEBYTECODE", "")
    return facts


def _best(cmd: Sequence[str], runs: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run ``cmd`` ``runs`` times (each in a fresh wrapper); the run with the least wall time, and all."""
    done = []
    for _ in range(max(1, runs)):
        r = measure(cmd)
        done.append(r)
    return min(done, key=lambda r: r["wall_s"]), done


def _merge_step(
    inbox: Path, out: Path, n: int, jobs: int, completed: bool, runs: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One merge step, ``runs`` times, the fastest kept: (measures, facts about its outputs)."""
    best: dict[str, Any] | None = None
    walls = []
    for _ in range(max(1, runs)):
        shutil.rmtree(out, ignore_errors=True)
        r = measure(_merge_cmd(inbox, out, jobs, completed))
        r.pop("stdout")
        walls.append(round(r["wall_s"], 3))
        if best is None or r["wall_s"] < best["wall_s"]:
            facts = _merge_facts(out, n)
            if r["rc"] != 0:
                facts["problems"].append(f"exit code {r['rc']}")
            best = {**r, **facts}
    assert best is not None
    best["runs_wall_s"] = walls
    for p in best["problems"]:
        print(f"  PROBLEM: {p}", flush=True)
    best["inner_s"] = best.get("inner_s")
    return best, best


def _start_up(workdir: Path, jobs: int, runs: int) -> dict[str, Any]:
    """(s) ``merge`` of an empty inbox: interpreter start-up, imports and the run's fixed work (exit 2:
    nothing to merge). Subtracted from (b) and (c) for their cost per file."""
    empty = workdir / "inbox-empty"
    shutil.rmtree(empty, ignore_errors=True)
    empty.mkdir(parents=True)
    out = workdir / "out-empty"
    best, runs_ = None, []
    for _ in range(max(1, runs)):
        shutil.rmtree(out, ignore_errors=True)
        r = measure(_merge_cmd(empty, out, jobs, True))
        r.pop("stdout")
        runs_.append(round(r["wall_s"], 3))
        if best is None or r["wall_s"] < best["wall_s"]:
            best = r
    assert best is not None
    best["runs_wall_s"] = runs_
    return best


def run_inbox(args: argparse.Namespace, workdir: Path, office: bool, start: dict[str, Any]) -> dict[str, Any]:
    """Every step on one inbox (generated, or office-saved): table, ratios, estimate, raw measures."""
    n, jobs = args.n, args.jobs
    kind = "office-saved" if office else "generated"
    print(f"inbox ({kind}): {n} workbooks …", flush=True)
    inbox, manifest = inbox_for(n, workdir, args.per_county, args.bases, args.regenerate, office=office)
    state = "cached" if manifest["cached"] else f"generated in {manifest['generate_s']} s"
    print(
        f"  {inbox} ({state}; {manifest['bytes'] / 2**20:.1f} MB, {manifest['file_kb_min']}–"
        f"{manifest['file_kb_max']} KB per file, {manifest['counties']} counties; sample of "
        f"{manifest['sample_check']['validated']} validated with 0 errors)",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    raw: dict[str, Any] = {"s": start}
    tag = "office" if office else "gen"

    print(f"(a) floor: inflate every zip member ({args.floor_runs} runs, the fastest kept) …", flush=True)
    runs = []
    for _ in range(args.floor_runs):  # a step this short is the one most moved by a noisy neighbour
        r = measure([sys.executable, __file__, "_floor", str(inbox)])
        inner = json.loads(r.pop("stdout").strip().splitlines()[-1])
        r["inner_s"] = inner["inner_s"]
        runs.append({**r, **inner})
    r = min(runs, key=lambda run: run["wall_s"])
    raw["a"] = {**r, "runs_wall_s": [round(run["wall_s"], 3) for run in runs]}
    print("  wall s of each run: " + ", ".join(f"{run['wall_s']:.3f}" for run in runs), flush=True)
    rows.append(_row("(a) floor: unzip + inflate", n, r))

    for key, completed in (("b", True), ("c", False)):
        if key == "c" and args.skip_no_completed:
            continue
        label = f"(b) merge --jobs {jobs}" if completed else f"(c) merge --jobs {jobs} --no-completed"
        print(f"{label} ({args.repeat} run(s), the fastest kept) …", flush=True)
        out = workdir / f"out-{n}-{tag}-{'completed' if completed else 'no-completed'}"
        r, _ = _merge_step(inbox, out, n, jobs, completed, args.repeat)
        print("  wall s of each run: " + ", ".join(f"{w:.3f}" for w in r["runs_wall_s"]), flush=True)
        raw[key] = r
        rows.append(_row(label, n, r, start))
        if not args.keep_outputs:
            shutil.rmtree(out, ignore_errors=True)

    sweep = []
    for j in args.jobs_sweep:
        label = f"(b) merge --jobs {j}"
        print(f"sweep: {label} …", flush=True)
        out = workdir / f"out-{n}-{tag}-sweep"
        r, _ = _merge_step(inbox, out, n, j, True, args.repeat)
        shutil.rmtree(out, ignore_errors=True)
        sweep.append({"jobs": j, **_row(label, n, r, start), "problems": r["problems"]})

    if not args.skip_baseline:
        limit = min(n, args.baseline_max)
        suffix = "" if limit == n else f" (first {limit})"
        print(f"(d) naive openpyxl load → add sheet → save{suffix} …", flush=True)
        out = workdir / f"out-{n}-openpyxl"
        shutil.rmtree(out, ignore_errors=True)
        r = measure([sys.executable, __file__, "_openpyxl", str(inbox), str(out), str(limit)])
        inner = json.loads(r.pop("stdout").strip().splitlines()[-1])
        r["inner_s"] = inner["inner_s"]
        raw["d"] = {**r, **inner}
        rows.append(_row("(d) openpyxl load+sheet+save" + suffix, inner["files"], r))
        shutil.rmtree(out, ignore_errors=True)

    per = {row["step"][1]: row for row in rows}
    a = per["a"]
    ratios: dict[str, float | None] = {}
    for k in ("b", "c"):
        if k in per:
            ratios[f"{k}/a wall"] = per[k]["ms_per_file"] / a["ms_per_file"]
            ratios[f"{k}/a cpu"] = per[k]["cpu_ms_per_file"] / a["cpu_ms_per_file"]
            ratios[f"{k}/a net"] = per[k]["net_ms_per_file"] / a["net_ms_per_file"]
    ratios["d/b"] = per["d"]["ms_per_file"] / per["b"]["ms_per_file"] if "d" in per else None
    estimate = _estimate(per["b"], jobs, manifest)
    print()
    print(f"--- {kind} inbox, N = {n} ---")
    print_table([_row("(s) start-up: merge of 0 files", 1, start), *rows], ratios, estimate, sweep)
    return {
        "office_saved": office,
        "inbox": {"path": str(inbox), **manifest},
        "table": rows,
        "sweep": sweep,
        "ratios": {k: None if v is None else round(v, 2) for k, v in ratios.items()},
        "estimate": {k: v for k, v in estimate.items() if k != "minutes"}
        | {"minutes": round(estimate["minutes"], 1)},
        "raw": raw,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    global STEP_DIR
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    STEP_DIR = workdir
    package = measured_package()
    print(f"package measured: {package}", flush=True)
    bytecode = warm_bytecode()
    print(
        f"bytecode compiled for {bytecode.get('roots', '?')} packages (as an install would have it)"
        + ("" if bytecode["ok"] else ": FAILED, start-up times include compiling"),
        flush=True,
    )
    print(f"(s) start-up: merge of an empty inbox ({args.repeat} run(s)) …", flush=True)
    start = _start_up(workdir, args.jobs, max(args.repeat, 3))
    print(f"  wall s of each run: {start['runs_wall_s']}", flush=True)
    kinds = {"generated": (False,), "office": (True,), "both": (False, True)}[args.inbox]
    inboxes = {
        ("office" if office else "generated"): run_inbox(args, workdir, office, start) for office in kinds
    }
    return {
        "n": args.n,
        "jobs": args.jobs,
        "repeat": args.repeat,
        "machine": machine(),
        "package": package,
        "bytecode": bytecode,
        "start_up": _row("(s) start-up: merge of 0 files", 1, start),
        "inboxes": inboxes,
        "notes": {
            "wall_s": "whole process incl. interpreter start-up and imports (what a user waits for)",
            "cpu_s": "user + system CPU seconds of the step's process and every child it waited for "
            "(getrusage RUSAGE_CHILDREN of the wrapper): merge's workers included",
            "net_ms_per_file": "(b),(c): (wall − wall of (s), merge of an empty inbox) / N; "
            "(a): its own loop / N (no start-up)",
            "inner_s": "(a),(d): the loop itself; (b),(c): merge's own time from merge.log",
            "runs": "each step run --repeat times (the floor --floor-runs times); the fastest run kept",
            "max_process_rss_mb": "getrusage(RUSAGE_CHILDREN).ru_maxrss of a fresh wrapper: largest process",
            "tree_rss_peak_mb": "sum of RSS over the process tree, sampled every 50 ms "
            "(fork-shared pages counted once per process)",
            "tree_pss_peak_mb": "sum of PSS over the process tree, sampled every 500 ms (shared pages split)",
            "d": f"(d) runs on the first min(N, {args.baseline_max}) files; compare per file",
        },
    }


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--n", type=int, choices=SIZES, default=1000, help="workbooks in the inbox (default 1000)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="merge workers (default: all cores)")
    p.add_argument("--workdir", type=Path, default=HERE / "work", help="inboxes and outputs (git-ignored)")
    p.add_argument(
        "--out", type=Path, default=None, help="JSON results (default benchmarks/results/merge-<n>.json)"
    )
    p.add_argument("--skip-baseline", action="store_true", help="do not run (d), the naive openpyxl script")
    p.add_argument(
        "--baseline-max", type=int, default=1000, help="(d) runs on at most this many files (default 1000)"
    )
    p.add_argument(
        "--per-county", type=int, default=399, help="townships per county code (≤ 399, default 399)"
    )
    p.add_argument("--bases", type=int, default=54, help="distinct filled base workbooks (default 54)")
    p.add_argument("--regenerate", action="store_true", help="rebuild the cached inbox")
    p.add_argument(
        "--inbox",
        choices=("generated", "office", "both"),
        default="both",
        help="generated (openpyxl-written files), office (re-saved by LibreOffice) or both (default)",
    )
    p.add_argument(
        "--repeat", type=int, default=1, help="runs of each merge step, the fastest kept (default 1)"
    )
    p.add_argument(
        "--floor-runs", type=int, default=3, help="runs of the floor, the fastest kept (default 3)"
    )
    p.add_argument(
        "--jobs-sweep",
        type=lambda t: [int(x) for x in t.split(",") if x],
        default=[],
        help="also run the full merge with each of these --jobs values, e.g. 1,2,4",
    )
    p.add_argument("--skip-no-completed", action="store_true", help="do not run (c)")
    p.add_argument("--keep-outputs", action="store_true", help="keep the merge outputs in the work folder")
    p.add_argument(
        "--profile",
        action="store_true",
        help="also profile merge(jobs=1) with cProfile (.prof in the work folder, top functions in\n"
        "benchmarks/results/profile-<n>.txt)",
    )
    p.add_argument("--profile-only", action="store_true", help="only the profile, no measured steps")
    args = p.parse_args(argv)
    if not 1 <= args.per_county <= 399:
        p.error("--per-county must be within 1–399")
    if args.bases < 9:
        p.error("--bases must be at least 9 (one per sample township)")
    args.out = args.out or HERE / "results" / f"merge-{args.n}.json"
    return args


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_wrap"]:  # internal: measure one step
        print(json.dumps(wrap(argv[2:] if argv[1:2] == ["--"] else argv[1:])))
        return
    if argv[:1] == ["_floor"]:
        print(json.dumps(step_floor(Path(argv[1]))))
        return
    if argv[:1] == ["_profile"]:
        print(step_profile(Path(argv[1]), Path(argv[2]), Path(argv[3])))
        return
    if argv[:1] == ["_openpyxl"]:
        print(json.dumps(step_openpyxl(Path(argv[1]), Path(argv[2]), int(argv[3]))))
        return
    args = parse(argv)
    if not args.profile_only:
        result = run(args)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"\nresults: {args.out}")
    if args.profile or args.profile_only:
        profile(args)


def profile(args: argparse.Namespace) -> None:
    """Profile merge(jobs=1) in a fresh process; write the .prof and the top functions."""
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    inbox, _ = inbox_for(args.n, workdir, args.per_county, args.bases, False)
    prof = workdir / f"merge-{args.n}-jobs1.prof"
    print(f"profiling merge(jobs=1) on {args.n} workbooks …", flush=True)
    cmd = [
        sys.executable,
        __file__,
        "_profile",
        str(inbox),
        str(workdir / f"out-{args.n}-profile"),
        str(prof),
    ]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    target = args.out.parent / f"profile-{args.n}.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(text)
    print(f"profile: {prof} (python -m pstats {prof}); top functions: {target}")


if __name__ == "__main__":
    main()
