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
import pyarrow.compute as pc

from xl_ameyo.columns import CellError, Column, Kind
from xl_ameyo.rules.values import SPACES, format_value

__all__ = ["broken_character", "control_character", "control_rows", "short"]

#: the control characters SPEC §3 refuses in a mapped text
CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_CONTROL = re.compile(CONTROL)
_CONTROL_RE2 = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_SURROGATE = re.compile("[\ud800-\udfff]")


def control_rows(col: Column) -> np.ndarray:
    """The rows of ``col`` whose text, as it is sent (trimmed), holds a control character
    (sorted). *Decision:* U+000B, U+000C and U+001C..U+001F at the ends are trimmed like
    spaces (``str.strip`` takes them) and so never reach the CSV: they do not count."""
    if col.text is None:
        return np.array([], dtype=np.int64)
    sent = pc.utf8_trim(col.text, characters=SPACES)
    found = pc.fill_null(pc.match_substring_regex(sent, _CONTROL_RE2), False)
    if not pc.any(found).as_py():
        return np.array([], dtype=np.int64)
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
    """A cell's value as short text for messages (errors as their code; never raises).
    Control characters and lone surrogates are shown as U+FFFD: a message must print."""
    if isinstance(value, CellError):
        return value.code
    try:
        text = format_value(value)
    except (ValueError, TypeError, OverflowError):
        text = repr(value)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    text = _SURROGATE.sub("\ufffd", _CONTROL.sub("\ufffd", text))
    return text

