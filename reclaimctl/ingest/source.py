"""Open a trace source (a path, compressed or not, or ``-`` for stdin) as a binary stream."""

from __future__ import annotations

import gzip
import io
import lzma
import os
import stat
import sys
import zlib
from dataclasses import dataclass
from typing import BinaryIO


class SourceError(Exception):
    """A source that cannot be read at all: one line for the user, naming the file."""


@dataclass
class Opened:
    stream: BinaryIO
    name: str
    compression: str | None
    size: int | None  # bytes on disk, when known
    is_stdin: bool
    live: bool  # a pipe or terminal: read what is there, do not wait for full chunks


_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


def _wrap(raw: BinaryIO, compression: str | None) -> BinaryIO:
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if compression == "xz":
        return lzma.LZMAFile(raw, mode="rb")  # type: ignore[return-value]
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)  # type: ignore[return-value]
    return raw


def open_source(path: str) -> Opened:
    if path == "-":
        raw = sys.stdin.buffer
        head = raw.peek(8)[:8] if hasattr(raw, "peek") else b""
        comp = next((c for m, c in _MAGIC if head.startswith(m)), None)
        live = not os.path.isfile(f"/proc/self/fd/{sys.stdin.fileno()}") if _has_fileno(raw) else True
        return Opened(_wrap(raw, comp), "<stdin>", comp, None, True, live and comp is None)
    if not os.path.exists(path):
        raise SourceError(f"{path}: no such file")
    if os.path.isdir(path):
        raise SourceError(f"{path}: is a directory, expected a trace file (or a directory written by `reclaimctl parse -o`)")
    try:
        raw = open(path, "rb", buffering=0)  # noqa: SIM115 - the caller owns the stream
    except OSError as exc:
        raise SourceError(f"{path}: cannot open: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(raw.fileno()).st_mode):  # a FIFO, <(zcat x.gz), /dev/stdin
        buffered = io.BufferedReader(raw, 1 << 20)
        comp = next((c for m, c in _MAGIC if buffered.peek(8)[:8].startswith(m)), None)
        return Opened(_wrap(buffered, comp), path, comp, None, False, comp is None)
    head = raw.read(8)
    raw.seek(0)
    comp = next((c for m, c in _MAGIC if head.startswith(m)), None)
    stream = _wrap(io.BufferedReader(raw, 1 << 20) if comp else raw, comp)  # type: ignore[arg-type]
    return Opened(stream, path, comp, os.path.getsize(path), False, False)


def _has_fileno(raw: object) -> bool:
    try:
        raw.fileno()  # type: ignore[attr-defined]
        return True
    except (OSError, AttributeError, io.UnsupportedOperation):
        return False


def read_into(stream: BinaryIO, view: memoryview, live: bool, piecewise: bool = False) -> tuple[int, str | None]:
    """Fill ``view`` as far as the stream allows; a live stream returns what one read gives.

    Returns (bytes read, None) or, when compressed data turns out damaged, the bytes that were
    decompressed before the damage and the error.  ``piecewise`` (compressed input) reads one
    decompressed piece at a time so that a damaged stream loses nothing that came before."""
    got = 0
    n = len(view)
    one = (live or piecewise) and hasattr(stream, "readinto1")
    read = stream.readinto1 if one else stream.readinto  # type: ignore[attr-defined]
    while got < n:
        try:
            k = read(view[got:])
        except (EOFError, lzma.LZMAError, OSError, zlib.error) as exc:
            return got, f"compressed data is damaged: {exc}"
        except Exception as exc:  # zstandard raises its own ZstdError
            if type(exc).__name__ == "ZstdError":
                return got, f"compressed data is damaged: {exc}"
            raise
        if not k:
            break
        got += k
        if live:
            break
    return got, None
