"""The standard workbook as written by :mod:`selfeval_xlsx.template`, checked through openpyxl."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from conftest import needs_soffice, soffice_convert
from openpyxl.utils.cell import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from selfeval_xlsx import layout
from selfeval_xlsx.document import CellRef, Document
from selfeval_xlsx.template import TEMPLATE_FILENAME, ProfileText, write_standard, write_template
from selfeval_xlsx.version import TEMPLATE_ID, TEMPLATE_VERSION, __version__
from selfeval_xlsx.xlsx.cells import a1

GRADES = ("优", "良", "中", "差")


@pytest.fixture(scope="module")
def template_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / TEMPLATE_FILENAME
    write_template(path, year=2023, grades=GRADES)
    return path


@pytest.fixture(scope="module")
def wb(template_path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(template_path)


def first_input(p: layout.Placement, f: layout.Field) -> tuple[int, int]:
    """(row, col) of the first cell a field occupies, from the layout."""
    b = p.block
    if isinstance(b, layout.Form):
        return layout.form_cell(p, f.key)
    if isinstance(b, layout.Grid):
        return layout.grid_cell(p, b.rows[0][0], f.key)
    if isinstance(b, layout.Table):
        return layout.table_row(p, 0), layout.table_col(p, f.key)
    assert isinstance(b, layout.Matrix)
    return layout.matrix_cell(p, 0, 0) if f is b.value else layout.agreed_cell(p, 0)


def validation_at(ws: Worksheet, ref: str):
    found = [dv for dv in ws.data_validations.dataValidation if ref in dv.sqref]
    assert len(found) == 1, f"{ws.title}!{ref}: {len(found)} validations"
    return found[0]


def resolve_list(wb: openpyxl.Workbook, formula: str) -> list[str]:
    """The items of a list-validation source such as ``_meta!$D$2:$D$4`` or a defined name."""
    formula = formula.lstrip("=")
    if "!" not in formula:
        formula = wb.defined_names[formula].attr_text
    sheet, rng = formula.split("!")
    cells = wb[sheet.strip("'")][rng.replace("$", "")]
    return [row[0].value for row in cells]


# --- structure --------------------------------------------------------------------------------------


def test_sheets_in_order_and_meta_hidden(wb: openpyxl.Workbook) -> None:
    assert wb.sheetnames == ["填表说明", "预算执行", "绩效指标", "评价小组", layout.META_SHEET_NAME]
    assert [s.name for s in layout.WORKBOOK.sheets] == wb.sheetnames[:-1]
    assert wb[layout.META_SHEET_NAME].sheet_state == "hidden"
    assert all(wb[s.name].sheet_state == "visible" for s in layout.WORKBOOK.sheets)
    assert wb.active.title == "填表说明"


def test_meta_identity_and_defined_names(wb: openpyxl.Workbook) -> None:
    meta = wb[layout.META_SHEET_NAME]
    expected = {
        "template_id": TEMPLATE_ID,
        "template_version": TEMPLATE_VERSION,
        "year": 2023,
        "generator": __version__,
    }
    for key, name in layout.META_KEYS:
        row, col = layout.meta_cell(key)
        assert meta.cell(row, col - 1).value == key
        assert meta.cell(row, col).value == expected[key]
        assert wb.defined_names[name].attr_text == f"{layout.META_SHEET_NAME}!${get_column_letter(col)}${row}"
    assert meta.cell(*layout.meta_cell("template_version")).data_type == "s"  # "1.0", not the number 1


def test_blank_year_leaves_meta_year_empty_and_title_open() -> None:
    buf = io.BytesIO()
    write_template(buf)
    wb = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    assert wb[layout.META_SHEET_NAME].cell(*layout.meta_cell("year")).value is None
    for sheet in layout.WORKBOOK.sheets:
        assert wb[sheet.name]["A1"].value.startswith("____年度")
    ident = layout.BUDGET_SHEET.find("identity")
    assert wb[layout.BUDGET_SHEET.name].cell(*layout.form_cell(ident, "year")).value is None


def test_titles_merged_across_the_sheet(wb: openpyxl.Workbook) -> None:
    for sheet in layout.WORKBOOK.data_sheets:
        ws = wb[sheet.name]
        assert ws["A1"].value == sheet.title.format(year=2023)
        assert f"A1:{get_column_letter(sheet.last_col)}1" in {str(r) for r in ws.merged_cells.ranges}
        assert ws["A1"].font.b


def test_form_labels_and_merged_values_where_the_layout_says(wb: openpyxl.Workbook) -> None:
    checked = 0
    for sheet in layout.WORKBOOK.data_sheets:
        ws = wb[sheet.name]
        merged = {str(r) for r in ws.merged_cells.ranges}
        for p in sheet.placements:
            if not isinstance(p.block, layout.Form):
                continue
            for f in p.block.fields:
                row, col = layout.form_cell(p, f.key)
                label = ws.cell(row, col - 1)
                assert label.value == f.label + ("*" if f.required else "")  # 填表说明: "*" marks 必填
                assert label.protection.locked and label.font.b
                assert f"{a1(row, col)}:{a1(row, sheet.last_col)}" in merged
                value = ws.cell(row, col)
                assert value.protection.locked is False
                if f.type is layout.FieldType.LONGTEXT:
                    assert value.alignment.wrap_text
                    assert ws.row_dimensions[row].height >= 45
                checked += 1
    assert checked == sum(
        len(b.fields) for b in (layout.IDENTITY, layout.GOALS, layout.SELF, layout.REVIEW, layout.NARRATIVE)
    )


def test_year_prefilled_and_sections_bold(wb: openpyxl.Workbook) -> None:
    ws = wb[layout.BUDGET_SHEET.name]
    assert ws.cell(*layout.form_cell(layout.BUDGET_SHEET.find("identity"), "year")).value == 2023
    for p in layout.BUDGET_SHEET.placements:
        if isinstance(p.block, layout.Section):
            assert ws.cell(p.row, 1).value == p.block.title
            assert ws.cell(p.row, 1).font.b


def test_grid_headers_rows_and_tool_cells(wb: openpyxl.Workbook) -> None:
    p = layout.BUDGET_SHEET.find("budget")
    g = p.block
    assert isinstance(g, layout.Grid)
    ws = wb[layout.BUDGET_SHEET.name]
    assert ws.cell(p.row, 1).value == g.row_header
    assert ws.cell(p.row, layout.grid_cell(p, "total", "initial")[1]).value == "年初预算数（万元）"
    assert ws.cell(p.row, layout.grid_cell(p, "total", "rate")[1]).value == "执行率（%）"
    for key, label in g.rows:
        row, _ = layout.grid_cell(p, key, "initial")
        assert ws.cell(row, 1).value == label + ("*" if key in g.required_rows else "")
        assert ws.cell(row, 1).protection.locked
        for f in g.columns:
            cell = ws.cell(*layout.grid_cell(p, key, f.key))
            assert cell.protection.locked is False
            assert cell.number_format == "#,##0.00"
        for f in g.outputs:
            assert ws.cell(*layout.grid_cell(p, key, f.key)).protection.locked
    total = [ws.cell(*layout.grid_cell(p, "total", f.key)) for f in g.outputs]
    other = ws.cell(*layout.grid_cell(p, "current", "score"))
    assert {c.fill.fgColor.rgb for c in total} == {"FFDDEBF7"}
    assert other.fill.fgColor.rgb != "FFDDEBF7"
    assert ws.cell(*layout.grid_cell(p, "total", "rate")).number_format == "0.00%"
    assert ws.cell(*layout.grid_cell(p, "total", "score")).number_format == "0.00"
    assert ws.cell(*layout.grid_cell(p, "total", "initial")).font.b


def test_number_formats_of_typed_fields(wb: openpyxl.Workbook) -> None:
    ws = wb[layout.BUDGET_SHEET.name]
    ident = layout.BUDGET_SHEET.find("identity")
    assert ws.cell(*layout.form_cell(ident, "division_code")).number_format == "@"
    assert ws.cell(*layout.form_cell(ident, "phone")).number_format == "@"
    assert ws.cell(*layout.form_cell(ident, "filled_on")).number_format == "yyyy-mm-dd"
    self_p = layout.BUDGET_SHEET.find("self_assessment")
    assert ws.cell(*layout.form_cell(self_p, "total")).number_format == "0.00"
    ind = layout.INDICATOR_SHEET.find("indicators")
    iws = wb[layout.INDICATOR_SHEET.name]
    assert iws.cell(layout.table_row(ind, 0), layout.table_col(ind, "weight")).number_format == "0.00"
    assert iws.cell(layout.table_row(ind, 0), layout.table_col(ind, "nature")).number_format == "@"
    assert iws.cell(layout.table_row(ind, 0), layout.table_col(ind, "target")).number_format == "General"


def test_indicator_table(wb: openpyxl.Workbook) -> None:
    p = layout.INDICATOR_SHEET.find("indicators")
    t = p.block
    assert isinstance(t, layout.Table)
    ws = wb[layout.INDICATOR_SHEET.name]
    headers = [ws.cell(p.row, layout.table_col(p, f.key)).value for f in t.columns]
    assert headers[:4] == ["序号", "一级指标*", "二级指标*", "三级指标*"]
    assert "计量单位" in headers and "核定得分" in headers
    assert [ws.cell(layout.table_row(p, i), 1).value for i in range(t.rows)] == list(range(1, t.rows + 1))
    assert ws.cell(layout.table_row(p, t.rows), 1).value is None
    last = layout.table_row(p, t.rows - 1)
    for f in t.columns:
        cell = ws.cell(last, layout.table_col(p, f.key))
        assert cell.protection.locked is (f.key == "seq" or f.output), f.key
    assert ws.cell(last, layout.table_col(p, "score")).fill.fgColor.rgb == "FFDDEBF7"
    for i, w in enumerate(layout.INDICATOR_SHEET.widths, start=1):
        assert ws.column_dimensions[get_column_letter(i)].width == pytest.approx(w, abs=0.8)


def test_panel_matrix_refers_to_the_indicators(wb: openpyxl.Workbook) -> None:
    p = layout.PANEL_SHEET.find("panel_scores")
    m = p.block
    assert isinstance(m, layout.Matrix)
    ws = wb[layout.PANEL_SHEET.name]
    ind = layout.INDICATOR_SHEET.find("indicators")
    assert [ws.cell(p.row, c).value for c in (1, 2)] == ["指标序号", "三级指标"]
    labels = [ws.cell(p.row, layout.matrix_cell(p, 0, j)[1]).value for j in range(m.columns)]
    assert labels == [f"成员{n}" for n in range(1, m.columns + 1)]
    for i in (0, m.rows - 1):
        row = layout.matrix_cell(p, i, 0)[0]
        src = a1(layout.table_row(ind, i), layout.table_col(ind, "level3"))
        assert ws.cell(row, 1).value == i + 1
        b = ws.cell(row, 2)
        assert b.data_type == "f"
        assert b.value == f'=IF(绩效指标!{src}="","",绩效指标!{src})'
        assert b.protection.locked
        value = ws.cell(*layout.matrix_cell(p, i, m.columns - 1))
        assert value.protection.locked is False
        assert value.number_format == "0.00"
    members = layout.PANEL_SHEET.find("members")
    assert ws.cell(layout.table_row(members, 0), layout.table_col(members, "name")).protection.locked is False
    assert len(ws.conditional_formatting) == 1


# --- validation ---------------------------------------------------------------------------------------


def test_every_choice_field_has_a_dropdown(wb: openpyxl.Workbook) -> None:
    choice_fields = [(s, p, f) for s, p, f in layout.iter_fields() if f.type is layout.FieldType.CHOICE]
    assert len(choice_fields) == 6  # 评价类型, 自评等级, 一级/二级指标, 指标性质, 完成等级
    for sheet, p, f in choice_fields:
        dv = validation_at(wb[sheet.name], a1(*first_input(p, f)))
        assert dv.type == "list"
        if f.depends_on:
            continue
        items = resolve_list(wb, dv.formula1)
        assert items == list(GRADES if f.key == "grade" else f.choices), f.key


def test_level2_dropdown_depends_on_level1(wb: openpyxl.Workbook) -> None:
    p = layout.INDICATOR_SHEET.find("indicators")
    row = layout.table_row(p, 0)
    level1 = get_column_letter(layout.table_col(p, "level1"))
    ws = wb[layout.INDICATOR_SHEET.name]
    dv = validation_at(ws, a1(row, layout.table_col(p, "level2")))
    assert dv.formula1 == f"INDIRECT(${level1}{row})"
    assert a1(layout.table_row(p, layout.INDICATOR_ROWS - 1), layout.table_col(p, "level2")) in dv.sqref
    for parent, children in layout.LEVELS.items():
        assert resolve_list(wb, parent) == list(children)


def test_numeric_validations_take_bounds_and_help_from_the_layout(wb: openpyxl.Workbook) -> None:
    ws = wb[layout.BUDGET_SHEET.name]
    p = layout.BUDGET_SHEET.find("budget")
    dv = validation_at(ws, a1(*layout.grid_cell(p, "other", "executed")))
    assert dv.type == "decimal" and dv.operator in (None, "between")  # "between" is the default
    assert (float(dv.formula1), float(dv.formula2)) == (0, 100000000)
    assert dv.prompt == "全年实际支付数（万元）。"
    assert "万元" in dv.error and dv.showErrorMessage
    year = validation_at(ws, a1(*layout.form_cell(layout.BUDGET_SHEET.find("identity"), "year")))
    assert (year.type, year.formula1, year.formula2) == ("whole", "2000", "2100")
    total = validation_at(ws, a1(*layout.form_cell(layout.BUDGET_SHEET.find("self_assessment"), "total")))
    assert (total.type, total.formula1, total.formula2) == ("decimal", "0", "100")
    panel = layout.PANEL_SHEET.find("panel_scores")
    dv = validation_at(wb[layout.PANEL_SHEET.name], a1(*layout.matrix_cell(panel, 7, 3)))
    assert (dv.type, dv.formula2) == ("decimal", "100")  # the profile's own weights are checked on reading


def test_text_fields_with_help_prompt(wb: openpyxl.Workbook) -> None:
    for sheet, p, f in layout.iter_fields():
        if f.output or not f.help:
            continue
        dv = validation_at(wb[sheet.name], a1(*first_input(p, f)))
        assert dv.prompt == ProfileText.of(None).fill(f.help) and dv.showInputMessage
        assert "{" not in dv.prompt
    code = layout.form_cell(layout.BUDGET_SHEET.find("identity"), "division_code")
    dv = validation_at(wb[layout.BUDGET_SHEET.name], a1(*code))
    assert dv.type == "custom" and "=12" in dv.formula1


# --- protection, panes, printing -------------------------------------------------------------------


def test_every_sheet_protected_without_password(wb: openpyxl.Workbook) -> None:
    for ws in wb.worksheets:
        assert ws.protection.sheet, ws.title
        assert not ws.protection.password
        assert ws.protection.formatColumns is False and ws.protection.formatRows is False
        assert ws.protection.insertRows is not False and ws.protection.deleteRows is not False


def test_freeze_panes(wb: openpyxl.Workbook) -> None:
    header = layout.INDICATOR_SHEET.find(layout.INDICATOR_SHEET.freeze_header_of).row
    assert wb[layout.INDICATOR_SHEET.name].freeze_panes == f"A{header + 1}"
    assert wb[layout.PANEL_SHEET.name].freeze_panes == "A2"


def test_print_setup(wb: openpyxl.Workbook) -> None:
    for sheet in layout.WORKBOOK.sheets:
        ws = wb[sheet.name]
        assert int(ws.page_setup.paperSize) == 9
        assert ws.page_setup.orientation == ("landscape" if sheet.landscape else "portrait")
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0)  # 1 is the default
    header = layout.INDICATOR_SHEET.find("indicators").row
    assert wb[layout.INDICATOR_SHEET.name].print_title_rows.replace("$", "") == f"{header}:{header}"


def test_instructions_list_every_input_field(wb: openpyxl.Workbook) -> None:
    ws = wb[layout.INSTRUCTIONS.name]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    assert "万元" in text and "90分" in text and "不要修改工作表名称" in text
    assert f"v{TEMPLATE_VERSION}" in text
    rows = {
        (r[0].value, r[1].value): (r[2].value, r[3].value)
        for r in ws.iter_rows(min_col=1, max_col=4)
        if r[2].value in ("必填", "条件必填", "选填", "工具计算", "按评分方式")
    }
    assert rows[("预算执行", "单位名称")] == ("必填", layout.IDENTITY.fields[0].help)
    code = next(f for f in layout.IDENTITY.fields if f.key == "division_code")
    assert rows[("预算执行", "行政区划代码")] == ("条件必填", code.help)
    assert rows[("预算执行", "项目名称")][0] == "条件必填"
    assert rows[("绩效指标", "计量单位")] == ("选填", "如“个”“%”“万元”“天”。")
    assert rows[("绩效指标", "核定得分")][0] == "工具计算"
    required = {
        (s.name, f.label) for s, p, f in layout.iter_fields() if f.required and p.block is not layout.MEMBERS
    }
    assert required <= {k for k, v in rows.items() if v[0] == "必填"}


def test_write_template_accepts_str_path_and_stream(tmp_path: Path) -> None:
    write_template(str(tmp_path / "a.xlsx"))
    buf = io.BytesIO()
    write_template(buf, 2024)
    a = openpyxl.load_workbook(tmp_path / "a.xlsx")
    b = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    assert a.sheetnames == b.sheetnames
    grade = layout.form_cell(layout.BUDGET_SHEET.find("self_assessment"), "grade")
    dv = validation_at(a[layout.BUDGET_SHEET.name], a1(*grade))
    assert resolve_list(a, dv.formula1) == ["优秀", "良好", "一般", "较差"]


# --- write_standard with a township's values ----------------------------------------------------------


def _doc() -> Document:
    budget = layout.BUDGET_SHEET
    ident, grid, goals = budget.find("identity"), budget.find("budget"), budget.find("goals")
    ind = layout.INDICATOR_SHEET.find("indicators")
    # the reader skipped a blank row: indicator 0 sits one row lower than the layout's first row
    row0 = layout.table_row(ind, 1)
    cells = {
        "/identity/unit_name": CellRef(budget.name, a1(*layout.form_cell(ident, "unit_name"))),
        "/identity/division_code": CellRef(budget.name, a1(*layout.form_cell(ident, "division_code"))),
        "/identity/filled_on": CellRef(budget.name, a1(*layout.form_cell(ident, "filled_on"))),
        "/identity/year": CellRef(budget.name, a1(*layout.form_cell(ident, "year"))),
        "/budget/total/executed": CellRef(budget.name, a1(*layout.grid_cell(grid, "total", "executed"))),
        "/budget/total/initial": CellRef(budget.name, a1(*layout.grid_cell(grid, "total", "initial"))),
        "/goals/annual_goal": CellRef(budget.name, a1(*layout.form_cell(goals, "annual_goal"))),
        "/indicators/0/seq": CellRef(layout.INDICATOR_SHEET.name, a1(row0, layout.table_col(ind, "seq"))),
        "/indicators/0/level3": CellRef(
            layout.INDICATOR_SHEET.name, a1(row0, layout.table_col(ind, "level3"))
        ),
        "/indicators/0/target": CellRef(
            layout.INDICATOR_SHEET.name, a1(row0, layout.table_col(ind, "target"))
        ),
    }
    data = {
        "identity": {
            "unit_name": "宋营镇人民政府",
            "division_code": "130133100000",
            "filled_on": "2024-01-15",
            "year": 2023,
        },
        "budget": {"total": {"executed": Decimal("8724.90"), "initial": Decimal("8593.655")}},
        "goals": {"annual_goal": '=HYPERLINK("http://x","y")'},
        "indicators": [{"seq": 2, "level3": "+cmd", "target": Decimal("38")}],
    }
    return Document(file="宋营镇.xlsx", data=data, cells=cells)


@pytest.fixture(scope="module")
def filled_bytes() -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf)
    sheets = write_standard(
        wb,
        year=2023,
        grades=GRADES,
        doc=_doc(),
        outputs={
            "/budget/total/rate": Decimal("0.8828"),
            "/budget/total/score": Decimal("8.83"),
            "/budget/total/weight": Decimal(10),
            "/indicators/0/score": Decimal("12.5"),
            "/indicators/4/score": Decimal("3"),
        },
        marks={
            ("预算执行", "B4"): ["单位名称与区划代码不一致。", "请核对。"],
            ("绩效指标", "J5:J9"): ["分值合计应为90分。"],
            ("预算执行", "E4"): ["合并区域内的单元格。"],
            ("评分结果", "A1"): ["另一张表，不归本函数。"],
        },
    )
    extra = wb.add_worksheet("评分结果")
    extra.write_string(0, 0, "核定总分", sheets.formats.header)
    assert set(sheets.worksheets) == {s.key for s in layout.WORKBOOK.sheets}
    wb.close()
    return buf.getvalue()


@pytest.fixture(scope="module")
def filled(filled_bytes: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(filled_bytes))


def test_doc_values_written_at_their_cells(filled: openpyxl.Workbook) -> None:
    doc = _doc()
    ws = filled[layout.BUDGET_SHEET.name]
    name = ws[doc.cells["/identity/unit_name"].cell]
    assert name.value == "宋营镇人民政府" and name.data_type == "s"
    code = ws[doc.cells["/identity/division_code"].cell]
    assert code.value == "130133100000" and code.data_type == "s" and code.number_format == "@"
    when = ws[doc.cells["/identity/filled_on"].cell]
    assert when.value == datetime(2024, 1, 15) and when.is_date and when.number_format == "yyyy-mm-dd"
    money = ws[doc.cells["/budget/total/executed"].cell]
    assert money.value == pytest.approx(8724.9) and money.number_format == "#,##0.00"
    assert ws[doc.cells["/budget/total/initial"].cell].value == pytest.approx(8593.655)
    assert ws[doc.cells["/identity/year"].cell].value == 2023


@pytest.mark.parametrize(
    ("pointer", "text"),
    [("/goals/annual_goal", '=HYPERLINK("http://x","y")'), ("/indicators/0/level3", "+cmd")],
)
def test_user_text_stays_text(filled: openpyxl.Workbook, pointer: str, text: str) -> None:
    ref = _doc().cells[pointer]
    cell = filled[ref.sheet][ref.cell]
    assert cell.value == text
    assert cell.data_type == "s"


def test_outputs_written(filled: openpyxl.Workbook) -> None:
    ws = filled[layout.BUDGET_SHEET.name]
    grid = layout.BUDGET_SHEET.find("budget")
    rate = ws.cell(*layout.grid_cell(grid, "total", "rate"))
    assert rate.value == pytest.approx(0.8828) and rate.number_format == "0.00%"
    assert ws.cell(*layout.grid_cell(grid, "total", "score")).value == pytest.approx(8.83)
    assert ws.cell(*layout.grid_cell(grid, "total", "weight")).value == 10
    ind = layout.INDICATOR_SHEET.find("indicators")
    iws = filled[layout.INDICATOR_SHEET.name]
    col = layout.table_col(ind, "score")
    # indicator 0 was read one row lower: its score follows its row, not the layout's first row
    assert iws.cell(layout.table_row(ind, 1), col).value == pytest.approx(12.5)
    assert iws.cell(layout.table_row(ind, 0), col).value is None
    # no cell known for indicator 4: the layout's row
    assert iws.cell(layout.table_row(ind, 4), col).value == 3
    assert iws.cell(layout.table_row(ind, 1), col).protection.locked


def test_marks_fill_and_comment(filled: openpyxl.Workbook) -> None:
    ws = filled[layout.BUDGET_SHEET.name]
    mark = ws["B4"]
    assert mark.comment is not None
    # E4 lies inside the merged B4:G4, so its message joins B4's
    assert mark.comment.text.splitlines() == [
        "单位名称与区划代码不一致。",
        "请核对。",
        "合并区域内的单元格。",
    ]
    assert mark.fill.fgColor.rgb == "FFF8CBAD"
    assert mark.value == "宋营镇人民政府"
    assert "B4:G4" in {str(r) for r in ws.merged_cells.ranges}
    iws = filled[layout.INDICATOR_SHEET.name]
    assert iws["J5"].comment.text == "分值合计应为90分。"
    assert iws["J5"].number_format == "0.00"  # keeps its format
    assert iws["J6"].comment is None
    assert ws["E4"].comment is None
    assert filled["评分结果"]["A1"].comment is None


def test_matrix_formula_caches_the_indicator_name(filled_bytes: bytes) -> None:
    p = layout.PANEL_SHEET.find("panel_scores")
    cached = openpyxl.load_workbook(io.BytesIO(filled_bytes), data_only=True)[layout.PANEL_SHEET.name]
    formulas = openpyxl.load_workbook(io.BytesIO(filled_bytes))[layout.PANEL_SHEET.name]
    row = layout.matrix_cell(p, 1, 0)[0]  # the sheet row where the doc's indicator 0 was read
    assert formulas.cell(row, 2).data_type == "f"
    assert cached.cell(row, 2).value == "+cmd"
    assert cached.cell(row - 1, 2).value in (None, "")


def test_unknown_positions_are_skipped_not_fatal() -> None:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf)
    write_standard(
        wb,
        year=2023,
        grades=GRADES,
        outputs={"/budget/nosuchrow/score": 1, "/indicators/0/nosuchcol": 2, "/nosuch/x": 3},
        marks={("预算执行", "not a cell"): ["x"], ("预算执行", "A0"): ["y"], ("预算执行", "Z99"): ["z"]},
    )
    wb.close()
    ws = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))[layout.BUDGET_SHEET.name]
    assert ws["Z99"].comment.text == "z"  # a real cell outside the layout can still be marked
    assert sum(c.comment is not None for row in ws.iter_rows() for c in row) == 1


def test_reader_reads_the_template_and_a_rewritten_document_unchanged() -> None:
    import sampledata
    from openpyxl_fill import filled_bytes

    from selfeval_xlsx.reader import read_workbook

    blank = io.BytesIO()
    write_template(blank, 2023)
    assert read_workbook(blank.getvalue(), name="blank.xlsx").findings == []
    doc = read_workbook(filled_bytes(sampledata.seed(), year=2023), name="seed.xlsx")
    assert doc.findings == []
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf)
    write_standard(wb, year=2023, grades=GRADES, doc=doc)
    wb.close()
    again = read_workbook(buf.getvalue(), name="again.xlsx")
    assert again.findings == []
    assert again.data == doc.data
    assert again.cells == doc.cells


def test_unprotected_when_asked() -> None:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf)
    write_standard(wb, year=None, grades=GRADES, protect=False)
    wb.close()
    out = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    assert not any(ws.protection.sheet for ws in out.worksheets)


# --- LibreOffice --------------------------------------------------------------------------------------


@needs_soffice
@pytest.mark.slow
def test_libreoffice_renders_the_template(template_path: Path, tmp_path: Path) -> None:
    soffice_convert(template_path, tmp_path)
    pdf = tmp_path / template_path.with_suffix(".pdf").name
    assert pdf.exists()
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000
