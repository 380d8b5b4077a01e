"""One capture, several processes: each reads the whole file and keeps only its share of
flows (by a CRC-32 of the flow key, see `FlowTable.owns`), so the per-message work (HTTP
parsing, detection, frames) is split while the cheap per-packet walk is repeated.

Results are identical to one process: message ids come from frame numbers, not from
arrival order; frames are sorted by the analysis; and the anomalies every shard sees
alike (reader, decoder) are kept from shard 0 only.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.sharedctypes import Synchronized
from typing import TYPE_CHECKING

from analyzer.schema import concat

if TYPE_CHECKING:
    from analyzer.api import InputResult, Options

# Codes recorded while reading and decoding packets, before a flow is chosen, and over-long
# lines of a log (every shard reads every line): every shard records the same ones.
INPUT_LEVEL_PREFIXES = ("PCAP", "COMPRESSED", "LINK_TYPE", "LAYOUT", "PACKET", "IP_", "TUNNEL", "LOG_LINE_TOO_LONG")
# How often the parent reports progress while its workers run.
PROGRESS_POLL_S = 0.2

_bytes_read: Synchronized | None = None  # type: ignore[type-arg]


def _init_worker(counter: Synchronized) -> None:  # type: ignore[type-arg]
    global _bytes_read
    _bytes_read = counter


def _count(n: int) -> None:
    if _bytes_read is not None:
        with _bytes_read.get_lock():
            _bytes_read.value += n


def _run_shard(path: str, index: int, options: Options, shard: tuple[int, int]) -> InputResult:
    from analyzer.api import read_input

    # Shard 0 alone counts progress: every shard reads the same bytes.
    return read_input(path, index, options, progress=_count if shard[0] == 0 else None, shard=shard)


def read_input_sharded(
    path: str, index: int, options: Options, jobs: int, *, progress: Callable[[int], None] | None = None
) -> InputResult:
    counter: Synchronized = multiprocessing.Value("q", 0)  # type: ignore[type-arg]
    done = threading.Event()
    watcher = None
    if progress is not None:
        watcher = threading.Thread(target=_watch, args=(counter, progress, done), daemon=True)
        watcher.start()
    try:
        with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(counter,)) as pool:
            futures = [pool.submit(_run_shard, path, index, options, (k, jobs)) for k in range(jobs)]
            shards = [f.result() for f in futures]
    finally:
        done.set()
        if watcher is not None:
            watcher.join()
    return merge_shards(shards)


def _watch(counter: Synchronized, progress: Callable[[int], None], done: threading.Event) -> None:  # type: ignore[type-arg]
    reported = 0
    while True:
        finished = done.wait(PROGRESS_POLL_S)
        value = counter.value
        if value > reported:
            progress(value - reported)
            reported = value
        if finished:
            return


def merge_shards(shards: list[InputResult]) -> InputResult:
    first = shards[0]
    merged = first.__class__(first.path, first.index, first.format, first.compression, first.size)
    merged.sha256 = first.sha256  # every shard read the whole file
    merged.message_count = sum(s.message_count for s in shards)
    merged.messages = concat("messages", [s.messages for s in shards])
    merged.headers = concat("headers", [s.headers for s in shards])
    merged.findings = concat("findings", [s.findings for s in shards])
    merged.anomalies = [
        a for k, s in enumerate(shards) for a in s.anomalies if k == 0 or not a.code.startswith(INPUT_LEVEL_PREFIXES)
    ]
    merged.digest_candidates = [c for s in shards for c in s.digest_candidates]
    return merged
