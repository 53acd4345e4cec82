"""Byte-level checks that an XML part hides no DOCTYPE or ENTITY declaration (billion laughs, external
entities) and uses no encoding in which one could hide from a byte scan (UTF-32, EBCDIC, UTF-7…)."""

from __future__ import annotations

import re

#: Encodings an XML declaration may name (the ones office programs write).
XML_ENCODINGS = frozenset(
    {"utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "us-ascii", "ascii", "iso-8859-1", "latin-1"}
    | {"latin1", "gbk", "gb2312", "gb18030", "windows-1252", "cp1252", "big5"}
)
#: '<!DOCTYPE' / '<!ENTITY' in ASCII-compatible encodings and in UTF-16 (the LE pattern also matches BE).
DTD_MARK = re.compile(
    rb"<!(?:DOCTYPE|ENTITY)|<\x00!\x00(?:D\x00O\x00C\x00T\x00Y\x00P\x00E|E\x00N\x00T\x00I\x00T\x00Y)"
)
_XML_DECL_ENCODING = re.compile(r"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']{0,40})[\"']")


def odd_encoding(first: bytes) -> bool:
    """Whether XML starting with ``first`` (its first bytes) is in an encoding that could hide a
    DOCTYPE from a byte scan: UTF-32, text not starting with ``<``, or a declared encoding outside
    :data:`XML_ENCODINGS`."""
    body = first.removeprefix(b"\xef\xbb\xbf")
    if body.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return True
    if body.startswith((b"\xff\xfe", b"\xfe\xff")) or body[:2] in (b"<\x00", b"\x00<"):
        try:
            text = body[:400].decode("utf-16-be" if body[:1] in (b"\xfe", b"\x00") else "utf-16-le", "ignore")
        except UnicodeError:
            return True
        text = text.lstrip("\ufeff")
    else:
        stripped = body.lstrip(b" \t\r\n")
        if stripped and not stripped.startswith(b"<"):
            return True
        text = body[:400].decode("latin-1")
    m = _XML_DECL_ENCODING.match(text)
    return bool(m and m.group(1).strip().lower() not in XML_ENCODINGS)
