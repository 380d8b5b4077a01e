"""The exceptions that may leave lineid's API.

Everything odd *inside* a readable input is an anomaly row, never an exception. Only a
problem with an input as a whole (cannot be opened, is not a format lineid reads) raises,
and always one of these::

    LineidError                   base of everything lineid raises on purpose
    ├── InputError                an input as a whole cannot be analysed
    │   ├── InputFormatError      not a capture/HAR/log lineid reads (wrong file)
    │   └── InputAccessError      cannot be opened or read (missing, permission, I/O)
    └── UsageError                the caller's options are wrong (unknown rule id, …)

`str(error)` is one line that names the file and what was expected, fit for a terminal.
"""

from __future__ import annotations

from pathlib import Path


class LineidError(Exception):
    """Base class of lineid's own exceptions."""


class InputError(LineidError):
    """An input cannot be analysed at all."""

    def __init__(self, path: str | Path, message: str) -> None:
        self.path = str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


class InputFormatError(InputError):
    """The input is readable but is not in a format lineid reads."""


class InputAccessError(InputError):
    """The input cannot be opened or read."""


class UsageError(LineidError):
    """The options given to the API or the CLI are wrong."""
