"""The part writer (``bookparts``) writes the same completed and returned workbooks as xlsxwriter.

Every completed and returned workbook is written twice, through :mod:`selfeval_xlsx.bookparts` (the
default) and through xlsxwriter alone (``completed.PART_WRITER = False``), and both are opened with
openpyxl and compared sheet by sheet: every cell's value and style (font, fill, border, alignment,
number format, protection), comments, links, merged ranges, row heights, column widths, data
validations, conditional formats, print areas and titles, page setup, panes, protection, sheet order,
state and the defined names. LibreOffice opens what the part writer wrote.
"""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import needs_soffice
from workbooks import seed_bytes, set_value

from selfeval_xlsx import completed
from selfeval_xlsx.cli import cli
from selfeval_xlsx.completed import write_completed, write_returned
from selfeval_xlsx.pipeline import score_workbook
from selfeval_xlsx.template import write_template
from selfeval_xlsx.xlsx import bookparts, canvas

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "inbox"


class _Frozen(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _Frozen:
        return cls(2024, 3, 1, 9, 30)


@pytest.fixture(autouse=True)
def _frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(completed, "datetime", _Frozen)


def _sources() -> dict[str, bytes]:
    """Valid submissions (completed workbooks: seed, a typed date, several samples with warnings) and
    rejected ones (returned copies: text in a number cell, a missing sheet, an old template, many
    problems)."""
    out = {
        "seed": seed_bytes(),
        "dated": seed_bytes(set_value("/identity/filled_on", "2024-01-15")),
    }
    for name in (
        "洨河镇.xlsx",
        "永通乡2023.xlsx",
        "赵县农业农村局2023部门整体自评.xlsx",
        "宋营镇2023人居环境整治项目自评.xlsx",
        "错误样例-金额填文字.xlsx",
        "错误样例-缺少绩效指标表.xlsx",
        "错误样例-旧版模板.xlsx",
        "错误样例-分值合计不符.xlsx",
        "错误样例-信用代码错误.xlsx",
    ):
        out[name] = (SAMPLES / name).read_bytes()
    return out


def _write(data: bytes, name: str, *, parts: bool, monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setattr(completed, "PART_WRITER", parts)
    scored = score_workbook(data, name=name)
    buf = io.BytesIO()
    if scored.valid:
        write_completed(buf, scored)
    else:
        write_returned(buf, scored.doc, scored.report)
    return buf.getvalue()


def _style(cell: Any) -> tuple[str, ...]:
    looks = (repr(getattr(cell, a)) for a in ("font", "fill", "border", "alignment", "protection"))
    return (*looks, cell.number_format)


def _sheet(ws: Any) -> dict[str, Any]:
    """Everything a clerk sees or prints of a sheet, as comparable values."""
    cells = {}
    for row in ws.iter_rows():
        for c in row:
            if c.value is None and not c.has_style and c.comment is None:
                continue
            cells[c.coordinate] = (
                c.value,
                c.data_type,
                _style(c),
                (c.comment.text, c.comment.author) if c.comment else None,
                (c.hyperlink.location, c.hyperlink.display) if c.hyperlink else None,
            )
    ps = ws.page_setup
    return {
        "cells": cells,
        "merged": sorted(str(r) for r in ws.merged_cells.ranges),
        "heights": {k: v.height for k, v in ws.row_dimensions.items() if v.height},
        "widths": {k: v.width for k, v in ws.column_dimensions.items()},
        "validations": [
            (str(d.sqref), d.type, d.operator, d.formula1, d.formula2, d.prompt, d.error, d.allow_blank)
            for d in ws.data_validations.dataValidation
        ],
        "conditional": [
            (str(rng.sqref), [(r.type, r.formula, r.dxfId) for r in rng.rules])
            for rng in ws.conditional_formatting
        ],
        "print": (
            ws.print_area,
            ws.print_title_rows,
            ps.orientation,
            ps.paperSize,
            ps.fitToWidth,
            ps.fitToHeight,
        ),
        "fit": ws.sheet_properties.pageSetUpPr.fitToPage if ws.sheet_properties.pageSetUpPr else None,
        "margins": repr(ws.page_margins),
        "footer": ws.oddFooter.center.text,
        "view": (ws.freeze_panes, ws.sheet_view.showGridLines, ws.sheet_view.tabSelected),
        "protection": (ws.protection.sheet, ws.protection.formatColumns, ws.protection.formatRows),
        "state": ws.sheet_state,
    }


def _book(data: bytes) -> dict[str, Any]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    names = sorted((n, str(v.attr_text)) for n, v in wb.defined_names.items())
    return {
        "sheets": wb.sheetnames,
        "active": wb.active.title,
        "names": names,
        "title": wb.properties.title,
        "description": wb.properties.description,
        **{ws.title: _sheet(ws) for ws in wb.worksheets},
    }


def test_part_writer_writes_what_xlsxwriter_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    bookparts._ROWS.clear()
    seen = {"comments": 0, "links": 0, "formulas": 0, "dates": 0, "returned": 0, "completed": 0}
    for name, data in _sources().items():
        fast = _write(data, name, parts=True, monkeypatch=monkeypatch)
        plain = _write(data, name, parts=False, monkeypatch=monkeypatch)
        a, b = _book(fast), _book(plain)
        assert a.keys() == b.keys(), name
        for key in a:
            assert a[key] == b[key], (name, key)
        # the part writer wrote it (not the fallback): xlsxwriter writes spans, the part writer none
        with zipfile.ZipFile(io.BytesIO(fast)) as z:
            assert b"spans=" not in z.read("xl/worksheets/sheet2.xml"), name
        for sheet in (v for v in a.values() if isinstance(v, dict) and "cells" in v):
            for value, kind, _s, note, link in sheet["cells"].values():
                seen["comments"] += note is not None
                seen["links"] += link is not None
                seen["formulas"] += kind == "f" or (isinstance(value, str) and value.startswith("="))
                seen["dates"] += isinstance(value, datetime)
        seen["returned" if "退回说明" in a["sheets"] else "completed"] += 1
    # the comparison is not vacuous: both kinds of workbook, with comments, links, formulas and dates,
    # and rows taken unchanged from the blank sheets were written from what earlier workbooks wrote
    assert all(seen.values()), seen
    assert any(bookparts._ROWS.values())


def test_an_unreproduced_call_is_written_by_xlsxwriter(monkeypatch: pytest.MonkeyPatch) -> None:
    """A call the part writer does not know makes the whole workbook go through xlsxwriter, unchanged."""
    data = seed_bytes()
    expected = _book(_write(data, "seed.xlsx", parts=False, monkeypatch=monkeypatch))

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise bookparts.Unsupported("test")

    monkeypatch.setattr(bookparts.Sheet, "write_url", refuse)
    got = _write(data, "seed.xlsx", parts=True, monkeypatch=monkeypatch)
    with zipfile.ZipFile(io.BytesIO(got)) as z:
        assert b"spans=" in z.read("xl/worksheets/sheet2.xml")  # xlsxwriter wrote it
    assert _book(got) == expected


def test_text_is_escaped_as_excel_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Markup, Excel's own _xHHHH_ escapes and edge spaces in a township's text come back as typed."""
    text = "甲<乙>&丙 _x0041_ 末尾空格 "
    data = seed_bytes(set_value("/identity/preparer", text))
    out = _write(data, "seed.xlsx", parts=True, monkeypatch=monkeypatch)
    wb = openpyxl.load_workbook(io.BytesIO(out))
    values = {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}
    plain = _write(data, "seed.xlsx", parts=False, monkeypatch=monkeypatch)
    wb2 = openpyxl.load_workbook(io.BytesIO(plain))
    values2 = {c.value for ws in wb2.worksheets for row in ws.iter_rows() for c in row}
    assert values == values2
    assert any(isinstance(v, str) and "甲<乙>&丙" in v for v in values)


def test_score_through_the_cli_writes_the_completed_workbook(tmp_path: Path) -> None:
    src = tmp_path / "洨河镇.xlsx"
    src.write_bytes((SAMPLES / "洨河镇.xlsx").read_bytes())
    out = tmp_path / "out.xlsx"
    result = CliRunner().invoke(cli, ["score", str(src), "-o", str(out)])
    assert result.exit_code in (0, 1), result.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "评分结果" and wb.sheetnames[-1] == "评分明细"
    assert wb["_meta"].sheet_state == "hidden"
    assert wb["评分结果"].print_area
    with zipfile.ZipFile(out) as z:
        assert b"spans=" not in z.read("xl/worksheets/sheet2.xml")  # written by the part writer


@needs_soffice
@pytest.mark.slow
def test_libreoffice_reads_every_workbook_the_part_writer_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every completed and returned workbook of the samples, re-saved by LibreOffice: the same sheets in
    the same order, and every value LibreOffice read is the value written (formulas aside: it
    recalculates them)."""
    written = {}
    for i, (name, data) in enumerate(_sources().items()):
        path = tmp_path / f"out{i}.xlsx"
        path.write_bytes(_write(data, name, parts=True, monkeypatch=monkeypatch))
        written[path] = name
    profile = tmp_path / "lo-profile"
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(tmp_path / "lo"),
            *map(str, written),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    for path, name in written.items():
        ours = openpyxl.load_workbook(path)
        back = openpyxl.load_workbook(tmp_path / "lo" / path.name)
        assert back.sheetnames == ours.sheetnames, name
        for ws in ours.worksheets:
            theirs = back[ws.title]
            for row in ws.iter_rows():
                for c in row:
                    if c.value is None or c.data_type == "f":
                        continue
                    got = theirs[c.coordinate].value
                    if isinstance(c.value, float | int) and isinstance(got, float | int):
                        assert abs(got - c.value) < 1e-9, (name, ws.title, c.coordinate)
                    else:
                        assert got == c.value, (name, ws.title, c.coordinate)


def _parts(data: bytes) -> dict[str, bytes]:
    """Every part but docProps/core.xml (it holds the time of writing)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n != "docProps/core.xml"}


def _all_outputs() -> dict[str, bytes]:
    """The blank template and completed and returned workbooks, with dates, marks and comments."""
    out: dict[str, bytes] = {}
    buf = io.BytesIO()
    write_template(buf, year=2024)
    out["template"] = buf.getvalue()
    sources = {
        "seed": seed_bytes(),
        "dated": seed_bytes(set_value("/identity/filled_on", "2024-01-15")),
        "money-as-text": (SAMPLES / "错误样例-金额填文字.xlsx").read_bytes(),
        "missing-sheet": (SAMPLES / "错误样例-缺少绩效指标表.xlsx").read_bytes(),
        "total-differs": (SAMPLES / "错误样例-分值合计不符.xlsx").read_bytes(),
    }
    for name, data in sources.items():
        scored = score_workbook(data, name=f"{name}.xlsx")
        buf = io.BytesIO()
        if scored.valid:
            write_completed(buf, scored)
        else:
            write_returned(buf, scored.doc, scored.report)
        out[name] = buf.getvalue()
    return out


def test_each_workbook_is_written_the_same_whatever_a_process_wrote_before() -> None:
    """Township values, dates and marks replace a cell's style, so the blank canvas (and the blank sheets
    recorded once) shared by every workbook of a process stay as drawn; the part writer's frame and
    styles depend only on what the workbook itself uses; and xlsxwriter, which adds to the options it is
    given, gets new ones each time (a shared dict made a process's first completed workbook differ)."""
    before = io.BytesIO()
    write_template(before)
    first = _all_outputs()  # completed and returned workbooks, with dates, numbers in text cells and marks
    bookparts._BASES.clear()  # frames drawn again, in another order of first use
    second = _all_outputs()
    after = io.BytesIO()
    write_template(after)
    assert _parts(before.getvalue()) == _parts(after.getvalue())
    assert {k: _parts(v) for k, v in first.items()} == {k: _parts(v) for k, v in second.items()}
    # whichever ran first in this process, a completed workbook's default font is the template's
    fonts = [
        re.search(rb"<font>.*?</font>", _parts(w)["xl/styles.xml"])
        for w in (after.getvalue(), second["seed"])
    ]
    assert fonts[0] and fonts[1] and fonts[0][0] == fonts[1][0]
    assert any(p.startswith("xl/comments") for p in _parts(first["money-as-text"]))


def test_a_copy_shares_cells_until_edited_and_leaves_the_original_unchanged() -> None:
    """Canvas.copy is copy-on-write: an edited or added cell is the copy's own, recorded in ``edited``,
    and the original keeps its values; changed_cells over the edits is changed_cells over all cells."""
    blank = canvas.Canvas("s")
    blank.put(1, 1, "标题", {"bold": True})
    blank.put(2, 1, None, {"locked": False})
    blank.put(3, 1, None, {"locked": False}, formula="=A2", source=("s", 2, 1))
    copy = blank.copy()
    assert copy.cells[1, 1] is blank.cells[1, 1] and copy.edited == {}
    copy.edit(2, 1).value = "填写的值"
    copy.edit(2, 1).style = canvas.shared_style({"locked": False, "bg_color": "#F8CBAD"})
    copy.put(4, 2, "新单元格")
    assert blank.cells[2, 1].value is None and blank.cells[2, 1].style == {"locked": False}
    assert (4, 2) not in blank.cells
    assert list(copy.edited) == [(2, 1), (4, 2)]
    noted = canvas.noted_cells(blank)
    assert noted == [(3, 1)]
    assert sorted(canvas.changed_cells(copy, blank, noted)) == sorted(canvas.changed_cells(copy, blank))
    assert sorted(canvas.changed_cells(copy, blank)) == [(2, 1), (3, 1), (4, 2)]
    # a formula whose source cell was edited is written again; one over an unedited source is not
    blank.put(5, 1, None, {"locked": False}, formula="=A1", source=("s", 1, 1))
    noted = canvas.noted_cells(blank)
    copy = blank.copy()
    copy.edit(2, 1).value = "填写的值"
    assert sorted(canvas.changed_cells(copy, blank, noted, {"s": copy})) == [(2, 1), (3, 1)]
    copy.edit(1, 1).value = "新标题"
    assert sorted(canvas.changed_cells(copy, blank, noted, {"s": copy})) == [(1, 1), (2, 1), (3, 1), (5, 1)]


def test_rows_fitted_over_the_blank_are_the_rows_fitted_in_full() -> None:
    """Measuring only the changed cells gives the heights a full fit gives, also when a changed cell
    replaced wrapped text (the row may shrink: everything is measured again)."""
    wrap = canvas.shared_style({"text_wrap": True})
    blank = canvas.Canvas("s")
    blank.widths[1] = 10
    blank.put(1, 1, "说明" * 40, wrap)  # wrapped text in the blank: tall row 1
    blank.put(2, 1, None, wrap)  # an empty input cell
    blank.put(3, 1, "短", wrap)
    fitted_copy = blank.copy()
    canvas.fit_rows(fitted_copy)
    fitted = dict(fitted_copy.heights)
    cases = {
        "a long answer typed": {(2, 1): "很长的回答" * 30},
        "the blank's long text replaced": {(1, 1): "短"},
        "nothing changed": {},
        "a new cell": {(4, 1): "新" * 50},
    }
    for name, edits in cases.items():
        full, over = blank.copy(), blank.copy()
        for cv in (full, over):
            for (r, c), value in edits.items():
                if (r, c) in cv.cells:
                    cv.edit(r, c).value = value
                else:
                    cv.put(r, c, value, wrap)
        canvas.fit_rows(full)
        canvas.fit_rows_over(over, blank, fitted, canvas.changed_cells(over, blank))
        assert over.heights == full.heights, name
    assert fitted[1] > canvas.LINE_HEIGHT * 2  # the blank's long text does make a tall row


def test_a_part_deflated_as_runs_inflates_to_its_text_with_its_crc() -> None:
    """Runs deflated apart (the recurring ones remembered, the own ones by the workbook's compressor)
    and laid end to end inflate as one stream to the whole text, and zipfile checks every CRC."""
    runs = [("<a>" + "x" * 5000, True), ("目标值" * 300, False), ("y" * 40 + "</a>", True), ("z", False)]
    bookparts._RUNS.clear()
    packed = [bookparts._zip([(f"p{i}.xml", list(runs)), ("q.xml", "own text")], {"q.xml"}) for i in range(2)]
    assert bookparts._RUNS  # the recurring runs were remembered and reused the second time
    for data in packed:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            assert z.testzip() is None
            name = next(n for n in z.namelist() if n.startswith("p"))
            assert z.read(name).decode("utf-8") == "".join(text for text, _ in runs)
            assert z.read("q.xml") == b"own text"
    # every written workbook's parts pass zipfile's CRC check too
    for data in _all_outputs().values():
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            assert z.testzip() is None


def test_standard_sheets_drawn_once_keep_their_protection_setting() -> None:
    """The drawn standard sheets carry page setup and protection (template._sheet_frame): a workbook
    written without protection after one with it (same process, same blank) is not protected, and
    both keep the A4 page setup."""
    from selfeval_xlsx.template import write_standard

    def sheet_xml(protect: bool) -> str:
        buffer = io.BytesIO()
        wb = bookparts.Book(buffer, completed.workbook_options())
        write_standard(wb, year=2023, grades=("优", "良", "中", "差"), protect=protect)
        wb.close()
        with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as z:
            return z.read("xl/worksheets/sheet1.xml").decode("utf-8")

    protected, open_, again = sheet_xml(True), sheet_xml(False), sheet_xml(True)
    assert "<sheetProtection" in protected and "<sheetProtection" in again
    assert "<sheetProtection" not in open_
    for xml in (protected, open_):
        assert 'paperSize="9"' in xml and "<oddFooter>" in xml


def test_formats_of_a_style_dict_is_its_format() -> None:
    """Formats.of gives the format get() gives for the same style, per dict and not per id alone."""
    from selfeval_xlsx.template import BOX, Formats

    wb = bookparts.Book(io.BytesIO(), completed.workbook_options())
    fm = Formats(wb)
    style = {**BOX, "bold": True}
    assert fm.of(style) is fm.get(style)
    other = {**BOX, "italic": True}
    assert fm.of(other) is fm.get(other) and fm.of(other) is not fm.of(style)
