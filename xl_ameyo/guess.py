"""The Mapping proposed for a data sheet from its headers (the add-in's first click and
``xl-ameyo init``).

:func:`guess_mapping` is pure: the data sheet's headers in, Ameyo field -> header out. It only
proposes standard fields and only for headers it recognises; the analyst checks the Mapping
sheet before the first upload (nothing is uploaded on the click that creates it).

Rules (headers compared case-insensitively, with any run of spaces, dots, dashes, underscores,
slashes or brackets read as one space, so ``E-mail``, ``e mail`` and ``E_Mail`` are alike):

- phone numbers: a header that *is* a phone word (``Mobile``, ``Mobile No``, ``Phone``,
  ``Phone No``, ``Contact Number``, ``Cell``, ``Telephone``, ``WhatsApp`` ..., optionally
  followed by ``No``/``Number``/``#``; not ``Contact`` alone, which may be a name) or that
  ends in one after a qualifier (``Alternate Phone``, ``Home Phone``, ``Alt Mobile No``).
  ``phone1`` .. ``phone5`` written out (``Phone 2``, ``phone_3``) keep their number. The
  others fill the free phone fields in sheet order, headers with ``alternate``, ``alt``,
  ``other``, ``secondary``, ``office``, ``work``, ``home``, ``landline`` or a digit in them
  after the plain ones, so the first plain phone column becomes ``phone1``. At most five.
- ``name``: ``Name``, ``Customer Name``, ``Full Name``, ``Contact Name``, ``Lead Name``,
  ``Client Name``, ``Customer``; else the only header ending in ``name`` (not ``First
  Name``/``Last Name``/``User Name``/``File Name``/``Company Name``).
- ``email``: ``Email``, ``E-mail``, ``Email ID``, ``Email Address``, ``Mail``, ``Mail ID``.
- ``timezone``: ``Timezone``, ``Time Zone``, ``TZ``; ``twitter``: ``Twitter``, ``Twitter
  Handle``, ``Twitter ID``; ``facebook``: ``Facebook``, ``Facebook ID``, ``FB``.
- A header is used for one field only; the first matching header wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from xl_ameyo.columns import CellError
from xl_ameyo.mapping import PHONE_FIELDS, STANDARD_FIELDS
from xl_ameyo.rules import format_value

__all__ = ["guess_mapping", "header_key"]

_SEPARATORS = re.compile(r"[\s._\-/\\()\[\]:]+")
_PHONE_WORDS = (
    "mobile",
    "mobile phone",
    "phone",
    "telephone",
    "tel",
    "cell",
    "cell phone",
    "cellphone",
    "contact phone",
    "whatsapp",
    "whatsapp no",
    "msisdn",
    "landline",
    "mob",
)
_NUMBER_SUFFIXES = ("", " no", " number", " num", " #", " nbr")
_SECONDARY = {
    "alternate",
    "alternative",
    "alt",
    "other",
    "secondary",
    "second",
    "office",
    "work",
    "home",
    "landline",
    "additional",
    "extra",
}
_QUALIFIERS = _SECONDARY | {
    "primary",
    "main",
    "personal",
    "customer",
    "client",
    "lead",
    "contact",
}
_NAMES = (
    "name",
    "customer name",
    "full name",
    "contact name",
    "lead name",
    "client name",
    "customer",
    "cust name",
)
_NOT_NAMES = {"first name", "last name", "user name", "username", "file name", "company name",
              "sheet name", "middle name", "father name", "agent name"}
_OTHER = {
    "email": ("email", "e mail", "email id", "e mail id", "email address", "e mail address",
              "mail", "mail id", "emailid"),
    "timezone": ("timezone", "time zone", "tz"),
    "twitter": ("twitter", "twitter handle", "twitter id"),
    "facebook": ("facebook", "facebook id", "fb", "fb id"),
}


def header_key(header) -> str:
    """A header as the guesser compares it: trimmed, lower-case, separators as one space
    (``"E-Mail "`` -> ``"e mail"``, ``"Phone#"`` -> ``"phone #"``)."""
    if header is None or isinstance(header, CellError):
        return ""
    try:
        text = format_value(header)
    except (TypeError, ValueError):
        return ""
    text = text.casefold().replace("#", " # ")
    return " ".join(_SEPARATORS.sub(" ", text).split())


_PHONE_NAMES = {w + s for w in _PHONE_WORDS for s in _NUMBER_SUFFIXES} | {
    "contact number",
    "contact no",
    "contact num",
    "contact #",
}
_NUMBERED = re.compile(r"^(?:phone|mobile|contact|tel)\s?(\d)$")


def _phone_kind(key: str) -> tuple[int, int | None] | None:
    """None: not a phone header. Else (rank, number): rank 0 plain, 1 secondary; number when
    the header names phoneN itself."""
    if not key:
        return None
    m = _NUMBERED.match(key)
    if m:
        n = int(m.group(1))
        return (0 if n == 1 else 1, n if 1 <= n <= 5 else None)
    if key in _PHONE_NAMES:
        return (1 if key.split(" ")[0] in _SECONDARY else 0, None)
    words = key.split(" ")
    # a qualifier (or a number) before a phone word: "alternate phone", "home mobile no"
    for cut in range(1, len(words)):
        head, tail = words[:cut], " ".join(words[cut:])
        if tail in _PHONE_NAMES and all(w in _QUALIFIERS or w.isdigit() for w in head):
            secondary = any(w in _SECONDARY or w.isdigit() for w in head)
            return (1 if secondary else 0, None)
    # a phone word followed by a qualifier or digit: "mobile 2", "phone alt"
    for cut in range(len(words) - 1, 0, -1):
        head, tail = " ".join(words[:cut]), words[cut:]
        if head in _PHONE_NAMES and all(w in _SECONDARY or w.isdigit() for w in tail):
            return (1, None)
    return None


def guess_mapping(headers: Sequence) -> dict[str, str]:
    """Ameyo field -> the header (as typed, trimmed) of the column proposed for it."""
    texts: list[str | None] = []
    for h in headers:
        key = header_key(h)
        if not key:
            texts.append(None)
            continue
        texts.append(format_value(h).strip())
    keys = [header_key(h) for h in headers]
    used: set[int] = set()
    out: dict[str, str] = {}

    # phones
    numbered: dict[int, int] = {}
    plain: list[tuple[int, int]] = []  # (rank, column)
    for j, key in enumerate(keys):
        kind = _phone_kind(key)
        if kind is None:
            continue
        rank, number = kind
        if number is not None and number not in numbered:
            numbered[number] = j
        else:
            plain.append((rank, j))
    free = [n for n in range(1, len(PHONE_FIELDS) + 1) if n not in numbered]
    ordered = [j for _, j in sorted(plain, key=lambda p: (p[0], p[1]))]
    assigned = dict(numbered)
    for n, j in zip(free, ordered, strict=False):
        assigned[n] = j
    for n in sorted(assigned):
        j = assigned[n]
        out[f"phone{n}"] = texts[j]  # type: ignore[assignment]
        used.add(j)

    def first(candidates: Sequence[str]) -> int | None:
        for j, key in enumerate(keys):
            if j not in used and key in candidates:
                return j
        return None

    j = first(_NAMES)
    if j is None:
        endings = [
            i for i, key in enumerate(keys)
            if i not in used and key.endswith("name") and key not in _NOT_NAMES
        ]
        j = endings[0] if len(endings) == 1 else None
    if j is not None:
        out["name"] = texts[j]  # type: ignore[assignment]
        used.add(j)
    for field, candidates in _OTHER.items():
        j = first(candidates)
        if j is not None:
            out[field] = texts[j]  # type: ignore[assignment]
            used.add(j)
    return {field: out[field] for field in STANDARD_FIELDS if field in out}
