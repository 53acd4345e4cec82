"""The evaluation panel's modes, and the checks of the 评价小组 sheet under each.

Published tables almost never show per-member scores (DOMAIN.md, "Forms in the wild"): a panel agrees one
score per indicator, or the unit scores itself and the bureau reviews. So how 定性 indicators are scored
is a mode, set by the rules profile (``panel.mode``):

- ``members``: each member scores each indicator (the 成员 columns); the composite is their mean.
- ``agreed``: one score per indicator agreed by the panel (the 小组评分 column).
- ``none``: no panel score; the unit's 自评得分 counts, and the bureau reviews it.
- ``auto`` (default): ``members`` when any member score is filled, else ``agreed`` when any agreed score
  is, else ``none``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import layout
from .document import Document
from .findings import Finding, make
from .messages import text
from .reader import short
from .xlsx.cells import a1

AUTO = "auto"
MEMBERS, AGREED, NONE = "members", "agreed", "none"
SETTINGS = (AUTO, MEMBERS, AGREED, NONE)
#: How each mode is named in explanations, the completed workbook and the roll-up.
LABELS = {MEMBERS: "成员打分", AGREED: "小组合议", NONE: "单位自评"}
DESCRIPTIONS = {
    MEMBERS: "评价小组成员逐项打分，取平均分",
    AGREED: "评价小组合议，每项指标一个分数",
    NONE: "未设评价小组打分，按单位自评得分计，由县财政局复核",
}


def resolve(setting: str, has_member_scores: bool, has_agreed: bool) -> str:
    """The mode used: the profile's setting, or under ``auto`` the one the workbook fills."""
    if setting in (MEMBERS, AGREED, NONE):
        return setting
    return MEMBERS if has_member_scores else AGREED if has_agreed else NONE


def document_mode(doc: Document, setting: str) -> str:
    """The mode of a read document under the profile's setting."""
    return resolve(
        setting, bool(doc.get("/panel_scores")), bool(doc.get(f"/{layout.PANEL_SCORES.agreed_key}"))
    )


def label(mode: str) -> str:
    """'成员打分', '小组合议' or '单位自评'."""
    return LABELS.get(mode, mode)


def check(doc: Document, setting: str, broken: set[str]) -> list[Finding]:
    """Findings about the 评价小组 sheet and the scores 定性 indicators need, under the panel mode."""
    return _Check(doc, setting, broken).run()


class _Check:
    def __init__(self, doc: Document, setting: str, broken: set[str]) -> None:
        self.doc, self.setting, self.broken = doc, setting, broken
        self.mode = document_mode(doc, setting)
        self.rows = doc.get("/indicators") or []
        self.indicators = {r.get("seq"): (i, r) for i, r in enumerate(self.rows)}
        self.members = {r.get("seq"): r for r in doc.get("/members") or []}
        self.agreed = doc.get(f"/{layout.PANEL_SCORES.agreed_key}") or []
        self.p = layout.PANEL_SHEET.find(layout.PANEL_SCORES.key)
        self.out: list[Finding] = []

    def run(self) -> list[Finding]:
        if self.doc.get("/indicators") is None:
            return []  # no 绩效指标 sheet: its missing-sheet error is the one finding, not one per score
        self.member_values()
        self.agreed_values()
        if self.mode == MEMBERS:
            self.members_mode()
        elif self.mode == AGREED:
            self.agreed_mode()
        else:
            self.none_mode()
        return self.out

    def add(self, code: str, message: str, **where: Any) -> None:
        self.out.append(make(code, message, **{"file": self.doc.file, **where}))

    def at_panel(self, row: int, col: int, last_row: int | None = None) -> dict[str, Any]:
        cell = a1(row, col) if last_row is None or last_row == row else f"{a1(row, col)}:{a1(last_row, col)}"
        return {"sheet": layout.PANEL_SHEET.name, "cell": cell}

    def weight_of(self, seq: Any) -> Any:
        return self.indicators[seq][1].get("weight") if seq in self.indicators else None

    # --- values in the member columns and the agreed column, whatever the mode -----------------------

    def member_values(self) -> None:
        for k, entry in enumerate(self.doc.get("/panel_scores") or []):
            ptr = f"/panel_scores/{k}/value"
            row, col, value = entry.get("row"), entry.get("column"), entry.get("value")
            if row not in self.indicators:
                self.add(
                    "panel-unknown-indicator",
                    text("panel-unknown-indicator", "member", row=row),
                    **self.at_value(ptr, value),
                )
                continue
            if col not in self.members:
                self.add(
                    "panel-unknown-member",
                    text("panel-unknown-member", column=col),
                    **self.at_value(ptr, value),
                )
                continue
            self.above_weight(ptr, value, row, col)

    def agreed_values(self) -> None:
        key = layout.PANEL_SCORES.agreed_key
        for k, entry in enumerate(self.agreed):
            ptr = f"/{key}/{k}/value"
            row, value = entry.get("row"), entry.get("value")
            if row not in self.indicators:
                self.add(
                    "panel-unknown-indicator",
                    text("panel-unknown-indicator", "agreed", row=row),
                    **self.at_value(ptr, value),
                )
                continue
            self.above_weight(ptr, value, row)

    def at_value(self, ptr: str, value: Any) -> dict[str, Any]:
        """Where a finding about the value at ``ptr`` points, with the value (built only for a finding)."""
        return {**self.doc.where(ptr), "value": short(value)}

    def above_weight(self, ptr: str, value: Any, seq: Any, member: Any = None) -> None:
        """A score above its indicator's weight: a member's (``member``: the member's seq, the column) or,
        without ``member``, the agreed one."""
        weight = self.weight_of(seq)
        if (
            ptr not in self.broken
            and isinstance(value, Decimal)
            and isinstance(weight, Decimal)
            and value > weight
        ):
            self.add(
                "out-of-range",
                text(
                    "out-of-range", "panel-score", who=self.who(member), seq=seq, value=value, weight=weight
                ),
                **self.at_value(ptr, value),
            )

    def who(self, member: Any) -> str:
        """Who gave a score, as a message says it: 张三对, 成员2对 (a member without a name), 评价小组对."""
        if member is None:
            return "评价小组对"
        return f"{self.members[member].get('name', f'成员{member}')}对"

    # --- the modes --------------------------------------------------------------------------------------

    def scorable(self) -> list[int]:
        """Indicator seqs that have a row in the score matrix."""
        return [s for s in self.indicators if isinstance(s, int) and 1 <= s <= layout.PANEL_SCORES.rows]

    def members_mode(self) -> None:
        if not self.members:
            self.add(
                "missing-value",
                text("missing-value", "no-members-panel"),
                **self.doc.where("/members"),
            )
            return
        scored = {(e.get("row"), e.get("column")) for e in self.doc.get("/panel_scores") or []}
        seqs = sorted(self.scorable())
        for mseq, member in sorted(self.members.items(), key=lambda kv: str(kv[0])):
            if not isinstance(mseq, int) or not 1 <= mseq <= layout.PANEL_SCORES.columns or not seqs:
                continue
            name = member.get("name", f"成员{mseq}")
            missing = [s for s in seqs if (s, mseq) not in scored]
            if len(missing) == len(seqs) and len(seqs) > 1:
                first, col = layout.matrix_cell(self.p, seqs[0] - 1, mseq - 1)
                last = layout.matrix_cell(self.p, seqs[-1] - 1, mseq - 1)[0]
                self.add(
                    "panel-missing-score",
                    text("panel-missing-score", "member-none", name=name, column=mseq, count=len(seqs)),
                    field="/panel_scores",
                    **self.at_panel(first, col, last),
                )
                continue
            for seq in missing:
                rr, cc = layout.matrix_cell(self.p, seq - 1, mseq - 1)
                self.add(
                    "panel-missing-score",
                    text("panel-missing-score", "member", name=name, seq=seq),
                    field="/panel_scores",
                    **self.at_panel(rr, cc),
                )
        if self.agreed:
            self.ignored(text("panel-ignored", "agreed"), AGREED)

    def agreed_mode(self) -> None:
        have = {e.get("row") for e in self.agreed}
        need = [s for s in sorted(self.scorable()) if self.indicators[s][1].get("nature") == "定性"]
        missing = [s for s in need if s not in have]
        if missing and len(missing) == len(need) and len(need) > 1:
            first, col = layout.agreed_cell(self.p, need[0] - 1)
            last = layout.agreed_cell(self.p, need[-1] - 1)[0]
            self.add(
                "panel-missing-score",
                text(
                    "panel-missing-score",
                    "agreed-none",
                    count=len(need),
                    seqs="、".join(str(s) for s in need),
                ),
                field=f"/{layout.PANEL_SCORES.agreed_key}",
                **self.at_panel(first, col, last),
            )
        else:
            for seq in missing:
                rr, cc = layout.agreed_cell(self.p, seq - 1)
                self.add(
                    "panel-missing-score",
                    text("panel-missing-score", "agreed", seq=seq),
                    field=f"/{layout.PANEL_SCORES.agreed_key}",
                    **self.at_panel(rr, cc),
                )
        if self.doc.get("/panel_scores"):
            self.ignored(text("panel-ignored", "members-agreed-mode"), MEMBERS)

    def none_mode(self) -> None:
        ignored = self.setting == NONE and bool(self.doc.get("/panel_scores") or self.agreed)
        if ignored:
            self.ignored(text("panel-ignored", "none-mode"), MEMBERS)
        qualitative = [(i, r) for i, r in enumerate(self.rows) if r.get("nature") == "定性"]
        for i, r in qualitative:
            ptr = f"/indicators/{i}/self_score"
            if r.get("self_score") is None and ptr not in self.broken:
                self.add(
                    "missing-value",
                    text("missing-value", "self-score-no-panel", seq=r.get("seq")),
                    **self.doc.where(ptr),
                )
        if ignored or (self.doc.get("/members") is None and self.doc.get("/panel_scores") is None):
            return  # said above, or no 评价小组 sheet at all: the missing-sheet warning says it
        why = "成员名单已填写，但成员未打分、也未填写“小组评分”" if self.members else "“评价小组”表未填写"
        p = self.p
        self.add(
            "panel-mode",
            text("panel-mode", why=why, how=DESCRIPTIONS[NONE]),
            **self.at_panel(p.row, 1),
        )

    def ignored(self, message: str, which: str) -> None:
        p = self.p
        col = layout.agreed_cell(p, 0)[1] if which == AGREED else layout.matrix_cell(p, 0, 0)[1]
        self.add("panel-ignored", message, **self.at_panel(p.row, col))


def missing_sheet_warning(f: Finding) -> Finding:
    """The missing 评价小组 sheet, as the warning it is when the panel is optional."""
    return make(
        "missing-sheet",
        text("missing-sheet", "panel-optional", message=f.message, how=DESCRIPTIONS[NONE]),
        severity="warning",
        file=f.file,
        sheet=f.sheet,
    )
