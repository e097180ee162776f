"""SpreadsheetML for cells written by hand: one row of values as XML.

Text is written as inline strings (``t="inlineStr"``) so the shared-strings part is never
touched. What a careful writer must get right, and the libraries only do inside their own
whole-workbook writers (openpyxl re-serialises everything it loaded):

- characters XML 1.0 cannot carry (control characters, U+FFFE/U+FFFF, lone surrogates) are
  dropped; ``\\r`` is written as ``&#13;`` so an XML parser does not fold it into ``\\n``;
- Excel reads ``_xHHHH_`` in text as an escaped character, so a literal ``_x0041_`` is written
  ``_x005F_x0041_`` (the escaped underscore) and reads back as typed;
- leading/trailing spaces need ``xml:space="preserve"``;
- a cell holds at most 32,767 characters (Excel repairs the file otherwise): longer text is
  cut there.
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
import re
from collections.abc import Sequence
from decimal import Decimal
from xml.sax.saxutils import escape

from xl_ameyo.columns import column_letter

#: Excel's limits
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
MAX_CELL_TEXT = 32_767

_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_EXCEL_ESCAPE = re.compile("_(x[0-9A-Fa-f]{4}_)")


def column_letters(index: int) -> str:
    """0 -> ``A``, 25 -> ``Z``, 26 -> ``AA``."""
    if not 0 <= index < MAX_COLUMNS:
        raise ValueError(f"column index out of range: {index}")
    return column_letter(index)


def clean_text(text: str) -> str:
    """Text as it can be stored in a cell: no XML-illegal characters, at most 32,767 long."""
    text = _ILLEGAL_XML.sub("", text)
    if len(text) > MAX_CELL_TEXT:
        text = text[:MAX_CELL_TEXT]
    return text


def text_xml(text: str, prefix: str = "") -> str:
    """``<is><t>..</t></is>`` for an inline string cell."""
    text = clean_text(text)
    body = escape(_EXCEL_ESCAPE.sub(r"_x005F_\1", text)).replace("\r", "&#13;")
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<{prefix}is><{prefix}t{space}>{body}</{prefix}t></{prefix}is>"


def _number_text(value: object) -> str | None:
    """A number as xsd:double text, or None when it is not a finite number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        number = int(value)
        return str(number) if abs(number) < 1e308 else None
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else None
    if isinstance(value, numbers.Real):
        number = float(value)
        return repr(number) if math.isfinite(number) else None
    return None


def value_xml(ref: str, value: object, *, prefix: str = "", style: str | None = None) -> str | None:
    """One ``<c>`` element for ``value``; None for ``None`` (no cell).

    ``str`` -> inline string; ``bool`` -> ``t="b"``; int/float/Decimal -> number; a date,
    date-time or time -> its ISO text (the Log keeps timestamps as text); anything else (a
    non-finite number included) -> its ``str()`` as text.
    """
    if value is None:
        return None
    s = f' s="{style}"' if style is not None else ""
    if isinstance(value, bool):
        return f'<{prefix}c r="{ref}"{s} t="b"><{prefix}v>{int(value)}</{prefix}v></{prefix}c>'
    number = _number_text(value)
    if number is not None:
        return f'<{prefix}c r="{ref}"{s}><{prefix}v>{number}</{prefix}v></{prefix}c>'
    if isinstance(value, (_dt.date, _dt.time)):
        text = value.isoformat()
    else:
        text = value if isinstance(value, str) else str(value)
    return f'<{prefix}c r="{ref}"{s} t="inlineStr">{text_xml(text, prefix)}</{prefix}c>'


def row_xml(row_number: int, values: Sequence[object], *, prefix: str = "") -> str:
    """``<row r="N">`` with one cell per value that is not None (row_number is 1-based)."""
    cells = []
    for col, value in enumerate(values):
        cell = value_xml(f"{column_letters(col)}{row_number}", value, prefix=prefix)
        if cell is not None:
            cells.append(cell)
    if not cells:
        return f'<{prefix}row r="{row_number}"/>'
    return f'<{prefix}row r="{row_number}">{"".join(cells)}</{prefix}row>'
