"""The worksheet functions' range arguments: their values, and where they are on the sheet.

A message like "phone1 has 3 digits" helps more as "Leads!B7: phone1 has 3 digits": the
analyst goes to the cell. xlwings hands a UDF the *values* of a range argument, not its place;
its ``"range"`` converter hands the Range instead, but loses a typed-in value
(``=AMEYO_PHONE("98765 43210")`` would arrive as None). :class:`LocatedAccessor` is an xlwings
converter (``@xw.arg("row", Located, ...)``) that does both: xlwings' own value pipeline with
the argument's options (``ndim``, ``err_to_str``...), then, when the argument was a range, a
:class:`Located` holding those values and the range's sheet, first row and first column (three
more calls to Excel per argument). A typed-in value stays a plain value.

Off Windows (no desktop UDFs) nothing calls the converter; the functions take plain values,
``Located`` values, and xlwings ``Range`` objects alike (:func:`located`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from xlwings.conversion import ValueAccessor

from xl_ameyo.columns import column_letter

__all__ = ["Located", "LocatedAccessor", "column_number", "located", "relocate_text"]

_A1 = re.compile(r"^(?:(.+)!)?\$?([A-Z]{1,3})\$?(\d+)$")


@dataclass(frozen=True)
class Located:
    """A range argument's values (as xlwings' value converter made them) and its place."""

    value: Any
    sheet: str
    top: int  # sheet row of its first cell (1-based)
    left: int  # sheet column of its first cell (1-based)
    rows: int = 1
    columns: int = 1

    def cell(self, row: int = 0, column: int = 0) -> str:
        """``Sheet!B7`` of the cell ``row``/``column`` (0-based) inside the range."""
        return f"{quote_sheet(self.sheet)}!{column_letter(self.left + column - 1)}" \
               f"{self.top + row}"

    @property
    def address(self) -> str:
        last = f"{column_letter(self.left + self.columns - 2)}{self.top + self.rows - 1}"
        first = self.cell()
        return first if self.rows == self.columns == 1 else f"{first}:{last}"

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def quote_sheet(name: str) -> str:
    """A sheet name as a formula writes it (quoted when it is not a plain word)."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name) and not _A1.match(name):
        return name
    return "'" + name.replace("'", "''") + "'"


_ADDRESS = re.compile(r"^(.+)!([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?$")


def column_number(letters: str) -> int:
    """Excel's column letters -> the 1-based column number (A -> 1, AA -> 27)."""
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number


def _from_range(rng, value) -> Located:
    """Where ``rng`` is: from its address with the sheet's name, one call to Excel (a UDF
    may run thousands of times in a recalculation), else from its parts."""
    m = _ADDRESS.match(rng.get_address(False, False, include_sheetname=True))
    if m is None:  # pragma: no cover - an address form Excel does not write
        rows, columns = rng.shape
        return Located(value, rng.sheet.name, rng.row, rng.column, rows, columns)
    sheet = m.group(1)
    if len(sheet) > 1 and sheet[0] == sheet[-1] == "'":  # Excel quotes it, doubling its 's
        sheet = sheet[1:-1].replace("''", "'")
    top, left = int(m.group(3)), column_number(m.group(2))
    bottom = int(m.group(5)) if m.group(5) else top
    right = column_number(m.group(4)) if m.group(4) else left
    return Located(value, sheet, top, left, bottom - top + 1, right - left + 1)


class LocatedAccessor(ValueAccessor):
    """xlwings' value converter, plus where the range is (see the module doc)."""

    @staticmethod
    def _locate(c) -> None:
        if c.range is not None:
            c.value = _from_range(c.range, c.value)

    @staticmethod
    def reader(options):
        return ValueAccessor.reader(options).append_stage(LocatedAccessor._locate)


LocatedAccessor.register(Located)


def located(value, **options) -> Located | Any:
    """An argument as the functions use it: a Located stays, an xlwings Range (a caller in
    Python) is read with ``options`` like the converter would, anything else is a value."""
    if isinstance(value, Located):
        return value
    if hasattr(value, "sheet") and hasattr(value, "shape") and hasattr(value, "options"):
        return _from_range(value, value.options(**options).value)
    return value


def relocate_text(text: str, place: Located | None, *, shift: int = 0,
                  columns: str = "ABC") -> str:
    """``text`` with its cell references (``B3``, ``Mapping!B3``), which count from the
    argument's first cell as if it were A1, turned into the cells of ``place`` on its sheet.
    ``shift``: rows the function added in front (a header row it supplied)."""
    if place is None:
        return text

    def move(m: re.Match) -> str:
        column = columns.index(m.group(2))
        row = int(m.group(3)) - 1 - shift
        if row < 0:
            return m.group(0)
        address = place.cell(row, column)
        return address if m.group(1) else address.split("!", 1)[1]

    pattern = rf"(?:(?<![\w!'])((?:'[^']+'|\w+)!))?(?<!')\b([{columns}])(\d+)\b(?!')"
    return re.sub(pattern, move, text)
