"""SOURCE arguments → the files a batch reads: local paths, directories, globs, fsspec URLs.

Expansion only lists names; whether a file is evidence is decided later, by content, in
the task (a `.log` may be a capture, a `.pcap` may be a text file). Each file keeps a
*label*: the string its rows carry in their `source` column, the path or URL as given
(a directory's files: the directory as given joined with the name found under it), so
that rows do not depend on where the batch ran or on the order of its arguments.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer.errors import UsageError

GLOB_CHARS = frozenset("*?[")
# Local files also reachable as file:// URLs: opened in place, never copied.
LOCAL_PROTOCOLS = frozenset({"file", "local"})


@dataclass(frozen=True, slots=True)
class Source:
    """One file a batch reads."""

    label: str  # what `source` columns hold: the path or URL as given or found
    location: str  # what is opened: a local path, or an fsspec URL
    remote: bool = False  # read through fsspec (copied to a local temporary file first)


def is_url(text: str) -> bool:
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.replace("+", "").replace("-", "").isalnum()


def _has_glob(text: str) -> bool:
    return any(c in GLOB_CHARS for c in text)


def expand_sources(args: Sequence[str], *, exclude: Path | None = None) -> list[Source]:
    """Every file named by `args`, in argument order (a directory's files sorted by name),
    each once. `exclude`: a folder never descended into (the batch's own dataset).

    A local path that does not exist is kept (its task records "no such file"); a glob
    that matches nothing adds nothing. UsageError for a URL whose protocol is unknown or
    whose fsspec package is not installed.
    """
    seen: set[str] = set()
    out: list[Source] = []
    skip = exclude.resolve() if exclude is not None else None
    for arg in args:
        for source in _expand_one(arg, skip):
            if source.label not in seen:
                seen.add(source.label)
                out.append(source)
    return out


def _expand_one(arg: str, skip: Path | None) -> Iterator[Source]:
    if is_url(arg):
        yield from _expand_url(arg, skip)
        return
    path = Path(arg)
    if path.is_dir():
        for name in _walk(arg, skip):
            yield Source(name, name)
    elif not path.exists() and _has_glob(arg):
        for name in sorted(glob.glob(arg, recursive=True)):
            if Path(name).is_dir():
                for inner in _walk(name, skip):
                    yield Source(inner, inner)
            else:
                yield Source(name, name)
    else:
        yield Source(arg, arg)


def _walk(top: str, skip: Path | None) -> Iterator[str]:
    """Files under `top`, depth first, names sorted; symbolic links to folders not followed
    (a link loop must not make a batch endless)."""
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if skip is None or Path(root, d).resolve() != skip)
        for name in sorted(files):
            yield os.path.join(root, name)


def filesystem(url: str) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) for a URL; UsageError when it cannot be served."""
    import fsspec.core  # type: ignore[import-untyped]

    try:
        fs, path = fsspec.core.url_to_fs(url)
    except ImportError as exc:  # fsspec names the package to install
        raise UsageError(f"{url}: {exc}") from None
    except ValueError as exc:
        raise UsageError(f"{url}: {exc}") from None
    return fs, str(path)


def _expand_url(url: str, skip: Path | None) -> Iterator[Source]:
    fs, path = filesystem(url)
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    local = bool(protocols & LOCAL_PROTOCOLS)
    scheme = url.partition("://")[0]
    if local:
        # file:///x/y → labels keep the URL form the user gave; the file is opened in place.
        for name in _expand_one(path, skip):
            yield Source(f"{scheme}://{name.location}", name.location)
        return
    if _has_glob(path):
        names = sorted(fs.glob(path))
    elif fs.isdir(path):
        names = sorted(fs.find(path))
    else:
        names = [path]
    for name in names:
        full = fs.unstrip_protocol(name)
        yield Source(full, full, remote=True)
