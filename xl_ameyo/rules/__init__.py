"""SPEC §3, once, in columns: how cells are written (:mod:`.values`), what a phone number is
(:mod:`.phones`), which texts cannot be sent (:mod:`.text`) and which rows are invalid
(:mod:`.checks`). Every front feeds it a :class:`~xl_ameyo.columns.SheetColumns`: the headless
reader, the Excel front's bulk read, a UDF's one row."""

from xl_ameyo.rules.checks import CheckedData, InvalidRow, check, check_rows
from xl_ameyo.rules.phones import normalise_phone
from xl_ameyo.rules.text import broken_character, short
from xl_ameyo.rules.values import format_column, format_value

__all__ = [
    "CheckedData",
    "InvalidRow",
    "broken_character",
    "check",
    "check_rows",
    "format_column",
    "format_value",
    "normalise_phone",
    "short",
]
