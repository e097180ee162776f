"""The shared strings a reader needs, read no further than the last of them.

Every calamine-based reader parses the whole shared-strings part when a book opens (0.75 s
for the 3.4 million strings of a full data sheet), and no library hands out some of them, so
this is written here: :func:`pick_items` copies the items at given indices byte for byte
into a small shared-strings part, counting items a megabyte at a time (``bytes.count``) and
looking into only the chunks that hold needed ones. Used by the mini workbook of the small
sheets (:mod:`.smallbook`) and by the columnar route for the misfit cells' texts.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import BinaryIO


class Unusual(Exception):
    """Something these byte-level readers might not reproduce exactly: read another way."""


#: bytes of the shared-strings part decompressed at a time
CHUNK = 1 << 20

#: an item (``<si>...</si>``) longer than this is not copied (Excel caps a cell at 32,767
#: characters; rich text adds its runs' formatting)
MAX_ITEM = 8 << 20

_BOM = b"\xef\xbb\xbf"
ATTRS = rb"""((?:\s+[^\s=/<>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*"""
_ATTR = re.compile(rb"""\s+([^\s=/<>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_DECLARATION = re.compile(rb"<\?xml\s[^<>]*\?>")
_ENCODING = re.compile(rb"""\sencoding\s*=\s*["']([^"']*)["']""")

# the shared-strings part
_ROOT = re.compile(rb"\s*<sst" + ATTRS + rb">\s*")
_ITEM = re.compile(rb"<si(?=[\s/>])")
_ITEM_TAG = re.compile(rb"<si" + ATTRS + rb"(/?)>")
_ITEM_END = re.compile(rb"</si\s*>")
_PREFIXED_ITEM = re.compile(rb":si[\s/>]")
#: an item written right after the previous one
_NEXT_ITEM = b"</si><si>"
#: bytes at the end of a chunk left to the next one (``<si>`` must be whole to be counted)
_TAIL = 3
#: bytes kept before the next chunk, to see what precedes its first items
_CONTEXT = 256
#: chunks checked item by item before the full workbook is read instead
MAX_LOOKED_INTO = 8


def attributes(attrs: bytes):
    """The (name, double-quoted value, single-quoted value) matches of a tag's attributes."""
    return _ATTR.finditer(attrs)


def check_utf8(xml: bytes, start: int = 0) -> int:
    """Where the content of an XML part starts, after its BOM and declaration; raises
    :class:`Unusual` unless it is UTF-8 (the patterns here are bytes of ASCII)."""
    if xml.startswith(_BOM, start):
        start += len(_BOM)
    if b"\x00" in xml[start : start + 64]:
        raise Unusual("not UTF-8")
    declaration = _DECLARATION.match(xml, start)
    if declaration is None:
        return start
    encoding = _ENCODING.search(declaration.group())
    if encoding and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
        raise Unusual("not UTF-8")
    return declaration.end()



class Counted:
    """A stream's ``read(CHUNK)``, counting the bytes read."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.total = 0

    def read(self) -> bytes:
        chunk = self.stream.read(CHUNK)
        self.total += len(chunk)
        return chunk


def pick_items(read: Callable[[], bytes], needed: list[int]) -> bytes:
    """A shared-strings part holding only the items at the ``needed`` indices (ascending,
    not empty) of the part ``read()`` gives chunk by chunk (``b""`` at its end), each copied
    byte for byte, in order. Reads no further than the end of the last one needed.

    python-calamine counts every element ``si`` (``<si/>`` too). Here the items of a chunk
    are counted with ``bytes.count`` twice: every ``<si``, and every ``</si><si>`` (an item
    right after the previous one, as Excel writes them). When both agree, each ``<si`` is an
    item that follows the previous one: none is hidden in a comment or processing
    instruction, none is an element with a longer name, none comes after the end of the
    list. A chunk where they differ (attributes, ``<si/>``, white space between items) is
    checked item by item; one holding needed items is looked into.
    """
    buf = b""
    eof = False
    # the start of the part: declaration and root tag, up to the first item
    while True:
        more = read()
        buf += more
        first = _ITEM.search(buf)
        if first is not None or not more or len(buf) > MAX_ITEM:
            break
    if first is None:
        raise Unusual("fewer shared strings than the cells use")
    head = _head(buf[: first.start()], len(needed))
    buf = buf[first.start() :]
    items: list[bytes] = []
    base = 0  # items starting before lo
    at = 0  # needed[at]: the next item to find
    lo = 0  # this window: the items starting in buf[lo:hi]
    unpreceded = 1  # items not preceded by another one: the first
    looked_into = 0
    while True:
        while not eof and len(buf) - lo < CHUNK + _TAIL:
            more = read()
            if more:
                buf += more
            else:
                eof = True
        hi = len(buf) if eof else len(buf) - _TAIL
        _check_items(buf)
        count = buf.count(b"<si", lo, hi + 2)
        if count != buf.count(_NEXT_ITEM, max(lo - 5, 0), hi + 3) + unpreceded:
            looked_into += 1
            if looked_into > MAX_LOOKED_INTO:
                raise Unusual("too many items not written one after the other")
            _check_sequence(buf, lo, hi, first=bool(unpreceded))
        if base + count > needed[at]:
            # where each item of the window starts: one split, not a search per item
            pieces = buf[lo : hi + 2].split(b"<si")
            # the j-th item starts after pieces 0..j and j separators (lengths summed in C)
            ends = list(itertools.accumulate(map(len, pieces)))
            while at < len(needed) and needed[at] < base + count:
                j = needed[at] - base
                item, buf = _item(buf, lo + ends[j] + 3 * j, read)
                items.append(item)
                at += 1
            if at == len(needed):
                return head + b"".join(items) + b"</sst>"
        if eof:
            raise Unusual("fewer shared strings than the cells use")
        base += count
        keep = max(hi - _CONTEXT, 0)
        buf = buf[keep:]
        lo = hi - keep
        unpreceded = 0


def _head(head: bytes, count: int) -> bytes:
    """The declaration and root tag of the shared-strings part, its counts set to ``count``."""
    content = check_utf8(head)
    root = _ROOT.fullmatch(head, content)
    if root is None:
        raise Unusual("the shared-strings part does not start as expected")

    def recount(attr: re.Match[bytes]) -> bytes:
        if attr.group(1) in (b"count", b"uniqueCount"):
            return b' %s="%d"' % (attr.group(1), count)
        return attr.group()

    attrs = _ATTR.sub(recount, root.group(1))
    return head[:content] + b"<sst" + attrs + b">"


def _check_items(buf: bytes) -> None:
    """Refuse CDATA sections and comments (a CDATA section could hold ``</si><si>`` as text)
    and prefixed items (``<x:si>``, which ``<si`` does not count)."""
    if buf.find(b"!") >= 0 and buf.find(b"<!") >= 0:
        raise Unusual("a CDATA section or comment in the strings")
    if buf.find(b":") >= 0 and buf.find(b":si") >= 0 and _PREFIXED_ITEM.search(buf):
        raise Unusual("prefixed shared-string items")


def _check_sequence(buf: bytes, lo: int, hi: int, *, first: bool) -> None:
    """Check that each ``<si`` starting in ``buf[lo:hi]`` is an item following the previous
    one (only white space between), the first item of the part aside."""
    start = buf.find(b"<si", lo, hi + 2)
    while 0 <= start < hi:
        if not _ITEM.match(buf, start):
            raise Unusual("an element whose name starts with si")
        if not (first and start == 0) and not _follows_item(buf, start):
            raise Unusual("something between shared-string items")
        start = buf.find(b"<si", start + 3, hi + 2)


def _follows_item(buf: bytes, start: int) -> bool:
    """Whether only white space lies between the end of an item and ``start``."""
    end = start
    while end > 0 and buf[end - 1] in b" \t\r\n":
        end -= 1
    if end == 0 or buf[end - 1] != ord(">"):
        return False
    tag = buf.rfind(b"<", 0, end)
    if tag < 0:
        return False
    closing = _ITEM_END.fullmatch(buf, tag, end)
    if closing is not None:
        return True
    opening = _ITEM_TAG.fullmatch(buf, tag, end)
    return opening is not None and opening.group(2) == b"/"


def _item(buf: bytes, start: int, read: Callable[[], bytes]) -> tuple[bytes, bytes]:
    """The item starting at ``start`` in ``buf`` (read further as needed), and ``buf``."""
    while True:
        tag = _ITEM_TAG.match(buf, start)
        if tag is not None:
            if tag.group(2):
                return tag.group(), buf  # <si/>
            end = _ITEM_END.search(buf, tag.end())
            if end is not None:
                item = buf[start : end.end()]
                if _ITEM.search(item, 1) or item.find(b"<!") >= 0 or item.find(b"<?") >= 0:
                    raise Unusual("an item that is not a plain element")
                return item, buf
        more = read()
        if not more or len(buf) - start > MAX_ITEM:
            raise Unusual("an item not closed")
        buf += more

