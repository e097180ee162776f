"""Rewrite a zip with a few members replaced or added, copying every other member raw.

Why by hand: Python's ``zipfile`` can only copy a member by decompressing and recompressing
it (no public raw-copy API). On a workbook with a million-row sheet that costs seconds
(about 8 s for a 400 MB sheet part, see benchmarks/bench_xlsx_io.py) and changes the
compressed bytes. Here an unchanged member's bytes — local header, compressed data, data
descriptor — are copied exactly as they are, in the original order, and only the central
directory is written anew (with the members' new offsets). ZIP64 is handled on both sides:
zipfile parses the source's (zip64) central directory, raw members keep their zip64 local
headers, and the new central directory gets zip64 extras and end records when an offset,
size or count needs them (limits as zipfile's, patchable for tests).
"""

from __future__ import annotations

import struct
import time
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

#: like zipfile's: beyond these, zip64 records are written
ZIP64_LIMIT = (1 << 31) - 1
ZIP_FILECOUNT_LIMIT = (1 << 16) - 1

_LOCAL = struct.Struct("<4s5H3L2H")
_LOCAL_SIG = b"PK\x03\x04"
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_CENTRAL_SIG = b"PK\x01\x02"
_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")
_END64_LOCATOR = struct.Struct("<4sLQL")
_DD_SIG = b"PK\x07\x08"
_FLAG_DESCRIPTOR = 0x08
_FLAG_UTF8 = 0x800
_COPY_CHUNK = 1 << 22


class ZipRewriteError(Exception):
    """The source archive's bytes do not match its central directory."""


@dataclass(frozen=True)
class _Written:
    """What the central directory needs to know about one written member."""

    name: bytes
    create_version: int
    create_system: int
    extract_version: int
    reserved: int
    flags: int
    method: int
    dostime: int
    dosdate: int
    crc: int
    compress_size: int
    file_size: int
    extra: bytes
    comment: bytes
    internal_attr: int
    external_attr: int
    offset: int


def _dos_time(date_time: Sequence[int]) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time
    if y < 1980:
        y, mo, d, h, mi, s = 1980, 1, 1, 0, 0, 0
    return (h << 11) | (mi << 5) | (s // 2), ((y - 1980) << 9) | (mo << 5) | d


def _strip_zip64(extra: bytes) -> bytes:
    """``extra`` without its zip64 field (id 1): it is rewritten for the new offsets."""
    out = bytearray()
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        if tag != 1:
            out += extra[i : i + 4 + size]
        i += 4 + size
    out += extra[i:]  # trailing bytes that are not a whole field: keep as they were
    return bytes(out)


def _descriptor_length(head: bytes, info: zipfile.ZipInfo) -> int:
    """Length of the data descriptor at the start of ``head`` (with or without signature,
    with 4- or 8-byte sizes), recognised by its CRC and sizes matching the directory's."""
    for sig in (4, 0):
        if sig and not head.startswith(_DD_SIG):
            continue
        for fmt in ("<LQQ", "<LLL"):
            size = struct.calcsize(fmt)
            if len(head) < sig + size:
                continue
            crc, csize, usize = struct.unpack_from(fmt, head, sig)
            if (crc, csize, usize) == (info.CRC, info.compress_size, info.file_size):
                return sig + size
    raise ZipRewriteError(f"the data descriptor of {info.filename} does not match")


def _copy_range(src: BinaryIO, out: BinaryIO, start: int, length: int) -> None:
    src.seek(start)
    while length > 0:
        chunk = src.read(min(_COPY_CHUNK, length))
        if not chunk:
            raise ZipRewriteError("the archive ends early")
        out.write(chunk)
        length -= len(chunk)


def _copy_raw(src: BinaryIO, out: BinaryIO, info: zipfile.ZipInfo, offset: int) -> _Written:
    src.seek(info.header_offset)
    header = src.read(_LOCAL.size)
    if len(header) != _LOCAL.size:
        raise ZipRewriteError(f"the local header of {info.filename} is cut short")
    sig, _ver, flags, _method, _t, _d, _crc, _cs, _us, name_len, extra_len = _LOCAL.unpack(header)
    if sig != _LOCAL_SIG:
        raise ZipRewriteError(f"no local header where {info.filename} should start")
    name = src.read(name_len)
    data_end = info.header_offset + _LOCAL.size + name_len + extra_len + info.compress_size
    total = data_end - info.header_offset
    if flags & _FLAG_DESCRIPTOR:
        src.seek(data_end)
        total += _descriptor_length(src.read(24), info)
    _copy_range(src, out, info.header_offset, total)
    dostime, dosdate = _dos_time(info.date_time)
    return _Written(
        name=name,
        create_version=info.create_version,
        create_system=info.create_system,
        extract_version=info.extract_version,
        reserved=info.reserved,
        flags=info.flag_bits,
        method=info.compress_type,
        dostime=dostime,
        dosdate=dosdate,
        crc=info.CRC,
        compress_size=info.compress_size,
        file_size=info.file_size,
        extra=_strip_zip64(info.extra),
        comment=info.comment,
        internal_attr=info.internal_attr,
        external_attr=info.external_attr,
        offset=offset,
    )


def _write_new(
    out: BinaryIO,
    name: bytes,
    data: bytes,
    offset: int,
    *,
    like: zipfile.ZipInfo | None,
) -> _Written:
    """Write a member with new content; ``like`` is the member it replaces (kept: method,
    time, attributes, name encoding)."""
    method = like.compress_type if like is not None else zipfile.ZIP_DEFLATED
    if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        method = zipfile.ZIP_DEFLATED
    if method == zipfile.ZIP_DEFLATED:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        payload = compressor.compress(data) + compressor.flush()
    else:
        payload = data
    crc = zlib.crc32(data)
    flags = (like.flag_bits & _FLAG_UTF8) if like is not None else 0
    if like is None and not name.isascii():
        flags |= _FLAG_UTF8
    date_time = like.date_time if like is not None else time.localtime()[:6]
    dostime, dosdate = _dos_time(date_time)
    extra = b""
    version = 20
    csize, usize = len(payload), len(data)
    if csize > ZIP64_LIMIT or usize > ZIP64_LIMIT:
        extra = struct.pack("<HHQQ", 1, 16, usize, csize)
        csize = usize = 0xFFFFFFFF
        version = 45
    out.write(
        _LOCAL.pack(_LOCAL_SIG, version, flags, method, dostime, dosdate, crc, csize, usize,
                    len(name), len(extra))
    )
    out.write(name)
    out.write(extra)
    out.write(payload)
    return _Written(
        name=name,
        create_version=like.create_version if like is not None else 20,
        create_system=like.create_system if like is not None else 0,
        extract_version=version,
        reserved=0,
        flags=flags,
        method=method,
        dostime=dostime,
        dosdate=dosdate,
        crc=crc,
        compress_size=len(payload),
        file_size=len(data),
        extra=_strip_zip64(like.extra) if like is not None else b"",
        comment=like.comment if like is not None else b"",
        internal_attr=like.internal_attr if like is not None else 0,
        external_attr=like.external_attr if like is not None else 0,
        offset=offset,
    )


def _central_record(w: _Written) -> bytes:
    zip64: list[int] = []
    file_size, compress_size, offset = w.file_size, w.compress_size, w.offset
    if file_size > ZIP64_LIMIT or compress_size > ZIP64_LIMIT:
        zip64 += [file_size, compress_size]
        file_size = compress_size = 0xFFFFFFFF
    if offset > ZIP64_LIMIT:
        zip64.append(offset)
        offset = 0xFFFFFFFF
    extra = w.extra
    extract_version = w.extract_version
    create_version = w.create_version
    if zip64:
        extra = struct.pack(f"<HH{len(zip64)}Q", 1, 8 * len(zip64), *zip64) + extra
        extract_version = max(extract_version, 45)
        create_version = max(create_version, 45)
    return (
        _CENTRAL.pack(
            _CENTRAL_SIG, create_version, w.create_system, extract_version, w.reserved,
            w.flags, w.method, w.dostime, w.dosdate, w.crc, compress_size, file_size,
            len(w.name), len(extra), len(w.comment), 0, w.internal_attr, w.external_attr,
            offset,
        )
        + w.name
        + extra
        + w.comment
    )


def rewrite_zip(
    src: BinaryIO,
    out: BinaryIO,
    *,
    replace: dict[str, bytes] | None = None,
    add: Sequence[tuple[str, bytes]] = (),
) -> None:
    """Copy the zip in ``src`` to ``out`` (both binary files; ``out`` positioned at 0).

    Members named in ``replace`` get the new content (same place, same compression method,
    time and attributes); ``add`` members are appended after the others (deflated). Every
    other member is copied byte for byte. The archive comment is kept.
    """
    replace = dict(replace or {})
    written: list[_Written] = []
    with zipfile.ZipFile(src) as zf:
        infos = zf.infolist()
        comment = zf.comment
        names = {info.filename for info in infos}
        missing = set(replace) - names
        if missing:
            raise KeyError(f"not in the archive: {sorted(missing)}")
        for info in infos:
            offset = out.tell()
            if info.filename in replace:
                src.seek(info.header_offset)
                header = src.read(_LOCAL.size)
                name = src.read(_LOCAL.unpack(header)[9])
                written.append(_write_new(out, name, replace[info.filename], offset, like=info))
            else:
                written.append(_copy_raw(src, out, info, offset))
        for name, data in add:
            if name in names:
                raise KeyError(f"already in the archive: {name}")
            written.append(_write_new(out, name.encode("utf-8"), data, out.tell(), like=None))

    cd_offset = out.tell()
    for w in written:
        out.write(_central_record(w))
    cd_size = out.tell() - cd_offset
    count = len(written)
    if count > ZIP_FILECOUNT_LIMIT or cd_offset > ZIP64_LIMIT or cd_size > ZIP64_LIMIT:
        end64_offset = out.tell()
        out.write(_END64.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_offset))
        out.write(_END64_LOCATOR.pack(b"PK\x06\x07", 0, end64_offset, 1))
        count = min(count, 0xFFFF)
        cd_size = min(cd_size, 0xFFFFFFFF)
        cd_offset = min(cd_offset, 0xFFFFFFFF)
    out.write(_END.pack(b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, len(comment)))
    out.write(comment)
