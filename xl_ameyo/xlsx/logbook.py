"""Append one row to a workbook file's Log sheet, keeping everything else as it was.

openpyxl cannot do this job: a load-and-save drops the cached results of formulas, can drop
parts it does not model (shapes, some extensions) and rewrites every part. Here only the Log
sheet's XML is edited (one row inserted, ``<dimension>`` widened); every other zip member is
copied byte for byte, compressed bytes included (:mod:`.rezip`). When the Log sheet is
missing it is created last in the tab order, with a header row (frozen, not bold: bold needs
a cell style, which would change styles.xml), and the three workbook-level parts that list
sheets get one element each (:mod:`.newsheet`).

Where the row goes (:mod:`.sheetrows` edits the rows): after the last row holding a value (a
formula, a cached value or text), or covered by a merged area.
Rows below it that hold only formatting are reused in place (their cell styles are kept).
An existing but empty Log sheet gets the header first. The row is written by position, in
the order of ``columns``, whatever the existing header says (a Log made by an older version
with fewer columns gets the new values under unnamed columns rather than a rewritten header).

The new file is written next to the old one and swapped in atomically (:mod:`.atomic`), after
:mod:`.writable` has made sure the workbook is not open in Excel or LibreOffice.
"""

from __future__ import annotations

import os
import posixpath
import re
import zipfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from xl_ameyo.errors import WorkbookFileError
from xl_ameyo.xlsx.atomic import replace_atomically
from xl_ameyo.xlsx.newsheet import (
    MAIN_NS,
    STRICT_MAIN_NS,
    WORKSHEET_CONTENT_TYPE,
    PartEditError,
    add_override,
    add_relationship,
    add_sheet_entry,
    check_sheet_name,
    new_relationship_id,
    new_sheet_xml,
    override_part_names,
    root_namespaces,
    worksheet_relationship_type,
)
from xl_ameyo.xlsx.package import (
    Package,
    damaged,
    find_member,
    member_index,
    open_zip,
    read_member,
    read_package,
)
from xl_ameyo.xlsx.rezip import ZipRewriteError, rewrite_zip
from xl_ameyo.xlsx.sheetrows import (
    SheetFullError,
    append_many_to_sheet,
    append_rows_to_sheet,
    set_rows_in_sheet,
)
from xl_ameyo.xlsx.writable import check_writable

# --- the file --------------------------------------------------------------------------------


def _new_sheet_member(package: Package, index: dict[str, str], overrides: set[str]) -> str:
    """A free part name for a new worksheet, next to the existing ones."""
    folder = next(
        (posixpath.dirname(s.member) for s in package.sheets if s.member and s.kind ==
         "worksheet"),
        posixpath.join(posixpath.dirname(package.workbook_member), "worksheets"),
    )
    n = len(package.sheets) + 1
    while True:
        member = posixpath.join(folder, f"sheet{n}.xml")
        if member.casefold() not in index and "/" + member.casefold() not in overrides:
            return member
        n += 1


def _encode(text: str, bom: bool) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


@dataclass(frozen=True)
class SheetEdit:
    """One sheet's change: ``change`` turns its XML into the new XML; a missing sheet is
    created (last in the tab order, header frozen, column ``widths`` in characters) and
    ``change`` applied to the empty one."""

    sheet: str
    change: Callable[[str], str]
    widths: Sequence[float] = ()
    #: what is written, for messages ("the Log row")
    what: str = "the Log row"


def _plan_edits(
    zf: zipfile.ZipFile,
    path: str | os.PathLike,
    edits: Sequence[SheetEdit],
) -> tuple[dict[str, bytes], list[tuple[str, bytes]]]:
    """(members to replace, members to add) for the sheet edits."""
    package = read_package(zf, path)
    index = member_index(zf)
    replace: dict[str, bytes] = {}
    add: list[tuple[str, bytes]] = []
    lists: dict[str, tuple[str, str, bool]] = {}  # workbook-level parts: member -> text, bom

    def listed(member: str) -> tuple[str, bool]:
        if member not in lists:
            text, bom = xml_text(read_member(zf, member, path), member, path)
            lists[member] = (member, text, bom)
        _, text, bom = lists[member]
        return text, bom

    for edit in edits:
        found = package.find_sheet(edit.sheet)
        if found is not None:
            if found.kind != "worksheet":
                raise WorkbookFileError(
                    f"The sheet '{found.name}' of {os.fspath(path)} is a {found.kind}, not a "
                    f"worksheet, so {edit.what} cannot be written there",
                    hint=f"Rename that sheet (it goes to a worksheet called {edit.sheet}) and "
                    "run again",
                )
            if found.member is None:
                raise damaged(path, f"the part holding sheet '{found.name}' cannot be found")
            text, bom = xml_text(read_member(zf, found.member, path), found.member, path)
            try:
                new = edit.change(text)
            except SheetFullError:
                raise WorkbookFileError(
                    f"The sheet '{found.name}' of {os.fspath(path)} is full (1,048,576 rows)",
                    hint="Move its old rows to another workbook and run again",
                ) from None
            except PartEditError as exc:
                raise damaged(path, f"the sheet '{found.name}' cannot be edited ({exc})") from None
            replace[found.member] = _encode(new, bom)
            continue

        # create the sheet
        ct_member = find_member(index, "[Content_Types].xml")
        rels_member = find_member(index, package.workbook_rels_member)
        if ct_member is None or rels_member is None:
            raise damaged(path, "its package lists ([Content_Types].xml, workbook rels) are "
                          "missing")
        wb_text, wb_bom = listed(package.workbook_member)
        rels_text, rels_bom = listed(rels_member)
        ct_text, ct_bom = listed(ct_member)
        try:
            prefix, decls = root_namespaces(wb_text)
            main_ns = decls.get(prefix, MAIN_NS)
            strict = main_ns == STRICT_MAIN_NS
            taken = override_part_names(ct_text) | {"/" + m.casefold() for m, _ in add}
            member = _new_sheet_member(package, index, taken)
            rel_id = new_relationship_id(rels_text)
            target = posixpath.relpath(member, posixpath.dirname(package.workbook_member) or ".")
            wb_new = add_sheet_entry(wb_text, name=edit.sheet, rel_id=rel_id)
            rels_new = add_relationship(
                rels_text, rel_id=rel_id, rel_type=worksheet_relationship_type(rels_text, strict),
                target=target,
            )
            ct_new = add_override(ct_text, part_name="/" + member,
                                  content_type=WORKSHEET_CONTENT_TYPE)
            sheet_xml = edit.change(
                new_sheet_xml("", dimension="A1", main_ns=main_ns if strict else MAIN_NS,
                              widths=edit.widths)
            )
        except PartEditError as exc:
            raise damaged(path, f"the {edit.sheet} sheet cannot be added ({exc})") from None
        lists[package.workbook_member] = (package.workbook_member, wb_new, wb_bom)
        lists[rels_member] = (rels_member, rels_new, rels_bom)
        lists[ct_member] = (ct_member, ct_new, ct_bom)
        add.append((member, sheet_xml.encode("utf-8")))
    for member, text, bom in lists.values():
        replace[member] = _encode(text, bom)
    return replace, add


def _verify(tmp: Path, names: list[str], changed: dict[str, bytes]) -> None:
    """The written archive lists the expected members and the new parts read back intact."""
    with zipfile.ZipFile(tmp) as zf:
        if zf.namelist() != names:
            raise ZipRewriteError("the members of the written archive are not as expected")
        for name, data in changed.items():
            if zf.read(name) != data:
                raise ZipRewriteError(f"{name} does not read back as written")


def column_widths(columns: Sequence[str], known: Mapping[str, float] | None = None
                  ) -> list[float]:
    """Widths for a new sheet's columns: ``known`` ones, else the Log's
    (:func:`~xl_ameyo.logrecord.column_width`)."""
    from xl_ameyo.logrecord import column_width

    known = known or {}
    return [known.get(c, column_width(c)) for c in columns]


def append_log_row(
    path: str | os.PathLike,
    row: Sequence[object],
    *,
    columns: Sequence[str] | None = None,
    sheet: str = "Log",
) -> None:
    """Append ``row`` to the workbook's ``sheet`` (found case-insensitively), creating the
    sheet with ``columns`` as its header row when it is missing.

    ``columns`` defaults to :data:`xl_ameyo.logrecord.LOG_COLUMNS`. Cell types: ``str`` ->
    text (a 17-digit task id stays text), ``bool`` -> TRUE/FALSE, int/float -> number,
    ``None`` -> no cell; dates -> ISO text; anything else -> its ``str()``.

    Every other part of the package is kept byte for byte; the file is replaced atomically.
    Raises :class:`WorkbookFileError` (nothing changed) when the file is locked, read-only,
    damaged or cannot be written.
    """
    if columns is None:
        from xl_ameyo.logrecord import LOG_COLUMNS

        columns = LOG_COLUMNS
    from xl_ameyo.logrecord import LOG_COLUMNS, TASK_COLUMNS

    row, columns = list(row), list(columns)
    # a new Log's widths cover the columns `xl-ameyo status` adds after them too
    later = list(TASK_COLUMNS) if columns == list(LOG_COLUMNS) else []
    edit_workbook(path, [SheetEdit(sheet, lambda text: append_rows_to_sheet(text, row, columns),
                                   widths=column_widths(columns + later))])


def edit_workbook(path: str | os.PathLike, edits: Sequence[SheetEdit]) -> None:
    """Apply the sheet edits to the workbook file: only those sheets' parts change (and, for
    a new sheet, the three package lists); every other part is kept byte for byte and the
    file is replaced atomically. Raises :class:`WorkbookFileError` (nothing changed) when
    the file is locked, read-only, damaged or cannot be written."""
    for edit in edits:
        check_sheet_name(edit.sheet)
    check_writable(path)
    shown = os.fspath(path)
    what = edits[0].what if edits else "the Log row"
    target = Path(os.path.realpath(path))
    try:
        with open(target, "rb") as src:
            planned = os.fstat(src.fileno())
            with open_zip(path, src) as zf:
                replace, add = _plan_edits(zf, path, edits)
                names = zf.namelist() + [name for name, _ in add]

        def write(out: BinaryIO) -> None:
            # the original is opened again here and closed before os.replace: on Windows a
            # handle of our own would make the replacement fail
            with open(target, "rb") as src:
                now = os.fstat(src.fileno())
                if (now.st_size, now.st_mtime_ns) != (planned.st_size, planned.st_mtime_ns):
                    raise WorkbookFileError(
                        f"The workbook {shown} changed while {what} was being written",
                        hint="Close it in Excel and run again",
                    )
                rewrite_zip(src, out, replace=replace, add=add)

        changed = dict(replace)
        changed.update(add)
        replace_atomically(target, write, verify=lambda tmp: _verify(tmp, names, changed))
    except WorkbookFileError:
        raise
    except ZipRewriteError as exc:
        raise damaged(path, str(exc)) from None
    except PermissionError:
        raise WorkbookFileError(
            f"The workbook {shown} could not be replaced: it is open in another program "
            "(Excel?) or not writable",
            hint="Close it in Excel (or make it and its folder writable) and run again",
        ) from None
    except OSError as exc:
        raise WorkbookFileError(
            f"The workbook {shown} could not be written: {exc.strerror or exc}",
            hint="Check the disk space and the folder, and run again",
        ) from None


def write_task_results(
    path: str | os.PathLike,
    log_cells: Mapping[int, Mapping[int, object]],
    *,
    rejected_header: Sequence[str] = (),
    rejected_rows: Sequence[Sequence[object]] = (),
    log_sheet: str = "Log",
    rejected_sheet: str = "Rejected",
    header_rows: Collection[int] = (),
) -> None:
    """``xl-ameyo status``'s write-back in one replacement of the file: cells of existing
    Log rows set in place (``log_cells``: sheet row -> {column index: value}; the rows'
    other cells and styles kept; new cells of ``header_rows`` styled like their left
    neighbour), and ``rejected_rows`` appended to the Rejected sheet (created with
    ``rejected_header`` when missing). Everything else is kept byte for byte."""
    edits = [SheetEdit(log_sheet, lambda text: set_rows_in_sheet(text, log_cells,
                                                                 header_rows=header_rows),
                       what="the task results")]
    if rejected_rows:
        header, rows = list(rejected_header), [list(r) for r in rejected_rows]
        widths = column_widths(header, {"task_id": 20, "sheet": 14, "error_code": 32,
                                        "reason": 44})
        edits.append(SheetEdit(rejected_sheet,
                               lambda text: append_many_to_sheet(text, rows, header),
                               widths=widths, what="the rejected rows"))
    edit_workbook(path, edits)


_ENCODING_DECL = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def xml_text(data: bytes, member: str, path: str | os.PathLike) -> tuple[str, bool]:
    """Decode an XML part for editing: (text, had_utf8_bom). Only UTF-8 is edited.

    Excel and every mainstream writer produce UTF-8; a part in another encoding is refused
    rather than re-encoded, so nothing is silently changed.
    """
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    declared = _ENCODING_DECL.match(body)
    if declared and declared.group(1).decode("ascii").lower().replace("_", "-") not in (
        "utf-8",
        "utf8",
    ):
        raise WorkbookFileError(
            f"The part {member} of {os.fspath(path)} is not UTF-8 and cannot be edited safely",
            hint="Open the workbook in Excel, save it again and run again",
        )
    try:
        return body.decode("utf-8"), bom
    except UnicodeDecodeError:
        raise damaged(path, f"the part {member} is not valid UTF-8") from None
