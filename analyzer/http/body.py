"""Message bodies: which ones detection reads, and content decoding with a bound.

Only a prefix of each body is ever kept (`Limits.max_body_prefix_bytes`); decoding it
(gzip, deflate, br, zstd, also stacked as `Content-Encoding: gzip, br`) stops at
`Limits.max_decoded_body_bytes`, so a decompression bomb costs a bounded amount of work.
A cut prefix decodes as far as it goes: that is the normal case, not an error.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import brotli
import zstandard

# Response bodies of these media types are kept for detection: pages and API answers
# that may echo request headers or carry numbers. Images, video, fonts and archives are
# framed and skipped (they are most of the bytes and never carry a readable number).
TEXTUAL_MEDIA_MARKERS: tuple[str, ...] = (
    "text/",
    "json",
    "xml",
    "javascript",
    "x-www-form-urlencoded",
    "multipart/form-data",
    "vnd.wap",  # WAP/MMS PDUs carry addresses such as +491726101004/TYPE=PLMN
    "x-mms",
)


def is_textual(content_type: str | None) -> bool:
    """Whether a body of this Content-Type is worth keeping (unknown types are kept)."""
    if not content_type:
        return True
    lowered = content_type.lower()
    return any(marker in lowered for marker in TEXTUAL_MEDIA_MARKERS)


class BodyDecodeError(Exception):
    pass


def _inflate(data: bytes, limit: int) -> tuple[bytes, bool]:
    # "deflate" is zlib-wrapped per RFC 9110 §8.4.1.2, but servers also send raw deflate;
    # gzip is tried with the gzip header (wbits 31).
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        try:
            return _zlib(data, limit, wbits)
        except zlib.error:
            continue
    raise BodyDecodeError("deflate data is neither zlib nor raw deflate")


def _gunzip(data: bytes, limit: int) -> tuple[bytes, bool]:
    try:
        return _zlib(data, limit, 16 + zlib.MAX_WBITS)
    except zlib.error as exc:
        raise BodyDecodeError(f"gzip: {exc}") from exc


def _zlib(data: bytes, limit: int, wbits: int) -> tuple[bytes, bool]:
    decomp = zlib.decompressobj(wbits)
    out = decomp.decompress(data, limit)
    return out, bool(decomp.unconsumed_tail) or len(out) >= limit


def _brotli(data: bytes, limit: int) -> tuple[bytes, bool]:
    decomp = brotli.Decompressor()
    try:
        out = decomp.process(data, output_buffer_limit=limit)
    except TypeError:  # brotli older than 1.2 has no output limit
        out = decomp.process(data)
    except brotli.error as exc:
        raise BodyDecodeError(f"br: {exc}") from exc
    return out[:limit], len(out) >= limit


def _zstd(data: bytes, limit: int) -> tuple[bytes, bool]:
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True)
        out = reader.read(limit)
    except zstandard.ZstdError as exc:
        raise BodyDecodeError(f"zstd: {exc}") from exc
    return out, len(out) >= limit


DECODERS: dict[str, Callable[[bytes, int], tuple[bytes, bool]]] = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _inflate,
    "br": _brotli,
    "zstd": _zstd,
}


def decode_content(body: bytes, content_encoding: str | None, limit: int) -> tuple[bytes, bool]:
    """The content-decoded body (at most `limit` bytes) and whether the limit cut it.

    Raises BodyDecodeError for an encoding that fails or that lineid does not know.
    """
    if not content_encoding or not body:
        return body[:limit], len(body) > limit
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    cut = False
    # Codings are listed in the order applied (RFC 9110 §8.4): undo them in reverse.
    for coding in reversed(codings):
        if coding == "identity":
            continue
        decoder = DECODERS.get(coding)
        if decoder is None:
            raise BodyDecodeError(f"unknown content coding {coding!r}")
        body, cut_here = decoder(body, limit)
        cut = cut or cut_here
    return body, cut
