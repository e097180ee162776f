"""Hostile files (SPEC §4): each ends within a minute and 1.5 GB of memory, with one clear
line or read correctly. Every file is small on disk and huge inside; each run is a real
``xl-ameyo upload --dry-run`` in a subprocess whose address space is capped at 1.5 GB
(``RLIMIT_AS``) and which is given the SPEC's minute (a bound, not a timing)."""

from __future__ import annotations

import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.books import lead_book

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is Linux's")

MEMORY = 1536 << 20
MINUTE = 60
BLOCK = 1 << 20
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


class _Repeated:
    """A deflate compressor for a member made mostly of one block repeated: the block is
    compressed once (after a full flush the compressor's output for it is always the same
    bytes), so that writing gigabytes takes seconds. Anything else is compressed normally."""

    def __init__(self, block: bytes) -> None:
        self._block = block
        fresh = zlib.compressobj(9, zlib.DEFLATED, -15)
        self._packed = fresh.compress(block) + fresh.flush(zlib.Z_FULL_FLUSH)
        self._real = zlib.compressobj(9, zlib.DEFLATED, -15)

    def compress(self, data: bytes) -> bytes:
        if data is self._block:
            return self._packed
        return self._real.compress(data) + self._real.flush(zlib.Z_FULL_FLUSH)

    def flush(self) -> bytes:
        return self._real.flush()


def _replace_member(book: Path, member: str, head: bytes, block: bytes, times: int,
                    tail: bytes, *, zip64: bool = True) -> Path:
    """``book`` with ``member`` replaced by head + block * times + tail (streamed; without
    ``zip64`` the member's sizes are in its headers' 32-bit fields, less than 2 GB)."""
    out = book.with_name("hostile.xlsx")
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != member:
                dst.writestr(info, src.read(info))
        info = zipfile.ZipInfo(member)
        info.compress_type = zipfile.ZIP_DEFLATED
        with dst.open(info, "w", force_zip64=zip64) as stream:
            stream._compressor = _Repeated(block)  # the test's shortcut, see _Repeated
            stream.write(head)
            for _ in range(times):
                stream.write(block)
            stream.write(tail)
    assert out.stat().st_size < 8 << 20  # small on disk
    return out


def _understate(book: Path, member: str, size: int) -> Path:
    """``book`` with the size of ``member`` recorded as ``size`` in its local header and in
    the central directory (32-bit fields), its data unchanged: a zip that lies."""
    data = bytearray(book.read_bytes())
    with zipfile.ZipFile(book) as zf:
        at = zf.getinfo(member).header_offset
    assert data[at : at + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, at + 22, size)
    name = member.encode()
    entry = data.find(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + len(name)] != name:
        entry = data.find(b"PK\x01\x02", entry + 4)
        assert entry > 0
    struct.pack_into("<I", data, entry + 24, size)
    book.write_bytes(bytes(data))
    with zipfile.ZipFile(book) as zf:
        assert zf.getinfo(member).file_size == size
    return book


def _limited() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _run(book: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("xl-ameyo")
    return subprocess.run(
        [str(exe), "upload", str(book), "--dry-run"], capture_output=True, text=True,
        timeout=MINUTE, preexec_fn=_limited, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(book.parent), "AMEYO_USERNAME": "u",
             "AMEYO_PASSWORD": "p"},
    )


def _one_line(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def book(tmp_path) -> Callable[..., Path]:
    def make(**kw) -> Path:
        return lead_book(tmp_path / "leads.xlsx", "https://127.0.0.1:9", **kw)
    return make


def _sheet_head(rows: str) -> bytes:
    return f'<worksheet xmlns="{NS}"><sheetData>{rows}'.encode()


HEADER_ROW = ('<row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c>'
              '<c r="B1" t="inlineStr"><is><t>Mobile</t></is></c>'
              '<c r="C1" t="inlineStr"><is><t>City</t></is></c></row>')
ROW_2 = ('<row r="2"><c r="A2" t="inlineStr"><is><t>Asha</t></is></c>'
         '<c r="B2"><v>9876543210</v></c></row>')


def test_3_gb_of_blank_space_in_sheet_data(book):
    path = _replace_member(book(), "xl/worksheets/sheet1.xml", _sheet_head(HEADER_ROW),
                           b" " * BLOCK, 3 << 10, f"{ROW_2}</sheetData></worksheet>".encode())
    _one_line(_run(path), "sheet1.xml", "blank space")


def test_a_2_gb_inline_string_cell(book):
    head = _sheet_head(HEADER_ROW + '<row r="2"><c r="A2" t="inlineStr"><is><t>')
    path = _replace_member(book(), "xl/worksheets/sheet1.xml", head, b"a" * BLOCK, 2 << 10,
                           b"</t></is></c></row></sheetData></worksheet>")
    _one_line(_run(path), "sheet1.xml", "text")


def test_a_styles_part_bomb(book):
    unit = b'<xf numFmtId="0" fontId="0"/>   '
    assert BLOCK % len(unit) == 0
    head = f'<styleSheet xmlns="{NS}"><cellXfs>'.encode()
    path = _replace_member(book(), "xl/styles.xml", head, unit * (BLOCK // len(unit)),
                           3 << 10, b"</cellXfs></styleSheet>")
    _one_line(_run(path), "styles.xml", "expands")


def test_16384_columns_are_read(book):
    width = 16_384
    headers = ["Name", "Mobile", "City"] + [f"C{k}" for k in range(3, width)]
    rows = [[f"N{r}", 9000000000 + r, "Pune"] + [r] * (width - 3) for r in range(20)]
    result = _run(book(headers=headers, rows=rows))
    assert result.returncode == 0, result.stderr
    assert "20 rows would be sent" in result.stdout, result.stdout


# A zip records each member's size; zipfile stops reading there, the Rust libraries read to the
# end of the compressed data. Recorded small, a bomb would pass every check on the record.

def test_shared_strings_bigger_than_the_zip_records(book):
    unit = b"<si><t>x</t></si>"
    head = f'<sst xmlns="{NS}">'.encode()
    path = _replace_member(book(), "xl/sharedStrings.xml", head, unit * (BLOCK // len(unit)),
                           2000, b"</sst>", zip64=False)
    _understate(path, "xl/sharedStrings.xml", 3 << 20)
    _one_line(_run(path), "sharedStrings.xml", "zip records")


def test_a_sheet_bigger_than_the_zip_records(book):
    # a head of ordinary rows (what a first look reads), then a 2 GB cell
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>Asha {r}</t></is></c>'
                   f'<c r="B{r}"><v>{9876500000 + r}</v></c></row>' for r in range(2, 100_002))
    head = _sheet_head(HEADER_ROW + rows + '<row r="100002"><c r="A100002" t="inlineStr"><is><t>')
    path = _replace_member(book(), "xl/worksheets/sheet1.xml", head, b"a" * BLOCK, 2000,
                           b"</t></is></c></row></sheetData></worksheet>", zip64=False)
    _understate(path, "xl/worksheets/sheet1.xml", 200 << 20)
    _one_line(_run(path), "sheet1.xml", "zip records")
