"""A stand-in task function whose worker dies on some inputs (imported by pool workers)."""

from __future__ import annotations

import os
import time

from analyzer.batch.task import Outcome, Task


def die_on_crash_inputs(task: Task) -> Outcome:
    """Kills its own process (as the OOM killer would) for a label containing 'crash'."""
    time.sleep(0.05)  # long enough for the other worker to be busy too
    if "crash" in task.source.label:
        os._exit(70)
    return Outcome(task.source.label, row={"status": "done"})
