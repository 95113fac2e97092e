"""Zip archives users upload (galaxy sets, npz files), read in memory and refused when they
would be dangerous: zip bombs, encrypted members, links, and paths leaving the archive."""
from __future__ import annotations

import re
import stat
import zipfile
from pathlib import PurePosixPath

from autoenc.errors import UserError

MAX_UNCOMPRESSED_BYTES = 2 * 1024**3    # total declared size of a zip's / npz's members
MAX_COMPRESSION_RATIO = 200             # per member above 1 MB: more is treated as a zip bomb
MAX_ZIP_ENTRIES = 51_000                # a data set's 50,000 images and their folders


def check_zip_members(zf: zipfile.ZipFile, what: str) -> list[zipfile.ZipInfo]:
    """Refuse zip bombs, encrypted members and paths that leave the archive's folder."""
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise UserError(f"{what}: {len(infos):,} entries is too many (limit {MAX_ZIP_ENTRIES:,})")
    total = 0
    for info in infos:
        check_member_name(info.filename, what)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UserError(f"{what}: entry {info.filename!r} is a symbolic link; links are refused")
        if info.flag_bits & 0x1:
            raise UserError(f"{what}: entry {info.filename!r} is encrypted; use an unencrypted archive")
        total += info.file_size
        if info.file_size > 1024**2 and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise UserError(f"{what}: entry {info.filename!r} expands {info.file_size / max(info.compress_size, 1):.0f}x "
                            f"(limit {MAX_COMPRESSION_RATIO}x): refused as a possible zip bomb")
    if total > MAX_UNCOMPRESSED_BYTES:
        raise UserError(f"{what}: expands to {total / 1024**2:,.0f} MB (limit {MAX_UNCOMPRESSED_BYTES // 1024**2:,} MB): "
                        "refused as a possible zip bomb")
    return infos


def check_member_name(name: str, what: str) -> PurePosixPath:
    n = name.replace("\\", "/")
    p = PurePosixPath(n)
    if n.startswith("/") or re.match(r"^[A-Za-z]:", n) or ".." in p.parts or "\x00" in n:
        raise UserError(f"{what}: entry {name!r} points outside the archive's folder; refused")
    return p


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> bytes:
    """A member's bytes, never more than it declares (a lying header is a bomb)."""
    try:
        with zf.open(info) as fh:
            data = fh.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
        raise UserError(f"{what}: entry {info.filename!r} is corrupt or truncated ({e})") from None
    if len(data) > info.file_size:
        raise UserError(f"{what}: entry {info.filename!r} is larger than its header says; refused")
    return data
