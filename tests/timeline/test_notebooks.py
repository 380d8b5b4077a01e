"""The notebooks run top to bottom in a fresh kernel of this interpreter, and draw.

The kernel must be *this* Python (the venv the tests run in, with lineid installed), not
whatever `python3` kernelspec the machine has: a kernelspec is written to a temporary
directory pointing at `sys.executable` and handed to the kernel manager. The notebooks
are committed without outputs; executing them here, not in place, leaves them so.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

from .helpers import ROOT

NOTEBOOKS = ROOT / "notebooks"
NAMES = ["01-quickstart.ipynb", "02-incident-walkthrough.ipynb"]
KERNEL = "lineid-test-python"
CELL_TIMEOUT_S = 180  # the slowest cell reads the month's capture: seconds, even on a slow CI runner
FIGURES = {"01-quickstart.ipynb": 1, "02-incident-walkthrough.ipynb": 2}


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kernels")
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "lineid tests",
        "language": "python",
    }
    (root / KERNEL).mkdir()
    (root / KERNEL / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return root


def _run(path: Path, kernel_dir: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    km = AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(NOTEBOOKS)}})
    # The repository first on the kernel's path (CI installs it editable; a bare checkout
    # works too); Agg, so nothing ever tries a display.
    env = dict(
        os.environ,
        MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    client.execute(env=env)
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes_and_draws(name: str, kernel_dir: Path) -> None:
    nb = _run(NOTEBOOKS / name, kernel_dir)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == FIGURES[name]
    assert all(o["data"]["image/png"] for o in images)
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "10 Jan 2012 07:00 UTC to 25 Jan 2012 13:15 UTC" in text


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_committed_clean(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "import analyzer" in sources
    # Public API only: nothing reached through private modules.
    assert "analyzer._" not in sources and "from analyzer.timeline." not in sources
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 6
