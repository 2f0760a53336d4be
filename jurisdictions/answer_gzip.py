"""Gzip of a large answer (a 10,000-point batch is about 4 MB of JSON), both cores at once.

From :data:`SPLIT_FROM` bytes on, the answer is deflated in two halves at the same time (the
second in a helper thread: zlib-ng releases the GIL while it compresses) and the halves are
written as one gzip member, as pigz does: the first half ends with a sync flush (byte-aligned,
not final), the second is the final block, and the trailer holds the CRC-32 and length of the
whole. Any gzip reader reads it as one stream. The halves do not share a window, which costs
a few hundred bytes of the answer's ~400 kB.
"""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor

from zlib_ng import gzip_ng, zlib_ng

#: zlib-ng's fastest level: the answers repeat themselves, so it still shrinks them ~10×.
LEVEL = 1
#: From this size on, an answer is compressed in two halves at once.
SPLIT_FROM = 1 << 20
#: gzip header: deflate, no flags, no time, no extra flags, unknown OS.
_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"

_helper = ThreadPoolExecutor(max_workers=2, thread_name_prefix="shudi-gzip")


def _deflate(data: memoryview, last: bool) -> bytes:
    packer = zlib_ng.compressobj(LEVEL, zlib_ng.DEFLATED, -15)  # raw deflate, 32 kB window
    return packer.compress(data) + packer.flush(zlib_ng.Z_FINISH if last else zlib_ng.Z_SYNC_FLUSH)


def gzip_answer(data: bytes) -> bytes:
    """``data`` as one gzip member."""
    if len(data) < SPLIT_FROM:
        return gzip_ng.compress(data, LEVEL)  # type: ignore[no-untyped-call,no-any-return]
    view = memoryview(data)
    half = len(data) // 2
    second = _helper.submit(_deflate, view[half:], True)
    first = _deflate(view[:half], False)
    trailer = struct.pack("<II", zlib_ng.crc32(data), len(data) & 0xFFFFFFFF)
    return b"".join((_HEADER, first, second.result(), trailer))
