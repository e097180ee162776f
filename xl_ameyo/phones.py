"""Phone numbers by country (Settings' ``phone_country``, ``phone_format``; SPEC §2, §3).

Without a country the rule is :func:`~xl_ameyo.rules.phones.normalise_phone` (7 to 15 digits).
With one, the number is parsed by libphonenumber's numbering plans (the ``phonenumbers``
package) for that country, must be a valid number of its plan, and is written as

- ``national``: the national significant number, without trunk prefix (``09876543210``,
  ``+91 98765 43210`` and ``9876543210`` all give ``9876543210``: the ten digits an Indian
  Ameyo deployment that keeps the last 10 digits stores), or
- ``international``: the country code and that number, digits only (``919876543210``).

Decisions where SPEC is silent:

- "a number of that country" means a number of its *plan*, i.e. its country calling code:
  with ``GB`` a Guernsey or Jersey mobile (+44) is accepted, with ``US`` a Canadian number
  (+1); a number written with another country's code (``+44 ...`` with ``IN``) is not.
- What the cell may hold is what the 7-15 digit rule allows: spaces, dashes, dots,
  parentheses and one leading ``+`` around ASCII digits (letters, ``ext.``, other scripts'
  digits are not a phone number); a number cell must be a whole number below 1e15. A
  leading ``+`` or ``00`` (the international prefix) is read as a country code.
- The reason of an invalid number says why: too short, too long, another country's code,
  or not a number of that country's plan (right length, but no such range).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult

from xl_ameyo.rules.phones import ASCII_DIGITS, JUNK, normalise_phone
from xl_ameyo.rules.text import short

__all__ = ["FORMATS", "PhoneRule", "is_country", "phone_rule"]

#: the values of ``phone_format``
FORMATS = ("national", "international")

#: one cell -> (digits | None, reason | None), as :func:`~xl_ameyo.rules.phones.normalise_phone`
Rule = Callable[[object], "tuple[str | None, str | None]"]


def is_country(code: str) -> bool:
    """Whether ``code`` (upper case) is a country libphonenumber has a numbering plan for."""
    return code in phonenumbers.SUPPORTED_REGIONS


@dataclass(frozen=True)
class PhoneRule:
    """The rule for one country and format; call it with a cell's value."""

    country: str
    fmt: str = "national"

    def __post_init__(self) -> None:
        if not is_country(self.country):
            raise ValueError(f"no numbering plan for country {self.country!r}")
        if self.fmt not in FORMATS:
            raise ValueError(f"phone format must be one of {FORMATS}, not {self.fmt!r}")

    @property
    def calling_code(self) -> int:
        return phonenumbers.country_code_for_region(self.country)

    def __call__(self, value: object) -> tuple[str | None, str | None]:
        if value is None:
            return None, None
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None, None
            rest = JUNK.sub("", text)
            plus = rest.startswith("+")
            if plus:
                rest = rest[1:]
            if not rest or not ASCII_DIGITS.fullmatch(rest):
                return None, f"not a phone number: '{short(text)}'"
            return self._parse(("+" if plus else "") + rest, f"'{short(text)}'")
        if isinstance(value, (numbers.Real, Decimal)) and not isinstance(value, bool):
            x = float(value)
            if math.isfinite(x) and x.is_integer() and 0 <= x < 1e15:
                digits = str(int(value)) if isinstance(value, numbers.Integral) else str(int(x))
                return self._parse(digits, digits)
        # booleans, dates, errors, fractions, negative or rounded (1e15+) numbers: the
        # general rule's reason (none of them is a phone number in any country)
        return None, normalise_phone(value)[1]

    def _parse(self, candidate: str, shown: str) -> tuple[str | None, str | None]:
        country = self.country
        try:
            number = phonenumbers.parse(candidate, country)
        except NumberParseException as exc:
            kind = exc.error_type
            if kind == NumberParseException.TOO_LONG:
                return None, f"too long for a phone number of {country}: {shown}"
            if kind in (NumberParseException.TOO_SHORT_NSN,
                        NumberParseException.TOO_SHORT_AFTER_IDD):
                return None, f"too short for a phone number of {country}: {shown}"
            if kind == NumberParseException.INVALID_COUNTRY_CODE:
                return None, f"no country has the calling code of {shown}"
            return None, f"not a phone number: {shown}"
        code = number.country_code
        if code != self.calling_code:
            region = phonenumbers.region_code_for_country_code(code)
            where = region if region and region != "ZZ" else "another country"
            return None, f"a number of {where} (+{code}), not of {country}: {shown}"
        possible = phonenumbers.is_possible_number_with_reason(number)
        if possible in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
            return None, f"too short for a phone number of {country}: {shown}"
        if possible == ValidationResult.TOO_LONG:
            return None, f"too long for a phone number of {country}: {shown}"
        if possible == ValidationResult.INVALID_LENGTH or not phonenumbers.is_valid_number(
            number
        ):
            return None, f"not a number of {country}'s numbering plan: {shown}"
        national = phonenumbers.national_significant_number(number)
        return (national if self.fmt == "national" else f"{code}{national}"), None


def phone_rule(country: str | None, fmt: str | None = None) -> Rule:
    """The rule for phone cells: :func:`~xl_ameyo.rules.phones.normalise_phone` without a country,
    else a :class:`PhoneRule` for ``country`` in ``fmt`` (default ``national``)."""
    if not country:
        return normalise_phone
    return PhoneRule(country.strip().upper(), (fmt or "national").strip().casefold())
