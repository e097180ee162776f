"""Add a worksheet to a workbook package by small insertions into its workbook-level parts.

A new sheet needs four edits: its own part, a ``<sheet>`` in workbook.xml, a
``<Relationship>`` in workbook.xml.rels and an ``<Override>`` in [Content_Types].xml. Each
edit here inserts one element before the closing tag of its list and changes no other byte:
the parts keep their XML declaration, namespace prefixes, ``mc:Ignorable`` lists, extension
lists and formatting. Re-serialising them through ElementTree (or letting openpyxl save
the workbook) would rename prefixes (``ns0:``), drop ``mc:Ignorable``-declared namespaces
Excel needs, and lose the parts openpyxl does not model. The edits are done on the text with
patterns anchored on tags, whatever prefix the writer used (``<x:sheets>``).

docProps/app.xml (the sheet titles shown in file properties) is deliberately left alone:
Excel does not read it when opening and rewrites it on the next save.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from xml.sax.saxutils import escape

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_MAIN_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
WORKSHEET_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

_NAME = r"[A-Za-z_][\w.\-]*"
_ROOT = re.compile(r"<(?!\?|!)(?:(" + _NAME + r"):)?(" + _NAME + r")(\s[^>]*)?/?>")
_XMLNS = re.compile(r"\bxmlns(?::(" + _NAME + r"))?\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_ID_ATTR = re.compile(r"\bId\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_INVALID_SHEET_CHARS = set("[]:*?/\\")


class PartEditError(Exception):
    """A part does not have the element an edit needs."""


def attr(value: str) -> str:
    """A value escaped for a double-quoted XML attribute."""
    return escape(value, {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def check_sheet_name(name: str) -> None:
    """Excel's rules for a sheet name (a programming error when broken: ValueError)."""
    if not name or len(name) > 31 or set(name) & _INVALID_SHEET_CHARS:
        raise ValueError(f"not a valid Excel sheet name: {name!r}")
    if name.startswith("'") or name.endswith("'") or name.casefold() == "history":
        raise ValueError(f"not a valid Excel sheet name: {name!r}")


def root_namespaces(text: str) -> tuple[str, dict[str, str]]:
    """(prefix of the root element, namespace declarations on it: prefix -> URI).

    The default namespace has prefix ``""``.
    """
    m = _ROOT.search(text)
    if m is None:
        raise PartEditError("no root element")
    decls = {d.group(1) or "": d.group(2) if d.group(2) is not None else d.group(3)
             for d in _XMLNS.finditer(m.group(3) or "")}
    return m.group(1) or "", decls


def _list_element(text: str, list_tag: str) -> tuple[re.Match[str], re.Match[str] | None]:
    """(start tag, end tag or None when self-closing) of the first ``<list_tag>`` (any
    prefix)."""
    start = re.search(r"<(?:" + _NAME + r":)?" + list_tag + r"(\s[^>]*?)?(/?)>", text)
    if start is None:
        raise PartEditError(f"no <{list_tag}> element")
    if start.group(2):
        return start, None
    close = re.compile(r"</(?:" + _NAME + r":)?" + list_tag + r"\s*>").search(text, start.end())
    if close is None:
        raise PartEditError(f"<{list_tag}> is not closed")
    return start, close


def _insert_in_list(text: str, list_tag: str, new: str) -> str:
    """Insert ``new`` as the last child of the first ``<list_tag>`` element (any prefix)."""
    start, close = _list_element(text, list_tag)
    if close is None:  # self-closing: <sheets/> -> <sheets>new</sheets>
        open_tag = start.group(0)[:-2].rstrip() + ">"
        tag_name = open_tag[1:].split(None, 1)[0].rstrip(">")
        return text[: start.start()] + open_tag + new + f"</{tag_name}>" + text[start.end() :]
    return text[: close.start()] + new + text[close.start() :]


def _prefix_of(text: str, local: str) -> str:
    """``x:`` when the first ``<local>`` element is written ``<x:local``, else ``""``."""
    m = re.search(r"<(?:(" + _NAME + r"):)?" + local + r"[\s/>]", text)
    return f"{m.group(1)}:" if m and m.group(1) else ""


def add_sheet_entry(workbook_xml: str, *, name: str, rel_id: str) -> str:
    """workbook.xml with ``<sheet name=.. sheetId=.. r:id=..>`` added last in ``<sheets>``."""
    _, decls = root_namespaces(workbook_xml)
    prefix = _prefix_of(workbook_xml, "sheets")
    strict = STRICT_MAIN_NS in decls.values()
    rel_ns = STRICT_REL_NS if strict else REL_NS
    rel_prefix = next((p for p, uri in decls.items() if p and uri in (REL_NS, STRICT_REL_NS)),
                      None)
    start, close = _list_element(workbook_xml, "sheets")
    listed = workbook_xml[start.end() : close.start()] if close else ""
    ids = [int(i) for i in re.findall(r"\bsheetId\s*=\s*[\"'](\d+)[\"']", listed)]
    sheet_id = max(ids, default=0) + 1
    if rel_prefix is None:  # declared nowhere we can rely on: declare it on the element
        rel_attr = f'xmlns:r="{rel_ns}" r:id="{attr(rel_id)}"'
    else:
        rel_attr = f'{rel_prefix}:id="{attr(rel_id)}"'
    entry = f'<{prefix}sheet name="{attr(name)}" sheetId="{sheet_id}" {rel_attr}/>'
    return _insert_in_list(workbook_xml, "sheets", entry)


def relationship_ids(rels_xml: str) -> set[str]:
    """The ``Id`` values used in a relationships part."""
    return {a or b for a, b in _ID_ATTR.findall(rels_xml)}


def new_relationship_id(rels_xml: str) -> str:
    """``rIdN`` not used yet in this relationships part."""
    used = relationship_ids(rels_xml)
    n = len(used) + 1
    while f"rId{n}" in used:
        n += 1
    return f"rId{n}"


def worksheet_relationship_type(rels_xml: str, strict: bool) -> str:
    """The worksheet relationship type, in the namespace the part already uses."""
    for a, b in re.findall(r"\bType\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", rels_xml):
        value = a or b
        if value.endswith("/worksheet"):
            return value
    return (STRICT_REL_NS if strict else REL_NS) + "/worksheet"


def add_relationship(rels_xml: str, *, rel_id: str, rel_type: str, target: str) -> str:
    """A relationships part with one ``<Relationship>`` added last."""
    prefix = _prefix_of(rels_xml, "Relationships")
    entry = (f'<{prefix}Relationship Id="{attr(rel_id)}" Type="{attr(rel_type)}" '
             f'Target="{attr(target)}"/>')
    return _insert_in_list(rels_xml, "Relationships", entry)


def override_part_names(content_types_xml: str) -> set[str]:
    """Case-folded part names that [Content_Types].xml has an ``<Override>`` for."""
    return {(a or b).casefold()
            for a, b in re.findall(r"\bPartName\s*=\s*(?:\"([^\"]*)\"|'([^']*)')",
                                   content_types_xml)}


def add_override(content_types_xml: str, *, part_name: str, content_type: str) -> str:
    """[Content_Types].xml with one ``<Override>`` added last."""
    prefix = _prefix_of(content_types_xml, "Types")
    entry = f'<{prefix}Override PartName="{attr(part_name)}" ContentType="{attr(content_type)}"/>'
    return _insert_in_list(content_types_xml, "Types", entry)


def new_sheet_xml(rows_xml: str, *, dimension: str | None, main_ns: str = MAIN_NS,
                  freeze_header: bool = True, widths: Sequence[float] = ()) -> str:
    """A minimal worksheet part holding ``rows_xml`` (header row frozen when asked; the
    first columns ``widths`` characters wide)."""
    rel_ns = STRICT_REL_NS if main_ns == STRICT_MAIN_NS else REL_NS
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    views = (
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
        'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" '
        'sqref="A2"/></sheetView></sheetViews>'
        if freeze_header
        else ""
    )
    cols = "".join(f'<col min="{n}" max="{n}" width="{w:g}" customWidth="1"/>'
                   for n, w in enumerate(widths, 1))
    cols = f"<cols>{cols}</cols>" if cols else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{main_ns}" xmlns:r="{rel_ns}">{dim}{views}{cols}'
        f"<sheetData>{rows_xml}</sheetData></worksheet>"
    )
