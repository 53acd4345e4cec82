"""selfeval-xlsx: collect, check, score and roll up townships' 整体支出绩效自评 workbooks.

The public API lives in :mod:`selfeval_xlsx.api`; the CLI (:mod:`selfeval_xlsx.cli`) is a thin layer
over it.
"""

from .version import TEMPLATE_VERSION, __version__

__all__ = ["TEMPLATE_VERSION", "__version__"]
