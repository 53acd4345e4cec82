"""Typed view of a validated document, for scoring and reporting.

Built only from documents that passed validation, so required values are present and typed. Every
object keeps the JSON ``pointer`` of where it came from, so findings can name the cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from .document import Document
from .layout import DEFAULT_KIND


@dataclass(frozen=True)
class Indicator:
    """One row of 绩效指标."""

    index: int  # position in document's indicators list
    seq: int
    level1: str
    level2: str
    level3: str
    nature: str  # ≥ ≤ = 定性
    target: Decimal | str  # Decimal for quantitative indicators whose value is a number
    unit: str
    actual: Decimal | str
    completion: str | None  # 达成 / 部分达成 / 未达成 (定性)
    weight: Decimal
    self_score: Decimal | None
    reason: str

    @property
    def pointer(self) -> str:
        return f"/indicators/{self.index}"

    @property
    def quantitative(self) -> bool:
        return self.nature != "定性"


@dataclass(frozen=True)
class Member:
    """One member of the evaluation panel (评价工作组)."""

    index: int
    seq: int
    name: str
    org: str
    post: str
    title: str

    @property
    def pointer(self) -> str:
        return f"/members/{self.index}"


@dataclass(frozen=True)
class PanelScore:
    """One member's score for one indicator."""

    index: int
    indicator: int  # indicator seq
    member: int  # member seq
    score: Decimal

    @property
    def pointer(self) -> str:
        return f"/panel_scores/{self.index}"


@dataclass(frozen=True)
class AgreedScore:
    """The one score the panel agreed for an indicator (the 小组评分 column)."""

    index: int
    indicator: int  # indicator seq
    score: Decimal

    @property
    def pointer(self) -> str:
        return f"/panel_agreed/{self.index}"


@dataclass(frozen=True)
class Budget:
    """One funding-source row of the budget table (万元)."""

    initial: Decimal | None
    adjusted: Decimal | None
    executed: Decimal | None

    @property
    def filled(self) -> bool:
        """True when any amount of the row is filled (a blank optional row is not used)."""
        return any(v is not None for v in (self.initial, self.adjusted, self.executed))

    @property
    def rate(self) -> Decimal | None:
        """全年执行数 / 全年预算数, unrounded; None when either is blank or the budget is not above 0."""
        if self.executed is None or self.adjusted is None or self.adjusted <= 0:
            return None
        return self.executed / self.adjusted


@dataclass(frozen=True)
class Submission:
    """A unit's self-evaluation, typed: a township's (``division_code``) or another unit's, such as a
    county department (``credit_code`` only); of the unit as a whole (整体) or of one project (项目)."""

    unit_name: str
    division_code: str  # '' for a unit that is not a township
    county: str
    year: int
    preparer: str
    phone: str
    filled_on: str
    budget: dict[str, Budget]  # current / carryover / other / total
    annual_goal: str
    achieved: str
    self_total: Decimal | None
    self_grade: str
    problems: str
    measures: str
    overview: str
    process: str
    indicators: tuple[Indicator, ...]
    members: tuple[Member, ...]
    scores: tuple[PanelScore, ...]
    extra: dict[str, Any] = field(default_factory=dict)
    kind: str = DEFAULT_KIND  # 整体 / 项目
    project: str = ""  # 项目名称, when kind is 项目
    credit_code: str = ""  # 统一社会信用代码

    @property
    def unit_code(self) -> str:
        """The unit's identity: the township's division code, else its 统一社会信用代码."""
        return self.division_code or self.credit_code

    agreed: tuple[AgreedScore, ...] = ()

    def agreed_for(self, indicator_seq: int) -> AgreedScore | None:
        """The panel's agreed score of one indicator (the first, when typed twice)."""
        return next((a for a in self.agreed if a.indicator == indicator_seq), None)

    @property
    def county_code(self) -> str:
        """The county the unit belongs to: from the division code, else from the credit code's 3rd-8th
        characters (the division code of the authority that registered it)."""
        return self.division_code[:6] if self.division_code else self.credit_code[2:8]

    @property
    def evaluation(self) -> str:
        """What was evaluated, in words: 整体, or 项目：<name>."""
        return f"项目：{self.project}" if self.kind == "项目" else self.kind

    def scores_for(self, indicator_seq: int) -> list[PanelScore]:
        """Panel scores given to one indicator, in member order."""
        return list(self._scores_by_indicator.get(indicator_seq, ()))

    @cached_property
    def _scores_by_indicator(self) -> dict[int, tuple[PanelScore, ...]]:
        """The panel scores grouped by indicator seq, each group in member order (grouped once, not once
        per indicator asked)."""
        groups: dict[int, list[PanelScore]] = {}
        for s in self.scores:
            groups.setdefault(s.indicator, []).append(s)
        return {seq: tuple(sorted(group, key=lambda s: s.member)) for seq, group in groups.items()}

    @classmethod
    def from_document(cls, doc: Document) -> Submission:
        """Build from a document that passed validation."""
        d = doc.data
        ident, goals = d.get("identity", {}), d.get("goals", {})
        selfa, review, narr = d.get("self_assessment", {}), d.get("review", {}), d.get("narrative", {})
        budget = {
            k: Budget(row.get("initial"), row.get("adjusted"), row.get("executed"))
            for k, row in d.get("budget", {}).items()
        }
        indicators = tuple(
            Indicator(
                index=i,
                seq=int(r["seq"]),
                level1=r["level1"],
                level2=r["level2"],
                level3=r["level3"],
                nature=r["nature"],
                target=r["target"],
                unit=r.get("unit", ""),
                actual=r["actual"],
                completion=r.get("completion"),
                weight=r["weight"],
                self_score=r.get("self_score"),
                reason=r.get("reason", ""),
            )
            for i, r in enumerate(d.get("indicators", []))
        )
        members = tuple(
            Member(i, int(r["seq"]), r["name"], r.get("org", ""), r.get("post", ""), r.get("title", ""))
            for i, r in enumerate(d.get("members", []))
        )
        scores = tuple(
            PanelScore(i, int(r["row"]), int(r["column"]), r["value"])
            for i, r in enumerate(d.get("panel_scores", []))
        )
        return cls(
            unit_name=ident["unit_name"],
            division_code=ident.get("division_code", ""),
            credit_code=ident.get("credit_code", ""),
            kind=ident.get("kind") or DEFAULT_KIND,
            project=ident.get("project_name", "") if ident.get("kind") == "项目" else "",
            county=ident["county"],
            year=int(ident["year"]),
            preparer=ident.get("preparer", ""),
            phone=ident.get("phone", ""),
            filled_on=ident.get("filled_on", ""),
            budget=budget,
            annual_goal=goals.get("annual_goal", ""),
            achieved=goals.get("achieved", ""),
            self_total=selfa.get("total"),
            self_grade=selfa.get("grade", ""),
            problems=review.get("problems", ""),
            measures=review.get("measures", ""),
            overview=narr.get("overview", ""),
            process=narr.get("process", ""),
            indicators=indicators,
            members=members,
            scores=scores,
            agreed=tuple(
                AgreedScore(i, int(r["row"]), r["value"]) for i, r in enumerate(d.get("panel_agreed", []))
            ),
        )
