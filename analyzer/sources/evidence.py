"""Opening an input: read-only, decompressed by magic bytes (never by name), streamed.

`open_evidence(path)` returns an `Evidence`: a forward-only byte stream with `peek` for
format sniffing, the name of the compression found, and `raw_bytes_read` for progress
bars. A damaged or cut compressed stream yields every byte that decompressed before the
damage and records `COMPRESSED_STREAM_TRUNCATED`; it never raises past the API.
"""

from __future__ import annotations

import bz2
import hashlib
import lzma
import os
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, Protocol, cast

import zstandard

from analyzer.anomalies import Recorder
from analyzer.errors import InputAccessError

# Reads from disk in blocks of this size: large enough that Python overhead per read is
# nothing, small enough that memory does not depend on the file.
READ_BLOCK_BYTES = 1024 * 1024

COMPRESSION_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


class _Decompressor(Protocol):
    """The part of zlib/bz2/lzma decompressor objects this module uses."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = ...) -> bytes: ...


def _new_decompressor(kind: str) -> _Decompressor:
    if kind == "gzip":
        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    if kind == "bzip2":
        return bz2.BZ2Decompressor()
    if kind == "xz":
        return lzma.LZMADecompressor()
    raise ValueError(kind)


class _Hasher:
    """SHA-256 of the bytes as read, computed on a worker thread: hashlib releases the GIL
    on large buffers, so on a second core the digest costs the parser nothing (about 0.4 s
    of one core per 200 MB otherwise). One worker keeps the blocks in order."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lineid-sha256")
        self._last: Future[None] | None = None

    def update(self, data: bytes) -> None:
        self._last = self._pool.submit(self._digest.update, data)

    def hexdigest(self) -> str:
        self._pool.shutdown(wait=True)
        if self._last is not None:
            self._last.result()  # re-raises what the worker met (nothing expected)
        return self._digest.hexdigest()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class Evidence:
    """A read-only, forward-only, possibly decompressed byte stream over one input."""

    def __init__(self, path: str | Path, recorder: Recorder, on_read: Callable[[int], None] | None = None) -> None:
        self.path = str(path)
        self.recorder = recorder
        self._on_read = on_read  # progress: called with the raw bytes of each read
        try:
            # 'rb' never writes; O_NOATIME would also keep the access time, but it is
            # refused on files the process does not own, so it is not worth the failure.
            self._file: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
            self.size = os.fstat(self._file.fileno()).st_size
        except FileNotFoundError as exc:
            raise InputAccessError(path, "no such file") from exc
        except IsADirectoryError as exc:
            raise InputAccessError(path, "is a directory, not a capture or HAR file") from exc
        except OSError as exc:
            raise InputAccessError(path, f"cannot be read ({exc.strerror or exc})") from exc
        self.raw_bytes_read = 0
        # SHA-256 of the file as stored, computed from the bytes as they are read: the
        # manifest's proof of what was analysed costs no second pass over the file.
        self._sha256 = _Hasher()
        self.offset = 0  # bytes returned so far (decompressed)
        self._pending = b""  # peeked but not yet returned
        self._eof = False
        head = self._read_raw(8)
        self.compression = next((name for magic, name in COMPRESSION_MAGIC if head.startswith(magic)), None)
        self._raw_head = head
        self._decomp: _Decompressor | None = None
        self._zstd_reader: zstandard.ZstdDecompressionReader | None = None
        if self.compression == "zstd":
            self._zstd_reader = zstandard.ZstdDecompressor().stream_reader(
                cast(BinaryIO, _Prefixed(head, self)), read_across_frames=True, closefd=False
            )
        elif self.compression is not None:
            self._decomp = _new_decompressor(self.compression)
        self._magic = next((m for m, name in COMPRESSION_MAGIC if name == self.compression), b"")

    # ---------------------------------------------------------------- raw file side
    def _read_raw(self, n: int) -> bytes:
        try:
            data = self._file.read(n)
        except OSError as exc:
            raise InputAccessError(self.path, f"read error at byte {self.raw_bytes_read} ({exc})") from exc
        self.raw_bytes_read += len(data)
        self._sha256.update(data)
        if self._on_read is not None and data:
            self._on_read(len(data))
        return data

    def _produce(self, n: int) -> bytes:
        """Up to n new bytes of content (decompressed), b'' at the end."""
        if self._eof:
            return b""
        if self.compression is None:
            if self._raw_head:
                data, self._raw_head = self._raw_head, b""
                return data + self._read_raw(max(0, n - len(data)))
            data = self._read_raw(n)
            self._eof = not data
            return data
        if self._zstd_reader is not None:
            try:
                data = self._zstd_reader.read(n)
            except zstandard.ZstdError as exc:
                self._truncated(f"zstd stream damaged: {exc}")
                return b""
            if not data:
                self._eof = True
            return data
        return self._produce_stream(n)

    def _take_raw(self) -> bytes:
        if self._raw_head:
            data, self._raw_head = self._raw_head, b""
            return data
        return self._read_raw(READ_BLOCK_BYTES)

    def _produce_stream(self, n: int) -> bytes:
        while True:
            decomp = self._decomp
            assert decomp is not None
            if decomp.eof:
                # Concatenated members (gzip -c a b >x.gz, pbzip2, xz --multi) go on with
                # the next stream; anything else after the end marker is reported.
                data = decomp.unused_data or self._take_raw()
                if not data:
                    self._eof = True
                    return b""
                if not data.startswith(self._magic):
                    self.recorder.add(
                        "COMPRESSED_TRAILING_DATA",
                        f"bytes after the end of the {self.compression} stream were ignored",
                        offset=self.offset,
                    )
                    self._eof = True
                    return b""
                decomp = self._decomp = _new_decompressor(self.compression or "")
            elif self._zlib_tail:
                data = self._zlib_tail
            elif isinstance(decomp, (bz2.BZ2Decompressor, lzma.LZMADecompressor)) and not decomp.needs_input:
                data = b""  # they hold input back when max_length stopped them
            else:
                data = self._take_raw()
                if not data:
                    self._truncated(f"{self.compression} stream ends before its end marker")
                    return b""
            try:
                out = decomp.decompress(data, n)
            except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
                self._truncated(f"{self.compression} stream damaged: {exc}")
                return b""
            self._zlib_tail = getattr(decomp, "unconsumed_tail", b"")
            if out:
                return out

    _zlib_tail = b""

    def _truncated(self, detail: str) -> None:
        self.recorder.add("COMPRESSED_STREAM_TRUNCATED", detail, offset=self.offset)
        self._eof = True

    # ---------------------------------------------------------------- public side
    def peek(self, n: int) -> bytes:
        """The next n bytes (fewer at the end) without consuming them."""
        while len(self._pending) < n:
            more = self._produce(max(n - len(self._pending), 64 * 1024))
            if not more:
                break
            self._pending += more
        return self._pending[:n]

    def read(self, n: int = READ_BLOCK_BYTES) -> bytes:
        """Up to n bytes; b'' only at the end of the content."""
        if self._pending:
            data, self._pending = self._pending[:n], self._pending[n:]
        else:
            data = self._produce(n)
        self.offset += len(data)
        return data

    def sha256(self) -> str:
        """SHA-256 of the whole file (what was not read yet is read now, not parsed)."""
        while True:
            data = self._file.read(READ_BLOCK_BYTES)
            if not data:
                return self._sha256.hexdigest()
            self._sha256.update(data)
            self.raw_bytes_read += len(data)

    def close(self) -> None:
        self._sha256.close()
        self._file.close()

    def __enter__(self) -> Evidence:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Prefixed:
    """A raw reader for zstandard: the sniffed head first, then the rest of the file."""

    def __init__(self, head: bytes, evidence: Evidence) -> None:
        self._head = head
        self._evidence = evidence

    def read(self, n: int = -1) -> bytes:
        if self._head:
            data, self._head = self._head, b""
            return data
        return self._evidence._read_raw(n if n > 0 else READ_BLOCK_BYTES)


def open_evidence(path: str | Path, recorder: Recorder, on_read: Callable[[int], None] | None = None) -> Evidence:
    return Evidence(path, recorder, on_read)
