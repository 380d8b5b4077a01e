"""Writes the reference pages generated from the code: docs/columns.md and docs/limits.md.

    python -m analyzer.docs [DOCS_DIR]

A test checks that the committed pages equal what this writes, so they cannot drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

from analyzer.limits import Limits
from analyzer.schema import markdown as columns_markdown

PAGES = {"columns.md": columns_markdown, "limits.md": Limits.markdown}


def main(folder: str = "docs") -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name, render in PAGES.items():
        (out / name).write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:2])
