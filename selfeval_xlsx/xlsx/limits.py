"""Bounds on untrusted input: how much is read, inflated, extracted and looked at.

Every bound is a setting (a field of :class:`Limits`), so a bureau with unusual workbooks can raise one
without touching code. The defaults are far above any real self-evaluation workbook (≈15 KB, one or two
sheets, a few hundred cells) and far below what would hurt a clerk's PC.
"""

from __future__ import annotations

from dataclasses import dataclass

KB = 1024
MB = 1024 * KB
GB = 1024 * MB


@dataclass(frozen=True)
class Limits:
    """Bounds applied to every file, archive and e-mail the tool reads."""

    #: Largest file read from disk, or extracted from an archive or e-mail, in bytes.
    max_file_bytes: int = 50 * MB
    #: Largest total of the inflated parts (members) of one workbook or archive, in bytes.
    max_total_uncompressed: int = 200 * MB
    #: Largest inflated size of one XML part of a workbook (a sheet, the shared strings, …), in bytes.
    max_sheet_xml_bytes: int = 50 * MB
    #: Largest compression ratio (inflated / compressed) of one zip member …
    max_ratio: int = 200
    #: … applied only once the member has inflated past this many bytes (small parts compress well).
    ratio_floor_bytes: int = 1 * MB
    #: Most members in one zip (workbook or archive).
    max_members: int = 1000
    #: Most rows / columns the reader looks at in one sheet (a larger declared dimension is reported).
    max_rows: int = 2000
    max_cols: int = 64
    #: Longest cell text (or formula) the reader looks at: a longer one is a ``too-long`` finding at its
    #: cell, never parsed (Excel's own limit; fields have smaller ones in the schema).
    max_cell_chars: int = 32767
    #: Deepest nesting of containers: 2 = an e-mail holding a zip holding workbooks, or a zip in a zip.
    max_depth: int = 2
    #: Most files taken from one archive or e-mail.
    max_extracted: int = 500
    #: Most multipart sections in one e-mail (the stdlib parser slows down with deep nesting) …
    max_mime_multiparts: int = 64
    #: … most parts (``Content-Type`` headers) in one e-mail, and the longest ``Content-*`` header in
    #: characters (the stdlib header parser is quadratic: a 300 KB header takes half a minute).
    max_mime_parts: int = 1000
    max_mime_header_chars: int = 2048
    #: Longest file name kept (characters); longer names are shortened, keeping the extension.
    max_name_chars: int = 120
    #: Most files looked at in one inbox folder (including sub-folders): room for every township-level
    #: unit of the country (≈41,000) in one run.
    max_inbox_files: int = 100_000
    #: Deepest sub-folder walked inside the inbox.
    max_inbox_depth: int = 64
    #: Most workbook bytes one intake holds in memory: the sum over workbooks taken out of archives and
    #: e-mails (workbooks that are plain inbox files are read again from disk when processed).
    max_intake_bytes: int = 1024 * MB


DEFAULT_LIMITS = Limits()
