"""The 填表说明 sheet is the data file ``selfeval_xlsx/data/guide.json`` with its placeholders filled in."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import selfeval_xlsx
from selfeval_xlsx import layout
from selfeval_xlsx.cli import cli
from selfeval_xlsx.version import TEMPLATE_VERSION, __version__

GUIDE = json.loads((Path(selfeval_xlsx.__file__).parent / "data" / "guide.json").read_text(encoding="utf-8"))
PROFILES = ("default", "mof-2020", "budget-20")


def _guide_sheet(tmp_path: Path, profile: str) -> dict[str, str]:
    target = tmp_path / f"{profile}.xlsx"
    result = CliRunner().invoke(cli, ["template", "-o", str(target), "--rules", profile])
    assert result.exit_code == 0, result.output
    ws = load_workbook(target)[layout.WORKBOOK.sheets[0].name]
    assert ws.title == "填表说明"
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def _pattern(text: str) -> re.Pattern[str]:
    """The data file's text with each ``{placeholder}`` standing for some text."""
    pieces = re.split(r"\{[a-z_]+\}", text)
    return re.compile(".+?".join(re.escape(p) for p in pieces), re.S)


@pytest.mark.parametrize("profile", PROFILES)
def test_the_guide_sheet_says_what_the_data_file_says(tmp_path: Path, profile: str) -> None:
    cells = _guide_sheet(tmp_path, profile)
    header = next(
        int(k[1:]) for k, v in cells.items() if k.startswith("A") and v == GUIDE["columns"][0]["title"]
    )
    column_a = [cells[f"A{r}"] for r in range(3, header) if f"A{r}" in cells]
    paragraphs = GUIDE["paragraphs"]
    assert len(column_a) == len(paragraphs)
    for shown, p in zip(column_a, paragraphs, strict=True):
        assert _pattern(p["text"]).fullmatch(shown), (shown, p["text"])
        assert "{" not in shown
    assert [cells[f"{c}{header}"] for c in "ABCD"] == [c["title"] for c in GUIDE["columns"]]
    needs = {cells.get(f"C{r}") for r in range(header + 1, header + 200)} - {None}
    rows = GUIDE["rows"]
    assert needs <= {rows[k] for k in ("output_need", "required", "conditional", "optional", "by_panel_mode")}
    assert rows["output_help"] in cells.values()


def test_the_guide_fills_in_the_profile_grades_weights_and_version(tmp_path: Path) -> None:
    """A regression snapshot of a few cells written before the text moved into the data file."""
    default, mof, budget = (_guide_sheet(tmp_path, p) for p in PROFILES)
    assert default["A9"] == "二、「预算执行」"
    assert default["A12"].startswith(
        "填写年度总体目标和实际完成情况、自评总分和自评等级（优秀、良好、一般、较差），"
    )
    assert mof["A12"].startswith("填写年度总体目标和实际完成情况、自评总分和自评等级（优、良、中、差），")
    assert default["A11"].endswith("分值、执行率和得分由工具计算（预算执行10分，按“合计”行计分）。")
    assert budget["A11"].endswith("分值、执行率和得分由工具计算（预算执行20分，按“合计”行计分）。")
    assert budget["A17"] == (
        "分值：预算执行20分，绩效指标80分（产出指标50分、效益指标20分、满意度指标10分），合计100分。"
        "每个一级指标至少填写一个指标，各一级指标下的分值合计须符合上述规定。未得满分的指标必须填写偏差原因分析及改进措施。"
        "核定得分由工具计算。"
    )
    assert default["A21"].endswith(
        "定性指标按评价小组的评分计分，定量指标按公式计分。评分方式三选一（按填写的内容自动识别）："
    )
    assert (
        default["A28"]
        == f"模板版本：v{TEMPLATE_VERSION}（selfeval-xlsx {__version__}）。请使用县财政局下发的最新模板。"
    )
    assert (default["B40"], default["C40"], default["D40"]) == (
        "联系电话",
        "必填",
        "手机或座机，如13800000000或0311-12345678。",
    )


def test_the_panel_rule_follows_the_profile_panel_mode() -> None:
    from selfeval_xlsx.rules import load_rules
    from selfeval_xlsx.template import ProfileText, guide_text

    words = ProfileText.of(load_rules())
    for mode, rule in GUIDE["panel_rules"].items():
        texts = [t for _, t in guide_text(("优",), ProfileText(**{**words.__dict__, "panel_mode": mode}))]
        assert sum(t.endswith(rule) for t in texts) == 1, mode
    unscored = ProfileText(**{**words.__dict__, "budget": "0"})
    assert any(GUIDE["budget_unscored"] in t for _, t in guide_text(("优",), unscored))
