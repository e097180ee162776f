"""Checking an upload's form before a task is queued: what Ameyo answers with 400.

The error codes (``VAL-...``) are the simulator's own: no public source lists Ameyo's.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

FLAG_FIELDS = ("update_duplicate", "churn_updated_records", "migrate")
BOM = "\ufeff"


class BadUpload(Exception):
    """The form is not an acceptable upload: 400 with this code, message and description."""

    def __init__(self, code: str, message: str, description: str) -> None:
        super().__init__(f"{code}: {message}: {description}")
        self.code = code
        self.message = message
        self.description = description


@dataclass(frozen=True)
class Upload:
    """A checked upload, ready to become a task."""

    user_id: str
    update_duplicate: bool
    churn_updated_records: bool
    migrate: bool
    header_mapping: str  # the raw JSON, as sent
    mapping: dict[str, str]
    filename: str | None
    csv_text: str


def parse_flag(name: str, value: str | None) -> bool:
    """``true``/``false`` in any case; missing or empty is false; anything else is refused."""
    if value is None or value == "":
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise BadUpload(
        "VAL-1002", "Invalid boolean", f"{name} must be true or false, not {value[:40]!r}"
    )


def parse_mapping(raw: str) -> dict[str, str]:
    try:
        mapping = json.loads(raw)
    except ValueError as exc:
        raise BadUpload(
            "VAL-1003", "Invalid header_mapping", f"header_mapping is not valid JSON: {exc}"
        ) from None
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and k != "" and isinstance(v, str) for k, v in mapping.items()
    ):
        raise BadUpload(
            "VAL-1004",
            "Invalid header_mapping",
            "header_mapping must be a JSON object whose keys are field names and whose values"
            ' are CSV column headers (strings, "" for an unmapped field)',
        )
    if mapping.get("phone1", "") == "":
        raise BadUpload(
            "VAL-1005", "phone1 is not mapped", "header_mapping must map phone1 to a CSV column"
        )
    return mapping


def csv_header(content: bytes) -> tuple[str, list[str]]:
    """The file as text and its header row. The text is decoded as UTF-8 with any byte-order
    mark kept: like Java CSV loaders, the simulator sees it as part of the first header.
    """
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadUpload(
            "VAL-1007", "Unreadable file", f"The file is not UTF-8 text (byte {exc.start})"
        ) from None
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as exc:
        raise BadUpload(
            "VAL-1007", "Unreadable file", f"The header row is not CSV: {exc}"
        ) from None
    if not header or header == [""]:
        raise BadUpload("VAL-1007", "Unreadable file", "The file has no header row")
    return text, header


def check_headers(mapping: dict[str, str], header: list[str]) -> None:
    """Every mapped header must appear exactly once in the CSV's header row."""
    wanted = [h for h in dict.fromkeys(mapping.values()) if h != ""]
    missing = [h for h in wanted if h not in header]
    if missing:
        names = ", ".join(repr(h) for h in missing)
        description = f"Mapped column(s) not in the file's header row: {names}"
        if header[0].startswith(BOM):
            description += (
                " (the file starts with a UTF-8 byte-order mark, which is read as part of the"
                f" first header {header[0]!r})"
            )
        raise BadUpload("VAL-1006", "Header mismatch", description)
    twice = [h for h in wanted if header.count(h) > 1]
    if twice:
        names = ", ".join(repr(h) for h in twice)
        raise BadUpload(
            "VAL-1008", "Header mismatch", f"Mapped column(s) appear more than once: {names}"
        )


def check_upload(
    fields: dict[str, str], file_content: bytes | None, filename: str | None
) -> Upload:
    """Check the form in the order a server would: required parts, flags, mapping, file."""
    if file_content is None:
        raise BadUpload("VAL-1001", "Missing field", "Required part 'file' is not present")
    for name in ("user_id", "header_mapping"):
        if not fields.get(name):
            raise BadUpload("VAL-1001", "Missing field", f"Required field '{name}' is not present")
    flags = {name: parse_flag(name, fields.get(name)) for name in FLAG_FIELDS}
    raw = fields["header_mapping"]
    mapping = parse_mapping(raw)
    text, header = csv_header(file_content)
    check_headers(mapping, header)
    return Upload(
        user_id=fields["user_id"],
        header_mapping=raw,
        mapping=mapping,
        filename=filename,
        csv_text=text,
        **flags,
    )
