"""Every Chinese message a finding carries, in one table (as frictionless keeps a template on each error
type), so the wording can be reviewed in one file and every finding code is known to have one.

A code maps to its named variants (``"default"`` when it has one message); a template is a
:meth:`str.format` string with named placeholders (format specs such as ``{total:.2f}`` allowed).
:func:`text` fills one and raises on a missing or an unexpected placeholder.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from functools import cache
from typing import Any

#: Shared wording of several templates below.
_RESAVE = "请在Excel或WPS中打开，点“文件→另存为”，文件类型选“Excel工作簿（*.xlsx）”，保存后重新发送。"
_NO_ARCHIVE = "请直接发送.xlsx文件，或改用ZIP格式压缩。"
_BY_NAME = "（标有“修改、更正、最终、新”的优先，标有“副本、Copy、(1)”的不优先）"
_ASK_ORIGINAL = "请向报送地区索取原始汇总表。"

#: code → variant → template. Codes whose messages are still written in other modules are listed in
#: tests/test_messages.py (an allow-list to shrink).
MESSAGES: dict[str, dict[str, str]] = {
    # --- the file as a whole (reader) -----------------------------------------------------------
    "not-a-workbook": {
        "empty": "文件为空（0字节），可能保存或下载未完成。请重新保存后发送。",
        "text": "该文件是文本文件（如CSV），不是Excel工作簿。" + _RESAVE,
        "zip": "该文件实际是ZIP压缩包，不是Excel工作簿。请解压后发送其中的.xlsx文件。",
        "other-kind": "该文件实际是{label}，不是Excel工作簿。请确认是否发错了文件，重新发送自评表（.xlsx）。",
        "rollup-unreadable": "无法读取该文件（{error}）。",
        "not-a-file": "这不是普通文件（可能是文件夹、管道或设备），未读取。请发送自评表（.xlsx）文件本身。",
    },
    "too-large": {
        "workbook": "文件大小为{size}，超过处理上限{limit}。请删除无关的工作表和图片后重新保存发送。",
        "inflated": "文件解压后的内容超过处理上限（{total}，单个部件{part}）。"
        "请删除无关的工作表、行和图片后重新保存发送。",
        "bomb": "文件的压缩比异常（超过{ratio}倍），可能是恶意构造的“压缩炸弹”，已拒绝读取。"
        "请在Excel或WPS中另存为新的.xlsx后重新发送。",
        "parts": "文件内部包含的部件过多（{count}个，上限{limit}个），已拒绝读取。请删除无关内容后重新保存发送。",
        "rollup-file": "文件超出处理上限，未读取。",
        "file": "文件超过{limit}上限，请检查后重新发送。",
        "inbox-file": "文件大小为{size}，超过处理上限{limit}，未读取。请删除无关的工作表和图片后重新保存发送。",
        "batch": "本批文件总量超过处理上限（{limit}），该文件未读取。请把收件箱分成几批处理。",
        "nested": "{what}嵌套层数过多（超过{limit}层），未打开。请直接发送.xlsx文件，不要把压缩包或邮件再套进压缩包。",
        "email": "邮件结构过于复杂（附件或嵌套过多、文件名过长），未读取。请把附件另存后直接放入收件箱。",
        "attachment": "附件超过处理上限{limit}，未读取。请删除无关内容后重新发送。",
        "members": "{what}中的文件超过{limit}个，其余{rest}个未读取。请只发送自评表，或分成几个压缩包发送。",
        "content": "工作簿内容超出处理上限（{detail}），请删除多余内容后重新发送。",
    },
    "corrupt-workbook": {
        "damaged": "文件已损坏或不完整，无法读取。请在Excel或WPS中打开后重新保存，再重新发送。",
        "dtd": "文件内部含有不允许的XML声明（DOCTYPE/ENTITY），可能是被篡改或恶意构造的文件，已拒绝读取。"
        "请在Excel或WPS中把内容复制到新的工作簿，另存为.xlsx后重新发送。",
        "odd-encoding": "文件内部的XML使用了异常的字符编码，已拒绝读取。请在Excel或WPS中另存为新的.xlsx后重新发送。",
        "structure": "文件结构异常，无法读取。请在Excel或WPS中打开后重新保存，再重新发送。",
        "archive": "压缩包或其中的文件已损坏、不完整，无法解压。请重新压缩后发送，或直接发送.xlsx文件。",
        "unopened": "无法打开文件：{reason}",
        "unreadable": "文件无法作为Excel工作簿读取（{error}），请在Excel或WPS中重新保存为.xlsx后发送。",
    },
    "encrypted-workbook": {
        "password": "文件设有打开密码，无法读取。请取消密码（文件→信息→保护工作簿→用密码进行加密，清空密码）后重新发送。",
        "zip": "压缩包设有密码，无法解压。请去掉密码后重新压缩发送，或直接发送.xlsx文件。",
        "default": "文件设有打开密码，无法读取。",
    },
    "unknown-template": {
        "not-rollup": "该文件不是selfeval-xlsx生成的汇总表（没有_rollup工作表）。乡镇自评表请用validate命令检查。",
        "no-sheets": "这不是本年度的标准自评表模板（找不到“预算执行”“绩效指标”“评价小组”工作表）。"
        "请使用财政局下发的模板填写后重新发送。",
        "foreign": "这不是本系统的标准自评表模板，请使用财政局下发的模板重新填写。",
        "no-meta": "工作簿缺少模板标识（隐藏的_meta工作表），可能是复制到其他文件后填写的；已按标准格式读取。",
    },
    "template-version": {
        "unknown": "模板版本为{version}，本年度须使用{current}版模板。"
        "退回的表已换成{current}版，原文件中与新版位置相同的内容已录入；请逐项与原文件核对，"
        "没有录入或位置不对的内容请在新版中重新填写后发送。",
        "older": "本表使用的是{version}版模板，已按{version}版读取。{current}版模板新增了{added}；"
        "请下次使用{current}版模板，评分或退回的表已换成新版，如需填写可在其中补充。",
    },
    "missing-sheet": {
        "default": "找不到工作表“{sheet}”（现有工作表：{present}）。请勿删除或重命名模板中的工作表。",
        "panel-optional": "{message}本表没有评价小组打分：定性指标按单位自评得分计（{how}）。",
    },
    "extra-data": {
        "dimension": "工作表记录的数据范围为{ref}，远超模板大小；本工具只读取前{rows}行、"
        "前{cols}列。若有内容填在模板以外，请移回模板对应位置；否则无需处理。",
        "dimension-sheet": "工作表“{sheet}”记录的数据范围为{ref}，远超模板大小；本工具只读取前{rows}行、"
        "前{cols}列。若有内容填在模板以外，请移回模板对应位置；否则无需处理。",
        "sheet": "工作表“{sheet}”不属于模板，其内容未读取。",
        "right": "{cell}在表格范围之外，其内容未读取；如需填写请放入模板的对应列。",
        "below": "{cell}在模板表格之外，其内容未读取。指标最多{rows}项，请勿在表格下方追加内容。",
    },
    # --- the inbox (intake) ----------------------------------------------------------------------
    "unreadable-file": {
        "folder": "无法读取文件夹“{name}”（{why}），其中的文件均未读取、未计入汇总。"
        "请检查该文件夹的访问权限（或是否被其他程序占用）后重新运行汇总。",
        "file": "无法读取文件“{name}”（{why}），未计入汇总。"
        "请检查该文件的访问权限（或是否被其他程序占用）后重新运行汇总。",
    },
    "too-deep": {
        "default": "该文件位于超过{limit}层的子文件夹中，未读取、未计入汇总。请把它移到收件箱的上层文件夹后重新运行汇总。",
    },
    "unsafe-name": {
        "member": "文件名“{shown}”含有路径、盘符、控制字符、系统保留名称或过长，已按“{path}”处理，内容照常读取。"
        "建议以后使用简单的文件名，如“宋营镇2023年自评表.xlsx”。",
        "shown": "文件名“{raw}”含有控制字符或过长，已显示为“{shown}”，内容照常读取。建议使用简单的文件名。",
    },
    # --- the workbook check (safety) -------------------------------------------------------------
    "unsupported-format": {
        "xls": ".xls为旧格式，无法读取。" + _RESAVE,
        "et": "该文件为WPS表格格式（.et），无法读取。" + _RESAVE,
        "xlsb": "该文件为Excel二进制工作簿（.xlsb），无法读取。" + _RESAVE,
        "ods": "该文件为OpenDocument表格（.ods），无法读取。" + _RESAVE,
        "xml-spreadsheet": "该文件为Excel 2003 XML表格，不是标准的Excel工作簿。" + _RESAVE,
        "html": "该文件实际是网页文件（常见于系统导出或“另存为网页”），不是Excel工作簿。" + _RESAVE,
        "mht": "该文件实际是单个网页文件（.mht），不是Excel工作簿。" + _RESAVE,
        "rar": "RAR压缩包无法解压。" + _NO_ARCHIVE,
        "7z": "7z压缩包无法解压。" + _NO_ARCHIVE,
        "gzip": "gzip压缩文件无法解压。" + _NO_ARCHIVE,
        "msg": "Outlook邮件（.msg）无法读取。请在Outlook中把附件“另存为”文件后放入收件箱，或把邮件另存为.eml。",
        "zip-method": "压缩包使用了不常见的压缩方式，无法解压。"
        "请用系统自带的“发送到→压缩(zipped)文件夹”重新压缩，或直接发送.xlsx文件。",
    },
    "default-password": {
        "default": "文件以Excel的默认密码加密（设为“建议只读”或只设了修改密码时会这样保存），打开时不需要密码，"
        "已自动解密后读取；原文件未作任何改动。",
    },
    "macro-ignored": {
        "default": "文件含有宏（VBA），宏不会运行，也不会保留在汇总结果中。如表中数据依赖宏计算，请先运行宏并另存为.xlsx。",
    },
    # --- a worker's own trouble, dates, the choice among resubmissions (worker, resubmissions) ----
    "internal-error": {
        "default": "本工具处理该文件时出错（{error}），这不是文件本身的问题，请勿退回乡镇："
        "请将该文件和输出目录中的 merge.log 转交技术人员。",
    },
    "file-changed": {
        "default": "该文件在汇总过程中被修改、替换或删除，未处理。请确认文件无误后重新运行汇总。",
    },
    "future-date": {
        "email": "该文件所在邮件的发送日期为{sent:%Y-%m-%d %H:%M}，晚于当前时间，可能是发件电脑的"
        "时钟有误；判断先后报送时改按文件保存时间，请核对。",
        "filled-on": "填报日期为{filled}，晚于收到该文件的日期（{received}），请核对填报日期。"
        "填报日期不影响先后报送的判断（以收到时间为准）。",
    },
    "resubmission-tie": {
        "default": "该单位另有{count}份同时收到、内容不同的{what}（{others}，如同一封邮件的多个附件），"
        "无法按收到时间判断先后，已按文件名选用本文件" + _BY_NAME + "。请核对确认选用无误。",
    },
    "tool-output": {
        "default": "本文件是本工具生成的评分结果（已评分副本），收件箱中没有该单位的原始报送，"
        "已按其中的填报内容计入汇总。请确认原始报送确已遗失或未收到。",
    },
    "superseded": {
        "newer-valid": "{unit}的此份报送有错误，但已有更新的报送《{winner}》通过审核，无需退回。",
        "older-by-name": "{unit}的此份报送有错误，与通过审核的《{winner}》收到时间相同，按文件名"
        + _BY_NAME
        + "视为旧版，无需退回；请确认选用无误。",
        "newer": "{unit}的此份{what}已被更新的{what}《{winner}》替代。",
        "tie": "{unit}的此份{what}与《{winner}》收到时间相同、内容不同，已按文件名选用《{winner}》"
        + _BY_NAME
        + "，请确认选用无误；如应采用本文件，请删除另一份后重新汇总。",
        "rollup-row-own": "汇总表《{rollup}》中{name}（{code}）一行未计入：收件箱中有该单位自己的报送"
        "《{own}》，原始报送优先于汇总表中的行。",
        "rollup-row-earlier": "汇总表《{rollup}》中{name}（{code}）一行未计入：该单位已按较新的汇总表"
        "《{earlier}》计入，同一单位只计一次。",
        "rollup-whole": "汇总表《{rollup}》中的{count}个单位均已按{named}计入（单位自己的报送优先于汇总表，"
        "同一单位只计一次），本汇总表不再重复计入。",
    },
    "skipped": {
        "returned-unedited": "本工具生成的退回副本，尚未经乡镇修改（不是新的报送），不计入。",
        "completed-counted": "本工具生成的评分结果（已评分副本），该单位已有报送《{by}》计入，不重复计入。",
        "completed-covered": "本工具生成的评分结果（已评分副本），该单位已有其他报送或汇总表，不重复计入。",
    },
    "year-mismatch": {
        "merge": "文件为{year}年度，本次汇总为{wanted}年度。如报送有误，请按{wanted}年度重新填报。",
        "rollup-row": "{who}的评价年度为{year}，与汇总表的年度{rollup_year}不符。",
    },
    # --- roll-up workbooks (rollup_check, signing) -----------------------------------------------
    "rollup-corrupt": {
        "default": "这是一份汇总表，但其隐藏的数据工作表（_rollup）已损坏或被改动，无法读取，未纳入汇总。"
        + _ASK_ORIGINAL,
    },
    "rollup-invalid": {
        "rules": "汇总表使用的评分规则“{rules}”本机没有，无法核对其中各乡镇的得分，未纳入汇总。"
        "请使用与报送地区相同的评分规则（--rules）重新汇总。",
        "grades": "汇总表的等级设置（{grades}）与评分规则“{rules}”（{expected}）不符。",
    },
    "rollup-duplicate-unit": {
        "default": "{who}与第{other}行是同一单位的同一项评价，一个单位的每项评价在汇总表中只能"
        "出现一次，该汇总表未纳入汇总。",
    },
    "rollup-figure-mismatch": {
        "counts": "汇总表的文件数不相符：收到{seen}个，通过、被替代、退回、跳过合计{parts}个。",
        "rate": "{who}：执行率为{rate}%，按全年执行数÷全年预算数（{executed}÷{adjusted}）应为{expected}%。",
        "budget-score": "{who}：预算执行得分为{score}，按执行率应为{expected}（{explanation}）。",
        "total": "{who}：核定总分为{total}，但预算执行、产出、效益、满意度得分合计为{parts}。",
        "grade": "{who}：核定等级为“{grade}”，核定总分{total}按评分规则（{bands}）应为“{expected}”。",
        "subtotal": "{who}：{column}为{shown}，但指标明细中该单位{category}各项核定得分合计为{total}。",
        "no-totals": "汇总表数据缺少合计。",
        "total-row": "合计行的{label}为{stored}{unit}，按各乡镇行计算应为{expected}{unit}。",
    },
    "rollup-sheet-mismatch": {
        "no-sheet": "汇总表缺少“汇总”工作表。",
        "more": "“汇总”工作表还有更多行与汇总表数据不符。",
        "row": "“汇总”工作表第{row}行的内容与汇总表数据不符（{detail}）：表格被改动过，未纳入汇总。"
        + _ASK_ORIGINAL,
        "total-row": "“汇总”工作表合计行的内容与汇总表数据不符（{detail}）：表格被改动过，未纳入汇总。"
        + _ASK_ORIGINAL,
    },
    "rollup-unverified": {
        "no-verify": "{label}的来源未经验证：已关闭签名验证（--no-verify）。各乡镇数据已逐项核对，"
        "但无法确认该表确由报送地区生成且未被改动；请将下级地区的公钥（.pub文件）放入受信任公钥目录后重新汇总。",
        "no-keys": "{label}的来源未经验证：本机未配置受信任的公钥。各乡镇数据已逐项核对，"
        "但无法确认该表确由报送地区生成且未被改动；请将下级地区的公钥（.pub文件）放入受信任公钥目录后重新汇总。",
    },
    "rollup-unsigned": {
        "default": "{label}没有签名，无法确认其来源，未纳入汇总。请报送地区配置签名密钥后重新汇总并报送。",
    },
    "rollup-untrusted-key": {
        "default": "{label}的签名密钥（指纹{fingerprint}）不在受信任公钥目录中，未纳入汇总。"
        "如该地区更换了密钥，请向其索取新的公钥文件并电话核对指纹。",
    },
    "rollup-key-area": {
        "default": "{label}由{signer}（{signer_area}）的密钥签名，该密钥无权签署{area}地区的汇总表，未纳入汇总。",
    },
    "rollup-bad-signature": {
        "default": "{label}的数据与其签名不符：签名后内容被改动过，未纳入汇总。" + _ASK_ORIGINAL,
    },
    # --- cells (reader) ------------------------------------------------------------------------
    "value-normalised": {
        "default": "“{label}”：{note}。",
        "sheet-name": "工作表名称“{name}”含有空格或不可见字符，已按“{key}”读取；建议把该工作表重命名为“{key}”。",
        "hidden-row": "第{row}行是隐藏行但含有数据，已照常读取；请取消隐藏并核对。",
        "percent-unit": "“{label}”：单元格为百分比格式，显示为{shown}，已按{value:f}读取；但{said}，"
        "请核对：如计量单位应为“%”请改正，如不是百分数请把单元格格式改为“数值”后重新填写。",
    },
    "cell-error": {
        "default": "“{label}”单元格为错误值{value}，请改为正确的内容。",
    },
    "formula-not-allowed": {
        "default": "“{label}”中是公式{formula}，请直接填写内容，不要使用公式。",
        "typed-equals": "“{label}”填的“{value}”以“=”开头，被Excel当成了公式。{hint}",
        "unevaluated": "“{label}”中的公式{formula}无法核算（{reason}），请直接填写数值。",
    },
    "formula-recomputed": {
        "default": "“{label}”中的公式{formula}已由系统重新计算为{value:f}（不采用文件中缓存的结果）。",
    },
    "percent-format": {
        "default": "“{label}”单元格设为了百分比格式（显示为{shown}），无法确定所填的数是多少。"
        "请把该单元格格式改为“数值”或“常规”，直接填写{wanted}。",
    },
    "merged-input": {
        "default": "单元格{cell}被合并，只能读取左上角{first}的内容，其余单元格的内容会丢失。请取消合并后分别填写。",
    },
    # --- cells (validate: schema errors) --------------------------------------------------------
    "missing-value": {
        "default": "{label}未填写，请补充。",
        "completion": "{label}未填写：定性指标须选择完成等级（达成/部分达成/未达成）。",
        "required-when": "{label}未填写：{when}为“{answer}”时必须填写，请补充。",
        "no-indicators": "未填写任何指标。",
        "no-indicator-rows": "未填写任何绩效指标。",
        "no-members": "未填写评价工作组成员。",
        "no-code": "“行政区划代码”和“统一社会信用代码”都未填写：乡镇（街道）请填写12位行政区划代码，"
        "县直部门等其他单位请填写18位统一社会信用代码。",
        "no-members-panel": "评分规则要求评价小组成员逐项打分，但未填写评价工作组成员。请在“评价小组”表填写成员"
        "（一般3至7人）并由每位成员对各项指标打分。",
        "self-score-no-panel": "第{seq}项指标是定性指标，本表没有评价小组打分（按单位自评得分计），"
        "请填写“自评得分”；如有评价小组打分，请填在“评价小组”表。",
        "weights-incomplete": "一级指标“{category}”的{count}项指标（{names}）都没有填写分值，且“自评得分”不全，无法推算。"
        "请逐项填写分值（按评分规则该类合计{weight}分）。",
        "weights-underivable": "一级指标“{category}”的{count}项指标（{names}）都没有填写分值，{why}，无法推算。"
        "请逐项填写分值（按评分规则该类合计{weight}分）。",
        "blank-total": "“合计”行的“{column}”未填写。请填写金额（万元）；确实没有的请填0。",
        "blank-total-parts": "“合计”行的“{column}”未填写。各资金来源行已填写，合计为{total:.2f}万元，"
        "请在合计行填写该数。",
    },
    "type-error": {
        "default": "{label}应填写{expected}，现为“{value}”，请修改。",
        "schema": "{label}不符合要求：{detail}",
    },
    "out-of-range": {
        "rollup-amount": "{who}：{column}为{value:f}万元，应在0至{maximum:f}万元之间。",
        "rollup-rate": "{who}：执行率为{rate:f}%，不能为负数。",
        "rollup-score": "{who}：{column}为{value}分，应在0至{maximum}分之间。",
        "rollup-errors": "{who}：错误数为{errors}：有错误的乡镇报送不能纳入汇总。",
        "rollup-weight": "{who}的分值{weight}超出范围。",
        "rollup-indicator-score": "{who}的核定得分为{score}，应在0至其分值{weight}之间。",
        "default": "{label}为{value}，超出允许范围（{span}），请核对。",
        "numtext": "{label}为{value}，超出合理范围（绝对值不超过1万亿），无法计算得分。"
        "请核对是否多输了位数或填错了单位。",
        "tiny-target": "{head}，绝对值小于{minimum:f}，无法作为计算得分的基数。"
        "请核对（百分数请填写如96，计量单位填“%”）。",
        "tiny-adjusted": "“合计”行的全年预算数（调整后）为{value}万元，不足{minimum}万元，无法计算执行率。"
        "请核对金额（单位为万元）。",
        "filled-on": "填报日期{value}不合理，请填写实际填报日期。",
        "panel-score": "{who}第{seq}项指标的打分{value}超过该指标分值{weight}，请修改。",
        "filled-on-year": "填报日期{value}与评价年度{year}不符（应在{year}年至{last}年之间），请核对。",
    },
    "invalid-choice": {
        "default": "{label}为“{value}”，应从下拉列表选择：{choices}。",
    },
    "invalid-format": {
        "default": "{label}为“{value}”，格式不正确。",
        "division_code": "{label}为“{value}”，应为12位数字的统计用区划代码，如130133101000。",
        "credit_code": "{label}为“{value}”，统一社会信用代码校验未通过：应为18位，由数字和大写字母组成"
        "（不含I、O、Z、S、V），第3-8位为数字（登记机关的行政区划代码），现为{length}位。"
        "请对照单位的法人证书逐位核对。",
        "phone": "{label}为“{value}”，应为电话号码，如13800000000或0311-12345678。",
        "filled_on": "{label}为“{value}”，应为日期，如2024-01-15。",
    },
    "too-long": {
        "default": "{label}超过{limit}字（现{length}字），请精简。",
        "cell": "“{label}”超过{limit}字（现{length}字），请精简。",
    },
    "too-many-rows": {
        "default": "{label}超过{limit}行。",
    },
    "nature-mismatch": {
        "default": "{label}应为数字（指标性质为定量“≥/≤/=”），现为“{value}”。请只填数字并把单位写在“计量单位”列；"
        "如确实无法量化，请将指标性质改为“定性”。",
        "hint": "{label}应为数字（指标性质为定量“{nature}”）。{hint}",
    },
    "actual-copied-target": {
        "audit": "{name}的实际完成值“{actual}”与年度指标值一字不差（连比较符号一起照抄），却按满分自评。"
        "请填写实际达到的数值（如96.5，不带“≥”“≤”等符号），并按实际完成情况自评打分。",
        "default": "{label}“{value}”照抄了年度指标值（连“{sign}”一起），不是实际完成的数值，无法计分。"
        "请填写实际达到的数值（只填数字，如实际完成了{number:f}就填{number:f}），不带“≥”“≤”等符号，"
        "并按实际完成情况自评打分。",
    },
    # --- cross-field rules (validate) ------------------------------------------------------------
    "invalid-code": {
        "rollup-code": "{who}的单位代码无效（应为12位统计用区划代码，或18位统一社会信用代码）。",
        "rollup-area": "{who}不属于本汇总表的地区{county}（{county_code}）。",
        "county": "行政区划代码{code}的前6位{county}不是有效的县级区划代码，请核对（可向县统计局查询）。",
        "township": "行政区划代码{code}的乡级部分（第7-12位{township}）无效：第7-9位应在001-599之间，后3位应为000。",
        "credit-check": "统一社会信用代码{code}校验未通过：按前17位计算，第18位（校验码）应为{expected}，"
        "现为{actual}。通常是某一位抄错了，请对照单位的法人证书逐位核对。",
        "credit-area": "统一社会信用代码{code}的第3-8位{area}不是有效的行政区划代码，请对照单位的法人证书核对。",
    },
    "code-mismatch": {
        "township-kind": "单位名称含“{word}”，但区划代码第7-9位{town}不在{lo:03d}-{hi:03d}（{word}）范围内，请核对。",
        "county": "所属县“{county}”与区划代码前6位对应的“{official}”不一致，请核对。",
        "credit-county": "所属县“{county}”与统一社会信用代码第3-8位对应的“{official}”不一致，请核对。",
    },
    "sum-mismatch": {
        "default": "“{column}”合计为{total:.2f}万元，但{parts}之和为{sum:.2f}万元，请核对后修改。",
    },
    "duplicate-seq": {
        "default": "指标序号{seq}重复，请修改为不重复的序号（评价小组打分按序号对应指标）。",
    },
    "category-mismatch": {
        "default": "第{seq}项指标的二级指标“{level2}”不属于一级指标“{level1}”，应为：{allowed}。",
    },
    "weights-total": {
        "default": "指标分值合计为{total:f}分，应为{expected:f}分。评分规则：{rules}。请调整各指标分值。",
    },
    "invalid-target": {
        "zero-at-least": "{head}，指标性质为“≥”（越大越好）：任何实际完成值都不小于0，得分没有意义。"
        "请填写大于0的目标值。",
        "zero": "{head}：实际完成值{what}即得0分，无法按比例扣分（如“不发生安全事故”类指标可保留）。",
        "negative-at-least": "{head}，是负数，而指标性质为“≥”（越大越好）：完成比例无法计算，得分没有意义。"
        "请填写大于0的目标值；如指标是“下降不超过”“减少不少于”之类，请改写为正数并选择相应的“≥”或“≤”。",
        "negative-at-most": "{head}，是负数，而指标性质为“≤”（越小越好）：超出比例无法计算，得分没有意义。"
        "请填写不小于0的目标值；如指标是“下降不少于”之类，请改写为正数并选择“≥”。",
    },
    # --- the evaluation panel (panel) ------------------------------------------------------------
    "panel-unknown-indicator": {
        "member": "第{row}行的打分对应的指标（序号{row}）在“绩效指标”表中不存在，请删除该打分或补充指标。",
        "agreed": "第{row}行的“小组评分”对应的指标（序号{row}）在“绩效指标”表中不存在，请删除该分数或补充指标。",
    },
    "panel-unknown-member": {
        "default": "“成员{column}”列有打分，但成员名单中没有第{column}位成员，请补充成员信息或删除该列打分。",
    },
    "panel-missing-score": {
        "member-none": "{name}（“成员{column}”列）未对任何指标打分（共{count}项）。请由该成员逐项打分；"
        "如评价小组只合议了一个分数，请清空各成员列，把分数填在“小组评分”列。",
        "member": "{name}未对第{seq}项指标打分，请在该单元格填写分数。",
        "agreed-none": "评分规则要求评价小组对定性指标合议评分，但“小组评分”列没有填写（定性指标{count}项："
        "第{seqs}项）。请逐项填写评价小组合议的分数。",
        "agreed": "第{seq}项指标是定性指标，“小组评分”未填写，请填写评价小组合议的分数。",
    },
    "panel-ignored": {
        "agreed": "已按成员逐项打分计分，“小组评分”列的分数未采用；如以合议分数为准，请清空各成员列。",
        "members-agreed-mode": "评分规则为评价小组合议评分，各成员列的打分未采用。",
        "none-mode": "评分规则为单位自评（不设评价小组打分），“评价小组”表中的打分未采用。",
    },
    "panel-mode": {
        "default": "{why}：定性指标按单位自评得分计（{how}）。如评价小组逐人打分，请填在各成员列；"
        "如合议了一个分数，请填在“小组评分”列。",
    },
    # --- weights (weights) ---------------------------------------------------------------------
    "weights-derived": {
        "default": "一级指标“{category}”各项未填写分值，已按评分规则（该类{weight}分）推算：{listed}（{how}）。"
        "如原表有逐项分值，请照原表填写。",
    },
    "category-weights": {
        "default": "一级指标“{category}”{count}项指标的分值合计{total}分，按评分规则应为{weight}分。"
        "评分规则：{rules}。请调整该类各指标的分值。",
    },
    # --- audit (scoring) ---------------------------------------------------------------------------
    "self-score-differs": {
        "default": "自评总分填为{own}分，但按本表数据核定为{total}分（预算执行{budget}分＋绩效指标{indicators}分），"
        "相差{diff}分。{ceiling}请核对预算执行数和各指标得分，并将“自评总分”改为{total}分。",
        "ceiling": "预算执行率{rate:f}%，预算执行只能得{budget}分，本表总分最高为{best}分。",
    },
    "self-grade-differs": {
        "default": "自评等级填为“{own}”，但按核定总分{total}分应为“{grade}”（{grades}）。请将“自评等级”改为“{grade}”。",
    },
    "execution-over-100": {
        "default": "全年执行数{executed}万元大于全年预算数（调整后）{adjusted}万元，执行率为{rate}，"
        "按100%计分（{score}分）。请核对执行数和调整后预算数是否填错；如确属超预算支出，请在“存在的问题”中说明原因。",
    },
    "budget-lowered": {
        "default": "全年预算数（调整后）{adjusted}万元比年初预算数{initial}万元调减了{cut}万元（{share}），"
        "调减后与全年执行数{executed}万元基本相同，执行率显示为{rate}；按年初预算计算执行率仅为{initial_rate}。"
        "请核实预算调整是否经过批复：按批复的全年预算数填写，并在“存在的问题”中说明预算调减的原因。",
    },
    "budget-raised": {
        "default": "全年预算数（调整后）{adjusted}万元比年初预算数{initial}万元调增了{raise_}万元（{share}），"
        "调增后与全年执行数{executed}万元基本相同，执行率显示为{rate}。"
        "请核实预算调增是否经过批复（追加预算的文件），按批复的全年预算数填写，"
        "并在“存在的问题”中说明年中追加预算的原因。",
    },
    "vague-indicator": {
        "target": "{name}的指标性质为“{nature}”（定量指标），但年度指标值“{target}”不是数字，"
        "无法按公式计分（暂按评价小组打分计{score}分）。请在“年度指标值”只填数字（如38、95），"
        "单位填在“计量单位”列；确实无法量化的，请把指标性质改为“定性”并写明评判标准。",
        "unit": "{name}是定量指标（年度指标值{target:f}），但没有填写“计量单位”。请填写单位，如“个”“%”“万元”“天”。",
    },
    "vague-target": {
        "qualitative": "{name}的年度指标值“{target}”使用了“{words}”等模糊表述，没有可以核验的标准。"
        "定性指标请写明可以核验的完成标准，如“全年未发生重大安全事故”“按期完成验收并出具验收报告”；"
        "能够量化的，改为定量指标，填数字并写明计量单位。",
        "quantitative": "{name}的年度指标值“{target}”使用了“{words}”等模糊表述，没有可以核验的标准。"
        "请改为可衡量的指标值，如“群众满意度≥90%”“资金拨付时间≤30天”；定量指标填数字并写明计量单位。",
    },
    "missing-deviation-reason": {
        "blank": "{name}核定得分{score}分，低于分值{weight}分，但“偏差原因分析及改进措施”未填写。"
        "请写明未达到目标的原因和改进措施。",
        "filler": "{name}核定得分{score}分，低于分值{weight}分，但“偏差原因分析及改进措施”只填了“{reason}”。"
        "请写明未达到目标的原因和改进措施。",
    },
    "band-mismatch": {
        "default": "{name}完成等级填为“{completion}”，该等级的得分应在{low}～{high}分之间，"
        "但{base}为{before}分，已按完成等级调整为{score}分。请核对完成等级和成员打分，使二者一致。",
    },
    "deduction-without-shortfall": {
        "default": "{name}已完成目标（核定得满分{weight}分），但自评只给了{own}分{why}。"
        "请核实：确已完成的，自评得分应为{weight}分；有未完成的情况，请据实修改实际完成值，"
        "并在“偏差原因分析及改进措施”中说明。",
    },
    "indicator-self-score-differs": {
        "default": "{name}自评得分{own}分，按本表数据核定为{score}分，相差{diff}分（核定依据：{basis}）。"
        "请核对{check}，并将“自评得分”改为{score}分。",
    },
    "category-empty": {
        "default": "一级指标“{category}”下没有任何指标（评分规则中该类共{weight}分）。"
        "请至少设置一项{category}，二级指标可选：{level2}。",
    },
    "qualitative-heavy": {
        "default": "定性指标（含未填数字的定量指标）共{count}项，分值合计{weight}分，"
        "占指标总分{total}分的{share}，超过{max_share}（{limit}分）。"
        "请增加有数值目标和计量单位的定量指标，或把部分定性指标改为可量化的指标。",
    },
    "panel-too-small": {
        "default": "评价工作组只有{count}人，少于{minimum}人。请补充评价工作组成员"
        "（如单位负责人、办公室主任、财政所所长），并由每位成员对各项指标打分。",
    },
    "panel-outlier": {
        "default": "评价小组成员“{who}”对{name}打分{score}分，其他成员平均{mean}分，相差{gap}分，"
        "超过该指标分值{weight}分的{share}（{allowed}分）。请核实该打分是否填错；"
        "确无错误的，请在“偏差原因分析及改进措施”中说明评分分歧的原因。",
    },
    "no-problems-stated": {
        "default": "“存在的问题”填写为“{shown}”，但本表核定共失{lost}分（{parts}）。请如实写明失分的原因和存在的主要问题。",
    },
    "actual-equals-target": {
        "default": "全部{count}项定量指标（{listed}）的实际完成值都与年度指标值完全相同，且都得满分。"
        "请核实是否按实际完成情况填写：实际完成值应为统计或核实得到的数（如实际完成40个、达到96.5%），"
        "而不是照抄年度指标值。",
    },
    "generic-completion": {
        "default": "{rows}项指标中有{count}项的实际完成值只写了“{words}”，看不出实际完成了多少。"
        "请逐项填写实际完成的数值或具体情况（定量指标填数字，定性指标写明做了什么、达到什么程度）。",
    },
    "template-text-left": {
        "default": "“{prompt}”是模板中的填写提示，不是填报内容。请删除提示文字，填写本单位的实际情况。",
    },
    "execution-scored-twice": {
        "default": "{name}衡量的是“{word}”，而预算执行情况已在“预算执行”部分单独计分（{weight}分），"
        "同一事项计了两次分。请改为反映本单位履职产出或效益的指标（如完成的项目数、服务人次、验收合格率）。",
    },
    "cost-differs-from-budget": {
        "default": "{name}的实际完成值为{actual}万元，但“预算执行”合计行的全年执行数为{executed}万元，"
        "相差{diff}万元。该指标反映的是全年支出总额，两处应一致：请核对后修改其中填错的一处。",
    },
    "goal-not-reported": {
        "default": "填写了年度总体目标，但“实际完成情况”{said}，看不出目标完成得怎样。"
        "请对照年度总体目标逐项写明实际完成情况（做了什么、完成了多少、未完成的原因）。",
    },
    # --- the collection round: roster, ledger, last year (issue 17) -----------------------------------
    "roster-unreadable": {
        "default": "报送单位名单《{file}》无法读取：{reason}本次汇总未使用名单。",
    },
    "roster-duplicate": {
        "default": "名单第{row}行的单位代码{code}与第{first}行重复，请删除其中一行（本行未使用）。",
    },
    "roster-bad-code": {
        "default": "名单第{row}行“{name}”的单位代码“{code}”无效：乡镇（街道）应为12位行政区划代码，其他单位应为18位统一社会信用代码，请核对。",
    },
    "roster-unknown-county": {
        "default": "名单第{row}行“{name}”的代码{code}所含县级代码{county}不是有效的县级区划代码，请核对。",
    },
    "roster-other-county": {
        "default": "名单第{row}行“{name}”的代码{code}属于{other}（{county}），与名单中其他单位所属的{main}不同，请核对。",
    },
    "roster-no-name": {
        "default": "名单第{row}行（代码{code}）没有填写单位名称，请补填（本行未使用）。",
    },
    "roster-no-code": {
        "default": "名单第{row}行“{name}”没有填写单位代码，只能按单位名称对应报送，请补填。",
    },
    "roster-bad-email": {
        "default": "名单第{row}行“{name}”的邮箱“{email}”格式不正确（应如 name@example.cn），无法生成催报邮件，请核对。",
    },
    "roster-empty": {
        "default": "报送单位名单《{file}》中没有可用的单位行。本次汇总未使用名单。",
    },
    "not-on-roster": {
        "default": "“{name}”（{code}）报送了自评表，但不在报送单位名单中，请核对名单或该单位的代码。",
    },
    "ledger-unreadable": {
        "default": "预算执行台账《{file}》无法读取：{reason}本次汇总未核对台账。",
    },
    "ledger-unit": {
        "default": "预算执行台账《{file}》没有写明金额单位（表头上方写“单位：元”或“单位：万元”，或列名写“全年预算数（元）”），请写明后重试，或用 --ledger-unit 指定。本次汇总未核对台账。",
    },
    "ledger-duplicate": {
        "default": "台账第{row}行的单位“{unit}”与第{first}行重复，本行未使用，请核对。",
    },
    "ledger-bad-number": {
        "default": "台账第{row}行“{unit}”的“{column}”为“{value}”，不是数字，本行该项未核对。",
    },
    "ledger-no-unit": {
        "default": "台账第{row}行没有单位代码或名称，本行未使用。",
    },
    "ledger-mismatch": {
        "default": "{column}填报为{reported}万元，财政预算执行台账为{ledger}万元，填报数比台账{more}{diff}万元（允许误差{tolerance}万元），请核对后按台账数填报，或说明差异原因。",
    },
    "ledger-missing": {
        "default": "预算执行台账中没有“{name}”（{code}），其报送的预算数和执行数未能核对。",
    },
    "ledger-not-submitted": {
        "default": "预算执行台账第{row}行的“{unit}”没有报送通过的自评表。",
    },
    "previous-unreadable": {
        "default": "上年汇总《{file}》无法读取：{reason}本次汇总未与上年比较。",
    },
    "copied-from-last-year": {
        "default": "指标{seq}“{indicator}”的指标值“{target}”和实际完成值“{actual}”与上年完全相同（全部{total}项指标中有{count}项与上年相同），请按本年度实际情况填写。",
    },
    "recurring-problem": {
        "default": "上年汇总在相同位置指出的{count}个问题本年仍然存在，请重点整改：{problems}。",
    },
}


#: Pieces that several messages name (a roll-up, one of its rows, a value shown), and the reasons a file
#: is skipped (intake): name → variant → template, filled by :func:`phrase`.
PHRASES: dict[str, dict[str, str]] = {
    "rollup": {
        "default": "{county}（{area}）汇总表",
        "year": "{county}（{area}）{year}年度汇总表",
    },
    "rollup-row": {"default": "第{row}行{name}（{code}）"},
    "rollup-indicator": {"default": "{name}（{code}）第{seq}项指标"},
    "rollup-value": {"blank": "（空）", "count": "{name}{count}个"},
    "rollup-shown": {"default": "{column}显示为{shown}，数据中为{data}"},
    "file-kind": {"submission": "报送", "completed": "评分结果"},  # what a resubmission message names
    # merge refuses an inbox with nothing to merge (NothingToMerge)
    "nothing-to-merge": {
        "empty": "文件夹“{inbox}”中没有任何文件，没有可汇总的内容，未生成汇总表。请把各单位报送的文件放入该文件夹后重试。",
        "no-workbooks": "文件夹“{inbox}”中没有自评表工作簿（.xlsx/.xlsm，或含有工作簿的 .zip/.eml），没有可汇总的内容，"
        "未生成汇总表。其中的{listed}{more}均不是报送文件。",
        "item": "{name}（{reason}）",
        "more": "等{count}个文件",
    },
    # a key file refused (signing: KeyFileError, or a problem listed by load_keyring)
    "key-file": {
        "bad-area": "地区代码“{area}”无效：应为6位数字的县级（或市级、省级）区划代码，如130133。",
        "exists": "密钥文件{path}已存在。如确需更换密钥，请先备份旧密钥再使用--overwrite。",
        "public-unreadable": "无法读取公钥文件{file}（{error}）。",
        "not-public": "公钥文件{file}不是selfeval-xlsx生成的公钥（缺少或无法识别key一行）。",
        "public-area": "公钥文件{file}的地区代码“{area}”无效，无法确定该密钥可签署哪个地区。",
        "fingerprint": "公钥文件{file}中的指纹与密钥不符，文件可能被改动，请向报送单位重新索取。",
        "not-ed25519": "私钥文件{file}不是Ed25519私钥。",
        "private-name": "私钥文件{file}的文件名不以6位地区代码开头，未使用。",
        "private-unreadable": "私钥文件{file}无法读取（{error}），未使用。",
    },
    "unreadable-why": {"no-permission": "没有读取权限", "not-regular": "不是普通文件"},
    # why intake skips a file (listed, not a finding: the file is not a submission)
    "skip": {
        "too-many-files": "收件箱文件过多（超过{limit}个），其余未读取",
        "too-deep": "文件夹层级过深（超过{limit}层），未读取",
        "outside-link": "指向收件箱外的链接（未跟随）",
        "inside-link": "链接（未跟随；所指文件若在收件箱内会单独处理）",
        "staging-folder": "本工具上次运行遗留的临时文件夹（其中的文件未读取）",
        "hidden-folder": "隐藏文件夹或系统文件夹（其中的文件未读取）",
        "in-hidden-folder": "隐藏文件夹或系统文件夹中的文件",
        "not-regular": "不是普通文件（设备、管道等）",
        "hidden-file": "隐藏文件",
        "lock-file": "Office临时锁定文件（~$开头）",
        "system-file": "系统文件（{label}）",
        "tool-temporary": "本工具上次运行遗留的临时文件",
        "large-other": "不是工作簿（{label}），且超过大小上限，未读取",
        "other-kind": "不是工作簿（{label}）",
        "empty": "空文件（0字节）",
        "empty-zip": "空压缩包",
        "own-draft": "本工具生成的回复邮件草稿（drafts/），不是报送",
        "no-attachments": "邮件中没有附件",
        "rollup-json": "本工具生成的汇总数据（rollup.json），不是报送文件",
        "merge-log": "本工具的运行日志（merge.log），不是报送文件",
        "duplicate": "重复文件（与 {first} 内容相同）",
    },
}

#: After a list cut short (``《a》《b》等``).
AND_MORE = "等"


def titles(names: Sequence[str], most: int | None = None) -> str:
    """File names as book titles, ``《a》《b》``; with ``most``, the first ``most`` and 等 when cut."""
    shown = names if most is None else names[:most]
    return "".join(f"《{name}》" for name in shown) + (
        AND_MORE if most is not None and len(names) > most else ""
    )


@cache
def placeholders(code: str, variant: str = "default") -> frozenset[str]:
    """The names a template needs."""
    return _names(MESSAGES[code][variant])


def text(code: str, variant: str = "default", /, **values: Any) -> str:
    """The message of ``code`` (its ``variant``) with ``values`` filled in.

    Raises ``KeyError`` for an unknown code or variant and ``ValueError`` when a placeholder is left
    without a value or a value has no placeholder.
    """
    template = MESSAGES[code][variant]
    needed = placeholders(code, variant)
    return _fill(template, needed, f"message {code}/{variant}", values)


@cache
def phrase_placeholders(name: str, variant: str = "default") -> frozenset[str]:
    """The names a phrase needs."""
    return _names(PHRASES[name][variant])


def phrase(name: str, variant: str = "default", /, **values: Any) -> str:
    """A phrase of :data:`PHRASES` with ``values`` filled in (raises as :func:`text` does)."""
    return _fill(
        PHRASES[name][variant], phrase_placeholders(name, variant), f"phrase {name}/{variant}", values
    )


def _names(template: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name is not None)


def _fill(template: str, needed: frozenset[str], what: str, values: dict[str, Any]) -> str:
    if missing := needed - values.keys():
        raise ValueError(f"{what}: no value for {sorted(missing)}")
    if extra := values.keys() - needed:
        raise ValueError(f"{what}: no placeholder for {sorted(extra)}")
    return template.format(**values)
