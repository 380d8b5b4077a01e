"""URLs: query parameters and path segments (percent-decoded) of requests, and the
targets of redirects (header-enrichment services hand the number on in a Location)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

from analyzer.detect.catalog import CatalogEntry, Kind
from analyzer.detect.context import Context
from analyzer.detect.rule import Rule
from analyzer.detect.view import LOCATION, field_kind, path_segments, query_pairs
from analyzer.model import Finding

# A path worth splitting holds a long digit run, or a token that may encode one.
_CANDIDATE_PATH = re.compile(r"\d{7}|[A-Za-z0-9+%_-]{12}")


def _param_findings(params: Iterable[tuple[str, str]], where: str, mid: int, ctx: Context, rule: str) -> list[Finding]:
    found: list[Finding] = []
    for name, value in params:
        cue = field_kind(name)
        if cue is not None:
            found += ctx.findings_in(
                mid,
                value,
                where=where,
                field=name,
                expect=cue[0],
                cue="field-name",
                why=f"parameter {cue[1]}",
                rule=rule,
            )
        else:
            found += ctx.findings_in(
                mid,
                value,
                where=where,
                field=name,
                expect=None,
                cue=None,
                why="a valid mobile number in a parameter",
                rule=rule,
            )
    return found


def _path_findings(segments: list[str], where: str, mid: int, ctx: Context, rule: str) -> list[Finding]:
    found: list[Finding] = []
    previous = ""
    for segment in segments:
        cue = field_kind(previous) if previous else None
        if cue is not None:  # /msisdn/447700900123
            found += ctx.findings_in(
                mid,
                segment,
                where=where,
                field=previous,
                expect=cue[0],
                cue="field-name",
                why=f"path segment after {cue[1]}",
                rule=rule,
            )
        else:
            found += ctx.findings_in(
                mid,
                segment,
                where=where,
                field=previous or "/",
                expect=None,
                cue=None,
                why="a valid mobile number in a path segment",
                rule=rule,
            )
        previous = segment
    return found


class QueryRule(Rule):
    id = "url-query"
    description = "request query parameters, percent-decoded (msisdn=, phone=, or any valid mobile number)"
    surfaces = ("query",)
    reads_uri = True

    def uri_findings(self, mid: int, uri: str, ctx: Context) -> Iterable[Finding]:
        if "?" not in uri:
            return ()
        return _param_findings(query_pairs(uri), "query", mid, ctx, self.id)


class PathRule(Rule):
    id = "url-path"
    description = "request path segments, percent-decoded"
    surfaces = ("path",)
    reads_uri = True

    def uri_findings(self, mid: int, uri: str, ctx: Context) -> Iterable[Finding]:
        if not _CANDIDATE_PATH.search(uri.partition("?")[0]):
            return ()
        return _path_findings(path_segments(uri), "path", mid, ctx, self.id)


class RedirectRule(Rule):
    id = "redirect"
    description = "Location targets of responses: query parameters and path segments of the redirect"
    surfaces = ("redirect",)
    header_passes = (frozenset({LOCATION}),)

    def header_findings(
        self,
        mid: int,
        name: str,
        value: str,
        cls: int,
        entry: CatalogEntry | None,
        guess: tuple[Kind, str] | None,
        ctx: Context,
    ) -> Iterable[Finding]:
        parts = urlsplit(value.strip())
        found = _param_findings(parse_qsl(parts.query, keep_blank_values=True), "redirect", mid, ctx, self.id)
        segments = [unquote(s, errors="replace") for s in parts.path.split("/") if s]
        return found + _path_findings(segments, "redirect", mid, ctx, self.id)
