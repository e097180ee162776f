"""Excel's cells as Python values where a sheet is read cell by cell (the small sheets, the
fronts, a UDF's arguments): an error cell, a zero-padded number, and a column's letters.
Shared by the readers, the fronts and the rules (:mod:`xl_ameyo.columns` re-exports them)."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CellError", "PaddedNumber", "column_letter", "padding_width"]


@dataclass(frozen=True)
class CellError:
    """An Excel error cell as a Python value: ``#N/A``, ``#REF!``, ``#SPILL!`` ..."""

    code: str

    def __str__(self) -> str:
        return self.code


class PaddedNumber(float):
    """A number cell whose number format only pads with zeros (``0000000000``), as a Python
    value: the analyst sees it ``width`` digits wide (``0981234567``). A float, so what
    takes the cell's number still does; :func:`from_values` makes it a NUMBER with ``pad``."""

    __slots__ = ("width",)

    def __new__(cls, value: float, width: int) -> PaddedNumber:
        number = super().__new__(cls, value)
        number.width = width
        return number


def column_letter(index: int) -> str:
    """A 0-based column index as Excel's letters: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def padding_width(number_format: str | None) -> int:
    """The width of a number format that only pads whole numbers with zeros (``0000000000``
    -> 10: the trick analysts use to show leading zeros, SPEC §3); 0 for any other format
    (a single ``0`` pads nothing). For readers that know a column's or a cell's format."""
    if number_format and len(number_format) > 1 and _ZEROS.fullmatch(number_format):
        return min(len(number_format), 127)
    return 0


_ZEROS = re.compile("0+")
