"""xlsx/rezip.py: raw copy of unchanged members, ZIP64, data descriptors, stored members."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tests.xlsx_fixtures import build_xlsx, package_parts, raw_members, sheet_xml, zip_members
from xl_ameyo.xlsx import rezip
from xl_ameyo.xlsx.logbook import append_log_row
from xl_ameyo.xlsx.reader import XlsxBook

ROWS = '<row r="1"><c r="A1" t="inlineStr"><is><t>h</t></is></c></row>'


class _Unseekable(io.RawIOBase):
    """A write-only stream without seek/tell: zipfile then writes data descriptors."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.buffer += data
        return len(data)


def _parts() -> dict[str, str]:
    return package_parts([("Data", sheet_xml(ROWS)), ("Log", sheet_xml(ROWS))])


def _rewrite(src: Path, **kwargs) -> bytes:
    out = io.BytesIO()
    with open(src, "rb") as fh:
        rezip.rewrite_zip(fh, out, **kwargs)
    return out.getvalue()


def test_unchanged_members_are_copied_raw(tmp_path):
    src = build_xlsx(tmp_path / "a.xlsx", _parts())
    dst = tmp_path / "b.xlsx"
    dst.write_bytes(_rewrite(src, replace={"xl/worksheets/sheet2.xml": b"<new/>"},
                             add=[("extra/x.xml", b"<x/>")]))
    before, after = raw_members(src), raw_members(dst)
    assert list(after) == [*before, "extra/x.xml"]
    assert {n for n in before if before[n] != after[n]} == {"xl/worksheets/sheet2.xml"}
    with zipfile.ZipFile(dst) as zf:
        assert zf.testzip() is None
        assert zf.read("xl/worksheets/sheet2.xml") == b"<new/>"
        assert zf.read("extra/x.xml") == b"<x/>"


def test_no_change_reproduces_the_archive(tmp_path):
    src = build_xlsx(tmp_path / "a.xlsx", _parts())
    assert _rewrite(src) == src.read_bytes()


def test_stored_members_stay_stored_and_comment_is_kept(tmp_path):
    src = build_xlsx(tmp_path / "a.xlsx", _parts(), compression=zipfile.ZIP_STORED)
    with zipfile.ZipFile(src, "a") as zf:
        zf.comment = b"made by hand"
    dst = tmp_path / "b.xlsx"
    dst.write_bytes(_rewrite(src, replace={"xl/worksheets/sheet2.xml": b"<new/>"}))
    with zipfile.ZipFile(dst) as zf:
        assert zf.comment == b"made by hand"
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
        assert zf.testzip() is None


def test_source_with_data_descriptors(tmp_path):
    stream = _Unseekable()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in _parts().items():
            zf.writestr(name, text)
    src = tmp_path / "dd.xlsx"
    src.write_bytes(bytes(stream.buffer))
    with zipfile.ZipFile(src) as zf:
        assert all(i.flag_bits & 0x08 for i in zf.infolist())  # really data descriptors
    before = zip_members(src)
    append_log_row(src, ["v"], columns=["h"])
    after = zip_members(src)
    assert {n for n in before if before[n] != after[n]} == {"xl/worksheets/sheet2.xml"}
    assert XlsxBook(src).read_sheet("Log") == [["h"], ["v"]]
    with zipfile.ZipFile(src) as zf:
        assert zf.testzip() is None


def test_source_with_zip64_local_headers(tmp_path):
    src = tmp_path / "z64.xlsx"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in _parts().items():
            with zf.open(name, "w", force_zip64=True) as out:
                out.write(text.encode())
    before = raw_members(src)
    append_log_row(src, ["v"], columns=["h"])
    after = raw_members(src)
    assert {n for n in before if before[n] != after[n]} == {"xl/worksheets/sheet2.xml"}
    assert XlsxBook(src).read_sheet("Log") == [["h"], ["v"]]


def test_zip64_output_when_limits_are_passed(tmp_path, monkeypatch):
    monkeypatch.setattr(rezip, "ZIP64_LIMIT", 100)
    monkeypatch.setattr(rezip, "ZIP_FILECOUNT_LIMIT", 3)
    src = build_xlsx(tmp_path / "a.xlsx", _parts())
    before = zip_members(src)
    append_log_row(src, ["v"], columns=["h"])
    data = src.read_bytes()
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data  # zip64 end records
    after = zip_members(src)
    assert {n for n in before if before[n] != after[n]} == {"xl/worksheets/sheet2.xml"}
    with zipfile.ZipFile(src) as zf:
        assert zf.testzip() is None
    assert XlsxBook(src).read_sheet("Log") == [["h"], ["v"]]  # python-calamine reads it


def test_new_member_above_the_zip64_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(rezip, "ZIP64_LIMIT", 10)
    src = build_xlsx(tmp_path / "a.xlsx", _parts())
    dst = tmp_path / "b.xlsx"
    dst.write_bytes(_rewrite(src, add=[("big.xml", b"<x>" + b"a" * 500 + b"</x>")]))
    with zipfile.ZipFile(dst) as zf:
        assert zf.read("big.xml") == b"<x>" + b"a" * 500 + b"</x>"
        assert zf.testzip() is None


def test_a_data_descriptor_that_does_not_match_is_refused(tmp_path):
    stream = _Unseekable()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.xml", "<a/>")
    data = bytearray(stream.buffer)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("a.xml")
    at = info.header_offset + 30 + len("a.xml") + info.compress_size + 4
    data[at : at + 4] = b"\0\0\0\0"  # the descriptor's CRC
    with pytest.raises(rezip.ZipRewriteError):
        rezip.rewrite_zip(io.BytesIO(bytes(data)), io.BytesIO())
