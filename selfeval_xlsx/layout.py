"""The one declarative description of the standard workbook.

Every sheet, block, field, cell position, type, unit, allowed value, required-ness and help text lives
here. The template writer, the reader, the JSON Schema, the cell references in findings and the
write-back of computed figures are all derived from this module; none of them restates a cell address.

Positions are computed, not typed: a sheet is a sequence of blocks and :func:`Sheet.placements` lays
them out top to bottom. The JSON pointer of every value in the document follows from the block keys:

- ``Form``   → ``/<form>/<field>``                 (label in column A, value in column B)
- ``Grid``   → ``/<grid>/<row>/<column>``          (the budget table)
- ``Table``  → ``/<table>/<index>/<column>``       (one row per indicator / member)
- ``Matrix`` → ``/<matrix>/<index>``               (``{"row": seq, "column": seq, "value": …}``)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from functools import cached_property, lru_cache

from .version import TEMPLATE_VERSION
from .xlsx.cells import a1


class FieldType(StrEnum):
    """Value types of input cells."""

    TEXT = "text"  # a short line of text
    LONGTEXT = "longtext"  # a paragraph
    CODE = "code"  # a string of digits (kept as text: leading zeros matter)
    YEAR = "year"
    DATE = "date"  # ISO date string in the document
    PHONE = "phone"
    MONEY = "money"  # Decimal, 万元
    SCORE = "score"  # Decimal, points
    INT = "int"
    CHOICE = "choice"  # text from a closed list
    NUMTEXT = "numtext"  # a number where one applies, otherwise text (indicator values)


NUMERIC_TYPES = frozenset({FieldType.MONEY, FieldType.SCORE, FieldType.INT, FieldType.YEAR})


@dataclass(frozen=True)
class Field:
    """One value the township fills in (or the tool writes, when ``output``)."""

    key: str
    label: str
    type: FieldType = FieldType.TEXT
    required: bool = False
    help: str = ""
    unit: str = ""
    choices: tuple[str, ...] = ()
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    max_length: int | None = None
    pattern: str | None = None
    width: float = 12
    output: bool = False  # computed by the tool; locked in the template, filled in completed workbooks
    depends_on: str | None = None  # for CHOICE: the key of the field whose value names the list
    default: str | None = None  # written into the blank template; a blank cell reads as this value
    required_when: tuple[str, str] | None = None  # (field key, value): required when that field has it


@dataclass(frozen=True)
class Section:
    """A heading row."""

    title: str


@dataclass(frozen=True)
class Note:
    """A row of guidance text."""

    text: str


@dataclass(frozen=True)
class Form:
    """Label/value pairs, one per row: the label in column A, the value in column B (merged across)."""

    key: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Grid:
    """A fixed table: named rows × input columns, plus tool-written columns on the total row."""

    key: str
    row_header: str
    rows: tuple[tuple[str, str], ...]  # (key, label)
    columns: tuple[Field, ...]
    outputs: tuple[Field, ...] = ()
    total_row: str = "total"
    required_rows: tuple[str, ...] = ("total",)
    #: Groups of rows that each add up to the total row when any of them is filled: (what the rows
    #: are, e.g. "各资金来源", their keys). Empty: every other row is one group.
    parts: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: Output columns shown on rows other than the total row: (row key, output keys).
    row_outputs: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @cached_property
    def groups(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The groups of rows that add up to the total row."""
        if self.parts:
            return self.parts
        return (("各分项", tuple(k for k, _ in self.rows if k != self.total_row)),)

    def outputs_of(self, row_key: str) -> tuple[str, ...]:
        """Keys of the output columns a row shows (all of them on the total row)."""
        if row_key == self.total_row:
            return tuple(f.key for f in self.outputs)
        return dict(self.row_outputs).get(row_key, ())


@dataclass(frozen=True)
class Table:
    """A list of records, one per row, with a pre-filled 序号 in the first column."""

    key: str
    columns: tuple[Field, ...]
    rows: int
    min_rows: int = 1  # rows that must be filled (0: the table may be left empty)

    @cached_property
    def inputs(self) -> tuple[Field, ...]:
        """Columns the township fills (not the pre-filled 序号, not tool outputs)."""
        return tuple(c for c in self.columns if not c.output and c.key != "seq")

    @cached_property
    def column_of(self) -> dict[str, int]:
        """1-based sheet column of each column key."""
        return {c.key: 1 + i for i, c in enumerate(self.columns)}


@dataclass(frozen=True)
class Matrix:
    """A score matrix: rows are a table's 序号 (indicators), columns another's (panel members)."""

    key: str
    row_header: str
    row_ref_header: str
    rows: int
    columns: int
    column_label: str  # format with {n}
    value: Field
    row_table: str  # key of the table whose seq the rows refer to
    #: An optional column right of the member columns: one score per row agreed by the whole panel
    #: (``/<agreed_key>/<index>`` → ``{"row": seq, "value": …}``).
    agreed: Field | None = None
    agreed_key: str = ""

    @property
    def width(self) -> int:
        """Value columns: the members' and the agreed column."""
        return self.columns + (1 if self.agreed else 0)


Block = Section | Note | Form | Grid | Table | Matrix


@dataclass(frozen=True)
class Placement:
    """Where a block sits: its first row (header or first field) on the sheet."""

    block: Block
    row: int


@dataclass(frozen=True)
class Sheet:
    """A worksheet: name, title row and blocks, laid out from row 3 downwards."""

    key: str
    name: str
    title: str
    blocks: tuple[Block, ...]
    widths: tuple[float, ...] = ()
    landscape: bool = False
    freeze_header_of: str | None = None  # key of the table whose header row stays visible

    @cached_property
    def placements(self) -> tuple[Placement, ...]:
        """Each block with its first row; a blank row separates a Section from the block before it."""
        out: list[Placement] = []
        row = 3
        for i, block in enumerate(self.blocks):
            if isinstance(block, Section) and i:
                row += 1
            out.append(Placement(block, row))
            row += _height(block)
        return tuple(out)

    @property
    def last_col(self) -> int:
        return max(len(self.widths), 2)

    def find(self, key: str) -> Placement:
        """The placement of the block with this key."""
        for p in self.placements:
            if getattr(p.block, "key", None) == key:
                return p
        raise KeyError(key)


def _height(block: Block) -> int:
    if isinstance(block, Section | Note):
        return 1
    if isinstance(block, Form):
        return len(block.fields)
    if isinstance(block, Grid):
        return 1 + len(block.rows)
    return 1 + block.rows  # Table and Matrix: header + rows


# --- positions within blocks (the only place that turns a block into cell addresses) ---------------


def form_cell(p: Placement, key: str) -> tuple[int, int]:
    """(row, col) of a Form field's value cell."""
    assert isinstance(p.block, Form)
    for i, f in enumerate(p.block.fields):
        if f.key == key:
            return p.row + i, 2
    raise KeyError(key)


def grid_cell(p: Placement, row_key: str, col_key: str) -> tuple[int, int]:
    """(row, col) of a Grid cell; column keys include the output columns."""
    g = p.block
    assert isinstance(g, Grid)
    rows = [k for k, _ in g.rows]
    cols = [c.key for c in (*g.columns, *g.outputs)]
    return p.row + 1 + rows.index(row_key), 2 + cols.index(col_key)


def table_row(p: Placement, index: int) -> int:
    """Sheet row of a Table/Matrix data row (0-based index)."""
    return p.row + 1 + index


def table_col(p: Placement, key: str) -> int:
    """Sheet column of a Table column."""
    t = p.block
    assert isinstance(t, Table)
    try:
        return t.column_of[key]
    except KeyError:
        raise ValueError(f"{key!r} is not a column of {t.key!r}") from None


def matrix_cell(p: Placement, row_index: int, col_index: int) -> tuple[int, int]:
    """(row, col) of a Matrix value (0-based indexes); columns A and B hold 序号 and its label."""
    return p.row + 1 + row_index, 3 + col_index


def agreed_cell(p: Placement, row_index: int) -> tuple[int, int]:
    """(row, col) of a Matrix's agreed score (the column right of the member columns)."""
    m = p.block
    assert isinstance(m, Matrix) and m.agreed is not None
    return matrix_cell(p, row_index, m.columns)


# --- the standard workbook ------------------------------------------------------------------------

D = Decimal

LEVELS: dict[str, tuple[str, ...]] = {
    "产出指标": ("数量指标", "质量指标", "时效指标", "成本指标"),
    "效益指标": ("经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标"),
    "满意度指标": ("服务对象满意度指标",),
}
NATURES = ("≥", "≤", "=", "定性")
COMPLETION = ("达成", "部分达成", "未达成")
FUNDING = (("current", "当年财政拨款"), ("carryover", "上年结转"), ("other", "其他资金"), ("total", "合计"))
#: The optional split of the total by economic nature (基本支出 + 项目支出 = 合计), below the total row.
SPENDING = (("basic", "其中：基本支出"), ("project", "其中：项目支出"))
#: 评价类型: the unit as a whole (整体) or one project (项目, named in 项目名称).
KINDS = ("整体", "项目")
DEFAULT_KIND = KINDS[0]
#: 统一社会信用代码 (GB 32100-2015): its characters, and the pattern of the whole code.
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Identity codes of which exactly one is needed: a township's division code, else the unit's credit code.
UNIT_CODES = ("division_code", "credit_code")
CREDIT_PATTERN = r"^[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}$"
INDICATOR_ROWS = 50
PANEL_ROWS = 9


def _money(key: str, label: str, help: str) -> Field:
    """An amount in 万元 (a budget column)."""
    return Field(
        key, label, FieldType.MONEY, help=help, unit="万元", minimum=D(0), maximum=D("100000000"), width=16
    )


#: Sane ranges of the values scoring divides and multiplies (SECURITY.md, "Values"): an indicator value
#: is at most 10^12 in magnitude (a schema bound: ``out-of-range`` at the cell); a target other than 0
#: is at least 10^-6 in magnitude, and the total row's adjusted budget (the execution rate's divisor),
#: when not 0, at least 0.01 万元 (cross-field checks in ``validate``). Within them every ratio scoring
#: forms stays below 10^19 and no figure ever needs more digits than its Decimal context holds.
INDICATOR_VALUE_LIMIT = D(10**12)
MIN_TARGET = D("0.000001")
MIN_ADJUSTED = D("0.01")

_UNIT_NAME = Field(
    "unit_name", "单位名称", FieldType.TEXT, True, "填写单位全称，如“宋营镇人民政府”。", max_length=60
)
_DIVISION_CODE = Field(
    "division_code",
    "行政区划代码",
    FieldType.CODE,
    True,
    "12位统计用区划代码：前6位为县级代码，第7-9位为乡级代码，后3位为000。",
    pattern=r"^[0-9]{12}$",
)
_IDENTITY_REST = (
    Field("county", "所属县（市、区）", FieldType.TEXT, True, "如“赵县”。", max_length=40),
    Field(
        "year",
        "评价年度",
        FieldType.YEAR,
        True,
        "被评价的预算年度，如2023。",
        minimum=D(2000),
        maximum=D(2100),
    ),
    Field("preparer", "填报人", FieldType.TEXT, True, "负责填写本表的人员姓名。", max_length=30),
    Field(
        "phone",
        "联系电话",
        FieldType.PHONE,
        True,
        "手机或座机，如13800000000或0311-12345678。",
        pattern=r"^[0-9][0-9\-]{6,19}$",
    ),
    Field("filled_on", "填报日期", FieldType.DATE, True, "填写日期，如2024-01-15。"),
)

IDENTITY = Form(
    "identity",
    (
        _UNIT_NAME,
        Field(
            "kind",
            "评价类型",
            FieldType.CHOICE,
            help="“整体”为单位整体支出自评；“项目”为某一项目的支出自评（须填写项目名称）。不填视为整体。",
            choices=KINDS,
            default=DEFAULT_KIND,
            max_length=10,
        ),
        Field(
            "project_name",
            "项目名称",
            FieldType.TEXT,
            help="评价类型为“项目”时必填：项目全称，如“农村人居环境整治项目”。",
            max_length=100,
            required_when=("kind", "项目"),
        ),
        Field(
            "division_code",
            "行政区划代码",
            FieldType.CODE,
            help="乡镇（街道）填写12位统计用区划代码：前6位为县级代码，第7-9位为乡级代码，后3位为000。"
            "县直部门等非乡镇单位不填，改填统一社会信用代码。",
            pattern=r"^[0-9]{12}$",
        ),
        Field(
            "credit_code",
            "统一社会信用代码",
            FieldType.CODE,
            help="没有乡镇区划代码的单位（如县直部门）必填：18位统一社会信用代码，见单位的法人证书。"
            "乡镇可不填。",
            pattern=CREDIT_PATTERN,
        ),
        *_IDENTITY_REST,
    ),
)

_BUDGET_COLUMNS = (
    _money("initial", "年初预算数", help="年初批复的预算数（万元，保留两位小数）。"),
    _money("adjusted", "全年预算数（调整后）", help="年中调整后的全年预算数（万元）。"),
    _money("executed", "全年执行数", help="全年实际支付数（万元）。"),
)
_BUDGET_OUTPUTS = (
    Field("weight", "分值", FieldType.SCORE, output=True, width=10),
    Field("rate", "执行率", FieldType.SCORE, output=True, unit="%", width=10),
    Field("score", "得分", FieldType.SCORE, output=True, width=10),
)

BUDGET = Grid(
    "budget",
    "资金来源",
    FUNDING + SPENDING,
    _BUDGET_COLUMNS,
    outputs=_BUDGET_OUTPUTS,
    parts=(
        ("各资金来源", tuple(k for k, _ in FUNDING if k != "total")),
        ("基本支出与项目支出", tuple(k for k, _ in SPENDING)),
    ),
    row_outputs=tuple((k, ("rate",)) for k, _ in SPENDING),
)

GOALS = Form(
    "goals",
    (
        Field(
            "annual_goal",
            "年度总体目标",
            FieldType.LONGTEXT,
            True,
            "年初设定的整体绩效目标。",
            max_length=4000,
        ),
        Field("achieved", "实际完成情况", FieldType.LONGTEXT, True, "目标的实际完成情况。", max_length=4000),
    ),
)

SELF = Form(
    "self_assessment",
    (
        Field(
            "total",
            "自评总分",
            FieldType.SCORE,
            True,
            "评价小组综合打分后的总分（0-100）。",
            minimum=D(0),
            maximum=D(100),
        ),
        Field("grade", "自评等级", FieldType.CHOICE, True, "按评分标准对应的等级。", max_length=10),
    ),
)

REVIEW = Form(
    "review",
    (
        Field(
            "problems", "存在的问题", FieldType.LONGTEXT, True, "如实填写存在的主要问题。", max_length=4000
        ),
        Field("measures", "改进措施", FieldType.LONGTEXT, True, "针对问题的具体改进措施。", max_length=4000),
    ),
)

NARRATIVE = Form(
    "narrative",
    (
        Field(
            "overview",
            "单位职能概况",
            FieldType.LONGTEXT,
            help="（选填）用于生成自评报告的“部门概况”。",
            max_length=4000,
        ),
        Field(
            "process",
            "自评工作开展情况",
            FieldType.LONGTEXT,
            help="（选填）自评的组织、方法和过程。",
            max_length=4000,
        ),
    ),
)

INDICATORS = Table(
    "indicators",
    (
        Field("seq", "序号", FieldType.INT, width=6),
        Field(
            "level1", "一级指标", FieldType.CHOICE, True, "从下拉列表选择。", choices=tuple(LEVELS), width=12
        ),
        Field(
            "level2",
            "二级指标",
            FieldType.CHOICE,
            True,
            "先选一级指标，再从下拉列表选择。",
            choices=tuple(x for xs in LEVELS.values() for x in xs),
            depends_on="level1",
            width=16,
        ),
        Field(
            "level3",
            "三级指标",
            FieldType.TEXT,
            True,
            "具体指标名称，如“预算项目个数”。",
            max_length=200,
            width=22,
        ),
        Field(
            "nature",
            "指标性质",
            FieldType.CHOICE,
            True,
            "≥越大越好，≤越小越好，=等于，定性。",
            choices=NATURES,
            width=8,
        ),
        Field(
            "target",
            "年度指标值",
            FieldType.NUMTEXT,
            True,
            "定量指标填数字（单位填在“计量单位”列）；定性指标填文字。",
            minimum=-INDICATOR_VALUE_LIMIT,
            maximum=INDICATOR_VALUE_LIMIT,
            max_length=500,
            width=14,
        ),
        Field("unit", "计量单位", FieldType.TEXT, help="如“个”“%”“万元”“天”。", max_length=20, width=8),
        Field(
            "actual",
            "实际完成值",
            FieldType.NUMTEXT,
            True,
            "定量指标填数字；定性指标填文字。",
            minimum=-INDICATOR_VALUE_LIMIT,
            maximum=INDICATOR_VALUE_LIMIT,
            max_length=500,
            width=14,
        ),
        Field(
            "completion", "完成等级", FieldType.CHOICE, help="仅定性指标填写。", choices=COMPLETION, width=10
        ),
        Field(
            "weight",
            "分值",
            FieldType.SCORE,
            True,
            "本指标的分值。全部指标合计{indicators}分（{categories}）。原表只有得分、没有逐项分值的，"
            "可将一个一级指标下各行的分值全部留空，由工具按该类分值推算。",
            minimum=D(0),
            maximum=D(100),
            width=8,
        ),
        Field(
            "self_score",
            "自评得分",
            FieldType.SCORE,
            help="单位自评的得分（不设评价小组打分时，定性指标按此计分）。",
            minimum=D(0),
            maximum=D(100),
            width=9,
        ),
        Field(
            "reason",
            "偏差原因分析及改进措施",
            FieldType.LONGTEXT,
            help="未得满分的指标必须填写。",
            max_length=2000,
            width=28,
        ),
        Field("score", "核定得分", FieldType.SCORE, output=True, width=9),
    ),
    INDICATOR_ROWS,
)

MEMBERS = Table(
    "members",
    (
        Field("seq", "序号", FieldType.INT, width=6),
        Field(
            "name",
            "姓名",
            FieldType.TEXT,
            True,
            "评价工作组成员姓名（一般3至7人）。",
            max_length=30,
            width=12,
        ),
        Field("org", "工作单位", FieldType.TEXT, help="如“宋营镇人民政府”。", max_length=60, width=20),
        Field("post", "职务", FieldType.TEXT, True, "如“党委副书记、镇长”。", max_length=60, width=20),
        Field("title", "职称", FieldType.TEXT, help="如无可不填。", max_length=30, width=10),
    ),
    PANEL_ROWS,
    min_rows=0,
)

PANEL_SCORES = Matrix(
    "panel_scores",
    "指标序号",
    "三级指标",
    INDICATOR_ROWS,
    PANEL_ROWS,
    "成员{n}",
    Field(
        "score",
        "打分",
        FieldType.SCORE,
        help="该成员对该指标的打分，不超过指标分值。",
        minimum=D(0),
        maximum=D(100),
    ),
    row_table="indicators",
    agreed=Field(
        "agreed",
        "小组评分",
        FieldType.SCORE,
        help="评价小组合议给出的一个分数（成员不逐人打分时填写；逐人打分时留空），不超过指标分值。",
        minimum=D(0),
        maximum=D(100),
    ),
    agreed_key="panel_agreed",
)

INSTRUCTIONS = Sheet(
    "instructions",
    "填表说明",
    "{year}年度乡镇整体支出绩效自评表 · 填表说明",
    (),
    widths=(100,),
)

BUDGET_SHEET = Sheet(
    "budget",
    "预算执行",
    "{year}年度乡镇整体支出绩效自评表 · 预算执行",
    (
        Section("一、基本信息"),
        IDENTITY,
        Section("二、预算执行情况（单位：万元）"),
        BUDGET,
        Section("三、年度绩效目标"),
        GOALS,
        Section("四、自评结果"),
        SELF,
        Section("五、存在的问题及改进措施"),
        REVIEW,
        Section("六、补充说明（选填，用于生成自评报告）"),
        NARRATIVE,
    ),
    widths=(22, 16, 16, 16, 10, 10, 10),
)

INDICATOR_SHEET = Sheet(
    "indicators",
    "绩效指标",
    "{year}年度乡镇整体支出绩效自评表 · 绩效指标",
    (
        Note("分值：{weights}。定量指标的“年度指标值”“实际完成值”只填数字。"),
        INDICATORS,
    ),
    widths=tuple(c.width for c in INDICATORS.columns),
    landscape=True,
    freeze_header_of="indicators",
)

PANEL_SHEET = Sheet(
    "panel",
    "评价小组",
    "{year}年度乡镇整体支出绩效自评表 · 评价小组",
    (
        Section("一、评价工作组成员"),
        MEMBERS,
        Section("二、评分（每位成员逐项打分；或只在“小组评分”列填写合议的一个分数）"),
        PANEL_SCORES,
    ),
    widths=(8, 22, 20, 20, 10, 9, 9, 9, 9, 9, 9, 10),
    landscape=True,
)

META_SHEET_NAME = "_meta"


@dataclass(frozen=True)
class Workbook:
    """The standard workbook: its sheets in order (the hidden ``_meta`` sheet is implicit)."""

    sheets: tuple[Sheet, ...] = field(default=(INSTRUCTIONS, BUDGET_SHEET, INDICATOR_SHEET, PANEL_SHEET))

    @property
    def data_sheets(self) -> tuple[Sheet, ...]:
        """Sheets that hold values the reader reads."""
        return tuple(s for s in self.sheets if s.blocks)

    def sheet(self, key: str) -> Sheet:
        for s in self.sheets:
            if s.key == key:
                return s
        raise KeyError(key)


WORKBOOK = Workbook()

# --- earlier template versions, still read ----------------------------------------------------------

#: The budget sheet of template version 1.0: no 评价类型 / 项目名称 / 统一社会信用代码 (行政区划代码
#: required) and no 基本支出 / 项目支出 rows. The other sheets are unchanged.
BUDGET_SHEET_1_0 = replace(
    BUDGET_SHEET,
    blocks=tuple(
        Form("identity", (_UNIT_NAME, _DIVISION_CODE, *_IDENTITY_REST))
        if b is IDENTITY
        else Grid("budget", "资金来源", FUNDING, _BUDGET_COLUMNS, outputs=_BUDGET_OUTPUTS)
        if b is BUDGET
        else b
        for b in BUDGET_SHEET.blocks
    ),
)

#: Every template version the reader accepts, each with its own positions. A document read from an
#: earlier version has the same shape (pointers) as one read from the current version.
LAYOUTS: dict[str, Workbook] = {
    TEMPLATE_VERSION: WORKBOOK,
    "1.0": Workbook((INSTRUCTIONS, BUDGET_SHEET_1_0, INDICATOR_SHEET, PANEL_SHEET)),
}


def added_since(version: str) -> list[str]:
    """Labels of the fields and rows the current template has and the template ``version`` lacks."""
    old = LAYOUTS[version]
    out: list[str] = []
    for sheet in WORKBOOK.data_sheets:
        before = {getattr(p.block, "key", None): p.block for p in old.sheet(sheet.key).placements}
        for p in sheet.placements:
            b, was = p.block, before.get(getattr(p.block, "key", None))
            if isinstance(b, Form):
                keys = {f.key for f in was.fields} if isinstance(was, Form) else set()
                out += [f"“{f.label}”" for f in b.fields if f.key not in keys]
            elif isinstance(b, Grid):
                rows = {k for k, _ in was.rows} if isinstance(was, Grid) else set()
                out += [f"“{label.removeprefix('其中：')}”行" for k, label in b.rows if k not in rows]
    return out


def iter_fields() -> list[tuple[Sheet, Placement, Field]]:
    """Every input and output field of every data sheet, with its sheet and placement."""
    out: list[tuple[Sheet, Placement, Field]] = []
    for sheet in WORKBOOK.data_sheets:
        for p in sheet.placements:
            b = p.block
            if isinstance(b, Form):
                out.extend((sheet, p, f) for f in b.fields)
            elif isinstance(b, Grid):
                out.extend((sheet, p, f) for f in (*b.columns, *b.outputs))
            elif isinstance(b, Table):
                out.extend((sheet, p, f) for f in b.columns)
            elif isinstance(b, Matrix):
                out.append((sheet, p, b.value))
                if b.agreed:
                    out.append((sheet, p, b.agreed))
    return out


@lru_cache(maxsize=8192)
def field_at(pointer: str) -> Field | None:
    """The field a JSON pointer names (``/indicators/3/weight`` → the 分值 field); kept per pointer
    (the same few hundred recur in every workbook)."""
    parts = pointer.strip("/").split("/")
    if not parts or not parts[0]:
        return None
    return _field_named(parts[0], parts[-1])


@lru_cache(maxsize=1024)
def _field_named(head: str, last: str) -> Field | None:
    """The field of :func:`field_at` by a pointer's first and last parts (the layout never changes, so
    the answer is kept: the schema and audit ask it tens of thousands of times per batch)."""
    parts = [head, last]
    for sheet in WORKBOOK.data_sheets:
        for p in sheet.placements:
            b = p.block
            if isinstance(b, Matrix) and b.agreed and parts[0] == b.agreed_key:
                return b.agreed
            if getattr(b, "key", None) != parts[0]:
                continue
            last = parts[-1]
            if isinstance(b, Form):
                return next((f for f in b.fields if f.key == last), None)
            if isinstance(b, Grid):
                return next((f for f in (*b.columns, *b.outputs) if f.key == last), None)
            if isinstance(b, Table):
                return next((f for f in b.columns if f.key == last), None)
            if isinstance(b, Matrix):
                return b.value
    return None


def cell_of(pointer: str) -> tuple[str, str] | None:
    """(sheet name, A1) of a pointer whose position follows from the layout alone.

    Table and matrix rows depend on what was read (blank rows are skipped), so for those use the
    document's own positions; this resolves Forms and Grids, and whole-table pointers to the table's
    header.
    """
    parts = pointer.strip("/").split("/")
    for sheet in WORKBOOK.data_sheets:
        for p in sheet.placements:
            b = p.block
            if isinstance(b, Matrix) and b.agreed and parts[0] == b.agreed_key:
                return sheet.name, a1(p.row, agreed_cell(p, 0)[1])
            if getattr(b, "key", None) != parts[0]:
                continue
            if isinstance(b, Form) and len(parts) == 2:
                return sheet.name, a1(*form_cell(p, parts[1]))
            if isinstance(b, Grid) and len(parts) == 3:
                return sheet.name, a1(*grid_cell(p, parts[1], parts[2]))
            if isinstance(b, Grid) and len(parts) == 2:
                return sheet.name, a1(*grid_cell(p, parts[1], b.columns[0].key))
            return sheet.name, a1(p.row, 1)
    return None


# --- the hidden _meta sheet -----------------------------------------------------------------------

#: Rows of ``_meta`` from row 1: the key in column A, the value in column B, and the workbook-level
#: defined name that points at the value cell.
META_KEYS: tuple[tuple[str, str], ...] = (
    ("template_id", "SelfEvalTemplateId"),
    ("template_version", "SelfEvalTemplateVersion"),
    ("year", "SelfEvalYear"),
    ("generator", "SelfEvalGenerator"),
)
#: First column of the dropdown lists on ``_meta`` (one list per column, title in row 1).
META_LISTS_COL = 4


def meta_cell(key: str) -> tuple[int, int]:
    """(row, col) of a ``_meta`` value (``meta_cell('template_version') == (2, 2)``)."""
    return [k for k, _ in META_KEYS].index(key) + 1, 2
