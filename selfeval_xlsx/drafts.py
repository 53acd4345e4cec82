"""Reply drafts: for every rejected file, a ready-to-send e-mail (``.eml``) back to whoever sent it.

A clerk double-clicks the draft (Outlook, Foxmail, Thunderbird open an ``.eml`` with ``X-Unsent: 1`` as a
message to send), checks it and presses send. It is addressed to the sender when the file came in an
e-mail (intake records the ``From`` of the message it was attached to), names the township and year in
its subject, lists the reasons the roll-up shows, and carries the returned workbook from ``returned/``.
"""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, getaddresses

#: The folder of the output that holds the drafts (staged and published with returned/).
DRAFTS = "drafts"
#: The header that marks an e-mail as this tool's own reply draft.
DRAFT_HEADER = "X-Selfeval-Xlsx"
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def reply_draft(
    *,
    file: str,
    reason: str,
    to: str = "",
    unit: str = "",
    year: int | None = None,
    attachment: bytes | None = None,
    attachment_name: str = "",
    now: datetime | None = None,
) -> bytes:
    """The bytes of an unsent reply (RFC 5322, UTF-8 body, Chinese headers RFC 2047 encoded).

    ``file`` is the rejected file as the roll-up shows it, ``reason`` the roll-up's reason text (its
    ``退回文件：`` line is left out: the workbook is attached), ``to`` the sender's ``From`` header ('' for
    a file that did not come in an e-mail: the clerk fills the address in)."""
    what = f"{unit}{year}年度" if unit and year else unit or (f"{year}年度" if year else "")
    subject = f"关于退回{what}整体支出绩效自评表的说明" if what else f"关于退回《{_base(file)}》的说明"
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = subject
    addresses = [Address(display_name=n, addr_spec=a) for n, a in getaddresses([to]) if a and "@" in a]
    msg["To"] = addresses if addresses else ""
    msg["Date"] = format_datetime((now or datetime.now()).astimezone())
    msg["X-Unsent"] = "1"  # Outlook opens the file as a draft to send, not as a received message
    msg[DRAFT_HEADER] = "reply-draft"  # intake skips a draft put back into an inbox (it is no submission)
    lines = [line for line in reason.splitlines() if not line.startswith("退回文件：")]
    body = [
        f"{unit or '您好'}：",
        "",
        *lines,
        "",
        "附件为退回的工作簿，有问题的单元格已标色并加批注，第一个工作表“退回说明”列出了全部问题。"
        if attachment is not None
        else "该文件无法打开或读取，请检查后重新发送。",
        "请在附件中修改后另存，按原方式重新报送。如有疑问，请与我局联系。",
        "",
        "此致",
        "",
        f"{(now or datetime.now()):%Y年%m月%d日}",
    ]
    msg.set_content("\n".join(body), charset="utf-8", cte="base64")
    if attachment is not None:
        msg.add_attachment(attachment, *XLSX_TYPE, filename=attachment_name or "退回.xlsx")
    return msg.as_bytes()


def _base(name: str) -> str:
    return name.rsplit("›", 1)[-1].strip().rsplit("/", 1)[-1]
