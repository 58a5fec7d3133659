"""Reading uploaded zips of fiscal XML safely: capped member count, total uncompressed size and
compression ratio; nested archives and unsafe paths are skipped with a reason, never extracted."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from fiscal.parsing import MAX_BYTES, N_

try:  # ISA-L (python-isal): zlib's checksums in a tenth of the time, its inflate in three quarters
    from isal.isal_zlib import adler32, crc32, decompressobj
    from isal.isal_zlib import error as InflateError  # noqa: N812  (not a subclass of zlib.error)
except ImportError:
    from zlib import adler32, crc32, decompressobj
    from zlib import error as InflateError  # noqa: N812

MAX_MEMBERS = 20_000
MAX_TOTAL_BYTES = 1024 * 1024 * 1024  # 1 GiB uncompressed in one upload
MAX_RATIO = 200  # XML compresses ~5-20x; a member claiming more is a bomb
ARCHIVE_SUFFIXES = (".zip", ".rar", ".7z", ".gz", ".tgz", ".tar", ".bz2", ".xz")


class ArchiveError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Member:
    name: str
    data: bytes | None  # None when skipped
    error_code: str = ""
    error: str = ""
    stream: bytes | None = None  # the member's own DEFLATE data as a zlib stream (stored as is), when deflated


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile.structFileHeader
ZLIB_HEADER = b"\x78\x01"  # deflate, 32K window, no dictionary ((0x78 * 256 + 0x01) % 31 == 0)


def _read_deflated(data: bytes, info: zipfile.ZipInfo) -> tuple[bytes, bytes] | None:
    """(content, zlib stream) of a plain deflated member, inflated once from its own bytes: the compressed
    data the client sent becomes the stored stream (a zlib header, the DEFLATE data, the Adler-32), so it
    is not compressed a second time. None when the member is anything else (stored, encrypted, odd
    headers): zipfile reads it then. Raises ValueError when the data do not inflate to what the
    directory says (size, CRC), as zipfile would."""
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
        return None
    start = info.header_offset
    header = data[start:start + _LOCAL_HEADER.size]
    if len(header) != _LOCAL_HEADER.size:
        return None
    fields = _LOCAL_HEADER.unpack(header)
    if fields[0] != b"PK\x03\x04":
        return None
    begin = start + _LOCAL_HEADER.size + fields[10] + fields[11]
    raw = data[begin:begin + info.compress_size]
    if len(raw) != info.compress_size:
        raise ValueError("truncated member")
    inflater = decompressobj(-15)
    try:
        content = inflater.decompress(raw, MAX_BYTES + 1)
    except InflateError:
        raise ValueError("corrupt member")
    if len(content) > MAX_BYTES:
        return content, b""  # too large: refused by the caller, never stored
    if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
        raise ValueError("incomplete member")
    if len(content) != info.file_size or crc32(content) != info.CRC:
        raise ValueError("bad CRC")
    return content, b"".join((ZLIB_HEADER, raw, adler32(content).to_bytes(4, "big")))


def _unsafe(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":")


def iter_zip(data: bytes) -> Iterator[Member]:
    """Yield each file of the zip (directories and macOS metadata left out) with its bytes or the reason
    it was skipped. Raises ArchiveError when the upload is not a readable zip or breaks a global cap."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise ArchiveError("bad_zip", N_("O arquivo enviado não é um zip válido."))
    files = [i for i in infos if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
    if len(files) > MAX_MEMBERS:
        raise ArchiveError("too_many_files", f"O zip tem {len(files)} arquivos; o limite é {MAX_MEMBERS}.")
    if sum(i.file_size for i in files) > MAX_TOTAL_BYTES:
        raise ArchiveError("zip_too_large", N_("O conteúdo do zip passa de 1 GB descompactado."))
    total = 0
    for info in files:
        name = info.filename
        if _unsafe(name):
            yield Member(name, None, "unsafe_path", N_("Caminho inseguro dentro do zip: arquivo ignorado."))
            continue
        if name.lower().endswith(ARCHIVE_SUFFIXES):
            yield Member(name, None, "nested_archive", N_("Arquivo compactado dentro do zip: ignorado."))
            continue
        if info.file_size > MAX_BYTES:
            yield Member(name, None, "too_large", N_("O arquivo passa de 1 MB, o limite por documento fiscal."))
            continue
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            yield Member(name, None, "zip_bomb", N_("Taxa de compressão suspeita: arquivo ignorado."))
            continue
        stream = None
        try:
            found = _read_deflated(data, info)
            if found is not None:
                content, stream = found
            else:
                with archive.open(info) as member:
                    content = member.read(MAX_BYTES + 1)  # never trust the header's size alone
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError, EOFError, zlib.error):
            yield Member(name, None, "bad_member", N_("Não foi possível descompactar este arquivo (corrompido ou protegido por senha)."))
            continue
        if len(content) > MAX_BYTES:
            yield Member(name, None, "too_large", N_("O arquivo passa de 1 MB, o limite por documento fiscal."))
            continue
        total += len(content)
        if total > MAX_TOTAL_BYTES:
            raise ArchiveError("zip_too_large", N_("O conteúdo do zip passa de 1 GB descompactado."))
        yield Member(name, content, stream=stream or None)
