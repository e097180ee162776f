"""The Mapping sheet (SPEC §2) + the data sheet's headers -> :class:`ResolvedMapping`.

Row 1 of the Mapping sheet is always a header and skipped. Each later row: column A an Ameyo
field, column B the header of a data-sheet column, or empty for "not mapped". Every problem is
a :class:`~xl_ameyo.errors.MappingError` naming the cell (``Mapping!B3``).

Rules and decisions where SPEC is silent:

- Field names are trimmed. The ten standard fields are matched case-insensitively and written
  lower-case (``Phone1`` -> ``phone1``); any other name is a custom field, kept as typed
  (trimmed). A field listed twice (compared case-insensitively, also for custom fields, since
  ``City`` and ``city`` side by side are a typo) is an error naming both cells.
- Fully empty rows are skipped; a row with B filled and A empty is an error naming A. A number
  (or other non-text) cell in A or B is read as the analyst sees it (``2024.0`` -> ``2024``);
  an Excel error cell is an error naming the cell.
- ``phone1`` must be mapped (listed with a header in B); it is checked before the headers are
  matched.
- Header matching against the data sheet's row 1 (each header trimmed of spaces and of a
  leading byte-order mark, :func:`header_text`; empty and error headers never match): an
  exact match first (more than one is an error naming the columns); else a match ignoring case
  (``str.casefold``) after trimming (more than one is an error); else an error naming the
  mapping cell and suggesting the closest header (``difflib``).
- ``header_mapping``: the ten standard keys in order (``""`` when unmapped), then every custom
  field in Mapping order (``""`` when its B is empty). Its values are exactly the matched
  data-sheet header strings (trimmed), not the Mapping text.
- Two fields may map to the same column: the column is sent once and carries both fields.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from xl_ameyo.columns import CellError, column_letter
from xl_ameyo.errors import MappingError
from xl_ameyo.rules.text import broken_character, short
from xl_ameyo.rules.values import format_value

__all__ = [
    "PHONE_FIELDS",
    "STANDARD_FIELDS",
    "MappedColumn",
    "ResolvedMapping",
    "resolve_mapping",
]

STANDARD_FIELDS = (
    "name",
    "phone1",
    "phone2",
    "phone3",
    "phone4",
    "phone5",
    "email",
    "timezone",
    "twitter",
    "facebook",
)
PHONE_FIELDS = ("phone1", "phone2", "phone3", "phone4", "phone5")


@dataclass(frozen=True)
class MappedColumn:
    index: int  # 0-based column index in the data sheet
    header: str  # the sheet's header, trimmed: CSV header and header_mapping value
    fields: tuple[str, ...]  # Ameyo fields mapped to it (usually one), in Mapping order

    @property
    def letter(self) -> str:
        """The column's letters (``C``)."""
        return column_letter(self.index)

    @property
    def phone_field(self) -> str | None:
        """The phone field this column carries (``phone1`` first), or None."""
        for field in PHONE_FIELDS:
            if field in self.fields:
                return field
        return None


@dataclass(frozen=True)
class ResolvedMapping:
    header_mapping: dict[str, str]  # ten standard keys in order, then custom fields
    columns: tuple[MappedColumn, ...]  # in the data sheet's order
    phone1: MappedColumn
    phone_columns: tuple[MappedColumn, ...]  # columns mapped to any phone field


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value) -> str | None:
    """A cell as trimmed text, None when it has none (error cells, odd types)."""
    if isinstance(value, CellError):
        return None
    try:
        return format_value(value)
    except (ValueError, TypeError):
        return None


#: the byte-order mark: a CSV export opened and saved again leaves it at the start of the first
#: header, where Excel does not show it
BOM = "\ufeff"


def header_text(value) -> str | None:
    """A header cell as trimmed text (SPEC §3): spaces and a leading byte-order mark
    removed, so that ``\ufeffPhone`` is the header ``Phone`` it looks like; None when it
    has no text."""
    text = _text(value)
    if text and text.startswith(BOM):
        text = text.lstrip(BOM).strip()
    return text


def _squash(name: str) -> str:
    """``'Phone 1'`` -> ``phone1``: to spot a standard field typed with separators."""
    return "".join(c for c in name.casefold() if c.isalnum())


def _columns(indices: Sequence[int]) -> str:
    return ", ".join(column_letter(j) for j in indices)


@dataclass
class _Row:
    number: int  # sheet row
    field: str
    column_text: str | None  # B trimmed, None when not mapped


def named_columns(mapping_rows: Sequence) -> set[str]:
    """The data-sheet headers the Mapping sheet names in column B, trimmed and case-folded,
    read leniently (no errors: :func:`resolve_mapping` reports those). A hint for a reader
    that wants to know early which columns matter."""
    out: set[str] = set()
    for row in list(mapping_rows)[1:]:
        if row is not None and len(row) > 1 and not _blank(row[1]):
            text = header_text(row[1])
            if text:
                out.add(text.strip().casefold())
    return out


def _read_rows(mapping_rows: Sequence, sheet: str) -> list[_Row]:
    out: list[_Row] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(mapping_rows):
        if index == 0:
            continue  # row 1 is the header
        number = index + 1
        row = list(row) if row is not None else []
        a = row[0] if len(row) > 0 else None
        b = row[1] if len(row) > 1 else None
        if _blank(a):
            if _blank(b):
                continue
            raise MappingError(
                f"B{number} names the column '{short(b)}' but A{number} has no Ameyo field",
                where=f"{sheet}!A{number}",
                hint=f"Type the Ameyo field (e.g. phone1) in A{number}, or clear B{number}",
            )
        for col, value in (("A", a), ("B", b)):
            if isinstance(value, CellError):
                raise MappingError(
                    f"the cell holds the Excel error {value.code}",
                    where=f"{sheet}!{col}{number}",
                    hint="Type the text instead of a formula that fails",
                )
        field = _text(a)
        if not field:
            raise MappingError(
                f"A{number} is not an Ameyo field name ({short(a)})",
                where=f"{sheet}!A{number}",
                hint="Type the field's name as text",
            )
        if field.casefold() in STANDARD_FIELDS:
            field = field.casefold()
        key = field.casefold()
        if key in seen:
            raise MappingError(
                f"the field '{field}' is listed twice, in A{seen[key]} and A{number}",
                where=f"{sheet}!A{number}",
                hint="Keep one of the two rows",
            )
        seen[key] = number
        column_text = None if _blank(b) else header_text(b)
        if not _blank(b) and not column_text:
            raise MappingError(
                f"B{number} is not a column header ({short(b)})",
                where=f"{sheet}!B{number}",
                hint="Type the header of the data sheet's column as text",
            )
        out.append(_Row(number, field, column_text))
    return out


def _match(text: str, headers: list[str | None], *, where: str, data_sheet: str) -> int:
    """The index of the data-sheet column whose header is ``text``."""
    exact = [j for j, h in enumerate(headers) if h == text]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        raise MappingError(
            f"header '{text}' appears {len(exact)} times in sheet '{data_sheet}' "
            f"(columns {_columns(exact)})",
            where=where,
            hint="Rename one of them",
        )
    folded = text.casefold()
    loose = [j for j, h in enumerate(headers) if h and h.casefold() == folded]
    if len(loose) == 1:
        return loose[0]
    if len(loose) > 1:
        found = ", ".join(f"'{headers[j]}' ({column_letter(j)})" for j in loose)
        raise MappingError(
            f"column '{text}' matches {len(loose)} headers in sheet '{data_sheet}' when case "
            f"is ignored: {found}",
            where=where,
            hint="Type the header exactly as it is in row 1, or rename one of the columns",
        )
    named = [h for h in headers if h]
    by_fold = {}
    for h in named:
        by_fold.setdefault(h.casefold(), h)
    close = difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=0.6)
    if close:
        hint = f"Closest header: '{by_fold[close[0]]}'. Fix the header or the mapping"
    elif named:
        listed = ", ".join(f"'{h}'" for h in named[:10]) + (", ..." if len(named) > 10 else "")
        hint = f"Headers in row 1: {listed}. Fix the header or the mapping"
    else:
        hint = "Row 1 of that sheet has no headers. Put the headers in row 1"
    raise MappingError(f"column '{text}' is not in sheet '{data_sheet}'", where=where, hint=hint)


def resolve_mapping(
    mapping_rows: Sequence,
    headers: Sequence,
    *,
    mapping_sheet: str = "Mapping",
    data_sheet: str = "Leads",
) -> ResolvedMapping:
    """Match the Mapping sheet's rows against the data sheet's row-1 ``headers`` (cell values).

    Raises :class:`MappingError` naming the cell for every problem."""
    rows = _read_rows(mapping_rows, mapping_sheet)
    for r in rows:  # the names go into header_mapping: UTF-8 must be able to carry them
        for letter, text in (("A", r.field), ("B", r.column_text)):
            bad = broken_character(text) if text else None
            if bad is not None:
                raise MappingError(
                    f"{letter}{r.number} holds a broken character ({bad}) that cannot be sent",
                    where=f"{mapping_sheet}!{letter}{r.number}",
                    hint=f"Retype {letter}{r.number} (and the data sheet's header it names)",
                )

    phone1_row = next((r for r in rows if r.field == "phone1"), None)
    if phone1_row is None or phone1_row.column_text is None:
        if phone1_row is not None:
            where = f"{mapping_sheet}!B{phone1_row.number}"
            hint = f"Type the header of the phone column in B{phone1_row.number}"
        else:
            where = f"sheet '{mapping_sheet}'"
            hint = (
                "Add a row with phone1 in column A and the header of the phone column in column B"
            )
            lookalike = next((r for r in rows if _squash(r.field) == "phone1"), None)
            if lookalike is not None:
                hint = f"A{lookalike.number} says '{lookalike.field}': write it as phone1"
        raise MappingError(
            "phone1 is not mapped: every lead needs a phone number", where=where, hint=hint
        )

    header_texts = [header_text(h) or None for h in headers]
    by_index: dict[int, list[str]] = {}
    matched: dict[str, str] = {}
    for r in rows:
        if r.column_text is None:
            matched[r.field] = ""
            continue
        j = _match(
            r.column_text,
            header_texts,
            where=f"{mapping_sheet}!B{r.number}",
            data_sheet=data_sheet,
        )
        header = header_texts[j]
        assert header is not None
        matched[r.field] = header
        by_index.setdefault(j, []).append(r.field)

    header_mapping = {field: matched.get(field, "") for field in STANDARD_FIELDS}
    for r in rows:
        if r.field not in STANDARD_FIELDS:
            header_mapping[r.field] = matched[r.field]

    columns = tuple(
        MappedColumn(index=j, header=header_texts[j] or "", fields=tuple(fields))
        for j, fields in sorted(by_index.items())
    )
    phone1 = next(c for c in columns if "phone1" in c.fields)
    phone_columns = tuple(c for c in columns if c.phone_field is not None)
    return ResolvedMapping(
        header_mapping=header_mapping,
        columns=columns,
        phone1=phone1,
        phone_columns=phone_columns,
    )
