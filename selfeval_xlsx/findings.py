"""Findings: problems and remarks about a submitted file, as values (never exceptions).

Modelled on frictionless-py's errors: each finding has a stable ``code`` (a slug that other systems may
depend on), a severity, a position (file, sheet, cell) and a Chinese message written for a township clerk
that says what to change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .jsoncodec import dumps, plain
from .xlsx.cells import cell_sort_key

Severity = Literal["error", "warning", "info"]

#: How each severity is named to a clerk, in this order (errors, the rejections, first).
SEVERITY_LABELS: dict[str, str] = {"error": "错误", "warning": "警告", "info": "提示"}

#: Every finding code, its default severity and a short Chinese title (used in roll-ups and docs).
CODES: dict[str, tuple[Severity, str]] = {
    # --- the file as a whole -------------------------------------------------------------------
    "not-a-workbook": ("error", "不是Excel工作簿"),
    "unsupported-format": ("error", "文件格式不受支持"),
    "encrypted-workbook": ("error", "工作簿设有打开密码"),
    "default-password": ("info", "工作簿以默认密码加密，已自动解密"),
    "corrupt-workbook": ("error", "工作簿已损坏"),
    "internal-error": ("error", "本工具内部错误（非文件问题）"),
    "too-large": ("error", "文件超出处理上限"),
    "file-changed": ("error", "文件在处理过程中被修改"),
    "unknown-template": ("error", "不是标准模板"),
    "template-version": ("error", "模板版本不符"),
    "missing-sheet": ("error", "缺少工作表"),
    "macro-ignored": ("warning", "宏已忽略"),
    # --- cells ---------------------------------------------------------------------------------
    "missing-value": ("error", "必填项为空"),
    "type-error": ("error", "数据类型错误"),
    "out-of-range": ("error", "数值超出范围"),
    "invalid-choice": ("error", "不在可选范围内"),
    "invalid-format": ("error", "格式不正确"),
    "too-long": ("error", "内容过长"),
    "formula-not-allowed": ("error", "填报单元格含公式"),
    "formula-recomputed": ("warning", "公式已重新计算"),
    "cell-error": ("error", "单元格错误值"),
    "merged-input": ("warning", "填报单元格被合并"),
    "value-normalised": ("warning", "数值已自动规范"),
    "percent-format": ("error", "不应使用百分比格式"),
    "extra-data": ("warning", "模板外的内容未读取"),
    "too-many-rows": ("error", "行数超出上限"),
    # --- cross-field rules -----------------------------------------------------------------------
    "invalid-code": ("error", "单位代码无效"),
    "code-mismatch": ("warning", "代码与名称不一致"),
    "sum-mismatch": ("error", "分项与合计不符"),
    "weights-total": ("error", "指标分值合计不符"),
    "duplicate-seq": ("error", "序号重复"),
    "category-mismatch": ("error", "指标层级不匹配"),
    "nature-mismatch": ("error", "指标性质与填写内容不符"),
    "invalid-target": ("error", "年度指标值无法比较"),
    "panel-missing-score": ("error", "评价小组打分缺失"),
    "panel-unknown-member": ("error", "打分人不在成员名单"),
    "panel-unknown-indicator": ("error", "打分对应的指标不存在"),
    "panel-mode": ("warning", "未经评价小组评分"),
    "panel-ignored": ("warning", "评价小组打分未采用"),
    "category-weights": ("warning", "一级指标分值不符"),
    "weights-derived": ("warning", "分值由工具推算"),
    "year-mismatch": ("warning", "评价年度不符"),
    # --- audit (scoring) -----------------------------------------------------------------------
    "self-score-differs": ("warning", "自评总分与核定不符"),
    "self-grade-differs": ("warning", "自评等级与核定不符"),
    "indicator-self-score-differs": ("warning", "指标自评得分与核定不符"),
    "execution-over-100": ("warning", "预算执行率超过100%"),
    "budget-lowered": ("warning", "全年预算数调减至与执行数持平"),
    "missing-deviation-reason": ("warning", "扣分未说明偏差原因"),
    "vague-indicator": ("warning", "指标未量化"),
    "vague-target": ("warning", "指标值表述模糊"),
    "qualitative-heavy": ("warning", "定性指标分值占比过高"),
    "actual-copied-target": ("warning", "实际完成值照抄指标值"),
    "category-empty": ("warning", "指标类别缺失"),
    "band-mismatch": ("warning", "得分与完成等级不符"),
    "panel-outlier": ("warning", "评分明显偏离"),
    "panel-too-small": ("warning", "评价小组人数不足"),
    "no-problems-stated": ("warning", "未如实填写存在的问题"),
    "deduction-without-shortfall": ("warning", "目标已完成仍扣分"),
    "budget-raised": ("warning", "全年预算数调增至与执行数持平"),
    "actual-equals-target": ("warning", "实际完成值均与指标值相同"),
    "generic-completion": ("warning", "实际完成值表述笼统"),
    "template-text-left": ("warning", "填写提示未删除"),
    "execution-scored-twice": ("warning", "预算执行重复计分"),
    "cost-differs-from-budget": ("warning", "成本指标与预算执行数不一致"),
    "goal-not-reported": ("warning", "年度目标无对应完成情况"),
    # --- merge ---------------------------------------------------------------------------------
    "superseded": ("info", "已被更新的报送替代"),
    "skipped": ("info", "已跳过"),
    "unsafe-name": ("warning", "文件名已规范"),
    "unreadable-file": ("error", "文件或文件夹无法读取"),
    "too-deep": ("error", "文件夹层级过深"),
    "future-date": ("warning", "日期晚于收到日期"),
    "resubmission-tie": ("warning", "同时收到的报送按文件名取舍"),
    "tool-output": ("warning", "本工具生成的文件"),
    # --- roll-ups merged as a unit (a county's roll-up in the city's inbox) ----------------------
    "rollup-corrupt": ("error", "汇总表数据已损坏或被改动"),
    "rollup-invalid": ("error", "汇总表无法核对"),
    "rollup-figure-mismatch": ("error", "汇总表数字与计算不符"),
    "rollup-sheet-mismatch": ("error", "汇总表显示内容与数据不符"),
    "rollup-duplicate-unit": ("error", "单位重复汇总"),
    "rollup-unsigned": ("error", "汇总表未签名"),
    "rollup-untrusted-key": ("error", "汇总表签名密钥不受信任"),
    "rollup-key-area": ("error", "签名密钥与地区不符"),
    "rollup-bad-signature": ("error", "汇总表签名与数据不符"),
    "rollup-unverified": ("warning", "汇总表来源未经验证"),
    # --- the collection round: roster, ledger, last year (issue 17) ---------------------------------
    "roster-unreadable": ("error", "名单无法读取"),
    "roster-duplicate": ("error", "名单中单位重复"),
    "roster-bad-code": ("error", "名单中单位代码无效"),
    "roster-unknown-county": ("error", "名单中区划代码无效"),
    "roster-other-county": ("warning", "名单中有外县单位"),
    "roster-no-name": ("error", "名单中单位名称为空"),
    "roster-no-code": ("warning", "名单中未填单位代码"),
    "roster-bad-email": ("warning", "名单中邮箱格式不正确"),
    "roster-empty": ("error", "名单中没有单位"),
    "not-on-roster": ("warning", "报送单位不在名单中"),
    "ledger-unreadable": ("error", "预算执行台账无法读取"),
    "ledger-unit": ("error", "台账金额单位不明"),
    "ledger-duplicate": ("error", "台账中单位重复"),
    "ledger-bad-number": ("error", "台账金额不是数字"),
    "ledger-no-unit": ("error", "台账行没有单位"),
    "ledger-mismatch": ("warning", "报送数与预算执行台账不符"),
    "ledger-missing": ("warning", "台账中没有该单位"),
    "ledger-not-submitted": ("info", "台账单位未报送"),
    "previous-unreadable": ("error", "上年汇总无法读取"),
    "copied-from-last-year": ("warning", "指标照抄上年"),
    "recurring-problem": ("warning", "上年问题再次出现"),
}


@dataclass(frozen=True)
class Finding:
    """One problem or remark, at a position in a file.

    ``cell`` is an A1 reference (or a range like ``J4:J9``); ``field`` is the JSON pointer of the value
    in the document, when the finding concerns a value.
    """

    code: str
    message: str
    severity: Severity = "error"
    file: str | None = None
    sheet: str | None = None
    cell: str | None = None
    field: str | None = None
    value: Any = None

    @property
    def title(self) -> str:
        """Short Chinese title of this finding's code."""
        return CODES.get(self.code, ("error", self.code))[1]

    @property
    def where(self) -> str:
        """Human position: ``预算执行!B5`` or just the sheet, or ''."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet or ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (values are stringified where JSON has no type for them)."""
        out = asdict(self)
        out["value"] = plain(self.value)
        out["title"] = self.title
        return out


def make(code: str, message: str, **where: Any) -> Finding:
    """Create a finding with the code's default severity (overridable with ``severity=``)."""
    severity = where.pop("severity", None) or CODES[code][0]
    return Finding(code=code, message=message, severity=severity, **where)


@dataclass
class Report:
    """Findings about one file, plus what was learnt from it."""

    file: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def valid(self) -> bool:
        """True when no finding is an error."""
        return not self.errors

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def flatten(self, keys: Iterable[str] = ("code", "sheet", "cell")) -> list[tuple[Any, ...]]:
        """Findings as tuples of the given attributes, handy in tests."""
        keys = list(keys)
        return [tuple(getattr(f, k) for k in keys) for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "valid": self.valid,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_json(self) -> str:
        return dumps(self.to_dict())


def sort_key(f: Finding) -> tuple[int, str, int, str, str]:
    """Stable order: errors first, then by sheet, row, column."""

    rank = {"error": 0, "warning": 1, "info": 2}[f.severity]
    row, col = cell_sort_key(f.cell)
    return (rank, f.sheet or "", row, col, f.code)
