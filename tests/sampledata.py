"""Sample submissions: the seed township (宋营镇人民政府, 2023, from the real report) and fictional others.

The county prefix 130133 is the real GB/T 2260 code of 赵县 (a county of 石家庄, where the seed report's
《石发〔2019〕8号》 comes from), so that the codes pass the county check; every township code, every other
township name and every figure except the seed's own are invented.
"""

from __future__ import annotations

import copy
import random
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from openpyxl_fill import panel_matrix

COUNTY, COUNTY_CODE, YEAR = "赵县", "130133", 2023

SEED_OVERVIEW = (
    "党委领导政府工作，主要是政治思想和方针政策的领导，干部的选拔，考核和监督，经济和行政工作中重大问题的决策。"
    "镇政府是基层国家行政机关，行使本行政区的行政职能。宋营镇主要围绕加强党的领导、夯实基层政权，促进经济发展、"
    "增加农民收入，优化公共服务、着力改善民生，强化社会治理、维护社会稳定，推进基层民主、促进农村和谐，"
    "改善生态环境、提升乡风文明等方面履行职能。"
)
SEED_PROCESS = (
    "在单位领导的带领下，成立绩效评价工作小组，对2023年的预算项目开展绩效评价。评价前召开筹备会议；"
    "各部门相关工作人员联合成立绩效评价工作组，负责组织管理和实施；评价小组每个成员分别对各项指标进行打分，"
    "最终评价按综合得分计算。"
)
SEED_GOAL = (
    "2023年继续以全面提升基层党建工作水平为目标，深入学习贯彻党的十九大精神。以维护风清气正的政治环境为目标，"
    "不断强化党风廉政建设。以优化发展环境和提升综合实力为目标，全力推进项目建设。以改善人民生活水平为目标，"
    "全面加强社会事业建设和社会综合治理。以持续改善大气环境为目标，不断强化大气污染防治各项措施。"
    "以逐步优化公共服务为目标，不断强化社会管理服务能力。"
)


def seed() -> dict[str, Any]:
    """宋营镇人民政府 2023, with the seed report's own figures, indicators, panel and self-score."""
    full = {1: 15, 2: 15, 3: 10, 4: 10, 5: 30, 6: 10}
    return {
        "identity": {
            "unit_name": "宋营镇人民政府",
            "division_code": f"{COUNTY_CODE}101000",
            "county": COUNTY,
            "year": YEAR,
            "preparer": "尹华",
            "phone": "0311-84950000",
            "filled_on": "2024-01-20",
        },
        "budget": {"total": {"initial": "8593.66", "adjusted": "9883.28", "executed": "8724.90"}},
        "goals": {
            "annual_goal": SEED_GOAL,
            "achieved": "年初设定的绩效目标方向清晰，目标明确，整体达到年初设定的目标任务。",
        },
        "self_assessment": {"total": 100, "grade": "优秀"},
        "review": {
            "problems": "1.部分项目资金支付进度滞后。\n2.绩效评价指标体系还不够完善、合理。",
            "measures": "1.科学合理编制预算，严格执行预算。\n2.进一步加强项目资金管理。\n"
            "3.进一步完善内部管理制度，提升管理效能。",
        },
        "narrative": {"overview": SEED_OVERVIEW, "process": SEED_PROCESS},
        "indicators": [
            _ind(1, "产出指标", "数量指标", "预算项目个数", "≥", 38, "个", 38, None, 15, 15),
            _ind(
                2,
                "产出指标",
                "质量指标",
                "工作完成质量",
                "定性",
                "高质量完成",
                "",
                "高质量完成2023年的工作",
                "达成",
                15,
                15,
            ),
            _ind(
                3,
                "产出指标",
                "时效指标",
                "资金拨付及时性",
                "定性",
                "及时拨付",
                "",
                "财政资金到位后及时拨付",
                "达成",
                10,
                10,
            ),
            _ind(4, "产出指标", "成本指标", "成本控制", "≤", "8593.66", "万元", "8724.90", None, 10, 10),
            _ind(
                5,
                "效益指标",
                "社会效益指标",
                "社会稳定",
                "定性",
                "保持社会稳定",
                "",
                "社会保持稳定",
                "达成",
                30,
                30,
            ),
            _ind(
                6,
                "满意度指标",
                "服务对象满意度指标",
                "群众满意度",
                "定性",
                "群众满意度较高",
                "",
                "群众满意度较高",
                "达成",
                10,
                10,
            ),
        ],
        "members": [
            {"seq": 1, "name": "卢迪", "org": "宋营镇人民政府", "post": "党委副书记、镇长"},
            {"seq": 2, "name": "尹华", "org": "宋营镇人民政府", "post": "办公室主任"},
            {"seq": 3, "name": "尚建人", "org": "宋营镇人民政府", "post": "财政所所长"},
        ],
        "panel_scores": panel_matrix({seq: [w, w, w] for seq, w in full.items()}),
    }


def _ind(seq, l1, l2, l3, nature, target, unit, actual, completion, weight, self_score, reason=None):
    out = {
        "seq": seq,
        "level1": l1,
        "level2": l2,
        "level3": l3,
        "nature": nature,
        "target": target,
        "unit": unit or None,
        "actual": actual,
        "completion": completion,
        "weight": weight,
        "self_score": self_score,
        "reason": reason,
    }
    return {k: v for k, v in out.items() if v is not None}


TOWNS = [
    # name, code part, execution rate, quality (0..1), members, deviation reason given
    ("城关街道办事处", "001", "0.99", "0.97", 3, True),
    ("石桥镇人民政府", "102", "0.97", "0.93", 5, True),
    ("柏林镇人民政府", "103", "1.06", "0.95", 4, True),  # execution above 100%
    ("梨园镇人民政府", "104", "0.91", "0.85", 3, True),
    ("洨河镇人民政府", "105", "0.82", "0.72", 6, True),  # 6 members: trimmed mean
    ("安济镇人民政府", "106", "0.76", "0.62", 3, True),
    ("永通乡人民政府", "201", "0.64", "0.48", 3, True),  # 较差
    ("清水乡人民政府", "202", "0.93", "0.88", 4, False),  # a deduction without a reason
    ("槐树乡人民政府", "203", "0.88", "0.80", 3, True),
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = "建国华明丽军红平伟芳敏静强磊洋勇艳杰娟涛超秀兰霞刚桂英"
POSTS = ["党委书记", "党委副书记、镇长", "人大主席", "党政办主任", "财政所所长", "纪委书记", "副镇长"]


def _q2(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def township(index: int, *, seed_value: int | None = None) -> dict[str, Any]:
    """A fictional township of the sample county, with varied but realistic data."""
    name, part, rate, quality, n_members, reasons = TOWNS[index % len(TOWNS)]
    rng = random.Random(seed_value if seed_value is not None else index)
    short = name.replace("人民政府", "").replace("办事处", "")
    adjusted = _q2(Decimal(rng.randint(180_000, 900_000)) / 100)
    initial = _q2(adjusted * Decimal(rng.randint(85, 102)) / 100)
    executed = _q2(adjusted * Decimal(rate))
    current = _q2(adjusted * Decimal("0.8"))
    carry = _q2(adjusted * Decimal("0.15"))
    q = Decimal(quality)
    projects = rng.randint(20, 60)
    done = max(1, int(projects * min(Decimal(1), q + Decimal("0.05"))))
    spec = [
        ("产出指标", "数量指标", "预算项目个数", "≥", projects, "个", done, 15),
        (
            "产出指标",
            "质量指标",
            "项目验收合格率",
            "≥",
            100,
            "%",
            _q2(100 * min(q + Decimal("0.03"), Decimal(1))),
            15,
        ),
        (
            "产出指标",
            "时效指标",
            "资金拨付时限",
            "≤",
            30,
            "天",
            rng.randint(20, 30) if q > Decimal("0.8") else 45,
            10,
        ),
        ("产出指标", "成本指标", "项目成本控制", "≤", str(initial), "万元", str(executed), 10),
        (
            "效益指标",
            "社会效益指标",
            "基层治理水平",
            "定性",
            "矛盾纠纷化解率不低于95%",
            "",
            "矛盾纠纷化解率96%",
            15,
        ),
        (
            "效益指标",
            "可持续影响指标",
            "公共服务保障能力",
            "定性",
            "公共服务事项按期办结率达98%",
            "",
            "按期办结率97%",
            15,
        ),
        (
            "满意度指标",
            "服务对象满意度指标",
            "群众满意度",
            "≥",
            90,
            "%",
            _q2(100 * min(q + Decimal("0.08"), Decimal(1))),
            10,
        ),
    ]
    members = []
    for m in range(n_members):
        members.append(
            {
                "seq": m + 1,
                "name": rng.choice(SURNAMES)
                + rng.choice(GIVEN)
                + (rng.choice(GIVEN) if rng.random() < 0.6 else ""),
                "org": name,
                "post": POSTS[m % len(POSTS)],
            }
        )
    indicators, scores = [], {}
    for seq, (l1, l2, l3, nature, target, unit, actual, weight) in enumerate(spec, start=1):
        w = Decimal(weight)
        if nature == "定性":
            level = "达成" if q >= Decimal("0.8") else "部分达成" if q >= Decimal("0.6") else "未达成"
            base = w * q
            member_scores = [
                _q2(min(w, max(Decimal(0), base + Decimal(rng.randint(-8, 8)) / 10))) for _ in members
            ]
            if n_members > 5:
                member_scores[0] = w  # one generous member: dropped by the trimmed mean
            lo, hi = {
                "达成": (Decimal("0.8"), Decimal(1)),
                "部分达成": (Decimal("0.6"), Decimal("0.79")),
                "未达成": (Decimal(0), Decimal("0.59")),
            }[level]
            member_scores = [min(max(s, _q2(w * lo)), _q2(w * hi)) for s in member_scores]
            self_score = _q2(sum(member_scores) / len(member_scores))
        else:
            level = None
            member_scores = [w for _ in members]
            self_score = w
        full = self_score >= w
        reason = None if full or not reasons else "部分工作进度滞后，下一步将加强调度，按月通报进度。"
        if nature != "定性":
            reason = None if not reasons else "部分项目实施进度滞后，已督促加快进度。"
        indicators.append(
            _ind(seq, l1, l2, l3, nature, target, unit, actual, level, weight, self_score, reason)
        )
        scores[seq] = member_scores
    self_total = min(
        Decimal(100), _q2(Decimal(10) * min(Decimal(rate), Decimal(1)) + 90 * q + Decimal(rng.randint(0, 4)))
    )
    grade = (
        "优秀" if self_total >= 85 else "良好" if self_total >= 75 else "一般" if self_total >= 60 else "较差"
    )
    return {
        "identity": {
            "unit_name": name,
            "division_code": f"{COUNTY_CODE}{part}000",
            "county": COUNTY,
            "year": YEAR,
            "preparer": members[-1]["name"],
            "phone": f"0311-849{rng.randint(10000, 99999)}",
            "filled_on": f"2024-01-{10 + index:02d}",
        },
        "budget": {
            "current": {
                "initial": str(_q2(initial * Decimal("0.8"))),
                "adjusted": str(current),
                "executed": str(_q2(executed * Decimal("0.8"))),
            },
            "carryover": {
                "initial": str(_q2(initial * Decimal("0.15"))),
                "adjusted": str(carry),
                "executed": str(_q2(executed * Decimal("0.15"))),
            },
            "other": {
                "initial": str(initial - _q2(initial * Decimal("0.8")) - _q2(initial * Decimal("0.15"))),
                "adjusted": str(adjusted - current - carry),
                "executed": str(executed - _q2(executed * Decimal("0.8")) - _q2(executed * Decimal("0.15"))),
            },
            "total": {"initial": str(initial), "adjusted": str(adjusted), "executed": str(executed)},
        },
        "goals": {
            "annual_goal": f"{short}{YEAR}年围绕基层党建、经济发展、民生保障和社会治理开展工作，完成年度预算项目{projects}个。",
            "achieved": f"全年完成预算项目{done}个，各项重点工作按计划推进。",
        },
        "self_assessment": {"total": str(self_total), "grade": grade},
        "review": {
            "problems": "部分项目资金支付进度滞后；绩效指标设置的量化程度有待提高。" if q < 1 else "无",
            "measures": "加强预算执行监控，完善绩效指标体系，按季度开展绩效运行监控。",
        },
        "indicators": indicators,
        "members": members,
        "panel_scores": panel_matrix(scores),
    }


def variant(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``data`` with ``section.key`` changes, e.g. ``variant(d, **{"identity.year": 2022})``."""
    out = copy.deepcopy(data)
    for path, value in changes.items():
        node = out
        *parents, last = path.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        node[last] = value
    return out


def credit_code(body: str) -> str:
    """A 统一社会信用代码: ``body`` (its first 17 characters) and the check character (GB 32100-2015)."""
    from selfeval_xlsx.validate import credit_check_char

    check = credit_check_char(body)
    if len(body) != 17 or check is None:
        raise ValueError(f"not the first 17 characters of a credit code: {body!r}")
    return body + check


#: 1 = 机构编制, 1 = 机关, 130133 = 赵县, then an invented 主体标识码.
DEPARTMENT_CODE = credit_code(f"11{COUNTY_CODE}MB0123456")


def department() -> dict[str, Any]:
    """A county department (no township division code, identified by its 统一社会信用代码): the seed's
    figures under 赵县农业农村局 (fictional)."""
    data = seed()
    ident = data["identity"]
    del ident["division_code"]
    ident.update(unit_name="赵县农业农村局", credit_code=DEPARTMENT_CODE)
    return data


def project(data: dict[str, Any], name: str) -> dict[str, Any]:
    """``data`` as the self-evaluation of one project (评价类型 项目) named ``name``."""
    return variant(data, **{"identity.kind": "项目", "identity.project_name": name})
