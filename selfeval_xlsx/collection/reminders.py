"""Reminder drafts: for each roster unit that has not reported and has an e-mail on the roster, a
ready-to-send e-mail (``.eml``) asking it to report, like the reply drafts of :mod:`selfeval_xlsx.drafts`
(``X-Unsent: 1``: Outlook, Foxmail and Thunderbird open it as a message to send; marked so that an
intake skips it when it is put back into an inbox)."""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from ..drafts import DRAFT_HEADER, XLSX_TYPE


def reminder_file_name(unit: str) -> str:
    """``催报_<单位名称>.eml``, made safe for any file system."""
    from ..filenames import safe_name

    return safe_name(f"催报_{unit}.eml")


def reminder_draft(
    *,
    unit: str,
    email: str,
    contact: str = "",
    year: int | None = None,
    county: str = "",
    now: datetime | None = None,
    attachment: bytes | None = None,
    attachment_name: str = "",
) -> bytes:
    """The bytes of an unsent reminder to ``email`` (RFC 5322, UTF-8 body, Chinese headers encoded), with
    ``attachment`` (the unit's prefilled workbook) attached when given."""
    now = now or datetime.now()
    what = f"{year}年度整体支出绩效自评表" if year else "整体支出绩效自评表"
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = f"请尽快报送{unit}{what}"
    msg["To"] = Address(display_name=contact or unit, addr_spec=email)
    msg["Date"] = format_datetime(now.astimezone())
    msg["X-Unsent"] = "1"
    msg[DRAFT_HEADER] = "reminder-draft"
    body = [
        f"{contact or unit}：",
        "",
        f"截至{now:%Y年%m月%d日}，我局尚未收到{unit}的{what}。",
        f"请按{county + '财政局' if county else '我局'}通知要求，使用"
        + ("附件中的预填模板" if attachment is not None else "下发的预填模板")
        + "（单位名称、代码、年度已填好）填写后尽快报送。"
        "如已报送，请忽略本邮件，或回复告知报送时间和文件名。",
        "如有疑问，请与我局联系。",
        "",
        "此致",
        "",
        f"{now:%Y年%m月%d日}",
    ]
    msg.set_content("\n".join(body), charset="utf-8", cte="base64")
    if attachment is not None:
        msg.add_attachment(attachment, *XLSX_TYPE, filename=attachment_name or "自评表.xlsx")
    return msg.as_bytes()
