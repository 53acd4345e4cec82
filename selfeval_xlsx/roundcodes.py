"""Finding codes of the collection round (roster, ledger, last year's roll-up) and their Chinese messages.

Each code has a default severity, a short title and a message template (``str.format`` fields), kept
in one table so every code provably has a message.
"""

from __future__ import annotations

from typing import Any

from .findings import Finding, Severity

#: code → (severity, title, message template)
ROUND_CODES: dict[str, tuple[Severity, str, str]] = {
    # --- the roster ----------------------------------------------------------------------------
    "roster-unreadable": (
        "error",
        "名单无法读取",
        "报送单位名单《{file}》无法读取：{reason}本次汇总未使用名单。",
    ),
    "roster-duplicate": (
        "error",
        "名单中单位重复",
        "名单第{row}行的单位代码{code}与第{first}行重复，请删除其中一行（本行未使用）。",
    ),
    "roster-bad-code": (
        "error",
        "名单中单位代码无效",
        "名单第{row}行“{name}”的单位代码“{code}”无效：乡镇（街道）应为12位行政区划代码，"
        "其他单位应为18位统一社会信用代码，请核对。",
    ),
    "roster-unknown-county": (
        "error",
        "名单中区划代码无效",
        "名单第{row}行“{name}”的代码{code}所含县级代码{county}不是有效的县级区划代码，请核对。",
    ),
    "roster-other-county": (
        "warning",
        "名单中有外县单位",
        "名单第{row}行“{name}”的代码{code}属于{other}（{county}），与名单中其他单位所属的{main}不同，请核对。",
    ),
    "roster-no-name": (
        "error",
        "名单中单位名称为空",
        "名单第{row}行（代码{code}）没有填写单位名称，请补填（本行未使用）。",
    ),
    "roster-no-code": (
        "warning",
        "名单中未填单位代码",
        "名单第{row}行“{name}”没有填写单位代码，只能按单位名称对应报送，请补填。",
    ),
    "roster-bad-email": (
        "warning",
        "名单中邮箱格式不正确",
        "名单第{row}行“{name}”的邮箱“{email}”格式不正确（应如 name@example.cn），无法生成催报邮件，请核对。",
    ),
    "roster-empty": (
        "error",
        "名单中没有单位",
        "报送单位名单《{file}》中没有可用的单位行。本次汇总未使用名单。",
    ),
    # --- the round ---------------------------------------------------------------------------------
    "not-on-roster": (
        "warning",
        "报送单位不在名单中",
        "“{name}”（{code}）报送了自评表，但不在报送单位名单中，请核对名单或该单位的代码。",
    ),
    # --- the ledger ----------------------------------------------------------------------------------
    "ledger-unreadable": (
        "error",
        "预算执行台账无法读取",
        "预算执行台账《{file}》无法读取：{reason}本次汇总未核对台账。",
    ),
    "ledger-unit": (
        "error",
        "台账金额单位不明",
        "预算执行台账《{file}》没有写明金额单位（表头上方写“单位：元”或“单位：万元”，或列名写“全年预算数（元）”），"
        "请写明后重试，或用 --ledger-unit 指定。本次汇总未核对台账。",
    ),
    "ledger-duplicate": (
        "error",
        "台账中单位重复",
        "台账第{row}行的单位“{unit}”与第{first}行重复，本行未使用，请核对。",
    ),
    "ledger-bad-number": (
        "error",
        "台账金额不是数字",
        "台账第{row}行“{unit}”的“{column}”为“{value}”，不是数字，本行该项未核对。",
    ),
    "ledger-no-unit": ("error", "台账行没有单位", "台账第{row}行没有单位代码或名称，本行未使用。"),
    "ledger-mismatch": (
        "warning",
        "报送数与预算执行台账不符",
        "{column}填报为{reported}万元，财政预算执行台账为{ledger}万元，填报数比台账{more}{diff}万元（允许误差{tolerance}万元），"
        "请核对后按台账数填报，或说明差异原因。",
    ),
    "ledger-missing": (
        "warning",
        "台账中没有该单位",
        "预算执行台账中没有“{name}”（{code}），其报送的预算数和执行数未能核对。",
    ),
    "ledger-not-submitted": (
        "info",
        "台账单位未报送",
        "预算执行台账第{row}行的“{unit}”没有报送通过的自评表。",
    ),
    # --- last year -------------------------------------------------------------------------------------
    "previous-unreadable": (
        "error",
        "上年汇总无法读取",
        "上年汇总《{file}》无法读取：{reason}本次汇总未与上年比较。",
    ),
    "copied-from-last-year": (
        "warning",
        "指标照抄上年",
        "指标{seq}“{indicator}”的指标值“{target}”和实际完成值“{actual}”与上年完全相同"
        "（全部{total}项指标中有{count}项与上年相同），请按本年度实际情况填写。",
    ),
    "recurring-problem": (
        "warning",
        "上年问题再次出现",
        "上年汇总在相同位置指出的{count}个问题本年仍然存在，请重点整改：{problems}。",
    ),
}


def round_finding(kind: str, /, *, severity: Severity | None = None, **where_and_params: Any) -> Finding:
    """A finding of a round code: its message filled from the keyword parameters; ``file``, ``sheet``,
    ``cell``, ``field`` and ``value`` place it."""
    sev, _, template = ROUND_CODES[kind]
    params = {"file": "", **where_and_params}
    where = {k: params[k] for k in ("file", "sheet", "cell", "field", "value") if k in where_and_params}
    return Finding(code=kind, message=template.format(**params), severity=severity or sev, **where)
