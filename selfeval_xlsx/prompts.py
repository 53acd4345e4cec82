"""The template's own prompt texts, to recognise them when a clerk leaves one in an answer cell.

Collected from what the template shows (the layout's help texts, notes and labels, and the 填表说明
sheet's paragraphs), never restated here, so a change of wording in the template is followed.
"""

from __future__ import annotations

import re
from functools import cache

from . import layout

_NOISE = re.compile(r"[\s\u3000。．.，,、；;：:！!（）()*＊“”\"'‘’]+")


def squash(text: str) -> str:
    """Text without white space and punctuation (the form in which prompts are compared)."""
    return _NOISE.sub("", text)


@cache
def template_prompts() -> frozenset[str]:
    """Every prompt the template shows, squashed: each help text and each of its sentences, each
    note, each label of an answer cell, and each paragraph (and sentence) of 填表说明."""
    from .template import guide_rows, guide_text  # local: the template writer is heavy to import

    texts: list[str] = []
    for _sheet, _p, f in layout.iter_fields():
        texts += [f.help, f.label]
    for sheet in layout.WORKBOOK.sheets:
        texts += [b.text for b in sheet.blocks if isinstance(b, layout.Note)]
    texts += [text for _kind, text in guide_text(())]
    texts += [row[3] for row in guide_rows()]
    out: set[str] = set()
    for text in texts:
        for piece in (text, *re.split(r"[。；]", text)):
            s = squash(piece)
            if len(s) >= 4:
                out.add(s)
    return frozenset(out)


def is_prompt(value: str) -> bool:
    """True when ``value`` is one of the template's prompts (ignoring spaces and punctuation)."""
    s = squash(value)
    return len(s) >= 4 and s in template_prompts()
