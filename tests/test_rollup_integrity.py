"""Issue 13: forged or stale roll-ups. A county's roll-up, hand-edited as a person would (openpyxl), put
in the city's inbox: checked row by row like a township's workbook, and signed/verified with Ed25519."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sampledata
from click.testing import CliRunner
from openpyxl import load_workbook
from openpyxl_fill import filled_bytes
from workbooks import seed_bytes, write

from selfeval_xlsx import api
from selfeval_xlsx.cli import cli
from selfeval_xlsx.signing import (
    KeyRing,
    load_keyring,
    read_public_key,
    sign_rollup_data,
    verify_rollup_data,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "inbox"
ROLLUP = "汇总_赵县_2023.xlsx"
Data = dict[str, Any]


# --- fixtures: a county's keys and its signed roll-up --------------------------------------------------


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """赵县 (130133) with a key pair, its signed roll-up of the samples; 元氏县 (130132) with its own keys."""
    base = tmp_path_factory.mktemp("county")
    zhao, fp = base / "keys-130133", None
    _, pub, fp = api.generate_keys("130133", directory=zhao)
    yuan = base / "keys-130132"
    _, yuan_pub, _ = api.generate_keys("130132", directory=yuan)
    stranger = base / "keys-stranger"
    api.generate_keys("130133", directory=stranger)  # another key for 赵县, that the city never got
    result = api.merge(SAMPLES, base / "out", jobs=1, keys=load_keyring(zhao))
    return {
        "base": base,
        "rollup": base / "out" / ROLLUP,
        "json": base / "out" / "rollup.json",
        "keys": zhao,
        "pub": pub,
        "fingerprint": fp,
        "yuan": yuan,
        "yuan_pub": yuan_pub,
        "stranger": stranger,
        "result": result,
    }


def city_keys(tmp: Path, *pubs: Path) -> KeyRing:
    """The city's key folder, trusting the given counties' public keys."""
    trusted = tmp / "city-keys" / "trusted"
    trusted.mkdir(parents=True, exist_ok=True)
    for pub in pubs:
        shutil.copy(pub, trusted)
    return load_keyring(tmp / "city-keys")


def city_merge(tmp: Path, files: dict[str, bytes], keys: KeyRing | None = None) -> Any:
    inbox = tmp / "city-inbox"
    inbox.mkdir(parents=True)
    for name, data in files.items():
        write(inbox, name, data)
    before = {n: hashlib.sha256((inbox / n).read_bytes()).hexdigest() for n in files}
    result = api.merge(inbox, tmp / "city-out", jobs=1, **({"keys": keys} if keys else {}))
    assert {n: hashlib.sha256((inbox / n).read_bytes()).hexdigest() for n in files} == before
    return result


def hidden(path: Path) -> Data:
    """The roll-up data of the hidden _rollup sheet (what a merge absorbs)."""
    wb = load_workbook(path, read_only=True)
    rows = [(r[0], r[1]) for r in wb["_rollup"].iter_rows(max_col=2, values_only=True)]
    wb.close()
    return json.loads("".join(v for k, v in rows[5:] if k == "data"))["rollup"]


def forge(
    src: Path, dst: Path, edit: Callable[[Data], None] | None = None, visible: Callable | None = None
) -> bytes:
    """Edit a roll-up with openpyxl as a forger would: change the hidden data (and recompute the SHA-256
    stored beside it, which anyone can), and/or the visible sheets."""
    wb = load_workbook(src)
    if edit is not None:
        ws = wb["_rollup"]
        cells = [(r[0].value, r[1]) for r in ws.iter_rows(max_col=2)]
        data = json.loads("".join(c.value for k, c in cells[5:] if k == "data"))
        edit(data["rollup"])
        text = json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("_", "\\u005f")
        ws.delete_rows(6, ws.max_row)
        parts = [text[i : i + 32000] for i in range(0, len(text), 32000)]
        for i, part in enumerate(parts, start=6):
            ws.cell(i, 1, "data")
            ws.cell(i, 2, part)
        ws["B4"] = str(len(parts))
        ws["B5"] = hashlib.sha256(text.encode("ascii")).hexdigest()
    if visible is not None:
        visible(wb)
    wb.save(dst)
    return dst.read_bytes()


def errors(result: Any, file: str = "forged.xlsx") -> list[tuple[str, str | None, str | None]]:
    """(code, sheet, cell) of the errors about ``file``, as the city's rollup.json lists them."""
    outdir = result if isinstance(result, Path) else result.outdir
    [roll] = json.loads((outdir / "rollup.json").read_text(encoding="utf-8"))["rollups"]
    return [
        (f["finding"], f["sheet"] or None, f["cell"] or None)
        for f in roll["findings"]
        if f["file"] == file and f["severity"] == "error"
    ]


# --- 1. checks on an incoming roll-up's rows -----------------------------------------------------------


def _set(index: int, key: str, value: Any) -> Callable[[Data], None]:
    def edit(d: Data) -> None:
        d["townships"][index][key] = value

    return edit


def _duplicate(d: Data) -> None:
    d["townships"].append(dict(d["townships"][2]))


def _indicator_score(d: Data) -> None:
    d["indicators"][0]["score"] = "99"


def _county_rate(d: Data) -> None:
    d["totals"]["rate"] = "-1111.24"


def _visible_total(wb: Any) -> None:
    wb["汇总"]["O3"] = 150  # 核定总分


@pytest.mark.parametrize(
    ("edit", "visible", "expected", "shown"),
    [
        pytest.param(_set(0, "total", "150"), None, ("out-of-range", "汇总", "O3"), "total", id="total-150"),
        pytest.param(
            _set(1, "executed", "-99999"),
            None,
            ("out-of-range", "汇总", "G4"),
            "executed",
            id="amount-negative",
        ),
        pytest.param(
            _set(0, "grade", "较差"), None, ("rollup-figure-mismatch", "汇总", "P3"), "grade", id="grade"
        ),
        pytest.param(
            _set(0, "rate", "-1111.24"), None, ("rollup-figure-mismatch", "汇总", "H3"), "rate", id="rate"
        ),
        pytest.param(
            _set(0, "output_score", "60"),
            None,
            ("out-of-range", "汇总", "L3"),
            "output_score",
            id="score-over-weight",
        ),
        pytest.param(_duplicate, None, ("rollup-duplicate-unit", "汇总", "B15"), None, id="township-twice"),
        pytest.param(_indicator_score, None, ("out-of-range", "指标明细", "N3"), None, id="indicator-score"),
        pytest.param(_county_rate, None, ("rollup-figure-mismatch", "汇总", "H15"), None, id="county-rate"),
        pytest.param(None, _visible_total, ("rollup-sheet-mismatch", "汇总", "O3"), None, id="visible-sheet"),
    ],
)
def test_a_hand_edited_rollup_is_rejected_whole_with_named_cells(
    county: dict, tmp_path: Path, edit: Any, visible: Any, expected: tuple, shown: str | None
) -> None:
    forged = forge(county["rollup"], tmp_path / "forged.xlsx", edit, visible)
    result = city_merge(tmp_path, {"forged.xlsx": forged})
    assert result.counts == {"seen": 1, "accepted": 0, "superseded": 0, "rejected": 1, "skipped": 0}
    assert not result.ok and result.rollups[0].townships == []  # never partially absorbed
    assert expected in errors(result)
    [row] = result.rejected
    sheet, cell = expected[1], expected[2]
    assert f"（{sheet}工作表{cell}单元格）" in row.reason  # the reply e-mail names the cell
    if shown is not None:  # the cell named is the township's own cell on the visible sheet
        wb = load_workbook(tmp_path / "forged.xlsx", read_only=True)
        value = wb[sheet][cell].value
        wb.close()
        original = hidden(county["rollup"])["townships"][int(cell[1:]) - 3][shown]
        assert str(value) == original or float(value) == float(original)


def test_the_report_of_the_issue_every_forgery_at_once_exits_1(county: dict, tmp_path: Path) -> None:
    """Total 150, executed −99,999, county rate −1111.24%, one township twice: the merge said 0."""

    def everything(d: Data) -> None:
        _set(0, "total", "150")(d)
        _set(1, "executed", "-99999")(d)
        _county_rate(d)
        _duplicate(d)

    inbox = tmp_path / "city"
    inbox.mkdir()
    forge(county["rollup"], inbox / "forged.xlsx", everything)
    run = CliRunner().invoke(
        cli, ["merge", str(inbox), "-o", str(tmp_path / "o"), "--keys", str(tmp_path / "k")]
    )
    assert run.exit_code == 1, run.output
    assert "\n  forged.xlsx：" in run.output
    found = {(c, cell) for c, _s, cell in errors(tmp_path / "o")}
    assert {("out-of-range", "O3"), ("out-of-range", "G4"), ("rollup-duplicate-unit", "B15")} <= found
    assert ("rollup-figure-mismatch", "H16") in found  # the county rate, on the total row (one row more)


def test_a_township_in_a_rollup_and_sent_on_its_own_counts_once(county: dict, tmp_path: Path) -> None:
    """The township's own workbook wins over its row in a roll-up (the primary source); the roll-up's
    other rows are taken, its row for that township is listed as superseded, and a county's own roll-up
    does not lift the merge to the city."""
    result = city_merge(tmp_path, {"forged.xlsx": county["rollup"].read_bytes(), "seed.xlsx": seed_bytes()})
    [roll] = result.rollups
    codes = [t.code for t in roll.townships]
    assert len(codes) == len(set(codes)) and roll.county_code == "130133"
    seed_code = next(p.code for p in result.accepted if p.name == "seed.xlsx")
    [own] = [t for t in roll.townships if t.code == seed_code]
    assert not own.source_rollup and own.file == "seed.xlsx"
    notes = [f for f in roll.files if f.code == seed_code and f.status == "superseded"]
    assert notes and all("forged.xlsx" in f.file for f in notes)


def test_two_rollups_covering_the_same_townships_count_each_unit_once(county: dict, tmp_path: Path) -> None:
    """A city's roll-up and one of its counties' roll-ups in the province's inbox: each unit once, taken
    from the roll-up received last, the other listed as superseded with the reason."""
    city = city_merge(tmp_path / "c", {ROLLUP: county["rollup"].read_bytes()})
    city_rollup = (city.outdir / "汇总_石家庄市_2023.xlsx").read_bytes()
    result = city_merge(
        tmp_path / "p", {"forged.xlsx": county["rollup"].read_bytes(), "city.xlsx": city_rollup}
    )
    assert result.counts["rejected"] == 0
    townships = [t for roll in result.rollups for t in roll.townships]
    units = {(t.code, t.kind, t.project) for t in townships}
    assert len(units) == len(townships) == len(hidden(county["rollup"])["townships"])
    listed = [f for roll in result.rollups for f in roll.files if f.status == "superseded"]
    assert listed


def test_a_rollup_from_another_profile_is_checked_with_that_profile(tmp_path: Path) -> None:
    api.merge(SAMPLES, tmp_path / "mof", jobs=1, rules=api.load_rules("mof-2020"))
    data = (tmp_path / "mof" / ROLLUP).read_bytes()
    result = city_merge(tmp_path, {"mof.xlsx": data})
    assert result.counts["accepted"] == 1, result.rejected


def test_a_rollup_whose_data_cannot_be_read_is_rejected_as_a_rollup(county: dict, tmp_path: Path) -> None:
    def break_hash(wb: Any) -> None:
        wb["_rollup"]["B5"] = "0" * 64

    result = city_merge(
        tmp_path, {"forged.xlsx": forge(county["rollup"], tmp_path / "x.xlsx", visible=break_hash)}
    )
    assert result.counts["rejected"] == 1
    assert errors(result) == [("rollup-corrupt", None, None)]


# --- 2. signatures --------------------------------------------------------------------------------------


def test_merge_signs_the_rollup_it_writes_in_the_workbook_and_rollup_json(county: dict) -> None:
    data = hidden(county["rollup"])
    block = data["signature"]
    assert block["signer"] == county["fingerprint"] and block["area"] == "130133" and block["year"] == 2023
    part = json.loads(county["json"].read_text(encoding="utf-8"))["rollups"][0]
    assert part["signature"] == block
    ring = KeyRing(trusted=(read_public_key(county["pub"]),))
    assert verify_rollup_data(data, ring) == [] and verify_rollup_data(part, ring) == []
    wb = load_workbook(county["rollup"], read_only=True)
    shown = [row for row in wb["运行信息"].iter_rows(values_only=True) if row[0] == "签名"]
    wb.close()
    assert shown and "已由赵县的密钥签名" in shown[0][1]


def test_a_signed_rollup_verifies_and_is_absorbed(county: dict, tmp_path: Path) -> None:
    keys = city_keys(tmp_path, county["pub"], county["yuan_pub"])
    result = city_merge(tmp_path, {ROLLUP: county["rollup"].read_bytes()}, keys)
    assert result.ok and result.counts["accepted"] == 1
    assert len(result.rollups[0].townships) == len(county["result"].rollups[0].townships)
    data = json.loads((tmp_path / "city-out" / "rollup.json").read_text(encoding="utf-8"))["rollups"][0]
    assert not [f for f in data["findings"] if f["finding"].startswith("rollup-")]


def test_a_one_byte_change_of_the_data_breaks_the_signature(county: dict, tmp_path: Path) -> None:
    def one_byte(d: Data) -> None:  # the run time: no check but the signature can see it
        d["generated"] = d["generated"][:-1] + ("1" if d["generated"][-1] != "1" else "2")

    keys = city_keys(tmp_path, county["pub"])
    forged = forge(county["rollup"], tmp_path / "forged.xlsx", one_byte)
    result = city_merge(tmp_path, {"forged.xlsx": forged}, keys)
    assert result.counts["rejected"] == 1 and errors(result) == [("rollup-bad-signature", None, None)]
    assert "签名" in result.rejected[0].reason
    # and the same file, checked without trusted keys, passes the row checks with a warning only
    assert errors(city_merge(tmp_path / "b", {"forged.xlsx": forged})) == []


def _resign(keys_dir: Path) -> Callable[[Data], None]:
    def edit(d: Data) -> None:
        d.pop("signature", None)
        [key] = load_keyring(keys_dir).signing
        sign_rollup_data(d, key)

    return edit


def test_signed_by_another_countys_key_is_rejected(county: dict, tmp_path: Path) -> None:
    """元氏县 signs a roll-up of 赵县 with its own (trusted) key: not its area."""
    keys = city_keys(tmp_path, county["pub"], county["yuan_pub"])
    forged = forge(county["rollup"], tmp_path / "forged.xlsx", _resign(county["yuan"]))
    result = city_merge(tmp_path, {"forged.xlsx": forged}, keys)
    assert errors(result) == [("rollup-key-area", None, None)]


def test_signed_by_an_unknown_key_is_rejected(county: dict, tmp_path: Path) -> None:
    keys = city_keys(tmp_path, county["pub"])
    forged = forge(county["rollup"], tmp_path / "forged.xlsx", _resign(county["stranger"]))
    result = city_merge(tmp_path, {"forged.xlsx": forged}, keys)
    assert errors(result) == [("rollup-untrusted-key", None, None)]


def test_an_unsigned_rollup_is_rejected_once_keys_are_trusted(county: dict, tmp_path: Path) -> None:
    api.merge(SAMPLES, tmp_path / "plain", jobs=1)  # no keys: not signed
    data = (tmp_path / "plain" / ROLLUP).read_bytes()
    assert "signature" not in hidden(tmp_path / "plain" / ROLLUP)
    result = city_merge(tmp_path, {"forged.xlsx": data}, city_keys(tmp_path, county["pub"]))
    assert errors(result) == [("rollup-unsigned", None, None)]


def test_without_trusted_keys_a_rollup_is_checked_and_warned_about(county: dict, tmp_path: Path) -> None:
    result = city_merge(tmp_path, {ROLLUP: county["rollup"].read_bytes()})
    assert result.ok and result.counts["accepted"] == 1
    data = json.loads((tmp_path / "city-out" / "rollup.json").read_text(encoding="utf-8"))["rollups"][0]
    [warning] = [f for f in data["findings"] if f["finding"].startswith("rollup-")]
    assert warning["finding"] == "rollup-unverified" and warning["severity"] == "warning"
    assert "来源未经验证" in warning["message"] and warning["file"] == ROLLUP


def test_broken_key_files_are_reported_not_fatal(county: dict, tmp_path: Path) -> None:
    trusted = tmp_path / "k" / "trusted"
    trusted.mkdir(parents=True)
    (trusted / "garbage.pub").write_text("hello", encoding="utf-8")
    text = county["pub"].read_text(encoding="utf-8").replace("area: 130133", "area: 130132")
    (trusted / "other.pub").write_text(text, encoding="utf-8")  # rebinding the area keeps the key valid
    bad_fp = (
        county["pub"].read_text(encoding="utf-8").replace("fingerprint: SHA256:", "fingerprint: SHA256:00")
    )
    (trusted / "badfp.pub").write_text(bad_fp, encoding="utf-8")
    (tmp_path / "k" / "nocode.key").write_text("x", encoding="utf-8")
    (tmp_path / "k" / "130101_broken.key").write_text("x", encoding="utf-8")
    ring = load_keyring(tmp_path / "k")
    assert [k.area for k in ring.trusted] == ["130132"] and ring.signing == ()
    assert len(ring.problems) == 4 and all(isinstance(p, str) for p in ring.problems)


# --- 3. the CLI ---------------------------------------------------------------------------------------


def test_cli_keys_generate_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    run = CliRunner().invoke(cli, ["keys", "generate", "--area", "130133", "--dir", str(tmp_path / "k")])
    assert run.exit_code == 0, run.output
    key, pub = tmp_path / "k" / "130133_赵县.key", tmp_path / "k" / "130133_赵县.pub"
    assert os.stat(key).st_mode & 0o777 == 0o600 and "PRIVATE KEY" in key.read_text()
    public = read_public_key(pub)
    assert public.area == "130133" and public.name == "赵县"
    assert "密钥指纹" in run.output and public.fingerprint[7:11].upper() in run.output
    again = CliRunner().invoke(cli, ["keys", "generate", "--area", "130133", "--dir", str(tmp_path / "k")])
    assert again.exit_code == 2 and "已存在" in again.output  # never silently replaced
    assert CliRunner().invoke(cli, ["keys", "generate", "--area", "13013"]).exit_code == 2


def test_cli_keys_directory_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELFEVAL_XLSX_KEYS", str(tmp_path / "env-keys"))
    assert CliRunner().invoke(cli, ["keys", "generate", "--area", "130132"]).exit_code == 0
    assert (tmp_path / "env-keys" / "130132_元氏县.pub").exists()
    listed = CliRunner().invoke(cli, ["keys", "list"])
    assert "130132 元氏县" in listed.output


def test_cli_merge_with_keys_signs_and_the_city_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SELFEVAL_XLSX_KEYS", str(tmp_path / "nowhere"))
    runner = CliRunner()
    county_keys, city = tmp_path / "county-keys", tmp_path / "city-keys"
    assert (
        runner.invoke(cli, ["keys", "generate", "--area", "130133", "--dir", str(county_keys)]).exit_code == 0
    )
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "seed.xlsx", seed_bytes())
    run = runner.invoke(cli, ["merge", str(inbox), "-o", str(tmp_path / "o"), "--keys", str(county_keys)])
    assert run.exit_code == 0 and "已签名" in run.output, run.output
    rollup = tmp_path / "o" / ROLLUP

    # the city clerk checks the file: unverified without keys, valid with the county's key
    plain = runner.invoke(cli, ["keys", "verify", str(rollup), "--keys", str(city)])
    assert plain.exit_code == 0 and "来源未经验证" in plain.output
    (city / "trusted").mkdir(parents=True)
    shutil.copy(county_keys / "130133_赵县.pub", city / "trusted")
    good = runner.invoke(cli, ["keys", "verify", str(rollup), "--keys", str(city)])
    assert good.exit_code == 0 and "签名有效" in good.output, good.output

    forged = tmp_path / "forged.xlsx"
    forge(rollup, forged, _set(0, "total", "150"))
    bad = runner.invoke(cli, ["keys", "verify", str(forged), "--keys", str(city)])
    assert bad.exit_code == 1 and "汇总!O3" in bad.output and "rollup-bad-signature" in bad.output
    as_json = runner.invoke(cli, ["keys", "verify", str(forged), "--keys", str(city), "--json"])
    assert {f["code"] for f in json.loads(as_json.output)[0]["findings"]} >= {
        "out-of-range",
        "rollup-bad-signature",
    }

    city_inbox = tmp_path / "city-inbox"
    city_inbox.mkdir()
    shutil.copy(rollup, city_inbox)
    merged = runner.invoke(cli, ["merge", str(city_inbox), "-o", str(tmp_path / "co"), "--keys", str(city)])
    assert merged.exit_code == 0 and "未签名" in merged.output and "来源未经验证" not in merged.output
    shutil.copy(forged, city_inbox)
    merged = runner.invoke(cli, ["merge", str(city_inbox), "-o", str(tmp_path / "co"), "--keys", str(city)])
    assert merged.exit_code == 1 and "\n  forged.xlsx：" in merged.output
    off = runner.invoke(
        cli, ["merge", str(city_inbox), "-o", str(tmp_path / "co2"), "--keys", str(city), "--no-verify"]
    )
    assert off.exit_code == 1 and "来源未经验证" in off.output  # the forged total is still caught
    unsigned = runner.invoke(
        cli, ["merge", str(inbox), "-o", str(tmp_path / "o2"), "--keys", str(county_keys), "--no-sign"]
    )
    assert unsigned.exit_code == 0 and "未签名（--no-sign）" in unsigned.output
    assert "signature" not in json.loads((tmp_path / "o2" / "rollup.json").read_text())["rollups"][0]


def test_cli_keys_verify_refuses_a_township_workbook(tmp_path: Path) -> None:
    d = sampledata.township(1, seed_value=7)
    path = write(tmp_path, "t.xlsx", filled_bytes(d, 2023))
    run = CliRunner().invoke(cli, ["keys", "verify", str(path), "--keys", str(tmp_path / "k")])
    assert run.exit_code == 1 and "不是selfeval-xlsx生成的汇总表" in run.output
