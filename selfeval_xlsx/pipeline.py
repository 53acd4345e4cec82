"""One workbook's way through the tool: read → validate → score → audit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from .audit import audit
from .document import Document
from .findings import Report, sort_key
from .limits import DEFAULT_LIMITS, Limits
from .model import Submission
from .rules import Rules, load_rules
from .scoring import ScoreResult, score_submission
from .validate import validate_document, validate_workbook


class Validated(NamedTuple):
    """A workbook's document and the report of its findings (what ``validate_workbook`` returns).

    A named tuple: ``doc, report = validate_workbook(…)`` and ``[1]`` work as when it was a plain tuple.
    """

    doc: Document
    report: Report

    @property
    def document(self) -> Document:
        """The document read from the workbook (same as ``doc``)."""
        return self.doc

    @property
    def valid(self) -> bool:
        """True when no finding is an error."""
        return self.report.valid


@dataclass
class Scored:
    """A workbook's document, its findings and, when it is valid, its typed submission and scores."""

    doc: Document
    report: Report
    submission: Submission | None = None
    result: ScoreResult | None = None

    @property
    def document(self) -> Document:
        """The document read from the workbook (same as ``doc``)."""
        return self.doc

    @property
    def valid(self) -> bool:
        """True when no finding is an error."""
        return self.report.valid

    def summary(self) -> dict[str, Any]:
        """Short JSON-ready summary: total, grade, counts of findings."""
        out: dict[str, Any] = {
            "file": self.doc.file,
            "valid": self.valid,
            "errors": len(self.report.errors),
            "warnings": len(self.report.warnings),
        }
        if self.submission and self.result:
            r = self.result
            out.update(
                unit_name=self.submission.unit_name,
                division_code=self.submission.division_code,
                credit_code=self.submission.credit_code,
                kind=self.submission.kind,
                project=self.submission.project,
                year=self.submission.year,
                execution_rate=None if r.execution_rate_shown is None else f"{r.execution_rate_shown:f}",
                budget_score=f"{r.budget.shown:f}",
                subtotals={k: f"{v.shown:f}" for k, v in r.subtotals.items()},
                total=f"{r.total.shown:f}",
                grade=r.grade,
                rules=r.rules.name,
                panel_mode=r.panel_mode,
                self_total=None if self.submission.self_total is None else f"{self.submission.self_total:f}",
                self_grade=self.submission.self_grade,
            )
        return out


def score_document(doc: Document, report: Report, rules: Rules) -> Scored:
    """Score a document that has been validated; invalid documents are returned unscored."""
    scored = Scored(doc, report)
    if not report.valid:
        return scored
    scored.submission = Submission.from_document(doc)
    scored.result = score_submission(scored.submission, rules)
    report.extend(audit(scored.submission, scored.result, rules, doc.where))
    report.findings.sort(key=sort_key)
    return scored


def score_workbook(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    rules: Rules | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Scored:
    """Read, validate, score and audit one workbook. Never raises for problems in the file."""
    rules = rules or load_rules()
    doc, report = validate_workbook(source, name=name, rules=rules, limits=limits)
    return score_document(doc, report, rules)


__all__ = ["Scored", "Validated", "score_document", "score_workbook", "validate_document"]
