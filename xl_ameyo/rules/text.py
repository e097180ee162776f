"""Texts that cannot be sent as they are, and cell values shortened for messages.

- A *control character* (U+0000-U+001F other than tab, line feed and carriage return, or
  U+007F) is invisible in Excel and known to break loaders: a mapped text holding one makes
  its row invalid, naming the cell and the character (SPEC §3). Found by one RE2 pass per
  text column (:func:`control_rows`).
- A lone UTF-16 surrogate (half an emoji, cut by a formula such as LEFT; only xlwings hands
  one over) cannot be written in UTF-8: :attr:`~xl_ameyo.columns.Column.broken` marks it.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xl_ameyo.columns import CellError, Column, Kind
from xl_ameyo.rules.values import SPACES, format_column, format_value

__all__ = ["broken_character", "control_character", "control_rows", "short", "shorten", "shown",
           "solid"]

#: the control characters SPEC §3 refuses in a mapped text
CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_CONTROL = re.compile(CONTROL)
_CONTROL_RE2 = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_SURROGATE = re.compile("[\ud800-\udfff]")


#: UTF-8 bytes that are a refused control character by themselves (a multi-byte
#: character never holds a byte below 0x80)
_CONTROL_BYTES = np.zeros(256, dtype=bool)
_CONTROL_BYTES[[*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]] = True
#: first bytes that start a character ``str.strip`` would not take: the text is not blank
_SOLID_BYTES = np.ones(256, dtype=bool)
_SOLID_BYTES[[*range(0x21)]] = False
_SOLID_BYTES[[0x7F, 0xC2, 0xE1, 0xE2, 0xE3]] = False  # DEL, and where U+0085 ... U+3000 start


def _offsets(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's value offsets and its UTF-8 bytes (numpy views, no copy)."""
    wide = pa.types.is_large_string(arr.type)
    kind = np.int64 if wide else np.int32
    _, offsets, data = arr.buffers()
    offs = np.frombuffer(offsets, kind, len(arr) + 1, arr.offset * (8 if wide else 4))
    raw = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offs, raw


def solid(arr: pa.Array) -> np.ndarray:
    """Per value: it surely holds more than whitespace (its first byte says so). False
    for null, empty and blank values, and for those whose first character could be a
    space of another script: those are to be trimmed to know."""
    offs, raw = _offsets(arr)
    if not len(raw):
        return np.zeros(len(arr), dtype=bool)
    starts = offs[:-1]
    present = offs[1:] > starts
    return present & _SOLID_BYTES[raw[np.minimum(starts, len(raw) - 1)]]


def control_rows(col: Column) -> np.ndarray:
    """The rows of ``col`` whose text, as it is sent (trimmed), holds a control character
    (sorted). *Decision:* U+000B, U+000C and U+001C..U+001F at the ends are trimmed like
    spaces (``str.strip`` takes them) and so never reach the CSV: they do not count."""
    none = np.array([], dtype=np.int64)
    if col.text is None:
        return none
    offs, raw = _offsets(col.text)
    raw = raw[offs[0] : offs[-1]]
    if not ((raw < 0x20).any() or (raw == 0x7F).any()):  # one pass over the bytes
        return none
    if not _CONTROL_BYTES[raw].any():  # only tabs and line ends
        return none
    sent = pc.utf8_trim(col.text, characters=SPACES)
    found = pc.fill_null(pc.match_substring_regex(sent, _CONTROL_RE2), False)
    if not pc.any(found).as_py():
        return none
    hits = np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
    return np.flatnonzero(hits & (col.kinds == Kind.TEXT))


def control_character(text: str) -> str | None:
    """``U+001B`` for the first control character in ``text`` as it is sent (trimmed);
    None when there is none."""
    m = _CONTROL.search(text.strip())
    return None if m is None else f"U+{ord(m.group()):04X}"


def broken_character(text: str) -> str | None:
    """``U+D83D`` for the first lone surrogate in ``text`` (a character that cannot be sent
    in UTF-8), None when there is none."""
    m = _SURROGATE.search(text)
    return None if m is None else f"U+{ord(m.group()):04X}"


def short(value, limit: int = 40) -> str:
    """A cell's value as short text for messages (errors as their code; never raises)."""
    if isinstance(value, CellError):
        return value.code
    try:
        text = format_value(value)
    except (ValueError, TypeError, OverflowError):
        text = repr(value)
    return shorten(text, limit)


def shorten(text: str, limit: int = 40) -> str:
    """A text for a message: one line, at most ``limit`` characters; control characters
    and lone surrogates shown as U+FFFD (a message must print)."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("\ufffd", text))


def shown(col: Column, rows: np.ndarray) -> list[str]:
    """The cells at ``rows`` as short text for the reports (errors as their code), in one
    pass: the invalid cells of a sheet may be many."""
    sub = col.take(rows)
    texts = format_column(sub).to_pylist()
    errors = np.flatnonzero(sub.kinds == Kind.ERROR)
    if len(errors):
        codes = sub.text.take(pa.array(errors)).to_pylist()
        for k, code in zip(errors.tolist(), codes, strict=True):
            texts[k] = code or "#N/A"
    return [shorten(t) for t in texts]
