"""The zip's members as the reader streams them (package.stream_member, PartSizes): the bytes
of the compressed data itself, checked against what the zip records, so that a record that
lies is one clear line and never a silently shorter part."""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xl_ameyo.errors import WorkbookFileError
from xl_ameyo.xlsx import package
from xl_ameyo.xlsx.package import PartSizes, read_package, stream_member
from xl_ameyo.xlsx.reader import XlsxBook


def _patch(path: Path, member: str, *, size: int | None = None, crc: int | None = None,
           packed: int | None = None) -> None:
    """Rewrite what the zip records for ``member`` (local header and central directory)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        at = zf.getinfo(member).header_offset
    entry = data.find(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + len(member)] != member.encode():
        entry = data.find(b"PK\x01\x02", entry + 4)
    for value, local, central in ((crc, 14, 16), (packed, 18, 20), (size, 22, 24)):
        if value is not None:
            struct.pack_into("<I", data, at + local, value)
            struct.pack_into("<I", data, entry + central, value)
    path.write_bytes(bytes(data))


def _streamed(path: Path, member: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return b"".join(stream_member(zf, member, path))


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=20_000) | st.builds(lambda b, n: b * n, st.binary(min_size=1,
       max_size=50), st.integers(1, 40_000)),
       method=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
       level=st.integers(0, 9), chunk=st.sampled_from([7, 64, 1 << 20]))
def test_members_read_as_zipfile_reads_them(tmp_path_factory, data, method, level, chunk):
    path = tmp_path_factory.mktemp("zip") / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.xml", data, compress_type=method, compresslevel=level)
    original = package.CHUNK
    package.CHUNK = chunk  # small chunks: the inflater's loop turns many times
    try:
        assert _streamed(path, "a.xml") == data
    finally:
        package.CHUNK = original


def test_a_member_written_with_a_data_descriptor(tmp_path):
    # written to a stream that cannot seek: the sizes follow the data (flag bit 3)
    class Unseekable:
        def __init__(self) -> None:
            self.data = bytearray()

        def write(self, b: bytes) -> int:
            self.data += b
            return len(b)

        def flush(self) -> None:
            pass

    out = Unseekable()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("a.xml", "w") as f:
        f.write(b"<x/>" * 10_000)
    path = tmp_path / "a.zip"
    path.write_bytes(bytes(out.data))
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("a.xml").flag_bits & 8
    assert _streamed(path, "a.xml") == b"<x/>" * 10_000


def test_a_record_smaller_than_the_data_is_refused_even_with_a_matching_crc(tmp_path):
    # zipfile alone would hand out the first 500 bytes, their CRC-32 matching the record
    path = tmp_path / "a.zip"
    data = bytes(range(256)) * 8
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.xml", data)
    _patch(path, "a.xml", size=500, crc=zlib.crc32(data[:500]))
    with zipfile.ZipFile(path) as zf:
        assert zf.read("a.xml") == data[:500]  # what zipfile does
    with pytest.raises(WorkbookFileError, match="holds more than the 500 bytes the zip records"):
        _streamed(path, "a.xml")


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_record_larger_than_the_data_is_refused(tmp_path, method):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", method) as zf:
        zf.writestr("a.xml", b"<a>" * 300)
    _patch(path, "a.xml", size=1000)
    with pytest.raises(WorkbookFileError, match="holds 900 bytes where the zip records 1,000"):
        _streamed(path, "a.xml")


def test_compressed_data_cut_short(tmp_path):
    path = tmp_path / "a.zip"
    data = bytes(range(256)) * 400
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.xml", data)
        packed = zf.getinfo("a.xml").compress_size
    _patch(path, "a.xml", packed=packed // 2)
    with pytest.raises(WorkbookFileError, match=r"a\.xml is cut short"):
        _streamed(path, "a.xml")


def test_a_bad_crc_is_damage(tmp_path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.xml", b"<a/>" * 100)
        crc = zf.getinfo("a.xml").CRC
    _patch(path, "a.xml", crc=crc ^ 1)
    with pytest.raises(WorkbookFileError, match="Bad CRC-32"):
        _streamed(path, "a.xml")


def test_other_compression_is_one_line(tmp_path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as zf:
        zf.writestr("a.xml", b"<a/>")
    with pytest.raises(WorkbookFileError, match="compressed in a way Excel does not use"):
        _streamed(path, "a.xml")


def test_proofs_run_once_and_a_failure_is_raised_to_every_asker(tmp_path):
    from tests.books import lead_book

    book = lead_book(tmp_path / "leads.xlsx", "https://127.0.0.1:9")
    with zipfile.ZipFile(book) as zf:
        sizes = PartSizes(zf, book, read_package(zf, book))
    sizes.prove_opening()
    assert "xl/sharedStrings.xml" in sizes._proved or "xl/styles.xml" in sizes._proved
    assert not any(name.startswith("xl/worksheets/sheet") for name in sizes._proved)
    sizes.prove(["xl/worksheets/sheet1.xml"])
    assert sizes._proved["xl/worksheets/sheet1.xml"] is None

    with zipfile.ZipFile(book) as zf:
        size = zf.getinfo("xl/styles.xml").file_size
    _patch(book, "xl/styles.xml", size=size - 10)
    # the record lies: the proof fails, and stays failed
    with zipfile.ZipFile(book) as zf:
        lying_sizes = PartSizes(zf, book, read_package(zf, book))
    for _ in range(2):
        with pytest.raises(WorkbookFileError, match=r"styles\.xml holds more than"):
            lying_sizes.prove_opening()
    assert isinstance(lying_sizes._proved["xl/styles.xml"], WorkbookFileError)
    # and the reader, which reads the styles itself, says the same
    with pytest.raises(WorkbookFileError, match=r"styles\.xml holds more than"):
        XlsxBook(book)


def test_a_sheet_scanned_first_is_not_inflated_again_for_its_proof(tmp_path, monkeypatch):
    """A sheet the reader scans before a library parses it (a big or far-expanding one) was
    streamed to its end by that scan: the proof does not inflate it once more."""
    from tests.books import lead_book
    from xl_ameyo.xlsx import reader

    book = lead_book(tmp_path / "leads.xlsx", "https://127.0.0.1:9")
    inflated: list[str] = []
    real = package._inflated

    def counting(zf, info, *args):
        inflated.append(info.filename)
        return real(zf, info, *args)

    monkeypatch.setattr(package, "_inflated", counting)
    monkeypatch.setattr(reader, "SCAN_FIRST", 0)  # every sheet is scanned first
    source = XlsxBook(book)
    with source.reading():
        columns = source.sheet_columns("Leads")
    assert columns.rows > 0
    member = source._package.find_sheet("Leads").member
    # the scan before fastexcel, and the class scan beside its load: no third pass
    assert inflated.count(member) == 2
    assert source.sizes._proved[member] is None


def test_a_proof_cut_off_midway_is_not_taken_for_one(tmp_path, monkeypatch):
    """A proof ended by Ctrl-C (or anything but its verdict) proves nothing: the next asker
    streams the part again."""
    from tests.books import lead_book

    book = lead_book(tmp_path / "leads.xlsx", "https://127.0.0.1:9")
    with zipfile.ZipFile(book) as zf:
        sizes = PartSizes(zf, book, read_package(zf, book))
    real = package.stream_member

    def interrupted(*args, **kwargs):
        yield b"<"
        raise KeyboardInterrupt

    monkeypatch.setattr(package, "stream_member", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sizes.prove(["xl/styles.xml"])
    assert "xl/styles.xml" not in sizes._proved
    monkeypatch.setattr(package, "stream_member", real)
    sizes.prove(["xl/styles.xml"])
    assert sizes._proved["xl/styles.xml"] is None
