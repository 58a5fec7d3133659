"""CSV cells a spreadsheet will not run: every CSV the app writes passes its cells through
``safe_cell``.

Excel, LibreOffice and Google Sheets read a cell starting with ``=``, ``+``, ``-`` or ``@`` (and a
leading tab or carriage return before one) as a formula: a client named ``=HYPERLINK("http://…")``
would become a live link, or worse, in finance's spreadsheet. Such a cell gets a leading apostrophe
(OWASP's advice), which spreadsheets show as text. Plain numbers ("-12.50") are left alone so the
export stays machine-readable."""

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def safe_cell(value):
    """``value`` ready for a CSV cell: text that would start a formula is prefixed with ``'``."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS) or _NUMBER.fullmatch(value):
        return value
    return "'" + value


def safe_row(values) -> list:
    return [safe_cell(value) for value in values]
