"""The report's typography with python-docx: an A4 page with official-document margins, the styles
(宋体/黑体/楷体/仿宋 at 二号/三号/四号, exact line spacing, two-character first-line indent), page numbers,
fonts set for East Asian text too, and table widths and rows that Word, WPS and LibreOffice lay out alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.text.run import Run

# fonts (names Windows ships since Vista; WPS maps them too) and sizes
TITLE_FONT, H1_FONT, H2_FONT, BODY_FONT = "宋体", "黑体", "楷体", "仿宋"
SIZE_2, SIZE_3, SIZE_4 = Pt(22), Pt(16), Pt(14)
LINE = Pt(28)
INDENT_CHARS = 200  # w:firstLineChars: 2 characters


def set_font(run: Run, name: str, size: Pt | None = None, bold: bool | None = None) -> None:
    """Set a run's font for Latin and East Asian text alike (Word/WPS read ``w:eastAsia``)."""
    run.font.name = name
    _east_asia(run._element.get_or_add_rPr(), name)
    if size is not None:
        run.font.size = size
    if bold is not None:
        run.font.bold = bold


def _east_asia(rpr: Any, name: str) -> None:
    rfonts = rpr.get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), name)


def _style_font(style: Any, name: str, size: Pt, bold: bool = False) -> None:
    style.font.name = name
    style.font.size = size
    style.font.bold = bold
    style.font.italic = False
    style.font.color.rgb = RGBColor(0, 0, 0)
    _east_asia(style.element.get_or_add_rPr(), name)


def _style_para(style: Any, align: Any, indent: bool, line: Pt = LINE, keep_with_next: bool = False) -> None:
    pf = style.paragraph_format
    pf.alignment = align
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    pf.line_spacing = line
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.keep_with_next = keep_with_next
    pf.widow_control = True
    ind = style.element.get_or_add_pPr().get_or_add_ind()
    for attr in ("w:firstLine", "w:firstLineChars", "w:hanging", "w:hangingChars", "w:left", "w:right"):
        ind.attrib.pop(qn(attr), None)
    if indent:
        ind.set(qn("w:firstLine"), str(int(SIZE_3.pt * 2 * 20)))  # twips, for readers ignoring *Chars
        ind.set(qn("w:firstLineChars"), str(INDENT_CHARS))
    else:
        ind.set(qn("w:firstLine"), "0")
        ind.set(qn("w:firstLineChars"), "0")


def setup_document(doc: DocxDocument) -> None:
    """A4 page, official-document margins, page numbers and the report's styles."""
    from docx.enum.style import WD_STYLE_TYPE

    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    section.header_distance, section.footer_distance = Cm(1.5), Cm(2.5)

    # document defaults: no theme fonts, Chinese language for East Asian text
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
        if rpr is not None:
            _east_asia(rpr, BODY_FONT)
            _lang(rpr)

    styles = doc.styles
    normal = styles["Normal"]
    _style_font(normal, BODY_FONT, SIZE_3)
    _style_para(normal, WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True)
    _lang(normal.element.get_or_add_rPr())

    for level, name in ((1, H1_FONT), (2, H2_FONT)):
        h = styles[f"Heading {level}"]
        _style_font(h, name, SIZE_3)
        _style_para(h, WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True, keep_with_next=True)

    title = styles.add_style("Report Title", WD_STYLE_TYPE.PARAGRAPH)
    title.base_style = normal
    _style_font(title, TITLE_FONT, SIZE_2, bold=True)
    _style_para(title, WD_ALIGN_PARAGRAPH.CENTER, indent=False, line=Pt(36))

    caption = styles.add_style("Table Caption", WD_STYLE_TYPE.PARAGRAPH)
    caption.base_style = normal
    _style_font(caption, H1_FONT, SIZE_3)
    _style_para(caption, WD_ALIGN_PARAGRAPH.CENTER, indent=False, keep_with_next=True)
    caption.paragraph_format.space_after = Pt(6)

    cell = styles.add_style("Table Text", WD_STYLE_TYPE.PARAGRAPH)
    cell.base_style = normal
    _style_font(cell, BODY_FONT, SIZE_4)
    _style_para(cell, WD_ALIGN_PARAGRAPH.CENTER, indent=False, line=Pt(22))

    sign = styles.add_style("Signature Line", WD_STYLE_TYPE.PARAGRAPH)
    sign.base_style = normal
    _style_font(sign, BODY_FONT, SIZE_3)
    _style_para(sign, WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    sign.paragraph_format.right_indent = Pt(32)

    footer = styles["Footer"]
    _style_font(footer, TITLE_FONT, SIZE_4)
    _style_para(footer, WD_ALIGN_PARAGRAPH.CENTER, indent=False, line=Pt(20))
    _page_numbers(section)


def _lang(rpr: Any) -> None:
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")


def _page_numbers(section: Any) -> None:
    """Footer "— 1 —", centered, 宋体 四号 (GB/T 9704 style)."""
    p = section.footer.paragraphs[0]
    for text, field in (("— ", None), (None, "begin"), (" PAGE ", "instr"), (None, "separate"),
                        ("1", None), (None, "end"), (" —", None)):  # fmt: skip
        run = p.add_run()
        set_font(run, TITLE_FONT, SIZE_4)
        if field in ("begin", "separate", "end"):
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), field)
            run._element.append(fld)
        elif field == "instr":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._element.append(instr)
        else:
            run.text = text or ""


def column_widths(table: Any, widths: Sequence[Any]) -> None:
    """Fixed column widths in the grid too (LibreOffice and WPS lay tables out from ``w:tblGrid``)."""
    for col, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths, strict=True):
        col.set(qn("w:w"), str(int(width.twips)))
    tblpr = table._tbl.tblPr
    tblw = tblpr.find(qn("w:tblW"))
    if tblw is None:
        tblw = OxmlElement("w:tblW")
        tblpr.append(tblw)
    tblw.set(qn("w:type"), "dxa")
    tblw.set(qn("w:w"), str(int(sum(w.twips for w in widths))))
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tblpr.append(layout)


def row_props(row: Any, header: bool) -> None:
    """Rows never split across pages; the header row repeats on every page."""
    trpr = row._tr.get_or_add_trPr()
    for tag, wanted in (("w:cantSplit", True), ("w:tblHeader", header)):
        if wanted:
            el = OxmlElement(tag)
            el.set(qn("w:val"), "true")
            trpr.append(el)
