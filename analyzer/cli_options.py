"""Options shared by several `lineid` commands (analyzer/cli.py and analyzer/batch/cli.py,
which cannot import each other at import time)."""

from __future__ import annotations

import click

limit_option = click.option(
    "--limit",
    "limits",
    multiple=True,
    metavar="NAME=N",
    help="Change a named limit, e.g. --limit max_live_flows=50000 (see docs/limits.md).",
)
log_format_option = click.option(
    "--log-format",
    "log_format",
    metavar="FORMAT",
    help="Access log format: a preset (combined, common, squid, squid-common, squid-combined, nginx-main, "
    "apache-vhost-combined, ...) or the site's nginx log_format / Apache LogFormat / Squid logformat "
    "(the format string or the whole directive). Recognised presets need none.",
)
