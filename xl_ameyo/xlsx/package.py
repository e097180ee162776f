"""The OOXML package: open the zip, stream its parts (each checked against what the zip
records, see PartSizes), find the workbook part and each sheet's part.

A workbook is a zip of XML parts tied together by relationship files (OPC): ``_rels/.rels``
names the workbook part, the workbook's ``.rels`` names each sheet's part. Writers differ in
details a careful reader must accept: absolute (``/xl/worksheets/sheet1.xml``) or relative
(``worksheets/sheet1.xml``, ``../xl/...``) targets, percent-encoded names, part names in a
different letter case than the zip entries (OPC part names are case-insensitive), prefixed
SpreadsheetML (``<x:workbook>``) and the Strict namespaces. Elements are matched by local
name here, so every prefix and namespace variant reads the same.

No library exposes this mapping: python-calamine resolves it internally but only hands out
sheet names, and openpyxl's loader parses the whole workbook. The error-cell overlay and the
Log writer need the part itself, so the few lines of OPC resolution live here.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import threading
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote
from xml.etree import ElementTree

from xl_ameyo.errors import WorkbookFileError

#: relationship types end with these names in both the transitional and the Strict namespaces
_OFFICE_DOCUMENT = "/officeDocument"
_WORKSHEET = "/worksheet"

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class SheetPart:
    """One ``<sheet>`` of workbook.xml and where its XML lives."""

    name: str
    sheet_id: str
    rel_id: str
    #: zip member name of the sheet's part (``xl/worksheets/sheet1.xml``); None when the
    #: relationship is missing or points outside the package
    member: str | None
    #: relationship type's last segment: ``worksheet``, ``chartsheet``, ``dialogsheet``, ...
    kind: str


@dataclass(frozen=True)
class Package:
    """What the reader and the Log writer need to know about a workbook package."""

    #: zip member name of the workbook part (``xl/workbook.xml``)
    workbook_member: str
    #: zip member name of the workbook's relationships part (may not exist yet)
    workbook_rels_member: str
    sheets: tuple[SheetPart, ...]
    #: zip member of the styles part (number formats), None when the workbook has none
    styles_member: str | None = None
    #: the shared-strings part, None when the workbook has none
    shared_member: str | None = None
    #: the workbook counts dates from 1904 (``<workbookPr date1904="1">``)
    date1904: bool = False

    def find_sheet(self, name: str) -> SheetPart | None:
        """The sheet called ``name``: exact match first, then case-insensitive (SPEC §2)."""
        folded = name.strip().casefold()
        return (next((sheet for sheet in self.sheets if sheet.name == name), None)
                or next((sheet for sheet in self.sheets
                         if sheet.name.strip().casefold() == folded), None))


def local_name(tag: str) -> str:
    """``{namespace}sheet`` -> ``sheet``."""
    return tag.rsplit("}", 1)[-1]


def rels_member_for(member: str) -> str:
    """The relationships part of a part: ``xl/workbook.xml`` -> ``xl/_rels/workbook.xml.rels``."""
    folder, name = posixpath.split(member)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve_target(source_member: str, target: str) -> str:
    """Zip member name a relationship ``Target`` points at, seen from ``source_member``.

    ``/xl/a.xml`` is absolute (from the package root); anything else is relative to the source
    part's folder. The result has no leading slash and no ``.``/``..`` segments.
    """
    target = target.replace("\\", "/")
    if target.startswith("/"):
        joined = target
    else:
        joined = posixpath.join("/", posixpath.dirname(source_member), target)
    return posixpath.normpath(joined).lstrip("/")


def member_index(zf: zipfile.ZipFile) -> dict[str, str]:
    """Case-folded member name -> actual member name (OPC part names are case-insensitive)."""
    return {info.filename.casefold(): info.filename for info in zf.infolist()}


def find_member(index: dict[str, str], name: str) -> str | None:
    """The zip member for part ``name``, tolerating letter case and percent-encoding."""
    for candidate in (name, unquote(name)):
        found = index.get(candidate.casefold())
        if found is not None:
            return found
    return None


def parse_xml(data: bytes, what: str, path: str | os.PathLike) -> ElementTree.Element:
    """Parse a small XML part (workbook.xml, a .rels), mapping a parse error to one line."""
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise damaged(path, f"its {what} is not valid XML ({exc})") from None


def damaged(path: str | os.PathLike, detail: str) -> WorkbookFileError:
    """The one error for a workbook whose package is broken."""
    return WorkbookFileError(
        f"The workbook {os.fspath(path)} is damaged: {detail}",
        hint="Open it in Excel, save it again (as .xlsx or .xlsm) and run again",
    )


def _read_relationships(data: bytes, what: str, path: str | os.PathLike) -> list[dict[str, str]]:
    root = parse_xml(data, what, path)
    rels = []
    for element in root.iter():
        if local_name(element.tag) == "Relationship":
            rels.append({local_name(k): v for k, v in element.attrib.items()})
    return rels


def open_zip(path: str | os.PathLike, fileobj: BinaryIO | None = None) -> zipfile.ZipFile:
    """Open the workbook's zip, turning every way that can fail into one clear line.

    ``fileobj``: the file already opened (binary, seekable) — the zip is read from it and
    ``path`` only names it in messages.
    """
    shown = os.fspath(path)
    p = Path(path)
    if not p.exists():
        raise WorkbookFileError(f"The workbook {shown} does not exist",
                                hint="Check the file name and folder")
    if p.is_dir():
        raise WorkbookFileError(f"{shown} is a folder, not a workbook",
                                hint="Give the path of the .xlsx/.xlsm file")
    try:
        with open(p, "rb") if fileobj is None else contextlib.nullcontext(fileobj) as fh:
            fh.seek(0)
            head = fh.read(8)
            fh.seek(0)
        if head == _OLE2_MAGIC:
            raise WorkbookFileError(
                f"{shown} is an old-format .xls workbook or a password-protected one",
                hint="Save it from Excel as .xlsx or .xlsm without a password and run again")
        zf = zipfile.ZipFile(p if fileobj is None else fileobj)
    except WorkbookFileError:
        raise
    except zipfile.BadZipFile:
        if not head:
            raise damaged(path, "the file is empty") from None
        if head.startswith(b"PK"):
            raise damaged(path, "its zip structure is broken or truncated") from None
        raise WorkbookFileError(f"{shown} is not an Excel workbook (.xlsx/.xlsm)",
                                hint="Save it from Excel as .xlsx or .xlsm and run again",
                                ) from None
    except PermissionError:
        raise WorkbookFileError(
            f"The workbook {shown} cannot be read: permission denied",
            hint="Close it in any program that locks it, check its permissions and run again",
        ) from None
    except OSError as exc:
        raise WorkbookFileError(f"The workbook {shown} cannot be read: {exc.strerror or exc}",
                                hint="Check the file and run again") from None
    return zf


#: decompressed bytes a part other than a sheet or the shared strings may hold (Excel's
#: styles, workbook and relationship parts are kilobytes; a styles part of 3 GB is a bomb)
MAX_PART = 64 << 20
#: decompressed bytes a worksheet part may hold (a full sheet of 1,048,576 rows x 47 columns
#: is about 2 GB)
MAX_BIG_PART = 4 << 30
#: decompressed bytes the shared-strings part may hold (the libraries keep every string in
#: memory: 3.4 million strings are about 100 MB)
MAX_SHARED = 512 << 20
#: bytes decompressed at a time, at most
CHUNK = 1 << 20


def too_big(path: str | os.PathLike, member: str, size: int, limit: int) -> WorkbookFileError:
    """The one error for a part that expands beyond its limit (a zip bomb, or no workbook)."""
    return WorkbookFileError(
        f"The workbook {os.fspath(path)} cannot be read: its part {member} expands to "
        f"{size / (1 << 20):,.0f} MB or more, beyond the {limit / (1 << 20):,.0f} MB such a "
        "part can hold (a damaged or hostile file)",
        hint="Open it in Excel, save it again (as .xlsx or .xlsm) and run again",
    )


def stream_member(zf: zipfile.ZipFile, member: str, path: str | os.PathLike,
                  limit: int = MAX_BIG_PART, chunk: int = 0) -> Iterator[bytes]:
    """A member's decompressed bytes, ``chunk`` (else :data:`CHUNK`) at most at a time, its
    size checked before (the zip's own record) and while it streams, to the end of its data:
    a record smaller than the data is a lie (zipfile would stop at the record, the Rust
    libraries read on), reported as one line like any damage."""
    try:
        info = zf.getinfo(member)
    except KeyError:
        raise damaged(path, f"the part {member} is missing") from None
    if info.file_size > limit:
        raise too_big(path, member, info.file_size, limit)
    try:
        yield from _inflated(zf, info, path, chunk or CHUNK)
    except WorkbookFileError:
        raise
    except Exception as exc:  # zlib.error, OSError, struct.error ...
        raise damaged(path, f"the part {member} cannot be read ({exc})") from None


def _inflated(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str | os.PathLike,
              chunk: int) -> Iterator[bytes]:
    """The bytes of ``info``'s compressed data (stored or deflated: what every producer
    writes), inflated here rather than by zipfile, which stops at the recorded size without
    looking further; the size and CRC-32 are then checked against the zip's records."""
    member = info.filename
    if info.flag_bits & 1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise damaged(path, f"the part {member} is encrypted or compressed in a way Excel "
                      "does not use")
    total = crc = 0
    for out in _data(zf, info, path, chunk):
        total += len(out)
        if total > info.file_size:  # (the record is within the limit, checked before)
            raise damaged(path, f"the part {member} holds more than the {info.file_size:,} "
                          "bytes the zip records (a damaged or hostile file)")
        crc = zlib.crc32(out, crc)
        if out:
            yield out
    if total != info.file_size:
        raise damaged(path, f"the part {member} holds {total:,} bytes where the zip records "
                      f"{info.file_size:,}")
    if crc != info.CRC:
        raise damaged(path, f"the part {member} cannot be read (Bad CRC-32)")


def _data(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str | os.PathLike,
          chunk: int) -> Iterator[bytes]:
    """``info``'s data to its end, inflated at most ``chunk`` at a time (a bomb stays
    bounded), read a sixteenth of that at a time by a handle of its own."""
    with (open(zf.filename, "rb") if zf.filename
          else contextlib.nullcontext(zf.fp)) as fh:
        fh.seek(info.header_offset)
        head = fh.read(30)
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            raise damaged(path, f"the zip entry of the part {info.filename} is broken")
        fh.seek(int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little"), 1)
        inflater = (zlib.decompressobj(-zlib.MAX_WBITS)
                    if info.compress_type == zipfile.ZIP_DEFLATED else None)
        left = info.compress_size
        while left and not (inflater and inflater.eof):
            data = fh.read(min(max(chunk >> 4, 1), left))
            if not data:
                break
            left -= len(data)
            if inflater is None:
                yield data
            while inflater is not None and data and not inflater.eof:
                yield inflater.decompress(data, chunk)
                data = inflater.unconsumed_tail
        if inflater is not None and not inflater.eof:
            yield inflater.flush()  # what inflate still holds once all is in: a few bytes
        if (not inflater.eof) if inflater is not None else left:
            raise damaged(path, f"the part {info.filename} is cut short")


class PartSizes:
    """Each part's size as the zip records it, checked against the limits before any
    library is handed the file (a 3 MB styles part that expands to gigabytes), and proved on
    the data before a Rust library reads a part: they read to the end of its data whatever
    the record says, and cannot be stopped. Each part is proved once; a failure is raised
    to every asker."""

    def __init__(self, zf: zipfile.ZipFile, path: str | os.PathLike, package: Package) -> None:
        self.path = path
        #: member -> (size, compressed size), as the zip records them
        self.recorded = {info.filename: (info.file_size, info.compress_size)
                         for info in zf.infolist()}
        self._sheets = {sheet.member for sheet in package.sheets}
        self._limits = {package.workbook_member: MAX_PART, package.styles_member: MAX_PART,
                        package.workbook_rels_member: MAX_PART, package.shared_member: MAX_SHARED}
        for name, (size, _) in self.recorded.items():
            parsed = name in self._limits or name in self._sheets
            limit = self._limits.get(name, MAX_BIG_PART)
            if (parsed or name.casefold().endswith((".xml", ".rels"))) and size > limit:
                raise too_big(path, name, size, limit)
        self._proved: dict[str, WorkbookFileError | None] = {}
        self._lock = threading.Lock()

    def prove(self, members: Iterable[str]) -> None:
        """Stream each of ``members`` not proved yet to its end, as :func:`stream_member` does."""
        with self._lock, open_zip(self.path) as zf:
            for member in members:
                if member not in self._proved:
                    try:  # few large pieces: each one waits for the GIL once
                        for _ in stream_member(zf, member, self.path, self._limits.get(
                                member, MAX_BIG_PART), chunk=16 * CHUNK):
                            pass
                        self._proved[member] = None
                    except WorkbookFileError as exc:
                        self._proved[member] = exc
                if self._proved[member] is not None:
                    raise self._proved[member]  # type: ignore[misc]

    def streamed(self, member: str) -> None:
        """Note ``member`` proved: a scan streamed it to its end (not inflated again)."""
        with self._lock:
            self._proved.setdefault(member, None)

    def prove_opening(self) -> None:
        """Prove the parts a library parses when it opens the workbook: all but the sheets."""
        self.prove([name for name in self.recorded if name not in self._sheets])


def read_member(zf: zipfile.ZipFile, member: str, path: str | os.PathLike,
                limit: int = MAX_BIG_PART) -> bytes:
    """One member's bytes, as :func:`stream_member` checks them."""
    return b"".join(stream_member(zf, member, path, limit))


def read_package(zf: zipfile.ZipFile, path: str | os.PathLike) -> Package:
    """Find the workbook part and its sheets' parts in an open workbook zip."""
    shown = os.fspath(path)
    index = member_index(zf)
    workbook_member = None
    root_rels = find_member(index, "_rels/.rels")
    if root_rels is not None:
        root_xml = read_member(zf, root_rels, path, MAX_PART)
        for rel in _read_relationships(root_xml, "_rels/.rels", path):
            external = rel.get("TargetMode") == "External"
            if rel.get("Type", "").endswith(_OFFICE_DOCUMENT) and not external:
                workbook_member = find_member(index, resolve_target("", rel.get("Target", "")))
                break
    if workbook_member is None:
        # no package relationships (hand-made or damaged): the conventional place
        workbook_member = find_member(index, "xl/workbook.xml")
    found = workbook_member or find_member(index, "xl/workbook.bin") or ""
    binary = found.casefold().endswith(".bin")
    if binary or workbook_member is None:
        what = ("a binary .xlsb workbook, which is not supported" if binary
                else "not an Excel workbook (.xlsx/.xlsm): it has no workbook part")
        raise WorkbookFileError(f"{shown} is {what}",
                                hint="Save it from Excel as .xlsx or .xlsm and run again")

    rels_name = rels_member_for(workbook_member)
    rels_member = find_member(index, rels_name)
    targets: dict[str, tuple[str | None, str]] = {}
    if rels_member is not None:
        for rel in _read_relationships(
            read_member(zf, rels_member, path, MAX_PART), posixpath.basename(rels_name), path
        ):
            kind = rel.get("Type", "").rstrip("/").rsplit("/", 1)[-1]
            member = None
            if rel.get("TargetMode") != "External":
                member = find_member(index, resolve_target(workbook_member, rel.get("Target", "")))
            targets[rel.get("Id", "")] = (member, kind)

    root = parse_xml(read_member(zf, workbook_member, path, MAX_PART),
                     posixpath.basename(workbook_member), path)
    sheets = []
    date1904 = False
    for element in root.iter():
        if local_name(element.tag) == "workbookPr":
            date1904 = element.get("date1904", "").strip().lower() in ("1", "true")
        if local_name(element.tag) != "sheet":
            continue
        rel_id = ""
        for key, value in element.attrib.items():
            # r:id, whatever the prefix, in the transitional or Strict relationships namespace
            if key.startswith("{") and local_name(key) == "id" and "relationships" in key:
                rel_id = value
        member, kind = targets.get(rel_id, (None, "worksheet"))
        sheets.append(SheetPart(name=element.get("name", ""), sheet_id=element.get("sheetId", ""),
                                rel_id=rel_id, member=member, kind=kind))
    def part(wanted: str) -> str | None:
        return next((m for m, kind in targets.values() if kind == wanted and m), None)

    return Package(workbook_member=workbook_member, workbook_rels_member=rels_member or rels_name,
                   sheets=tuple(sheets), styles_member=part("styles"),
                   shared_member=part("sharedStrings"), date1904=date1904)
