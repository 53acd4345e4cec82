"""Version of the package and identity of the standard workbook it produces."""

__version__ = "0.1.0"

#: Identity written into every template's hidden ``_meta`` sheet and checked on reading.
TEMPLATE_ID = "selfeval-xlsx/township-overall-expenditure"
#: Bumped whenever the layout of the standard workbook changes in a way the reader depends on.
TEMPLATE_VERSION = "1.1"
