"""Run one child process and measure it: wall time, peak RSS, exit status.

Wall time is `time.perf_counter` around spawn and reap. CPU time (user + system, the
child's tree as wait4 reports it) is kept too: on a shared machine it moves far less
than wall time when other work competes for the cores. Peak RSS is the child's own
rusage, as `os.wait4` returns it; `getrusage(RUSAGE_CHILDREN)` is not used because it is
a running maximum over every child ever reaped, so a later, smaller run would inherit an
earlier one's peak. On Linux a child's ru_maxrss also counts the RSS it had between fork
and exec, which is the parent's: this script (pandas, pyarrow loaded) would set a floor
of ~130 MB under every tool. So when GNU time is installed the tool is started by
`/usr/bin/time -f %M`, a ~2 MB process, and its figure (from its own wait4) is used;
otherwise ru_maxrss, marked as such. A sampler thread also sums VmRSS over the child's
process tree every SAMPLE_S, because a tool with worker processes (lineid --jobs) uses
the sum, not the largest one.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_S = 0.1
GNU_TIME = "/usr/bin/time"


@dataclass
class RunResult:
    wall_s: float
    cpu_s: float  # user + system of the child and the descendants it reaped
    max_rss_mb: float  # largest single process (rusage)
    tree_rss_mb: float  # largest sampled sum over the process tree
    exit_code: int
    stdout: str
    stderr_tail: str
    rss_source: str
    killed: bool = False


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
        except OSError:
            continue  # the process ended meanwhile
    return out


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb = pid, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_S):
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in _descendants(self.pid)))


def run_measured(argv: list[str], *, stdout_to: str | None = None, timeout_s: float | None = None) -> RunResult:
    """Run argv; its stdout goes to /dev/null (or is captured to a file when stdout_to)."""
    scratch = Path(os.environ.get("TMPDIR", "/tmp"))
    err_path = scratch / f"run_speed.{os.getpid()}.stderr"
    rss_path = scratch / f"run_speed.{os.getpid()}.maxrss"
    use_time = os.access(GNU_TIME, os.X_OK)
    if use_time:
        argv = [GNU_TIME, "-f", "%M", "-o", str(rss_path), *argv]
    out_file = open(stdout_to or os.devnull, "wb")  # noqa: SIM115 - closed below, after the child ends
    err_file = open(err_path, "wb")  # noqa: SIM115
    try:
        start = time.perf_counter()
        # start_new_session: a timeout kills the child's whole process group, workers included.
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out_file, stderr=err_file, start_new_session=True
        )
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        killed = False
        timer: threading.Timer | None = None
        if timeout_s is not None:

            def kill() -> None:
                nonlocal killed
                killed = True
                os.killpg(proc.pid, signal.SIGKILL)

            timer = threading.Timer(timeout_s, kill)
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if timer is not None:
            timer.cancel()
        sampler.done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen
    finally:
        out_file.close()
        err_file.close()
    stderr = err_path.read_text(errors="replace")
    err_path.unlink(missing_ok=True)
    child_kb = usage.ru_maxrss
    rss_source = "wait4 ru_maxrss (floored by this script's RSS at fork)"
    if use_time:
        # GNU time writes "Command exited with non-zero status N" first when it does.
        lines = rss_path.read_text().split() if rss_path.exists() else []
        rss_path.unlink(missing_ok=True)
        if lines and lines[-1].isdigit():
            child_kb, rss_source = int(lines[-1]), "GNU time %M"
    tail = "\n".join(line for line in stderr.splitlines() if "Running as user" not in line)[-2000:]
    stdout = Path(stdout_to).read_text(errors="replace") if stdout_to else ""
    return RunResult(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        max_rss_mb=child_kb / 1024,
        tree_rss_mb=max(sampler.peak_kb, child_kb) / 1024,
        exit_code=proc.returncode,
        stdout=stdout,
        stderr_tail=tail,
        rss_source=rss_source,
        killed=killed,
    )


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0] if lines else "unavailable"


def lineid_revision(repo: Path) -> str:
    """The checkout's commit, and whether analyzer/ has local changes (read-only git calls)."""
    head = _first_line(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"])
    try:
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "analyzer"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return head
    return head + (" + local changes in analyzer/" if dirty else "")


def machine_info(python: str, lineid: str, tshark: str | None) -> dict[str, object]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "ram_gb": round(ram_gb, 1),
        "kernel": platform.release(),
        "python": _first_line([python, "--version"]),
        "lineid": _first_line([lineid, "--version"]),
        "lineid_revision": lineid_revision(Path(__file__).resolve().parents[2]),
        "tshark": _first_line([tshark, "--version"]) if tshark else "not installed",
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
