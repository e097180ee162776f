"""Set and append rows in a worksheet part's XML, changing no other byte of it.

The Log and Rejected sheets are edited as text, not re-serialised (see :mod:`.logbook` for
why): rows are found by patterns anchored on the row and cell tags, whatever namespace prefix
the writer used; an existing row keeps its other cells and its cells' styles; a new row goes
in order among the others; ``<dimension>`` is widened to cover what was written. Where a new
row goes: below the last row holding a value or covered by a merged area (a row inside one
would be hidden under it).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

from xl_ameyo.xlsx.cells import MAX_ROWS, row_xml, value_xml
from xl_ameyo.xlsx.newsheet import PartEditError
from xl_ameyo.xlsx.scans import cell_ref, parse_cell_ref

__all__ = [
    "SheetFullError",
    "append_many_to_sheet",
    "append_rows_to_sheet",
    "last_used_row",
    "set_rows_in_sheet",
]

_P = r"(?:[A-Za-z_][\w.\-]*:)?"
_SHEET_DATA = re.compile(r"<(" + _P + r")sheetData(?=[\s/>])[^>]*?(/?)>")
_SHEET_DATA_END = re.compile(r"</" + _P + r"sheetData\s*>")
_ROW = re.compile(r"<" + _P + r"row(?=[\s/>])([^>]*?)(?:/>|>(.*?)</" + _P + r"row\s*>)", re.S)
_CELL = re.compile(r"<" + _P + r"c(?=[\s/>])([^>]*?)(?:/>|>(.*?)</" + _P + r"c\s*>)", re.S)
#: a formula, or a <v>/<t> with text: the row holds something the analyst sees
_HAS_VALUE = re.compile(r"<" + _P + r"f[\s/>]|<" + _P + r"[vt](?:\s[^>]*)?>[^<]")
_R_ATTR = re.compile(r"(?<![\w:.\-])r\s*=\s*[\"']([^\"']*)[\"']")
_S_ATTR = re.compile(r"(?<![\w:.\-])s\s*=\s*[\"']([^\"']*)[\"']")
_SPANS_ATTR = re.compile(r"\s+spans\s*=\s*[\"'][^\"']*[\"']")
_DIMENSION = re.compile(r"<" + _P + r"dimension(?=[\s/>])[^>]*?\bref\s*=\s*([\"'])([^\"']*)\1")



class SheetFullError(PartEditError):
    """The Log sheet has no row left."""


def _row_number(attrs: str, previous: int) -> int:
    m = _R_ATTR.search(attrs)
    if m and m.group(1).strip().isdigit():
        return int(m.group(1))
    return previous + 1


_HIDDEN_ATTR = re.compile(r"\s+hidden\s*=\s*[\"'][^\"']*[\"']")
_MERGE_REF = re.compile(r"<" + _P + r"mergeCell(?=[\s/>])[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")


def _merge_row(attrs: str, body: str, number: int, values: Mapping[int, object],
               prefix: str, *, show: bool = True, inherit: bool = False) -> str:
    """A row element rewritten with ``values`` (column index -> value; None keeps the cell),
    keeping its other cells and its cells' styles; ``show``: a hidden row is made visible;
    ``inherit``: a new cell takes the style of the nearest styled cell on its left (a
    header row's new names look like the others)."""
    cells: dict[int, str] = {}
    styles: dict[int, str] = {}
    col = -1
    for m in _CELL.finditer(body):
        ref = _R_ATTR.search(m.group(1))
        where = parse_cell_ref(ref.group(1)) if ref else None
        col = where[1] if where else col + 1
        cells[col] = m.group(0)
        style = _S_ATTR.search(m.group(1))
        if style:
            styles[col] = style.group(1)
    rest = _CELL.sub("", body).strip()
    for col, value in values.items():
        style = styles.get(col)
        if style is None and inherit:
            style = next((styles[c] for c in sorted(styles, reverse=True) if c < col), None)
        cell = value_xml(cell_ref(number - 1, col), value, prefix=prefix, style=style)
        if cell is not None:
            cells[col] = cell
    # spans is an optional hint that must cover the cells: dropped rather than recomputed
    attrs = _SPANS_ATTR.sub("", attrs).rstrip().rstrip("/").rstrip()
    if show:
        attrs = _HIDDEN_ATTR.sub("", attrs)
    inner = "".join(cells[c] for c in sorted(cells)) + rest
    return f"<{prefix}row{attrs}>{inner}</{prefix}row>"


def _merged_bottom(text: str) -> int:
    """The lowest sheet row covered by a merged area (0: none)."""
    bottom = 0
    for m in _MERGE_REF.finditer(text):
        corners = [parse_cell_ref(p) for p in m.group(1).split(":")]
        bottom = max([bottom, *(c[0] + 1 for c in corners if c)])
    return bottom


def _widen_dimension(text: str, first_row: int, last_row: int, last_col: int) -> str:
    m = _DIMENSION.search(text)
    if m is None or last_col < 0:
        return text
    parts = m.group(2).split(":")
    corners = [parse_cell_ref(p) for p in parts]
    if not 1 <= len(parts) <= 2 or any(c is None for c in corners):
        return text  # not a plain range: leave it as it is
    rows = [c[0] for c in corners if c] + [first_row - 1, last_row - 1]
    cols = [c[1] for c in corners if c] + [0, last_col]
    ref = f"{cell_ref(min(rows), min(cols))}:{cell_ref(max(rows), max(cols))}"
    return text[: m.start(2)] + ref + text[m.end(2) :]


def _sheet_rows(text: str) -> tuple[re.Match[str], list[tuple[re.Match[str], int]], int]:
    """(the <sheetData> start tag, its rows with their numbers, the end of its content; -1
    when it is self-closing)."""
    data = _SHEET_DATA.search(text)
    if data is None:
        raise PartEditError("no <sheetData> element")
    rows: list[tuple[re.Match[str], int]] = []
    if data.group(2):  # <sheetData/>
        return data, rows, -1
    end = _SHEET_DATA_END.search(text, data.end())
    if end is None:
        raise PartEditError("<sheetData> is not closed")
    number = 0
    for m in _ROW.finditer(text, data.end(), end.start()):
        number = _row_number(m.group(1), number)
        rows.append((m, number))
    return data, rows, end.start()


def last_used_row(text: str) -> int:
    """The last row holding a value (a formula, a cached value or text), or covered by a
    merged area (a row inside one would be hidden under it): 0 for an empty sheet."""
    _, rows, _ = _sheet_rows(text)
    last = max((n for m, n in rows if m.group(2) and _HAS_VALUE.search(m.group(2))), default=0)
    return max(last, _merged_bottom(text)) if last else last


def set_rows_in_sheet(text: str, new_rows: Mapping[int, Mapping[int, object]], *,
                      header_rows: Collection[int] = ()) -> str:
    """The sheet XML ``text`` with cells set: ``new_rows`` maps a sheet row (1-based) to
    {column index: value}. An existing row keeps its other cells and its cells' styles; a
    missing row is inserted in order. Values as :func:`~xl_ameyo.xlsx.cells.value_xml`.
    New cells in ``header_rows`` are styled like the cell on their left."""
    data, rows, region_end = _sheet_rows(text)
    prefix = data.group(1)
    if any(number > MAX_ROWS for number in new_rows):
        raise SheetFullError("the sheet is full (1,048,576 rows)")
    by_number = {n: m for m, n in rows}
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in the original text
    for number in sorted(new_rows):
        values = new_rows[number]
        existing = by_number.get(number)
        if existing is not None:
            xml = _merge_row(existing.group(1), existing.group(2) or "", number, values, prefix,
                             inherit=number in header_rows)
            edits.append((existing.start(), existing.end(), xml))
            continue
        width = max(values, default=-1) + 1
        xml = row_xml(number, [values.get(c) for c in range(width)], prefix=prefix)
        following = next((m for m, n in rows if n > number), None)
        at = following.start() if following is not None else region_end
        edits.append((at, at, xml))

    if data.group(2):  # <sheetData/> -> <sheetData>rows</sheetData>
        tag = data.group(0)[:-2].rstrip() + ">"
        inner = "".join(xml for _, _, xml in edits)
        text = text[: data.start()] + tag + inner + f"</{prefix}sheetData>" + text[data.end() :]
    else:
        # stable sort: rows inserted at the same place keep their order
        edits.sort(key=lambda e: e[0])
        pieces = []
        pos = 0
        for start, end, xml in edits:
            pieces += [text[pos:start], xml]
            pos = end
        text = "".join([*pieces, text[pos:]])
    if not new_rows:
        return text
    last_col = max(
        (c for vals in new_rows.values() for c, v in vals.items() if v is not None), default=-1
    )
    return _widen_dimension(text, min(new_rows), max(new_rows), last_col)


def append_many_to_sheet(
    text: str, rows: Sequence[Sequence[object]], header: Sequence[object]
) -> str:
    """The sheet XML ``text`` with ``rows`` appended below its last used row (and ``header``
    first when it holds none)."""
    last = last_used_row(text)
    block = [*([] if last else [header]), *rows]
    start = last + 1
    if start + len(block) - 1 > MAX_ROWS:
        raise SheetFullError("the sheet is full (1,048,576 rows)")
    return set_rows_in_sheet(
        text, {start + k: dict(enumerate(values)) for k, values in enumerate(block)}
    )


def append_rows_to_sheet(
    text: str, values: Sequence[object], header: Sequence[object]
) -> str:
    """The sheet XML ``text`` with ``values`` appended after its last used row (and
    ``header`` first when it holds none)."""
    return append_many_to_sheet(text, [values], header)
