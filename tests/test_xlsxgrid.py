"""The fast grid reader gives what openpyxl gives, on real, edited and hand-made workbooks; it refuses
malformed input with GridError and stays bounded on hostile input."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import struct
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sampledata
import xlsxwriter
from conftest import needs_soffice, soffice_convert
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.chart import BarChart, Reference
from openpyxl.formula.translate import Translator, TranslatorError
from openpyxl_fill import filled_bytes

from selfeval_xlsx import layout as L
from selfeval_xlsx.limits import Limits
from selfeval_xlsx.template import TEMPLATE_FILENAME
from selfeval_xlsx.xlsx import grid as grid_reader
from selfeval_xlsx.xlsx.cells import column_letter
from selfeval_xlsx.xlsx.grid import (
    Cell,
    Grid,
    GridError,
    GridLimitError,
    grid_from_openpyxl,
    load_grid,
    translate_formula,
)

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "templates" / TEMPLATE_FILENAME
INBOX = ROOT / "samples" / "inbox"
BUDGET = L.WORKBOOK.data_sheets[0].name  # 预算执行
INDICATORS = L.WORKBOOK.data_sheets[1].name  # 绩效指标

# ------------------------------------------------------------------------------------------------
# comparing with openpyxl
# ------------------------------------------------------------------------------------------------


def reference(data: bytes) -> Grid:
    """The grid openpyxl sees (``data_only=False``, plain text for rich text)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = load_workbook(io.BytesIO(data), data_only=False)
    return grid_from_openpyxl(wb)


def snapshot(grid: Grid) -> dict[str, Any]:
    """Everything a grid holds, with value types made explicit (1 == 1.0 == True in Python)."""
    out: dict[str, Any] = {}
    for name in grid.sheetnames:
        sheet = grid[name]
        out[name] = {
            "state": sheet.state,
            "cells": {k: (c.data_type, type(c.value).__name__, c.value) for k, c in sheet.cells.items()},
            "merged": sorted((r.coord, r.min_row, r.min_col, r.max_row, r.max_col) for r in sheet.merged),
            "hidden": sorted(sheet.hidden_rows),
            "max_row": sheet.max_row,
        }
    return out


def assert_same_as_openpyxl(data: bytes) -> Grid:
    fast = load_grid(data)
    assert fast.sheetnames == reference(data).sheetnames
    assert snapshot(fast) == snapshot(reference(data))
    return fast


def edited(edit: Callable[[Workbook], None]) -> bytes:
    """The seed township's workbook, edited with openpyxl the way a person would."""
    return filled_bytes(sampledata.seed(), sampledata.YEAR, edit)


# ------------------------------------------------------------------------------------------------
# hand-made packages (full control of the XML)
# ------------------------------------------------------------------------------------------------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def styles_xml(formats: list[int], custom: dict[int, str] | None = None) -> str:
    """A styles part whose cellXfs[i] uses number format ``formats[i]`` (cellXfs[0] is General)."""
    fmts = "".join(
        f'<numFmt numFmtId="{i}" formatCode="{code.replace(chr(34), "&quot;")}"/>'
        for i, code in (custom or {}).items()
    )
    xfs = "".join(f'<xf numFmtId="{n}" fontId="0" fillId="0" borderId="0" xfId="0"/>' for n in [0, *formats])
    return (
        f'<styleSheet xmlns="{MAIN}"><numFmts count="{len(custom or {})}">{fmts}</numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(formats) + 1}">{xfs}</cellXfs></styleSheet>'
    )


def raw_xlsx(
    sheets: list[tuple[str, str]],
    *,
    states: dict[str, str] | None = None,
    shared: list[str] | None = None,
    styles: str | None = None,
    workbook_pr: str = "",
    absolute: bool = False,
    replace: dict[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
) -> bytes:
    """A workbook package built by hand. ``sheets`` is (name, worksheet children XML); parts are
    numbered in reverse order of the sheets, so nothing may assume sheet N is sheetN.xml."""
    n = len(sheets)
    parts: dict[str, str | bytes] = {}
    overrides = [f'<Override PartName="/xl/workbook.xml" ContentType="{CT}.sheet.main+xml"/>']
    entries, rels = [], []
    for i, (name, body) in enumerate(sheets):
        part = f"worksheets/sheet{n - i}.xml"
        parts[f"xl/{part}"] = f'<worksheet xmlns="{MAIN}" xmlns:r="{RELS}">{body}</worksheet>'
        overrides.append(f'<Override PartName="/xl/{part}" ContentType="{CT}.worksheet+xml"/>')
        state = (states or {}).get(name)
        state_attr = f' state="{state}"' if state else ""
        entries.append(f'<sheet name="{name}" sheetId="{i + 1}"{state_attr} r:id="rId{i + 1}"/>')
        target = f"/xl/{part}" if absolute else part
        rels.append(f'<Relationship Id="rId{i + 1}" Type="{RELS}/worksheet" Target="{target}"/>')
    rels.append(f'<Relationship Id="rId{n + 1}" Type="{RELS}/styles" Target="styles.xml"/>')
    overrides.append(f'<Override PartName="/xl/styles.xml" ContentType="{CT}.styles+xml"/>')
    parts["xl/styles.xml"] = styles or styles_xml([])
    if shared is not None:
        rels.append(f'<Relationship Id="rId{n + 2}" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/>')
        overrides.append(f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT}.sharedStrings+xml"/>')
        parts["xl/sharedStrings.xml"] = f'<sst xmlns="{MAIN}">{"".join(shared)}</sst>'
    parts["xl/workbook.xml"] = (
        f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}">{workbook_pr}'
        f"<sheets>{''.join(entries)}</sheets></workbook>"
    )
    parts["xl/_rels/workbook.xml.rels"] = f'<Relationships xmlns="{PKG}">{"".join(rels)}</Relationships>'
    parts["_rels/.rels"] = (
        f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{RELS}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    )
    parts["[Content_Types].xml"] = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{"".join(overrides)}</Types>'
    )
    parts.update(replace or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in parts.items():
            if name not in drop:
                xml = body if isinstance(body, bytes) else ('<?xml version="1.0" encoding="UTF-8"?>' + body)
                zf.writestr(name, xml)
    return buf.getvalue()


def rebuild(data: bytes, change: Callable[[str, bytes], bytes | None]) -> bytes:
    """``data`` (a zip) with each member passed through ``change`` (None drops it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = change(info.filename, src.read(info))
            if body is not None:
                dst.writestr(info.filename, body)
    return out.getvalue()


def sheet_part(data: bytes, name: str) -> str:
    """The part name of a sheet, from workbook.xml and its relationships."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        wb = zf.read("xl/workbook.xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet [^>]*name="{re.escape(name)}"[^>]*r:id="([^"]+)"', wb).group(1)
    target = re.search(rf'<Relationship [^>]*Id="{rid}"[^>]*Target="([^"]+)"', rels)
    if target is None:
        target = re.search(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid}"', rels)
    path = target.group(1)
    return path.lstrip("/") if path.startswith("/") else "xl/" + path


def patch_sheet(data: bytes, name: str, edit: Callable[[str], str]) -> bytes:
    part = sheet_part(data, name)
    return rebuild(data, lambda n, body: edit(body.decode()).encode() if n == part else body)


def rows(*cells: str) -> str:
    return "<sheetData>" + "".join(cells) + "</sheetData>"


# ------------------------------------------------------------------------------------------------
# real workbooks
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", [None, *range(9)], ids=lambda i: "seed" if i is None else f"township{i}")
def test_generated_workbooks_read_as_openpyxl_reads_them(index: int | None) -> None:
    data = filled_bytes(sampledata.seed() if index is None else sampledata.township(index), 2023)
    grid = assert_same_as_openpyxl(data)
    assert grid.sheetnames == [*(s.name for s in L.WORKBOOK.sheets), L.META_SHEET_NAME]
    assert grid[L.META_SHEET_NAME].state == "hidden"
    unit_sheet, unit_ref = L.cell_of("/identity/unit_name")
    row, col = grid_reader._parse_ref(unit_ref)
    expected = (sampledata.seed() if index is None else sampledata.township(index))["identity"]["unit_name"]
    assert grid[unit_sheet].get(row, col) == Cell(expected, "s")


def test_committed_template_reads_as_openpyxl_reads_it() -> None:
    grid = assert_same_as_openpyxl(TEMPLATE.read_bytes())
    assert grid[BUDGET].merged, "the template merges its title rows"


INBOX_FILES = sorted(p for p in INBOX.glob("*.xlsx") if p.is_file())


@pytest.mark.parametrize("path", INBOX_FILES, ids=lambda p: p.name)
def test_inbox_workbooks_read_as_openpyxl_reads_them(path: Path) -> None:
    data = path.read_bytes()
    try:
        reference(data)
    except Exception:  # e.g. the ~$ lock file Excel leaves next to an open workbook
        with pytest.raises(GridError):
            load_grid(data)
        return
    assert_same_as_openpyxl(data)


@pytest.mark.parametrize("path", INBOX_FILES, ids=lambda p: p.name)
def test_parts_inflated_by_the_safety_check_are_reused_not_inflated_again(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from selfeval_xlsx.safety import check_workbook

    data = path.read_bytes()
    parts: dict[str, bytes] = {}
    if any(f.severity == "error" for f in check_workbook(data, path.name, parts=parts)):
        return
    assert "xl/workbook.xml" in parts and any(n.startswith("xl/worksheets/") for n in parts)
    expected = snapshot(load_grid(data))

    def no_inflating(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a part was inflated again")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_inflating)
    assert snapshot(load_grid(data, parts=parts)) == expected
    # a part whose length is not the declared size is not used: the reader inflates (here: fails)
    name = next(n for n in parts if n.startswith("xl/worksheets/"))
    with pytest.raises(GridError):
        load_grid(data, parts={**parts, name: parts[name] + b" "})


def test_inbox_has_readable_and_unreadable_samples() -> None:
    names = [p.name for p in INBOX_FILES]
    assert len(names) >= 10
    assert any(n.startswith("~$") for n in names)


# ------------------------------------------------------------------------------------------------
# workbooks edited with openpyxl
# ------------------------------------------------------------------------------------------------

LONG = ("绩效目标完成情况说明。" * 3000)[:32764] + "end"  # Excel's longest cell text, 32 767 characters


def _everything(wb: Workbook) -> None:
    ws = wb[BUDGET]
    ws["H14"] = 8724.9
    ws["H15"] = 9883
    ws["H16"] = -0.125
    ws["H17"] = "=SUM(H14:H16)"
    ws["H18"] = "#DIV/0!"  # openpyxl writes t="e"
    ws["H19"] = True
    ws["H20"] = False
    ws["H21"] = dt.datetime(2024, 1, 20, 9, 30)
    ws["H22"] = dt.date(2024, 1, 20)
    ws["H23"] = LONG
    ws["H24"] = "  前后有空格\n第二行 _x000D_ 😀 "
    ws["H25"] = 1e-7
    ws["H26"] = 123456789012345
    ws["H27"] = '=IF(H14>0,"是","否")'
    ws["H28"] = ""
    ws["I14"] = "被合并"
    ws.merge_cells("H30:J31")
    ws.row_dimensions[26].hidden = True
    ws.row_dimensions[27].hidden = True
    wb[INDICATORS].sheet_state = "hidden"
    extra = wb.create_sheet("备注")
    extra.sheet_state = "veryHidden"
    extra["A1"] = "说明"


def test_edited_workbook_reads_as_openpyxl_reads_it() -> None:
    grid = assert_same_as_openpyxl(edited(_everything))
    ws = grid[BUDGET]
    got = {
        ref: ws.get(*grid_reader._parse_ref(ref))
        for ref in ("H14", "H15", "H16", "H17", "H18", "H19", "H21", "H22")
    }
    assert got == {
        "H14": Cell(8724.9, "n"),
        "H15": Cell(9883, "n"),
        "H16": Cell(-0.125, "n"),
        "H17": Cell("=SUM(H14:H16)", "f"),
        "H18": Cell("#DIV/0!", "e"),
        "H19": Cell(True, "b"),
        "H21": Cell(dt.datetime(2024, 1, 20, 9, 30), "d"),
        "H22": Cell(dt.datetime(2024, 1, 20), "d"),
    }
    assert type(ws.value(14, 8)) is float and type(ws.value(15, 8)) is int and ws.value(19, 8) is True
    assert ws.value(20, 8) is False
    assert ws.value(23, 8) == LONG
    assert ws.value(24, 8) == "  前后有空格\n第二行 _x000D_ 😀 "
    assert ws.get(26, 8) == Cell(123456789012345, "n")
    assert ws.value(27, 8) == '=IF(H14>0,"是","否")'
    assert {26, 27} <= ws.hidden_rows
    assert "H30:J31" in [r.coord for r in ws.merged]
    assert ws.max_row >= 31
    assert grid[INDICATORS].state == "hidden" and grid["备注"].state == "veryHidden"
    assert grid.sheetnames[-1] == "备注" and "备注" in grid and "没有" not in grid
    with pytest.raises(KeyError):
        grid["没有"]


def test_merged_cells_over_inputs_keep_only_the_top_left_value() -> None:
    unit_sheet, unit_ref = L.cell_of("/identity/unit_name")
    county_sheet, county_ref = L.cell_of("/identity/county")
    assert unit_sheet == county_sheet
    (r1, c1), (r2, c2) = grid_reader._parse_ref(unit_ref), grid_reader._parse_ref(county_ref)
    rng = f"{unit_ref}:{county_ref}"

    def merge(wb: Workbook) -> None:
        wb[unit_sheet].merge_cells(rng)

    grid = assert_same_as_openpyxl(edited(merge))
    ws = grid[unit_sheet]
    assert rng in [r.coord for r in ws.merged]
    assert ws.value(r1, c1) == sampledata.seed()["identity"]["unit_name"]
    assert ws.get(r2, c2) is None  # covered: gone, as in openpyxl and Excel

    # values left inside a merged range by another program are dropped as openpyxl drops them
    def add_merge(xml: str) -> str:
        return re.sub(r"(<mergeCells[^>]*>)", rf'\1<mergeCell ref="{rng}"/>', xml, count=1)

    data = patch_sheet(filled_bytes(sampledata.seed(), sampledata.YEAR), unit_sheet, add_merge)
    assert (
        f'<mergeCell ref="{rng}"/>'
        in zipfile.ZipFile(io.BytesIO(data)).read(sheet_part(data, unit_sheet)).decode()
    )
    grid = assert_same_as_openpyxl(data)
    assert grid[unit_sheet].get(r2, c2) is None and grid[unit_sheet].value(r1, c1)


def test_rich_text_reads_as_its_plain_text() -> None:
    def rich(wb: Workbook) -> None:
        wb[BUDGET]["H14"] = CellRichText(["宋营", TextBlock(InlineFont(b=True), "镇"), "人民政府"])

    data = edited(rich)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert "<r>" in zf.read(sheet_part(data, BUDGET)).decode()  # really written as rich text runs
    grid = assert_same_as_openpyxl(data)
    assert grid[BUDGET].get(14, 8) == Cell("宋营镇人民政府", "s")


def test_chart_sheets_are_listed_and_empty() -> None:
    def chart(wb: Workbook) -> None:
        bars = BarChart()
        bars.add_data(Reference(wb[BUDGET], min_col=2, min_row=14, max_row=17))
        wb.create_chartsheet("图表").add_chart(bars)

    grid = assert_same_as_openpyxl(edited(chart))
    assert grid.sheetnames[-1] == "图表" and grid["图表"].cells == {}


def test_shared_formulas_in_a_workbook_are_formulas() -> None:
    def formulas(wb: Workbook) -> None:
        for row in (14, 15, 16):
            wb[BUDGET][f"H{row}"] = f"=B{row}+C{row}*$B$1"

    def share(xml: str) -> str:
        xml = xml.replace("<f>B14+C14*$B$1</f>", '<f t="shared" ref="H14:H16" si="0">B14+C14*$B$1</f>')
        for row in (15, 16):
            xml = xml.replace(f"<f>B{row}+C{row}*$B$1</f>", '<f t="shared" si="0"/>')
        return xml

    data = patch_sheet(edited(formulas), BUDGET, share)
    assert b'si="0"/>' in zipfile.ZipFile(io.BytesIO(data)).read(sheet_part(data, BUDGET))
    grid = assert_same_as_openpyxl(data)
    ws = grid[BUDGET]
    assert [ws.get(r, 8) for r in (14, 15, 16)] == [
        Cell("=B14+C14*$B$1", "f"),
        Cell("=B15+C15*$B$1", "f"),
        Cell("=B16+C16*$B$1", "f"),
    ]


# ------------------------------------------------------------------------------------------------
# other producers: xlsxwriter, LibreOffice
# ------------------------------------------------------------------------------------------------


def _xlsxwriter_bytes(date_1904: bool = False) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "date_1904": date_1904})
    ws = wb.add_worksheet("预算执行")
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    cn_date = wb.add_format({"num_format": 'yyyy"年"m"月"d"日"'})
    elapsed = wb.add_format({"num_format": "[h]:mm:ss"})
    clock = wb.add_format({"num_format": "hh:mm"})
    money = wb.add_format({"num_format": '#,##0.00"万元";[Red]-#,##0.00'})
    ws.write_row("A1", ["项目", "金额", "日期"])
    ws.write("A2", "宋营镇人民政府")
    ws.write_number("B2", 8724.9, money)
    ws.write_number("B3", 9883)
    ws.write_datetime("C2", dt.datetime(2024, 1, 20), date)
    ws.write_datetime("C3", dt.datetime(2023, 12, 31, 18, 45), cn_date)
    ws.write_number("C4", 1.5, elapsed)
    ws.write_number("C5", 0.75, clock)
    ws.write_formula("B4", "=SUM(B2:B3)", None, 18607.9)
    ws.write_formula("B5", "=B2/0", None, "#DIV/0!")
    ws.write_array_formula("D2:D3", "{=B2:B3*2}")
    ws.write_boolean("E2", True)
    ws.write_string("E3", "=看起来像公式的文字")
    ws.write_rich_string("E4", "甲", wb.add_format({"bold": True}), "乙", "丙")
    ws.merge_range("A7:C7", "合并的标题")
    ws.set_row(5, None, None, {"hidden": True})
    wb.add_worksheet("隐藏").hide()
    wb.close()
    return buf.getvalue()


@pytest.mark.parametrize("date_1904", [False, True], ids=["1900", "1904"])
def test_xlsxwriter_workbook_reads_as_openpyxl_reads_it(date_1904: bool) -> None:
    data = _xlsxwriter_bytes(date_1904)
    assert b"sharedStrings" in data
    grid = assert_same_as_openpyxl(data)
    ws = grid["预算执行"]
    assert ws.get(2, 2) == Cell(8724.9, "n")
    assert ws.get(2, 3) == Cell(dt.datetime(2024, 1, 20), "d")
    assert ws.get(3, 3) == Cell(dt.datetime(2023, 12, 31, 18, 45), "d")
    assert ws.get(4, 3) == Cell(dt.timedelta(days=1, hours=12), "d")
    assert ws.get(5, 3) == Cell(dt.time(18, 0), "d")
    assert ws.get(4, 2) == Cell("=SUM(B2:B3)", "f")  # the cached 18607.9 is ignored
    assert ws.get(5, 2) == Cell("=B2/0", "f")
    assert ws.get(2, 4) == Cell("=B2:B3*2", "f")  # array formula
    assert ws.get(3, 5) == Cell("=看起来像公式的文字", "s")
    assert ws.get(4, 5) == Cell("甲乙丙", "s")
    assert ws.get(7, 2) is None and ws.value(7, 1) == "合并的标题"
    assert ws.hidden_rows == {6}
    assert grid["隐藏"].state == "hidden"


@needs_soffice
@pytest.mark.slow
def test_libreoffice_saved_workbook_reads_as_openpyxl_reads_it(tmp_path: Path) -> None:
    source = tmp_path / "in" / "宋营镇.xlsx"
    source.parent.mkdir()
    source.write_bytes(edited(_everything))
    out = tmp_path / "out"
    soffice_convert(source, out, to="xlsx")
    data = (out / source.name).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert "xl/sharedStrings.xml" in zf.namelist()  # LibreOffice's flavour, not openpyxl's
        assert b'hidden="true"' in zf.read(sheet_part(data, BUDGET))
    grid = assert_same_as_openpyxl(data)
    ws = grid[BUDGET]
    assert ws.get(17, 8) == Cell("=SUM(H14:H16)", "f")
    assert ws.get(14, 8) == Cell(8724.9, "n")
    assert ws.value(19, 8) in (True, "=TRUE()")  # LibreOffice stores booleans as the formula TRUE()
    assert {26, 27} <= ws.hidden_rows


# ------------------------------------------------------------------------------------------------
# hand-made XML: the spec's corners
# ------------------------------------------------------------------------------------------------


def test_missing_cell_and_row_references_are_inferred() -> None:
    body = rows(
        '<row r="2"><c t="inlineStr"><is><t>a</t></is></c><c><v>1</v></c>'
        '<c r="E2"><v>2</v></c><c><v>3</v></c></row>',
        "<row><c><v>4</v></c><c/><c><v>5</v></c></row>",
        '<row r="7" hidden="1"><c r="B7"><v>6</v></c></row>',
    )
    data = raw_xlsx([("表", body)])
    grid = assert_same_as_openpyxl(data)
    ws = grid["表"]
    assert {k: c.value for k, c in ws.cells.items()} == {
        (2, 1): "a",
        (2, 2): 1,
        (2, 5): 2,
        (2, 6): 3,
        (3, 1): 4,
        (3, 3): 5,
        (7, 2): 6,
    }
    assert ws.hidden_rows == {7} and ws.max_row == 7


def test_sheet_parts_are_found_through_relationships() -> None:
    sheets = [
        ("乙", rows('<row r="1"><c r="A1"><v>2</v></c></row>')),
        ("甲", rows('<row r="1"><c r="A1"><v>1</v></c></row>')),
    ]
    for absolute in (False, True):
        data = raw_xlsx(sheets, absolute=absolute, states={"甲": "veryHidden"})
        grid = assert_same_as_openpyxl(data)
        assert grid.sheetnames == ["乙", "甲"]
        assert grid["乙"].value(1, 1) == 2 and grid["甲"].value(1, 1) == 1
        assert grid["甲"].state == "veryHidden" and grid["乙"].state == "visible"


def test_shared_strings_join_rich_runs_and_skip_phonetic_runs() -> None:
    shared = [
        "<si><t>宋营镇</t></si>",
        '<si><r><t>宋营</t></r><r><rPr><b/></rPr><t xml:space="preserve"> 镇 </t></r>'
        '<rPh sb="0" eb="2"><t>ソウエイ</t></rPh></si>',
        "<si><t/></si>",
        "<si><t>&lt;a&amp;b&gt; &#x4E2D;</t></si>",
    ]
    body = rows(
        '<row r="1">'
        + "".join(f'<c r="{col}1" t="s"><v>{i}</v></c>' for i, col in enumerate("ABCD"))
        + '<c r="E1" t="inlineStr"><is><r><t>内</t></r><r><t>联</t></r>'
        + '<rPh sb="0" eb="1"><t>x</t></rPh></is></c>'
        + '<c r="F1" t="str"><v>text result</v></c>'
        + '<c r="G1" t="str"><f>A1&amp;"!"</f><v>cached</v></c>'
        + '<c r="H1" t="e"><v>#N/A</v></c>'
        + '<c r="I1" t="b"><v>0</v></c>'
        + "</row>"
    )
    grid = assert_same_as_openpyxl(raw_xlsx([("表", body)], shared=shared))
    ws = grid["表"]
    assert [ws.get(1, c) for c in range(1, 10)] == [
        Cell("宋营镇", "s"),
        Cell("宋营 镇 ", "s"),
        Cell("", "s"),
        Cell("<a&b> 中", "s"),
        Cell("内联", "s"),
        Cell("text result", "s"),
        Cell('=A1&"!"', "f"),
        Cell("#N/A", "e"),
        Cell(False, "b"),
    ]


def test_number_formats_decide_dates_as_openpyxl_does() -> None:
    custom = {
        164: "yyyy-mm-dd",
        165: 'yyyy"年"m"月"d"日"',
        166: '0.00"d"',  # quoted d: not a date
        167: "[Red]#,##0.00",
        168: "[$-804]yyyy/m/d",
        169: "[hh]:mm",
        14: "0.00",  # a custom code overrides a built-in id
    }
    formats = [14, 22, 46, 164, 165, 166, 167, 168, 169, 2, 47]
    cells = "".join(
        f'<c r="{column_letter(i + 1)}1" s="{i + 1}"><v>45311.25</v></c>' for i in range(len(formats))
    )
    cells += '<c r="A2" s="1"><v>0.5</v></c><c r="B2" s="2"><v>0.5</v></c>'
    cells += '<c r="C2" t="d"><v>2024-01-20T09:30:00</v></c>'
    cells += (
        '<c r="D2" t="d"><v>2024-01-20</v></c><c r="E2" s="4"><v>45311</v></c><c r="F2" s="4"><v>1e10</v></c>'
    )
    data = raw_xlsx([("表", rows(f'<row r="1">{cells}</row>'))], styles=styles_xml(formats, custom))
    grid = assert_same_as_openpyxl(data)
    ws = grid["表"]
    noon = dt.datetime(2024, 1, 20, 6, 0)
    assert [ws.get(1, c) for c in range(1, 12)] == [
        Cell(45311.25, "n"),  # id 14 redefined as 0.00
        Cell(noon, "d"),
        Cell(dt.timedelta(days=45311.25), "d"),
        Cell(noon, "d"),
        Cell(noon, "d"),
        Cell(45311.25, "n"),
        Cell(45311.25, "n"),
        Cell(noon, "d"),
        Cell(dt.timedelta(days=45311.25), "d"),
        Cell(45311.25, "n"),
        Cell(noon, "d"),
    ]
    assert ws.get(2, 2) == Cell(dt.time(12, 0), "d")
    assert ws.get(2, 3) == Cell(dt.datetime(2024, 1, 20, 9, 30), "d")
    assert ws.get(2, 4) == Cell(dt.date(2024, 1, 20), "d")
    assert ws.get(2, 6) == Cell("#VALUE!", "e")  # beyond year 9999: openpyxl's error value


def test_date_1904_workbooks_use_the_1904_epoch() -> None:
    cells = (
        '<row r="1"><c r="A1" s="1"><v>0</v></c><c r="B1" s="1"><v>43849</v></c>'
        '<c r="C1" s="1"><v>30</v></c></row>'
    )
    data = raw_xlsx(
        [("表", rows(cells))],
        styles=styles_xml([164], {164: "yyyy-mm-dd"}),
        workbook_pr='<workbookPr date1904="1"/>',
    )
    grid = assert_same_as_openpyxl(data)
    assert grid["表"].value(1, 2) == dt.datetime(2024, 1, 20)  # 45311 in the 1900 system
    assert grid["表"].value(1, 3) == dt.datetime(1904, 1, 31)


@pytest.mark.parametrize("fmt_id", [27, 31, 36, 50, 57, 58])
def test_cjk_builtin_date_formats_are_dates(fmt_id: int) -> None:
    """WPS and Chinese Excel store 2024年1月20日 as number format 31 (etc.) without a code: a date here,
    a plain number in openpyxl (the one deliberate difference in cell values)."""
    data = raw_xlsx(
        [("表", rows('<row r="1"><c r="A1" s="1"><v>45311</v></c></row>'))], styles=styles_xml([fmt_id])
    )
    assert load_grid(data)["表"].get(1, 1) == Cell(dt.datetime(2024, 1, 20), "d")
    assert reference(data)["表"].get(1, 1) == Cell(45311, "n")


def test_shared_formulas_move_with_their_cells() -> None:
    body = rows(
        '<row r="2"><c r="C2"><f t="shared" ref="C2:E4" si="0">A2+SUM($B$1:B2)*Sheet2!A1</f><v>1</v></c>'
        '<c r="D2"><f t="shared" si="0"/><v>1</v></c></row>',
        '<row r="3"><c r="C3"><f t="shared" si="0"/><v>1</v></c>'
        '<c r="F3"><f t="shared" ref="F3:F9" si="1">IF(A3="B3",A:A,2:2)</f></c></row>',
        '<row r="4"><c r="E4"><f t="shared" si="0"/></c><c r="F4"><f t="shared" si="1"/></c></row>',
        '<row r="5"><c r="G5"><f t="shared" si="7"/></c>'  # no master: '=' as openpyxl
        '<c r="H5"><f t="array" ref="H5:H6">A5:A6*2</f><v>0</v></c><c r="I5"><f>  </f></c></row>',
    )
    grid = assert_same_as_openpyxl(raw_xlsx([("表", body)]))
    ws = grid["表"]
    assert ws.value(2, 4) == "=B2+SUM($B$1:C2)*Sheet2!B1"
    assert ws.value(3, 3) == "=A3+SUM($B$1:B3)*Sheet2!A2"
    assert ws.value(4, 5) == "=C4+SUM($B$1:D4)*Sheet2!C3"
    assert ws.value(4, 6) == '=IF(A4="B3",A:A,3:3)'
    assert ws.get(5, 7) == Cell("=", "f")
    assert ws.get(5, 8) == Cell("=A5:A6*2", "f")


FORMULAS = [
    "=A1",
    "=$A$1+A$1+$A1",
    "=SUM(A1:B2)+SUM(A:B)+SUM(1:2)",
    "='My Sheet'!A1+Sheet2!$B2",
    '=IF(A1="A1",B1,"x""y")',
    "=LOG10(A1)+ATAN2(B1,C1)",
    "=1E+5+A1*2.5E-3",
    "=#REF!+A1",
    "=Table1[Col]+A1",
    "={1,2;3,4}",
    "=SUM(A1,B1 C1)",
    "=A1  +  B1",
    "=TRUE+FALSE+名称",
    "=a1+xfd1",
    "=A1:named",
    "=-A1%",
    "=A1>=B1",
    "plain text",
    "=SUM(A1",
]


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("dest", ["D5", "C3", "A1", "XFD1048576", "B2"])
def test_formula_translation_matches_openpyxl(formula: str, dest: str) -> None:
    drow, dcol = grid_reader._parse_ref(dest)[0] - 3, grid_reader._parse_ref(dest)[1] - 3
    try:
        expected = Translator(formula, "C3").translate_formula(dest)
    except TranslatorError:  # openpyxl gives up on the whole workbook; Excel shows #REF!
        assert "#REF!" in translate_formula(formula, drow, dcol)
        return
    except Exception:  # openpyxl cannot tokenise it
        assert translate_formula(formula, drow, dcol) == "=#REF!"
        return
    assert translate_formula(formula, drow, dcol) == expected


def test_builtin_date_formats_agree_with_openpyxl() -> None:
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

    for fmt_id, code in BUILTIN_FORMATS.items():
        assert (fmt_id in grid_reader._BUILTIN_DATES) == is_date_format(code), fmt_id
        assert grid_reader._BUILTIN_DATES.get(fmt_id, False) == is_timedelta_format(code), fmt_id
    for code in (
        'yyyy"年"m"月"d"日"',
        "[Red]0.00",
        '0.0"h"',
        r"0.0\h",
        "_m0",
        "[h]:mm",
        "[$-F800]dddd",
        "General",
    ):
        assert grid_reader.is_date_format(code) == is_date_format(code), code
        assert grid_reader.is_timedelta_format(code) == is_timedelta_format(code), code


def test_merged_ranges_reach_max_row_and_clear_covered_cells() -> None:
    body = (
        rows(
            '<row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>2</v></c><c r="C1"><v>3</v></c></row>',
            '<row r="2"><c r="A2"><v>4</v></c></row>',
        )
        + '<mergeCells count="3"><mergeCell ref="A1:B1"/><mergeCell ref="A2:A9"/>'
        + '<mergeCell ref="$C$1"/></mergeCells>'
    )
    grid = assert_same_as_openpyxl(raw_xlsx([("表", body)]))
    ws = grid["表"]
    assert {k: c.value for k, c in ws.cells.items()} == {(1, 1): 1, (1, 3): 3, (2, 1): 4}
    assert ws.max_row == 9
    assert [r.coord for r in ws.merged] == ["A1:B1", "A2:A9", "C1"]


def test_namespace_prefixes_and_strict_order_of_parts_do_not_matter() -> None:
    """Some producers (the .NET SDK) write ``<x:c>`` with a prefix: names are matched by namespace."""
    body = (
        f'<x:sheetData xmlns:x="{MAIN}"><x:row r="1">'
        '<x:c r="A1" t="inlineStr"><x:is><x:t>前缀</x:t></x:is></x:c><x:c r="B1"><x:v>7</x:v></x:c>'
        "</x:row></x:sheetData>"
    )
    grid = load_grid(raw_xlsx([("表", body)]))
    assert grid["表"].cells == {(1, 1): Cell("前缀", "s"), (1, 2): Cell(7, "n")}


# ------------------------------------------------------------------------------------------------
# the fast paths: names read as written, styled empty cells cut out, styles remembered
# ------------------------------------------------------------------------------------------------


def forget_rows() -> None:
    """Empty what the reader remembers across workbooks (styles, and rows, texts and strings scanned)."""
    for remembered in (
        grid_reader._STYLES_SEEN,
        grid_reader._S_ROWS_SEEN,
        grid_reader._S_TEXTS,
        grid_reader._S_STRINGS_SEEN,
        grid_reader._S_ROW_ATTRS,
    ):
        remembered.clear()


_NO_SCAN = {"_scan_sheet": lambda *args: False, "_scan_shared_strings": lambda data: None}


def paths(data: bytes, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What each way of reading gives (a snapshot with the cells in order, or the exception's type):
    the default (the scanned path where it applies) with nothing remembered, then again with what the
    first read remembered; expat (no scan); expat without the cuts (of empty cells, of rich-text run
    properties); and with namespace processing only (the streaming path of large parts)."""
    out: dict[str, Any] = {}
    with monkeypatch.context() as m:
        for label, patch in (
            ("default", {}),
            ("warm", {}),
            ("expat", _NO_SCAN),
            ("uncut", {"_strip_empty": lambda data: None, "_strip_run_props": lambda data: data}),
            ("namespaced", {"_plain_prefixes": lambda data: None}),
        ):
            for name, value in patch.items():
                m.setattr(grid_reader, name, value)
            if label != "warm":
                forget_rows()
            try:
                grid = load_grid(data)
                snap = snapshot(grid)
                for name in grid.sheetnames:  # the cells in the order read, too
                    snap[name]["order"] = list(grid[name].cells)
                out[label] = snap
            except GridError as exc:
                out[label] = type(exc)
    return out


def assert_paths_agree(data: bytes, monkeypatch: pytest.MonkeyPatch) -> Any:
    got = paths(data, monkeypatch)
    for label in ("warm", "expat", "uncut", "namespaced"):
        assert got[label] == got["default"], label
    return got["default"]


def scanned(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """How many sheets, and shared strings parts, the scanned path read (of all sheets)."""
    counts = [0, 0]
    scan_sheet, scan_strings = grid_reader._scan_sheet, grid_reader._scan_shared_strings

    def sheet(*args: Any) -> bool:
        done = scan_sheet(*args)
        counts[0] += done
        return done

    def strings(data: bytes) -> list[str] | None:
        done = scan_strings(data)
        counts[1] += done is not None
        return done

    with monkeypatch.context() as m:
        m.setattr(grid_reader, "_scan_sheet", sheet)
        m.setattr(grid_reader, "_scan_shared_strings", strings)
        forget_rows()
        with contextlib.suppress(GridError):
            load_grid(data)
    return counts[0], counts[1]


@pytest.mark.parametrize("path", INBOX_FILES, ids=lambda p: p.name)
def test_inbox_workbooks_read_the_same_on_every_path(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_paths_agree(path.read_bytes(), monkeypatch)


def test_generated_and_edited_workbooks_read_the_same_on_every_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def fill_down(wb: Workbook) -> None:
        ws = wb[INDICATORS]
        ws["B40"].number_format = "0.00"  # a styled empty cell below the table
        ws.row_dimensions[41].hidden = True

    for data in (
        filled_bytes(sampledata.seed(), 2023),
        filled_bytes(sampledata.township(3), 2023),
        TEMPLATE.read_bytes(),
        edited(fill_down),
    ):
        snap = assert_paths_agree(data, monkeypatch)
        assert isinstance(snap, dict)


_RUN = '<r><rPr>{props}</rPr><t xml:space="preserve">{text}</t></r>'
_OFFICE_PROPS = (
    '<b val="true"/><sz val="16"/><color rgb="FF000000"/><rFont val="宋体"/><family val="2"/><charset val="1"/>',
    '<sz val="11"/><color theme="1" tint="0.499984740745262"/><rFont val="等线"/><family val="3"/>'
    '<charset val="134"/><scheme val="minor"/>',
    '<b/><i/><u val="double"/><vertAlign val="superscript"/><color indexed="10"/>',
)


def shared_strings_workbook(runs: list[str], raw: bytes | None = None) -> bytes:
    """A workbook whose A1 shows a shared string made of ``runs`` (or whose shared strings part is
    ``raw``)."""
    body = rows('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')
    data = raw_xlsx([("表", body)], shared=[f"<si>{''.join(runs)}</si>"])
    if raw is None:
        return data
    return raw_xlsx([("表", body)], shared=[], replace={"xl/sharedStrings.xml": raw})


def test_run_properties_are_cut_from_shared_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = [_RUN.format(props=props, text=f"第{i}段 ") for i, props in enumerate(_OFFICE_PROPS)]
    data = shared_strings_workbook(runs)
    part = zipfile.ZipFile(io.BytesIO(data)).read("xl/sharedStrings.xml")
    assert b"<rPr>" in part and b"<rPr>" not in grid_reader._strip_run_props(part)
    snap = assert_paths_agree(data, monkeypatch)
    assert snap["表"]["cells"] == {(1, 1): ("s", "str", "第0段 第1段 第2段 ")}
    assert_same_as_openpyxl(data)


@pytest.mark.parametrize(
    "props",
    [
        b'<b val="a\x01"/>',  # a control character: not well-formed
        b'<rFont val="\xe5\xae"/>',  # broken UTF-8
        b'<rFont val="\xef\xbf\xbe"/>',  # a non-character
        b'<color rgb="1" rgb="2"/>',  # a repeated attribute
        b'<color tint="1" tint="2"/>',
        b'<rFont val="&undefined;"/>',  # an undefined entity
        b"<q:b/>",  # an unbound prefix
        b"<b>x</b>",  # text where none belongs (still read the same)
    ],
)
def test_run_properties_are_not_cut_when_that_could_hide_an_error(
    props: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = f'<sst xmlns="{MAIN}"><si><r><rPr>'.encode() + props + b"</rPr><t>\xe6\x96\x87</t></r></si></sst>"
    got = paths(shared_strings_workbook([], raw), monkeypatch)
    assert got["uncut"] == got["default"] == got["namespaced"] == got["expat"] == got["warm"]
    if props != b"<b>x</b>":
        assert got["default"] is GridError


def test_cut_empty_cells_still_count_in_max_row(monkeypatch: pytest.MonkeyPatch) -> None:
    body = rows(
        '<row r="1"><c r="A1" s="1"/><c r="B1"><v>1</v></c><c r="C1" s="2" t="n"></c></row>',
        '<row r="5"><c r="D5" s="1"/></row>',
        '<row r="3"><c r="XFD3"/></row>',  # out of order: the largest row still counts
    )
    data = raw_xlsx([("表", body)], styles=styles_xml([0, 0]))
    assert (
        grid_reader._strip_empty(
            grid_reader._Package(data, Limits()).small("xl/worksheets/sheet1.xml") or b""
        )
        is not None
    )
    snap = assert_paths_agree(data, monkeypatch)
    assert snap["表"]["max_row"] == 5
    assert snap["表"]["cells"] == {(1, 2): ("n", "int", 1)}
    assert_same_as_openpyxl(data)


def test_a_cell_without_reference_after_a_cut_cell_keeps_its_column(monkeypatch: pytest.MonkeyPatch) -> None:
    body = rows('<row r="2"><c r="A2" s="1"/><c r="B2"/><c><v>7</v></c></row>')
    data = raw_xlsx([("表", body)], styles=styles_xml([0]))
    snap = assert_paths_agree(data, monkeypatch)
    assert snap["表"]["cells"] == {(2, 3): ("n", "int", 7)}
    assert_same_as_openpyxl(data)


@pytest.mark.parametrize(
    "hidden",
    [
        '<![CDATA[<c r="A1"/>]]>',  # CDATA: the cell-like text is text
        '<!-- <c r="Z999"/> -->',  # a comment: no row 999
        '<?pi <c r="Z999"/>?>',  # a processing instruction: no row 999 either
    ],
    ids=["cdata", "comment", "pi"],
)
def test_cell_like_text_is_not_cut(hidden: str, monkeypatch: pytest.MonkeyPatch) -> None:
    inline = f'<c r="A1" t="inlineStr"><is><t>x{hidden}y</t></is></c>' if "CDATA" in hidden else ""
    body = rows(f'<row r="1">{inline}<c r="B1" s="1"/><c r="C1"><v>2</v></c></row>{"" if inline else hidden}')
    data = raw_xlsx([("表", body)], styles=styles_xml([0]))
    snap = assert_paths_agree(data, monkeypatch)
    assert snap["表"]["max_row"] == 1
    if inline:
        assert snap["表"]["cells"][(1, 1)] == ("s", "str", 'x<c r="A1"/>y')
    assert_same_as_openpyxl(data)


@pytest.mark.parametrize(
    ("data", "plain"),
    [
        (b'<?xml version="1.0"?><a><b/></a>', True),
        (b'\xef\xbb\xbf<?xml version="1.0"?><a x="!?">!?<b/></a>', True),
        (b"<a><b/></a>", True),
        (b'<?xml version="1.0"?><a><!-- x --></a>', False),
        (b'\xef\xbb\xbf<?xml version="1.0"?><!DOCTYPE a><a/>', False),
        (b'<?xml version="1.0"?><a><?pi?></a>', False),
        (b"<!DOCTYPE a><a/>", False),
        (b"<a><![CDATA[x]]></a>", False),
        (b'<?xml version="1.0"', False),  # an unfinished declaration
    ],
)
def test_only_markup_is_cut(data: bytes, plain: bool) -> None:
    assert grid_reader._markup_only(data) is plain


@pytest.mark.parametrize(
    ("root", "plain"),
    [
        (f'<worksheet xmlns="{MAIN}" xmlns:r="{RELS}">', True),
        ('<worksheet xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main">', True),
        ("<worksheet>", True),
        (f'<x:worksheet xmlns:x="{MAIN}">', False),  # a prefix for SpreadsheetML
        ('<worksheet xmlns="urn:other">', False),  # another default namespace
        (f'<worksheet xmlns="&#104;{MAIN[1:]}">', False),  # a character reference in the URI
        ('<worksheet xmlns:p="">', False),  # a prefix bound to nothing (an error for namespaces)
    ],
)
def test_names_are_read_as_written_only_when_that_reads_the_same(root: str, plain: bool) -> None:
    data = (f"{root}<sheetData/></worksheet>").encode()
    assert (grid_reader._plain_prefixes(data) is not None) is plain
    assert grid_reader._plain_prefixes(b'<?xml version="1.0" encoding="UTF-16"?>' + data) is None
    assert grid_reader._plain_prefixes(("\ufeff" + root).encode("utf-16-le")) is None


def test_an_unbound_prefix_is_refused_on_every_path(monkeypatch: pytest.MonkeyPatch) -> None:
    body = '<sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData><q:extra/>'
    data = raw_xlsx([("表", body)])
    assert paths(data, monkeypatch) == dict.fromkeys(
        ("default", "warm", "expat", "uncut", "namespaced"), GridError
    )


def test_a_styles_part_is_parsed_once_per_distinct_content(monkeypatch: pytest.MonkeyPatch) -> None:
    grid_reader._STYLES_SEEN.clear()
    calls: list[str] = []
    parse = grid_reader._parse_number_styles

    def counting(pkg: Any, part: str, data: bytes | None = None) -> Any:
        calls.append(part)
        return parse(pkg, part, data)

    monkeypatch.setattr(grid_reader, "_parse_number_styles", counting)
    body = rows('<row r="1"><c r="A1" s="1"><v>45000</v></c></row>')
    as_date = raw_xlsx([("表", body)], styles=styles_xml([14]))
    as_number = raw_xlsx([("表", body)], styles=styles_xml([2]))
    for _ in range(3):
        assert load_grid(as_date)["表"].get(1, 1) == Cell(dt.datetime(2023, 3, 15), "d")
        assert load_grid(as_number)["表"].get(1, 1) == Cell(45000, "n")
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("formats", "custom", "percent"),
    [
        ([9], None, True),
        ([10], None, True),
        ([164], {164: "0.0%"}, True),
        ([164], {164: '[Red]#,##0.00"元"%;-0%'}, True),
        ([164], {164: '0"%"'}, False),
        ([164], {164: "0\\%"}, False),
        ([164], {164: "0_%"}, False),
        ([164], {164: "0;0%"}, False),
        ([2], None, False),
        ([14], None, False),
    ],
)
def test_percent_styles_mark_number_and_formula_cells(
    formats: list[int], custom: dict[int, str] | None, percent: bool
) -> None:
    """Typing 96% in Excel stores 0.96 with a % format: the cell says so (numbers and formulas only),
    and the openpyxl adapter says the same."""
    body = rows(
        '<row r="1"><c r="A1" s="1"><v>0.96</v></c><c r="B1" s="1"><f>A1*1</f><v>0.96</v></c>'
        '<c r="C1" s="1" t="inlineStr"><is><t>x</t></is></c></row>'
    )
    data = raw_xlsx([("表", body)], styles=styles_xml(formats, custom))
    sheet = load_grid(data)["表"]
    if formats != [14]:
        assert sheet.get(1, 1) == Cell(0.96, "n", percent)
    assert sheet.get(1, 2) == Cell("=A1*1", "f", percent)
    assert sheet.get(1, 3) == Cell("x", "s")
    assert load_grid(data)["表"].cells == reference(data)["表"].cells


def test_each_part_counts_once_against_the_total_limit() -> None:
    """A part got whole for the fast paths is not inflated (and counted) again by the slower one."""
    body = f'<x:sheetData xmlns:x="{MAIN}"><x:row r="1"><x:c r="A1"><x:v>7</x:v></x:c></x:row></x:sheetData>'
    data = raw_xlsx([("表", body)])
    assert (
        grid_reader._plain_prefixes(zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml"))
        is None
    )
    read = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/worksheets/sheet1.xml")
    total = sum(zipfile.ZipFile(io.BytesIO(data)).getinfo(name).file_size for name in read)
    assert load_grid(data, Limits(max_total_uncompressed=total))["表"].get(1, 1) == Cell(7, "n")
    with pytest.raises(GridLimitError):
        load_grid(data, Limits(max_total_uncompressed=total - 1))


def test_only_the_named_sheets_are_parsed() -> None:
    data = filled_bytes(sampledata.seed(), 2023)
    wanted = [s.name for s in L.WORKBOOK.data_sheets]
    some = load_grid(data, sheets=wanted)
    full = load_grid(data)
    assert some.sheetnames == full.sheetnames
    for name in full.sheetnames:
        if name in wanted:
            assert snapshot(some)[name] == snapshot(full)[name]
        else:
            assert some[name].cells == {} and some[name].state == full[name].state


# ------------------------------------------------------------------------------------------------
# malformed and hostile input
# ------------------------------------------------------------------------------------------------

GOOD = rows('<row r="1"><c r="A1"><v>1</v></c></row>')


def _truncated() -> bytes:
    data = filled_bytes(sampledata.seed(), 2023)
    return data[: len(data) * 2 // 3]


def _lying_size() -> bytes:
    """A sheet part declaring 40 bytes that inflates to far more (a zip bomb that lies about its size)."""
    part = "xl/worksheets/sheet1.xml"
    body = rows(*(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(1, 2000)))
    data = bytearray(raw_xlsx([("表", body)]))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(part)
    struct.pack_into("<I", data, info.header_offset + 22, 40)  # local header: uncompressed size
    entry = data.find(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + len(part)] != part.encode():
        entry = data.find(b"PK\x01\x02", entry + 4)
    struct.pack_into("<I", data, entry + 24, 40)  # central directory: uncompressed size
    return bytes(data)


MALFORMED: dict[str, Callable[[], bytes]] = {
    "empty": lambda: b"",
    "not a zip": lambda: "宋营镇,2023\n".encode(),
    "truncated zip": _truncated,
    "part larger than declared": _lying_size,
    "no workbook.xml": lambda: raw_xlsx([("表", GOOD)], drop=("xl/workbook.xml",)),
    "sheet part missing": lambda: raw_xlsx([("表", GOOD)], drop=("xl/worksheets/sheet1.xml",)),
    "no relationships": lambda: raw_xlsx([("表", GOOD)], drop=("xl/_rels/workbook.xml.rels",)),
    "garbage XML": lambda: raw_xlsx(
        [("表", GOOD)], replace={"xl/worksheets/sheet1.xml": b"<worksheet><sheetData>"}
    ),
    "not XML": lambda: raw_xlsx([("表", GOOD)], replace={"xl/worksheets/sheet1.xml": b"\x00\x01PK garbage"}),
    "DOCTYPE in a sheet": lambda: raw_xlsx(
        [("表", GOOD)],
        replace={
            "xl/worksheets/sheet1.xml": (
                f'<?xml version="1.0"?><!DOCTYPE worksheet><worksheet xmlns="{MAIN}">{GOOD}</worksheet>'
            ).encode()
        },
    ),
    "entity in shared strings": lambda: raw_xlsx(
        [("表", GOOD)],
        shared=["<si><t>x</t></si>"],
        replace={
            "xl/sharedStrings.xml": (
                '<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
                f'<sst xmlns="{MAIN}"><si><t>&lol2;</t></si></sst>'
            ).encode()
        },
    ),
    "external entity": lambda: raw_xlsx(
        [("表", GOOD)],
        replace={
            "xl/workbook.xml": (
                '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}">'
                '<sheets><sheet name="&e;" sheetId="1" r:id="rId1"/>'
                "</sheets></workbook>"
            ).encode()
        },
    ),
    "undefined entity": lambda: raw_xlsx(
        [("表", rows('<row r="1"><c r="A1" t="inlineStr"><is><t>&bogus;</t></is></c></row>'))]
    ),
    "shared string out of range": lambda: raw_xlsx(
        [("表", rows('<row r="1"><c r="A1" t="s"><v>5</v></c></row>'))], shared=["<si><t>x</t></si>"]
    ),
    "bad cell reference": lambda: raw_xlsx([("表", rows('<row r="1"><c r="1A"><v>1</v></c></row>'))]),
    "column beyond XFD": lambda: raw_xlsx([("表", rows('<row r="1"><c r="XFE1"><v>1</v></c></row>'))]),
    "row zero": lambda: raw_xlsx([("表", rows('<row r="0"><c r="A0"><v>1</v></c></row>'))]),
    "bad number": lambda: raw_xlsx([("表", rows('<row r="1"><c r="A1"><v>1,5</v></c></row>'))]),
    "unknown cell type": lambda: raw_xlsx([("表", rows('<row r="1"><c r="A1" t="x"><v>1</v></c></row>'))]),
    "bad merged range": lambda: raw_xlsx(
        [("表", GOOD + '<mergeCells><mergeCell ref="B2:A1"/></mergeCells>')]
    ),
    "duplicate sheet names": lambda: raw_xlsx([("表", GOOD), ("表", GOOD)]),
    "bad sheet state": lambda: raw_xlsx([("表", GOOD)], states={"表": "gone"}),
}


@pytest.mark.parametrize("make", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_workbooks_raise_grid_error(make: Callable[[], bytes]) -> None:
    with pytest.raises(GridError):
        load_grid(make())
    assert issubclass(GridError, ValueError)


def test_parts_beyond_the_limits_are_refused() -> None:
    data = filled_bytes(sampledata.seed(), 2023)
    with pytest.raises(GridLimitError):
        load_grid(data, Limits(max_sheet_xml_bytes=10_000))
    with pytest.raises(GridLimitError):
        load_grid(data, Limits(max_total_uncompressed=50_000))
    with pytest.raises(GridLimitError):
        load_grid(data, Limits(max_members=5))


def test_far_rows_count_in_max_row_but_are_not_kept() -> None:
    far = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(990_000, 1_000_001, 1000))
    data = raw_xlsx([("表", rows('<row r="1"><c r="A1"><v>1</v></c></row>', far))])
    ws = load_grid(data)["表"]
    assert ws.max_row == 1_000_000
    assert ws.cells == {(1, 1): Cell(1, "n")}
    limits = Limits(max_rows=999_000)
    assert len(load_grid(data, limits)["表"].cells) == 1 + 11


def test_too_many_cells_raise_instead_of_eating_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    body = rows(
        *(
            f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>1</v></c>' for c in "ABCDE") + "</row>"
            for r in range(1, 41)
        )
    )
    data = raw_xlsx([("表", body)])
    assert len(load_grid(data)["表"].cells) == 200
    monkeypatch.setattr(grid_reader, "MAX_CELLS", 150)
    with pytest.raises(GridLimitError):
        load_grid(data)


def test_hostile_merged_ranges_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sheet-sized merged ranges (openpyxl would create a cell object for each covered position) cost
    at most the cells kept; the total work and the number of ranges are capped."""
    cells = rows(
        *(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}"><v>0</v></c></row>' for r in range(1, 2001))
    )
    merges = "".join(f'<mergeCell ref="A1:XFD{1_048_576 - i}"/>' for i in range(200))
    data = raw_xlsx([("表", cells + f"<mergeCells>{merges}</mergeCells>")])
    ws = load_grid(data)["表"]
    assert ws.cells == {(1, 1): Cell(1, "n")} and ws.max_row == 1_048_576 and len(ws.merged) == 200
    monkeypatch.setattr(grid_reader, "MAX_MERGE_WORK", 3999)  # the first range alone looks at 4000 cells
    with pytest.raises(GridLimitError):
        load_grid(data)
    many = "".join(f'<mergeCell ref="A{r}:B{r}"/>' for r in range(1, grid_reader.MAX_MERGED + 2))
    with pytest.raises(GridLimitError):
        load_grid(raw_xlsx([("表", cells + f"<mergeCells>{many}</mergeCells>")]))


def test_sheet_accessors() -> None:
    ws = load_grid(raw_xlsx([("表", GOOD)]))["表"]
    assert ws.get(1, 1) == Cell(1, "n") and ws.value(1, 1) == 1
    assert ws.get(2, 2) is None and ws.value(2, 2) is None
    assert ws.name == "表" and ws.state == "visible" and ws.hidden_rows == set() and ws.merged == []


# ------------------------------------------------------------------------------------------------
# speed (measured and printed, never asserted)
# ------------------------------------------------------------------------------------------------


def test_reader_gives_the_same_document_through_the_openpyxl_fallback(monkeypatch) -> None:
    """The reader falls back to openpyxl when the fast reader refuses a file: same values, same findings."""
    from selfeval_xlsx import reader
    from selfeval_xlsx.xlsx.grid import GridError

    files = sorted(p for p in INBOX.glob("*.xlsx") if not p.name.startswith("~$"))
    fast = {p.name: reader.read_workbook(p) for p in files}

    def refuse(*_args, **_kwargs):
        raise GridError("refused for the test")

    monkeypatch.setattr(reader, "load_grid", refuse)
    for p in files:
        slow = reader.read_workbook(p)
        assert slow.data == fast[p.name].data, p.name
        assert [f.to_dict() for f in slow.findings] == [f.to_dict() for f in fast[p.name].findings], p.name
    assert any(doc.data.get("indicators") for doc in fast.values())


# ------------------------------------------------------------------------------------------------
# the scanned path: the same grid as expat, or declined
# ------------------------------------------------------------------------------------------------


def test_generated_and_office_saved_workbooks_are_scanned(monkeypatch: pytest.MonkeyPatch) -> None:
    data = filled_bytes(sampledata.township(2), 2023)
    sheets = len(load_grid(data).sheetnames)
    assert scanned(data, monkeypatch) == (sheets, 0)  # openpyxl writes inline strings
    assert_paths_agree(data, monkeypatch)
    data = TEMPLATE.read_bytes()  # written by xlsxwriter, with shared strings
    assert scanned(data, monkeypatch) == (len(load_grid(data).sheetnames), 1)
    assert_paths_agree(data, monkeypatch)


#: Sheets the scan reads (True) or leaves to expat (False); either way both paths agree.
_SCANNED_BODIES = {
    "values": (
        '<row r="1" ht="15" customHeight="1"><c r="A1" s="1"/><c r="B1"><v>1</v></c><c r="C1" t="b"><v>1</v></c>'
        '<c r="D1" t="e"><v>#DIV/0!</v></c><c r="E1" t="str"><v>x</v></c><c r="F1"><v>2.50</v></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>a&amp;b&lt;&gt;&quot;&apos;&#20013;&#x4e2d;</t></is></c>'
        '<c r="B2" t="inlineStr"><is><t xml:space="preserve"> x </t></is></c><c r="C2" t="d"><v>2023-05-01</v></c>'
        '<c r="D2" s="2" t="n"></c></row><row r="9"><c r="A9" s="1"/></row>',
        True,
    ),
    "line ends": ('<row r="1"><c r="A1" t="inlineStr"><is><t>a\r\nb\rc&#13;d&#10;</t></is></c></row>', True),
    "formulas": (
        '<row r="1"><c r="A1"><f t="shared" ref="A1:A3" si="0">B1*2</f><v>4</v></c><c r="B1"><f/><v/></c></row>'
        '<row r="2"><c r="A2"><f t="shared" si="0"/><v>6</v></c></row>'
        '<row r="3"><c r="A3"><f t="shared" si="0"/></c><c r="B3" t="str"><f aca="false">"a"&amp;"b"</f>'
        "<v>ab</v></c></row>",
        True,
    ),
    "hidden rows": (
        '<row r="2" hidden="1"><c r="A2"><v>1</v></c></row><row r="3" hidden="false"/><row r="4" '
        'hidden="true" spans="1:3"></row><row r="5"><c r="A5"/></row>',
        True,
    ),
    "no rows": ("", True),
    "merges after stop": (
        '<row r="1"><c r="A1"><v>1</v></c></row></sheetData><mergeCells count="1"><mergeCell ref="A1:B2"/>'
        '</mergeCells><pageMargins left="0.7"/><mergeCells><mergeCell ref="C3:D4"/></mergeCells><sheetData>',
        True,
    ),
    "malformed after stop": (
        '<row r="1"><c r="A1"><v>1</v></c></row></sheetData><pageMargins left="1"/>'
        '<bogus a="1" a="2"/><sheetData>',
        True,
    ),
    "far rows": (
        '<row r="4000" hidden="1"><c r="A4000"><v>1</v></c><c r="B4000" t="inlineStr"><is><t>x</t></is></c></row>',
        True,
    ),
    # declined: what the grammar does not cover
    "a cell of another row": ('<row r="1"><c r="A5"><v>1</v></c></row>', False),
    "a cell without reference": ('<row r="1"><c r="A1"><v>1</v></c><c><v>2</v></c></row>', False),
    "single quotes": ("<row r='1'><c r='A1'><v>1</v></c></row>", False),
    "white space": ('<row r="1">\n  <c r="A1"><v>1</v></c>\n</row>', False),
    "rich inline text": (
        '<row r="1"><c r="A1" t="inlineStr"><is><r><t>a</t></r><r><t>b</t></r></is></c></row>',
        False,
    ),
    "phonetic run": (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t><rPh sb="0" eb="1"><t>b</t></rPh></is></c></row>',
        False,
    ),
    "self-closing last row": ('<row r="1"><c r="A1"><v>1</v></c></row><row r="2"/>', False),
    "a declared prefix": (
        '<row r="1"><c r="A1"><v>1</v></c></row></sheetData><x:y xmlns:x="urn:x"/><sheetData>',
        False,
    ),
    "lower-case reference": ('<row r="1"><c r="a1"><v>1</v></c></row>', False),
    # refused by expat, so declined (both paths raise)
    "a bad character reference in an ignored text": (
        '<row r="1"><c r="A1" t="inlineStr"><v>&#0;</v><is><t>x</t></is></c></row>',
        False,
    ),
    "a non-character": ('<row r="1"><c r="A1" t="inlineStr"><is><t>&#xFFFE;</t></is></c></row>', False),
    "an undefined entity": ('<row r="1"><c r="A1" t="inlineStr"><is><t>&nbsp;</t></is></c></row>', False),
    "a lone ampersand": ('<row r="1"><c r="A1" t="str"><v>a & b</v></c></row>', False),
    "a control character": ('<row r="1"><c r="A1" t="str"><v>a\x01b</v></c></row>', False),
    "a CDATA end": ('<row r="1"><c r="A1" t="str"><v>a]]>b</v></c></row>', False),
    "a repeated attribute": ('<row r="1" ht="1" ht="2"><c r="A1"><v>1</v></c></row>', False),
    "a repeated row number": ('<row r="1" r="1"><c r="A1"><v>1</v></c></row>', False),
    "a repeated formula attribute": ('<row r="1"><c r="A1"><f t="shared" t="x">1</f></c></row>', False),
    "beyond the last row": ('<row r="1048577"><c r="A1048577"><v>1</v></c></row>', False),
    "a merge without range": (
        '<row r="1"><c r="A1"><v>1</v></c></row></sheetData><mergeCells><mergeCell/></mergeCells><sheetData>',
        False,
    ),
    "a broken stop element": (
        '<row r="1"><c r="A1"><v>1</v></c></row></sheetData><pageMargins a="1" a="2"/><sheetData>',
        False,
    ),
    "an unknown cell type": ('<row r="1"><c r="A1" t="q"><v>1</v></c></row>', False),
    "a bad shared string": ('<row r="1"><c r="A1" t="s"><v>7</v></c></row>', False),
}


@pytest.mark.parametrize(("body", "scans"), _SCANNED_BODIES.values(), ids=_SCANNED_BODIES)
def test_the_scan_reads_as_expat_or_declines(body: str, scans: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    sheet = rows(body).replace("<sheetData></sheetData>", "<sheetData/>")
    data = raw_xlsx([("表", sheet + '<pageSetup orientation="portrait"/>')], styles=styles_xml([0, 14, 0]))
    assert scanned(data, monkeypatch)[0] == int(scans)
    got = assert_paths_agree(data, monkeypatch)
    if scans:
        assert isinstance(got, dict)


def test_scanned_values_are_the_ones_written(monkeypatch: pytest.MonkeyPatch) -> None:
    def read(key: str) -> Any:
        body, _ = _SCANNED_BODIES[key]
        return load_grid(raw_xlsx([("表", rows(body))], styles=styles_xml([0, 14, 0])))["表"]

    sheet = read("values")
    assert sheet.get(2, 1) == Cell("a&b<>\"'中中", "s") and sheet.get(2, 2) == Cell(" x ", "s")
    assert sheet.get(1, 6) == Cell(2.5, "n") and sheet.get(2, 3) == Cell(dt.date(2023, 5, 1), "d")
    assert sheet.max_row == 9
    assert read("line ends").get(1, 1) == Cell("a\nb\nc\rd\n", "s")
    formulas = read("formulas")
    assert [formulas.value(r, 1) for r in (1, 2, 3)] == ["=B1*2", "=B2*2", "=B3*2"]
    assert formulas.get(1, 2) == Cell("=", "f") and formulas.value(3, 2) == '="a"&"b"'
    assert read("hidden rows").hidden_rows == {2, 4} and read("hidden rows").max_row == 5
    assert read("far rows").max_row == 4000 and not read("far rows").cells


def test_shared_strings_are_scanned_as_expat_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = [_RUN.format(props=props, text=f"第{i}段 ") for i, props in enumerate(_OFFICE_PROPS)]
    items = [
        f"<si>{''.join(runs)}</si>",
        '<si><t xml:space="preserve">a_x005F_x000D_&amp;&#20013;</t></si>',
        "<si><t></t></si>",
        "<si><r><t>x</t></r><r><rPr><b/></rPr><t>y</t></r></si>",
    ]
    body = rows(
        '<row r="1">' + "".join(f'<c r="{"ABCD"[i]}1" t="s"><v>{i}</v></c>' for i in range(4)) + "</row>"
    )
    data = raw_xlsx([("表", body)], shared=items)
    assert scanned(data, monkeypatch) == (1, 1)
    snap = assert_paths_agree(data, monkeypatch)
    assert [v for _, _, v in snap["表"]["cells"].values()] == ["第0段 第1段 第2段 ", "a_x000D_&中", "", "xy"]
    phonetic = raw_xlsx([("表", body)], shared=[*items[:3], "<si><t>x</t><rPh><t>y</t></rPh></si>"])
    assert scanned(phonetic, monkeypatch) == (1, 0)
    assert_paths_agree(phonetic, monkeypatch)


def test_remembered_rows_hold_nothing_of_the_workbook(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same row bytes read with other shared strings, other styles and past another row cap."""
    body = rows('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" s="1"><v>45000</v></c></row>')
    one = raw_xlsx([("表", body)], shared=["<si><t>甲</t></si>"], styles=styles_xml([14]))
    two = raw_xlsx([("表", body)], shared=["<si><t>乙</t></si>"], styles=styles_xml([10]))
    forget_rows()
    first, second = load_grid(one)["表"], load_grid(two)["表"]
    assert grid_reader._S_ROWS_SEEN, "the row was remembered"
    assert first.get(1, 1) == Cell("甲", "s") and first.get(1, 2) == Cell(dt.datetime(2023, 3, 15), "d")
    assert second.get(1, 1) == Cell("乙", "s") and second.get(1, 2) == Cell(45000, "n", percent=True)
    assert not load_grid(two, Limits(max_rows=-1000))["表"].cells  # row cap 0: counted, not kept


def test_hostile_workbooks_read_the_same_on_every_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hostile

    read = 0
    for case in hostile.catalogue():
        folder = tmp_path / case.id
        folder.mkdir()
        built = case.build(folder)
        for path in [built] if built is not None and built.is_file() else []:
            data = path.read_bytes()
            if path.suffix.lower() in (".xlsx", ".xlsm") and data.startswith(b"PK") and len(data) < 2_000_000:
                assert_paths_agree(data, monkeypatch)
                read += 1
    assert read >= 30
