"""The small sheets of a workbook (Settings, Mapping, Log) read without its whole shared strings.

python-calamine parses the whole shared-strings part when it opens a workbook (0.75 s for the
3.4 million strings of a full data sheet) and offers no way to read one sheet without it; no
library does this, so it is written here. :func:`build` makes, in memory, a minimal workbook
python-calamine reads instead:

- the parts python-calamine reads when opening (``[Content_Types].xml``, ``_rels/.rels``, the
  workbook part and its relationships, the styles) copied as they are;
- every small worksheet part (at most :data:`SMALL_PART` bytes) with the index in each of its
  shared-string cells (``<c t="s"><v>N</v></c>``) renumbered; every other sheet part replaced
  by an empty worksheet, so that sheet names and order stay the same;
- a shared-strings part holding only the items those cells use, each ``<si>...</si>`` copied
  byte for byte (rich text runs, phonetic runs, ``xml:space``, ``_xHHHH_`` escapes: python-
  calamine reads them exactly as in the original), found by one streamed pass over the
  original part that stops after the last item needed.

Whatever could make python-calamine read the mini workbook differently from the original (a
namespace prefix, anything but items between the items counted, an index out of range, a
``<v>`` that is not plain digits, two members whose names differ only in letter case, a sheet
python-calamine would look for elsewhere, a file name it would not read as .xlsx, any error)
makes :func:`build` return None: the caller then reads the full workbook, as it always did.
What lies past the last item needed is not read: a shared-strings part damaged there fails
only when the full workbook is read (for the data sheet).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree

from xl_ameyo.xlsx.package import Package, local_name, open_zip
from xl_ameyo.xlsx.sharedstrings import (
    ATTRS,
    Counted,
    Unusual,
    attributes,
    check_utf8,
    pick_items,
)

#: sheet parts up to this size (uncompressed) go into the mini workbook; the others (the data
#: sheet) are read from the full workbook
SMALL_PART = 8 << 20

#: the mini workbook is made only when the shared-strings part is at least this big (below,
#: python-calamine parses it in a few milliseconds) ...
MIN_SHARED = 1 << 20
#: ... and this many times the small sheet parts together (finding the shared-string cells
#: in a sheet costs up to ten times what python-calamine spends on as many bytes of strings)
SHARED_PER_SMALL = 16



#: the file name endings python-calamine (``from_path``) reads with its .xlsx reader
XLSX_SUFFIXES = (".xlsx", ".xlsm", ".xlam")

#: what stands in for a sheet that is not in the mini workbook
EMPTY_SHEET = (
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<sheetData/></worksheet>"
)


# worksheet parts
_T_IS_S = re.compile(rb"""\st\s*=\s*(?:"s"|'s')""")
_CELL_TAG = re.compile(rb"<c" + ATTRS + rb"(/?)>")
_CELL_START = re.compile(rb"<c[\s/>]")
_CELL_END = re.compile(rb"</c\s*>")
_VALUE_START = re.compile(rb"<v[\s/>]")
_VALUE = re.compile(rb"<v>([0-9]+)</v>")
_PREFIXED_CELL = re.compile(rb"<[^\s<>/!?=\"']+:[cv][\s/>]")





@dataclass(frozen=True)
class SmallBook:
    """A mini workbook (see the module docstring)."""

    data: bytes  # the .xlsx file's bytes
    members: frozenset[str]  # the sheet parts it holds, as named in the original
    strings: int  # shared strings copied
    shared_read: int  # bytes of the original shared-strings part decompressed


def worth_it(package: Package, sizes: dict[str, int]) -> frozenset[str]:
    """The sheet parts to read from a mini workbook: the small worksheets, or none when the
    mini workbook would not pay (see :data:`MIN_SHARED`). ``sizes``: each member's
    uncompressed size."""
    small = frozenset(
        sheet.member
        for sheet in package.sheets
        if sheet.kind == "worksheet"
        and sheet.member is not None
        and sizes.get(sheet.member, SMALL_PART + 1) <= SMALL_PART
    )
    shared = next(
        (size for name, size in sizes.items() if name.casefold() == "xl/sharedstrings.xml"), 0
    )
    if shared < MIN_SHARED or shared < SHARED_PER_SMALL * sum(sizes[m] for m in small):
        return frozenset()
    return small


def build(path: str | os.PathLike, package: Package) -> SmallBook | None:
    """The mini workbook holding the small sheets of ``path``, or None when anything is
    unusual (the full workbook must be read then)."""
    if not os.fspath(path).lower().endswith(XLSX_SUFFIXES):
        return None  # python-calamine might not read the original as .xlsx
    try:
        with open_zip(path) as zf:
            return _build(zf, package)
    except Exception:  # Unusual, a damaged part, anything: the full workbook says what
        return None


def _build(zf: zipfile.ZipFile, package: Package) -> SmallBook:
    infos = zf.infolist()
    by_name = {info.filename: info for info in infos}
    folded = {name.casefold() for name in by_name}
    if len(folded) != len(infos):
        raise Unusual("two members whose names differ only in letter case")
    targets = _targets(zf.read(_find(by_name, "xl/_rels/workbook.xml.rels")))
    small: set[str] = set()
    stubs: set[str] = set()
    for sheet in package.sheets:
        if sheet.member is None or sheet.member not in by_name:
            raise Unusual(f"the part of sheet {sheet.name!r} is missing")
        target = targets.get(sheet.rel_id, "")
        # where python-calamine looks for the part (it ignores ./, ../ and %-escapes)
        sought = target[1:] if target.startswith("/") else "xl/" + target
        if sought.casefold() != sheet.member.casefold():
            raise Unusual(f"python-calamine may look elsewhere for sheet {sheet.name!r}")
        if sheet.kind == "worksheet" and by_name[sheet.member].file_size <= SMALL_PART:
            small.add(sheet.member)
        else:
            stubs.add(sheet.member)
    stubs -= small

    sheets: dict[str, bytes] = {}
    cells: dict[str, list[tuple[int, int, int]]] = {}
    for member in small:
        xml = zf.read(member)
        sheets[member] = xml
        cells[member] = shared_cells(xml)
    needed = sorted({index for found in cells.values() for _, _, index in found})

    shared_member = _find(by_name, "xl/sharedStrings.xml", required=False)
    shared = b""
    shared_read = 0
    if needed:
        if shared_member is None:
            raise Unusual("shared-string cells without a shared-strings part")
        with zf.open(shared_member) as stream:
            counted = Counted(stream)
            shared = pick_items(counted.read, needed)
            shared_read = counted.total
    renumber = {index: new for new, index in enumerate(needed)}

    copied = {
        name.casefold()
        for name in ("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml",
                     "xl/_rels/workbook.xml.rels", "xl/styles.xml",
                     package.workbook_member, package.workbook_rels_member,
                     package.styles_member or "")
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as mini:
        for info in infos:
            name = info.filename
            if name in sheets:
                mini.writestr(name, _renumbered(sheets[name], cells[name], renumber))
            elif name in stubs:
                mini.writestr(name, EMPTY_SHEET)
            elif name == shared_member:
                if needed:
                    mini.writestr(name, shared)
            elif name.casefold() in copied:
                mini.writestr(name, zf.read(info))
    return SmallBook(
        data=out.getvalue(),
        members=frozenset(small),
        strings=len(needed),
        shared_read=shared_read,
    )


def _find(by_name: dict[str, zipfile.ZipInfo], name: str, *, required: bool = True) -> str | None:
    """The member python-calamine opens for ``name`` (it matches names ignoring case)."""
    folded = name.casefold()
    for member in by_name:
        if member.casefold() == folded:
            return member
    if required:
        raise Unusual(f"no {name}")
    return None


def _targets(rels: bytes) -> dict[str, str]:
    """Relationship id -> target, from the workbook's relationships part."""
    targets = {}
    for element in ElementTree.fromstring(rels).iter():
        if local_name(element.tag) == "Relationship":
            targets[element.get("Id", "")] = element.get("Target", "")
    return targets


# --- worksheet parts -------------------------------------------------------------------------


def shared_cells(xml: bytes) -> list[tuple[int, int, int]]:
    """``(start, end, index)`` of the index text in each shared-string cell of a worksheet
    part: the ``N`` of ``<c ... t="s" ...><v>N</v></c>``."""
    content = check_utf8(xml)
    if xml.find(b"<!") >= 0 or xml.find(b"<?", content) >= 0:
        raise Unusual("a comment, CDATA section or processing instruction in a sheet")
    if _PREFIXED_CELL.search(xml):
        raise Unusual("prefixed cells")
    found: list[tuple[int, int, int]] = []
    last_tag = -1
    for hit in _T_IS_S.finditer(xml):
        at = xml.rfind(b"<", 0, hit.start())  # no '<' inside a tag: its start
        if at <= last_tag or not _CELL_START.match(xml, at):
            continue  # another element, or text
        tag = _CELL_TAG.match(xml, at)
        if tag is None:
            raise Unusual("a cell tag not understood")
        if tag.end() <= hit.start():
            continue  # the hit is in text after the tag
        last_tag = at
        kind = [m for m in attributes(tag.group(1)) if m.group(1) == b"t"]
        if len(kind) > 1:
            raise Unusual("a cell with several t attributes")
        if not kind or (kind[0].group(2) or kind[0].group(3)) != b"s":
            continue  # t="s" was inside another attribute's value
        if tag.group(2):
            continue  # <c .../>: no value
        end = _CELL_END.search(xml, tag.end())
        if end is None or _CELL_START.search(xml, tag.end(), end.start()):
            raise Unusual("a cell not closed")
        values = list(_VALUE_START.finditer(xml, tag.end(), end.start()))
        if not values:
            continue
        value = _VALUE.match(xml, values[0].start(), end.start())
        if len(values) > 1 or value is None:
            raise Unusual("a shared-string cell whose value is not one plain index")
        found.append((value.start(1), value.end(1), int(value.group(1))))
    return found


def _renumbered(xml: bytes, cells: list[tuple[int, int, int]], new: dict[int, int]) -> bytes:
    """``xml`` with each shared-string index replaced by its index in the mini workbook."""
    pieces = []
    last = 0
    for start, end, index in cells:
        pieces += (xml[last:start], str(new[index]).encode("ascii"))
        last = end
    pieces.append(xml[last:])
    return b"".join(pieces)
