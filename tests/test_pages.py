"""The printed pages (issue 16): sheet order, print areas, merged long texts, widths, page counts.

Every page a clerk prints reads as a finished document: the signed 评分结果 and the 退回说明 come first,
long texts sit in merged ranges wide enough to read, print areas end at the last filled row, and
LibreOffice prints no blank pages.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from conftest import needs_soffice, soffice_convert
from openpyxl import load_workbook
from workbooks import seed_bytes, set_value

from selfeval_xlsx import api, layout
from selfeval_xlsx.completed import DETAIL_SHEET, RESULT_SHEET, RETURN_SHEET, write_returned
from selfeval_xlsx.pipeline import score_workbook
from selfeval_xlsx.template import BLANK_PRINT_ROWS, for_year, write_template

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "inbox"
STANDARD = [s.name for s in layout.WORKBOOK.sheets]


def _completed(tmp_path: Path) -> Path:
    target = tmp_path / "done.xlsx"
    api.write_completed(target, api.score_workbook(seed_bytes()))
    return target


def _returned(tmp_path: Path, source: Path | bytes, name: str = "r.xlsx") -> Path:
    scored = score_workbook(source, name=name if isinstance(source, bytes) else None)
    assert not scored.valid and scored.doc.data
    target = tmp_path / name
    write_returned(target, scored.doc, scored.report)
    return target


def _pages(pdf: Path) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[1] for line in out.splitlines() if line.startswith("Pages:")))


def _blank_pages(pdf: Path) -> list[int]:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    # a page holding only its footer (第 n 页，共 m 页) is a blank page
    return [
        i
        for i, page in enumerate(text.split("\f")[:-1], 1)
        if not page.replace("页", "").strip(" \n第共，0123456789")
    ]


def _indicator_rows(wb) -> int:  # type: ignore[no-untyped-def]
    p = layout.INDICATOR_SHEET.find("indicators")
    return layout.table_row(p, 0)


# --- sheet order and the one-page forms ------------------------------------------------------------------


def test_completed_prints_the_result_form_first_and_the_detail_last(tmp_path: Path) -> None:
    wb = load_workbook(_completed(tmp_path))
    assert wb.sheetnames == [RESULT_SHEET, *STANDARD, layout.META_SHEET_NAME, DETAIL_SHEET]
    assert wb.active.title == RESULT_SHEET
    ws = wb[RESULT_SHEET]
    assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "portrait"
    assert ws.sheet_properties.pageSetUpPr.fitToPage  # fit to one page (1 × 1, the defaults)
    assert (ws.page_setup.fitToHeight or 1) == 1 and (ws.page_setup.fitToWidth or 1) == 1
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    for needed in (
        "单位名称",
        "评价年度",
        "总分",
        "自评总分",
        "自评等级",
        "评价组组长（签字）：",
        "单位负责人（签字）：",
        "日期：",
    ):
        assert needed in texts, needed
    assert any(t.startswith("差异（自评−核定）") for t in texts)
    # the title is one merged range across the form, not a clipped cell
    assert any(str(r).startswith("A1:") for r in ws.merged_cells.ranges)


def test_locations_are_shown_in_full(tmp_path: Path) -> None:
    """位置 once showed 绩效指标!F1 for F10 (a 9-character column clipped the text): a merged span now."""
    data = seed_bytes(set_value("/self_assessment/total", 80))
    target = tmp_path / "done.xlsx"
    api.write_completed(target, api.score_workbook(data))
    wb = load_workbook(target)
    for name in (RESULT_SHEET, DETAIL_SHEET):
        ws = wb[name]
        links = [c for row in ws.iter_rows() for c in row if c.hyperlink]
        assert links, name
        for cell in links:
            span = next((r for r in ws.merged_cells.ranges if cell.coordinate in r), None)
            cols = range(span.min_col, span.max_col + 1) if span else [cell.column]
            from openpyxl.utils import get_column_letter

            width = sum(ws.column_dimensions[get_column_letter(c)].width for c in cols)
            assert width >= 2 + len(str(cell.value)) * 1.1, (name, cell.value, width)


def test_returned_copy_starts_with_a_readable_notice(tmp_path: Path) -> None:
    wb = load_workbook(_returned(tmp_path, seed_bytes(set_value("/budget/total/executed", "约8700万"))))
    assert wb.sheetnames[0] == RETURN_SHEET and wb.active.title == RETURN_SHEET
    ws = wb[RETURN_SHEET]
    assert ws.page_setup.paperSize == 9 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToHeight == 0  # one page wide, as many long as the findings need
    instruction = next(
        c for row in ws.iter_rows() for c in row if str(c.value or "").startswith("已将您填报的内容")
    )
    span = next(r for r in ws.merged_cells.ranges if instruction.coordinate in r)
    assert span.max_col - span.min_col + 1 == ws.max_column  # across the whole form
    assert ws.row_dimensions[instruction.row].height >= 30  # two lines of text get two lines
    # no empty column splits the table: every column of the findings table has a header
    header = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "序号")
    merged = {
        (c, header)
        for rng in ws.merged_cells.ranges
        for c in range(rng.min_col, rng.max_col + 1)
        if rng.min_row == header
    }
    assert all(ws.cell(header, c).value or (c, header) in merged for c in range(1, ws.max_column + 1))


def test_missing_sheet_is_said_to_be_rebuilt(tmp_path: Path) -> None:
    wb = load_workbook(_returned(tmp_path, SAMPLES / "错误样例-缺少绩效指标表.xlsx"))
    texts = [str(c.value) for row in wb[RETURN_SHEET].iter_rows() for c in row if c.value]
    assert any("已按模板补上空白的" in t and "请在其中填写" in t for t in texts)
    assert not any(
        t[-len("请勿删除或重命名模板中的工作表。") :] == "请勿删除或重命名模板中的工作表。" and "找不到" in t
        for t in texts
    )
    assert "绩效指标" in wb.sheetnames


def test_old_template_version_gets_a_returned_copy(tmp_path: Path) -> None:
    wb = load_workbook(_returned(tmp_path, SAMPLES / "错误样例-旧版模板.xlsx"))
    texts = [str(c.value) for row in wb[RETURN_SHEET].iter_rows() for c in row if c.value]
    assert any("旧版模板" in t and "重新填写" in t for t in texts)
    sheet, ref = layout.cell_of("/identity/unit_name")
    assert wb[sheet][ref].value == "北河乡人民政府"  # what maps is carried over


def test_a_range_finding_colours_the_whole_range(tmp_path: Path) -> None:
    path = _returned(tmp_path, SAMPLES / "错误样例-分值合计不符.xlsx")
    scored = score_workbook(SAMPLES / "错误样例-分值合计不符.xlsx")
    ranged = next(f for f in scored.report.findings if f.cell and ":" in f.cell and f.severity == "error")
    ws = load_workbook(path)[ranged.sheet]
    cells = [c for row in ws[ranged.cell] for c in row]
    assert len(cells) > 1 and all(c.fill.fgColor.rgb.endswith("F8CBAD") for c in cells)


# --- print areas -----------------------------------------------------------------------------------------


def test_print_areas_end_at_the_last_filled_row(tmp_path: Path) -> None:
    wb = load_workbook(_completed(tmp_path))
    n = len([i for i in api.score_workbook(seed_bytes()).submission.indicators])  # type: ignore[union-attr]
    p = layout.INDICATOR_SHEET.find("indicators")
    assert wb[layout.INDICATOR_SHEET.name].print_area.endswith(f"${layout.table_row(p, n - 1)}")
    m = layout.PANEL_SHEET.find("panel_scores")
    assert wb[layout.PANEL_SHEET.name].print_area.endswith(f"${layout.table_row(m, n - 1)}")


def test_blank_template_prints_a_sensible_number_of_rows(tmp_path: Path) -> None:
    buf = io.BytesIO()
    write_template(buf, year=2024)
    wb = load_workbook(io.BytesIO(buf.getvalue()))
    p = layout.INDICATOR_SHEET.find("indicators")
    assert wb[layout.INDICATOR_SHEET.name].print_area.endswith(
        f"${layout.table_row(p, BLANK_PRINT_ROWS - 1)}"
    )


# --- the template's words ---------------------------------------------------------------------------------


def test_template_marks_required_fields_and_names_its_year(tmp_path: Path) -> None:
    buf = io.BytesIO()
    write_template(buf, year=2024)
    wb = load_workbook(io.BytesIO(buf.getvalue()))
    sheet, ref = layout.cell_of("/identity/unit_name")
    label = wb[sheet].cell(wb[sheet][ref].row, wb[sheet][ref].column - 1).value
    assert label == "单位名称*"
    guide = " ".join(str(c.value) for row in wb["填表说明"].iter_rows() for c in row if c.value)
    assert "宋营镇2024年度自评表.xlsx" in guide and "2023年度自评表" not in guide
    assert "如2024" in guide and "如2023" not in guide
    assert wb[layout.PANEL_SHEET.name]["A1"].value.endswith(layout.PANEL_SHEET.name)  # title and tab agree
    assert for_year("如2023。", None) == "如2023。"


# --- what LibreOffice prints ------------------------------------------------------------------------------


@needs_soffice
@pytest.mark.slow
def test_page_counts_and_no_blank_pages(tmp_path: Path) -> None:
    done = _completed(tmp_path)
    returned = _returned(tmp_path, seed_bytes(set_value("/budget/total/executed", "约8700万")))
    blank = tmp_path / "t.xlsx"
    write_template(blank, year=2024)
    for path, most in ((done, 7), (returned, 6), (blank, 5)):  # were 8, 8 and 5 (empty rows printed)
        pdf = soffice_convert(path, tmp_path)
        assert _pages(pdf) <= most, (path.name, _pages(pdf))
        assert _blank_pages(pdf) == [], path.name
    # the 评分结果 form is one page, the first one
    text = subprocess.run(
        ["pdftotext", "-l", "1", str(tmp_path / "done.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "评分结果" in text and "单位负责人（签字）" in text
