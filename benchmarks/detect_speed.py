#!/usr/bin/env python3
"""CPU time of detection alone on one capture, cold (empty caches) and warm (caches full).

    benchmarks/detect_speed.py CAPTURE [--runs 3] [--tree PATH] [--region GB] [--rules EXPR] [--watchlist N ...]

The capture is read into memory once (reading and reassembly are not timed). Then, --runs
times: every bounded detection cache is emptied (each `functools.lru_cache` with a size
under `analyzer.detect`, and a new `Detector`, whose own memos start empty), all messages
are scanned (cold), then scanned again with the same detector (warm). What is loaded once
per process (libphonenumber's metadata, the catalog, the MCC-MNC table) stays loaded after
the first round, so that round is printed apart and the best of the rounds is the figure
to compare. Times are `time.process_time` (CPU), which a loaded machine disturbs less than
wall time.

--tree imports `analyzer` from another checkout (e.g. a copy of the tree before a change),
so that before and after are measured by the same script on the same messages.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib
import pkgutil
import sys
import time
from typing import Any


def clear_detection_caches() -> int:
    """Empty every bounded lru_cache in analyzer.detect (memos, not load-once loaders)."""
    import analyzer.detect

    cleared = 0
    for info in pkgutil.walk_packages(analyzer.detect.__path__, "analyzer.detect."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            params = getattr(value, "cache_parameters", None)
            # functools.cache (maxsize None) loads data files once: that is process set-up.
            if isinstance(value, functools._lru_cache_wrapper) and params is not None and params()["maxsize"]:
                value.cache_clear()
                cleared += 1
    return cleared


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("capture")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tree", help="import analyzer from this directory instead")
    parser.add_argument("--region")
    parser.add_argument("--rules")
    parser.add_argument("--watchlist", nargs="*", default=[])
    args = parser.parse_args(argv)
    if args.tree:
        sys.path.insert(0, args.tree)

    import analyzer
    from analyzer.anomalies import Recorder
    from analyzer.api import Options
    from analyzer.detect.engine import build_detector
    from analyzer.ingest.pipeline import iter_messages
    from analyzer.limits import Limits
    from analyzer.sources import open_evidence

    print(f"analyzer: {analyzer.__file__}")
    recorder = Recorder(args.capture)
    with open_evidence(args.capture, recorder) as evidence:
        evidence.peek(4)
        messages = list(iter_messages(evidence, source_index=0, limits=Limits(), recorder=recorder))
    options = Options(region=args.region, rules=args.rules, watchlist=tuple(args.watchlist))

    def timed(detector: Any) -> tuple[float, int]:
        rec = Recorder("detect_speed")
        gc.collect()
        start = time.process_time()
        count = 0
        for message in messages:
            count += len(detector.scan(message, rec))
        return time.process_time() - start, count

    colds: list[float] = []
    warms: list[float] = []
    for round_ in range(args.runs):
        clear_detection_caches()
        detector = build_detector(options)
        cold, found = timed(detector)
        warm, again = timed(detector)
        assert found == again, (found, again)
        print(f"round {round_ + 1}: cold {cold:.3f} s  warm {warm:.3f} s  ({found} findings)", flush=True)
        if round_ or args.runs == 1:  # the first round also loads metadata once per process
            colds.append(cold)
        warms.append(warm)
    print(
        f"{len(messages)} messages; best cold {min(colds):.3f} s  best warm {min(warms):.3f} s"
        f"  ({min(colds) / len(messages) * 1e6:.0f} / {min(warms) / len(messages) * 1e6:.0f} µs a message)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
