"""An xlsxwriter workbook and worksheet that write the same XML with fewer Python calls per cell.

xlsxwriter's general cell writer visits every column of the used range, builds an attribute list and
escapes every attribute of every cell; a completed workbook has ~2,000 cells and a county roll-up ~10⁵.
:class:`FastWorksheet` writes a sheet's rows in one pass (text, number, date and blank cells directly)
and remembers how each formula text was prepared; :class:`FastWorkbook` writes the shared strings
without four regular expressions over each plain string (the roll-up's hidden sheet holds megabytes).

Both lean on xlsxwriter internals: ``FastWorksheet`` overrides ``Worksheet._write_rows`` and
``_prepare_formula`` and reads the cell table ``table`` (its ``Cell*Tuple`` namedtuples), ``row_info``
(``RowInfo``), ``col_info``, ``comments``, the used range ``dim_*``, ``row_spans``,
``Format._get_xf_index`` and the XML file ``fh``; each kind of ``<row>`` tag is written once by
xlsxwriter's ``_write_row`` (for row 1) and reused with the row number replaced, and formulas, booleans,
rich text and errors go through xlsxwriter's ``_write_cell``. ``FastWorkbook`` overrides
``Workbook._get_packager`` (xlsxwriter's hook for that), ``Packager._write_shared_strings_file`` and
``SharedStrings._write_si``. ``tests/test_xlsxfast.py`` and ``tests/test_rollup_fast.py`` compare every
part of the workbooks with what xlsxwriter's own workbook and worksheet write, byte for byte, so an
xlsxwriter upgrade that changes its XML fails there, not in a township's hands.
"""

from __future__ import annotations

import io
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.packager import Packager
from xlsxwriter.sharedstrings import SharedStrings
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import (
    CellBlankTuple,
    CellDatetimeTuple,
    CellNumberTuple,
    CellStringTuple,
    Worksheet,
)

_COLUMN_NAMES = tuple(xl_col_to_name(c) for c in range(64))
_FORMULAS: dict[tuple[str, bool, bool], str] = {}  # (formula, expand, use_future_functions) → prepared
_FORMULAS_MAX = 10_000
_ROW_ONE = '<row r="1"'


class FastWorksheet(Worksheet):
    """A ``Worksheet`` for ``Workbook.add_worksheet(name, worksheet_class=FastWorksheet)``."""

    def _write_rows(self) -> None:
        # xlsxwriter visits every column of every row of the used range, builds an attribute list per
        # cell and dispatches on the cell's class name; here only the rows and cells stored are visited,
        # in the same order, and a sheet's rows are written as one string.
        row_info = getattr(self, "row_info", None)
        if self.constant_memory or not isinstance(row_info, dict):
            super()._write_rows()  # (an xlsxwriter without RowInfo)
            return
        table, comments = self.table, self.comments
        rowmin, rowmax, colmin, colmax = self.dim_rowmin, self.dim_rowmax, self.dim_colmin, self.dim_colmax
        rows: dict[int, list[int]] = {}
        low: dict[int, int] = {}  # the span of each block of 16 rows, as xlsxwriter's _calculate_spans
        high: dict[int, int] = {}
        for r in table.keys() | comments.keys():
            if rowmin <= r <= rowmax:
                cols = rows[r] = sorted(table[r]) if r in table else []
                noted = [c for c in comments[r] if colmin <= c <= colmax] if r in comments else []
                if cols and (cols[0] < colmin or cols[-1] > colmax):  # every write checks the used range
                    super()._write_rows()
                    return
                if noted:
                    first, last = min(cols[:1] + noted), max(cols[-1:] + noted)
                elif cols:
                    first, last = cols[0], cols[-1]
                else:
                    continue
                block = r >> 4
                if block in low:
                    low[block] = min(low[block], first)
                    high[block] = max(high[block], last)
                else:
                    low[block], high[block] = first, last
        self.row_spans = spans = {b: f"{low[b] + 1}:{high[b] + 1}" for b in sorted(low)}
        tags: dict[tuple[Any, ...], str | None] = {}  # kind of row → its tag after '<row r="N"'
        styles: dict[Format, str] = {}
        names = _COLUMN_NAMES
        out: list[str] = []
        write = out.append
        for r in sorted(rows.keys() | {r for r in row_info if rowmin <= r <= rowmax}):
            cols = rows.get(r)
            if not cols and r not in row_info and r not in comments:
                continue  # an empty row of the cell table: not written
            info = row_info.get(r)
            span = spans.get(r >> 4)
            key = (span, not cols, *(() if info is None else vars(info).values()))
            if key in tags:
                rest = tags[key]
            else:
                first_row = self._row_tag(0, span, info, not cols)
                rest = tags[key] = first_row[len(_ROW_ONE) :] if first_row.startswith(_ROW_ONE) else None
            num = str(r + 1)
            write(f'<row r="{num}"{rest}' if rest is not None else self._row_tag(r, span, info, not cols))
            if not cols:
                continue
            cells = table[r]
            for c in cols:
                cell = cells[c]
                cls = cell.__class__
                fmt = cell.format
                if fmt is None:
                    style = self._default_style(r, c)
                else:
                    style = styles.get(fmt)
                    if style is None:
                        style = styles[fmt] = f' s="{fmt._get_xf_index()}"'
                ref = (names[c] if c < 64 else xl_col_to_name(c)) + num
                if cls is CellStringTuple:
                    write(f'<c r="{ref}"{style} t="s"><v>{cell.string}</v></c>')
                elif cls is CellNumberTuple or cls is CellDatetimeTuple:
                    write(f'<c r="{ref}"{style}><v>{cell.number:.16G}</v></c>')
                elif cls is CellBlankTuple:
                    write(f'<c r="{ref}"{style}/>')
                else:  # formulas, booleans, rich strings, errors: xlsxwriter's writer, after what is pending
                    self.fh.write("".join(out))
                    out.clear()
                    self._write_cell(r, c, cell)
            write("</row>")
        self.fh.write("".join(out))

    def _row_tag(self, row: int, span: str | None, info: Any, empty: bool) -> str:
        """The ``<row>`` tag xlsxwriter writes for a row (an empty-element tag for a row without cells)."""
        fh, self.fh = self.fh, io.StringIO()
        try:
            self._write_row(row, span, info, empty)
            return self.fh.getvalue()
        finally:
            self.fh = fh

    def _default_style(self, row: int, col: int) -> str:
        """The style attribute of a cell without a format: its row's format, else its column's."""
        info = self.row_info.get(row)
        if info is not None and info.row_format:
            return f' s="{info.row_format._get_xf_index()}"'
        col_info = self.col_info.get(col)
        if col_info is not None and col_info.column_format is not None:
            return f' s="{col_info.column_format._get_xf_index()}"'
        return ""

    def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:
        # xlsxwriter runs some 30 regular expressions over every formula; the template's formulas recur
        # in every workbook, so each distinct one is prepared once per process.
        key = (formula, bool(expand_future_functions), bool(self.use_future_functions))
        prepared = _FORMULAS.get(key)
        if prepared is None:
            prepared = super()._prepare_formula(formula, expand_future_functions)
            if len(_FORMULAS) >= _FORMULAS_MAX:
                _FORMULAS.clear()
            _FORMULAS[key] = prepared
        return prepared

    def release(self) -> None:
        """Drop the cells once the workbook is written. A workbook and its sheets refer to each other,
        so otherwise only the cyclic garbage collector frees them, after a pass over every cell."""
        self.table.clear()
        self.table_cells.clear()


class FastWorkbook(Workbook):
    """A ``Workbook`` whose shared strings (``xl/sharedStrings.xml``) are written by :class:`FastSharedStrings`."""

    def _get_packager(self) -> Packager:
        return _FastPackager()


class _FastPackager(Packager):
    def _write_shared_strings_file(self) -> None:
        # xlsxwriter's own, with FastSharedStrings for SharedStrings
        sst = FastSharedStrings()
        sst.string_table = self.workbook.str_table
        if not self.workbook.str_table.count:
            return
        sst._set_xml_writer(self._filename("xl/sharedStrings.xml"))
        sst._assemble_xml_file()


class FastSharedStrings(SharedStrings):
    """Writes plain strings without xlsxwriter's four regular expressions per string: the roll-up's
    hidden sheet holds its megabytes of JSON in 32,000-character strings."""

    def _write_si(self, string: str) -> None:
        # Printable text has no control character to escape as _xHHHH_ and no whitespace but the ASCII
        # space (the only printable character that is whitespace, to str.isspace as to the regular
        # expression \s); without "_x" nothing looks like such an escape, without a space at either
        # end there is no xml:space="preserve", and "<r>" starts a rich string. Anything else:
        # xlsxwriter's own way.
        if (
            string.__class__ is str
            and string.isprintable()
            and "_x" not in string
            and string[:1] != " "
            and string[-1:] != " "
            and not string.startswith("<r>")
        ):
            self.fh.write(f"<si><t>{self._escape_data(string)}</t></si>")
        else:
            super()._write_si(string)
