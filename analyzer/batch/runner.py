"""Running a batch: the same task function in a local process pool or on Dask.

The parent holds the dataset's lock, recovers it (`dataset.recover`) when resuming, and
hands each worker a `Task`; workers write their input's parts and commit its manifest
entry themselves, so a result already committed is never lost with the parent. The
parent only collects the rows, deletes parts that a new entry superseded, and records an
input whose worker died as failed.

Workers must see the dataset folder at the same path (local disk for a process pool or a
LocalCluster; a shared file system for a Dask cluster spread over machines).
"""

from __future__ import annotations

import ctypes
import importlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import analyzer
from analyzer.api import Options
from analyzer.batch.dataset import MANIFEST_COLUMNS, holds_batch, locked, recover, remove_parts, write_entry
from analyzer.batch.sources import Source
from analyzer.batch.task import Outcome, Task, run_task
from analyzer.errors import UsageError

EXIT_OK, EXIT_USAGE, EXIT_PARTIAL = 0, 2, 3
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Where the kernel cannot kill a worker with its parent, how often the worker checks.
ORPHAN_POLL_S = 1.0

OnOutcome = Callable[[Outcome], None]


@dataclass
class BatchResult:
    root: Path
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per source of this run
    read: int = 0  # inputs read in this run
    unchanged: int = 0  # inputs committed before, same bytes and configuration: not read
    notes: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.rows)

    @property
    def exit_code(self) -> int:
        """0 every input done or skipped; 3 some failed; 2 none done (or none found)."""
        if not self.count("done"):
            return EXIT_USAGE
        return EXIT_PARTIAL if self.count("failed") else EXIT_OK


def run_batch(
    sources: Sequence[Source],
    root: Path,
    options: Options,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    dask_local: int | None = None,
    resume: bool = False,
    on_outcome: OnOutcome | None = None,
) -> BatchResult:
    """Reads every source into the dataset at `root`. UsageError for a dataset that holds
    a batch without `resume`, or one another batch is writing."""
    if workers < 1:
        raise UsageError(f"workers must be at least 1, not {workers}")
    if scheduler and dask_local:
        raise UsageError("--scheduler and --dask-local exclude each other")
    version = analyzer.__version__
    root = root.resolve()
    result = BatchResult(root)
    with locked(root):
        if holds_batch(root) and not resume:
            raise UsageError(f"{root} already holds a batch: add --resume to continue it, or choose a new folder")
        entries, result.notes = recover(root)
        tasks = [_task(source, root, options, version, entries.get(source.label)) for source in sources]
        # Largest first: a big file started last would leave the other workers idle.
        tasks.sort(key=lambda t: -_size(t.source))
        if scheduler or dask_local:
            outcomes = _run_dask(tasks, scheduler, dask_local)
        else:
            outcomes = _run_local(tasks, workers)
        for task, outcome in outcomes:
            if isinstance(outcome, BaseException):
                outcome = _record_failure(task, outcome)
            previous = entries.get(task.source.label)
            if outcome.unchanged and previous is not None:
                result.unchanged += 1
                result.rows.append(previous)
                if outcome.note:
                    result.notes.append(outcome.note)
            else:
                result.read += 1
                result.rows.append(outcome.row)
                if previous is not None:
                    remove_parts(root, sorted(set(previous["parts"] or ()) - set(outcome.row["parts"])))
            if on_outcome is not None:
                on_outcome(outcome)
    order = {s.label: i for i, s in enumerate(sources)}
    result.rows.sort(key=lambda r: order[r["source"]])
    return result


def _task(source: Source, root: Path, options: Options, version: str, entry: dict[str, Any] | None) -> Task:
    task = Task(source, str(root), options, version)
    if entry is not None and entry["config"] == task.config and entry["status"] in ("done", "skipped"):
        task = Task(source, str(root), options, version, committed_sha256=entry["sha256"])
    return task


def _size(source: Source) -> int:
    if source.remote:
        return 0
    try:
        return os.stat(source.location).st_size
    except OSError:
        return 0


def _record_failure(task: Task, exc: BaseException) -> Outcome:
    """An input whose task did not report (its worker died, or the entry could not be
    written there): recorded as failed by the parent, with the same commit."""
    now = datetime.now(UTC)
    row: dict[str, Any] = {
        **dict.fromkeys(MANIFEST_COLUMNS),
        "source": task.source.label,
        "status": "failed",
        "error": f"{task.source.label}: not read: {type(exc).__name__}: {exc}",
        "lineid_version": task.version,
        "options": json.dumps(task.options_json, sort_keys=True),
        "config": task.config,
        "parts": [],
        "started": now,
        "finished": now,
    }
    try:
        write_entry(Path(task.root), row)
    except OSError as write_error:
        row["error"] += f" (and its manifest entry could not be written: {write_error})"
    return Outcome(task.source.label, row=row)


# ------------------------------------------------------------------ local process pool


def _mp_context() -> multiprocessing.context.BaseContext:
    """'fork' when this process runs no other thread: workers start at once with lineid
    imported (a second import of pandas and pyarrow costs a second or more per batch).
    Otherwise 'forkserver' (fork with threads can deadlock in the child), then 'spawn'."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["analyzer.batch.task"])
        return context
    return multiprocessing.get_context("spawn")


def _init_worker() -> None:
    """Workers die with the batch: a killed batch leaves no worker writing on, or holding
    the dataset's lock. (Orphaned pool workers would otherwise wait for work forever: each
    holds the task queue's write end open for the others.)"""
    if not _die_with_parent():
        threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    # Ctrl-C reaches the parent only: it stops handing out inputs, and those being read
    # finish and are committed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _die_with_parent() -> bool:
    """Linux: SIGKILL from the kernel the moment the parent dies."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return int(ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)) == 0
    except (OSError, AttributeError):
        return False


def _exit_when_orphaned(parent: int) -> None:
    """Elsewhere: notice within ORPHAN_POLL_S that the parent has gone."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_POLL_S)
    os._exit(1)


def _run_local(
    tasks: Sequence[Task], workers: int, function: Callable[[Task], Outcome] = run_task
) -> Iterator[tuple[Task, Outcome | BaseException]]:
    """At most `workers` tasks in flight. When a worker dies, the pool breaks and every
    input in flight is a suspect: each is read again alone in a new pool, and one that
    kills its worker alone is the culprit, recorded as failed. (`function`: run_task, or
    a stand-in in tests.)"""
    context = _mp_context()
    queue = list(reversed(tasks))  # pop() takes the next one
    suspects: list[Task] = []
    while queue or suspects:
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(queue) or 1), mp_context=context, initializer=_init_worker
        )
        in_flight: dict[Future[Outcome], Task] = {}
        alone: Task | None = None
        broken = False
        try:
            while (queue or suspects or in_flight) and not broken:
                if suspects or alone is not None:
                    if not in_flight:
                        alone = suspects.pop()
                        in_flight[pool.submit(function, alone)] = alone
                else:
                    while queue and len(in_flight) < workers:
                        task = queue.pop()
                        in_flight[pool.submit(function, task)] = task
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    task = in_flight.pop(future)
                    outcome: Outcome | BaseException
                    try:
                        outcome = future.result()
                    except BrokenProcessPool as exc:
                        broken = True
                        if task is not alone:
                            suspects.append(task)
                            continue
                        outcome = exc  # it killed its worker on its own
                    except Exception as exc:  # recorded as that input's failure
                        outcome = exc
                    if task is alone:
                        alone = None
                    yield task, outcome
            suspects.extend(in_flight.values())  # the pool broke under them
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------------ Dask


def _run_dask(
    tasks: Sequence[Task], scheduler: str | None, dask_local: int | None
) -> Iterator[tuple[Task, Outcome | BaseException]]:
    """The same tasks on dask.distributed: an existing scheduler, or a LocalCluster of
    `dask_local` single-threaded worker processes. Dask retries a task whose worker died
    (distributed.scheduler.allowed-failures); after that, the input is recorded as failed."""
    distributed: Any = importlib.import_module("distributed")  # untyped: one Any, not one ignore per call

    cluster = None
    if dask_local:
        cluster = distributed.LocalCluster(
            n_workers=dask_local, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
        )
    try:
        client = distributed.Client(cluster if cluster is not None else scheduler)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise UsageError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    try:
        futures = client.map(run_task, list(tasks), pure=False)
        by_key = {future.key: task for future, task in zip(futures, tasks, strict=True)}
        for future in distributed.as_completed(futures):
            task = by_key[future.key]
            outcome: Outcome | BaseException
            try:
                outcome = future.result()
            except Exception as exc:  # KilledWorker and the like: that input failed
                outcome = exc
            future.release()
            yield task, outcome
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
