"""Spreadsheet plumbing with no knowledge of the self-evaluation form.

- :mod:`.cells`: A1 cell references.
- :mod:`.limits`: the bounds on untrusted input (:class:`~.limits.Limits`).
- :mod:`.zipread`: bounded reading of zip packages (directory checks, streaming inflation).
- :mod:`.grid`: the fast, bounded .xlsx grid reader.
- :mod:`.canvas`: a sheet laid out in memory before xlsxwriter writes it.
- :mod:`.bookparts`: records xlsxwriter calls and writes the package's parts itself, from a frame that
  xlsxwriter draws once per process (completed and returned workbooks).

Nothing here imports the rest of :mod:`selfeval_xlsx` (``tests/test_layering.py`` checks it).
"""
