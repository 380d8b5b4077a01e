"""The analyst's watchlist, in any form, anywhere in a message."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote

from analyzer.detect.catalog import CatalogEntry, Kind
from analyzer.detect.context import MAX_VALUE_CHARS, Context
from analyzer.detect.rule import Rule
from analyzer.detect.view import COOKIE, HEADER_CLASSES, SET_COOKIE, MessageView, cookie_pairs, set_cookie_pairs
from analyzer.detect.watchlist import Watchlist
from analyzer.model import Finding


class WatchlistRule(Rule):
    id = "watchlist"
    description = "watchlisted numbers as E.164, 00, national, separated, percent/hex/base64-encoded or MD5/SHA digests"
    surfaces = ("header", "query", "path", "cookie", "set-cookie", "body", "redirect")
    # Every header in wire order (cookies aside), then each cookie, then each Set-Cookie.
    header_passes = (frozenset(HEADER_CLASSES - {COOKIE, SET_COOKIE}), frozenset({COOKIE}), frozenset({SET_COOKIE}))
    reads_uri = True
    reads_body = True

    def __init__(self) -> None:
        self.watchlist: Watchlist | None = None  # set by the engine when the analysis has one

    def enabled(self) -> bool:
        return bool(self.watchlist)

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
        if not self.watchlist:
            return ()
        if cls == COOKIE:
            return self._places(mid, [("cookie", n, v) for n, v in cookie_pairs(value)])
        if cls == SET_COOKIE:
            return self._places(mid, [("set-cookie", n, v) for n, v in set_cookie_pairs(value)])
        if name.lower() in ("cookie", "set-cookie"):
            return ()  # cookies are read as their name=value pairs, above
        return self._places(mid, [("header", name, value)])

    def uri_findings(self, mid: int, uri: str, ctx: Context) -> Iterable[Finding]:
        if not self.watchlist:
            return ()
        return self._places(mid, [("query" if "?" in uri else "path", "uri", uri)])

    def body_findings(self, view: MessageView, ctx: Context) -> Iterable[Finding]:
        if not self.watchlist:
            return ()
        return self._places(view.message.message_id, [("body", "body", view.body_text)])

    def _places(self, mid: int, places: list[tuple[str, str, str]]) -> list[Finding]:
        watchlist = self.watchlist
        assert watchlist is not None
        found: list[Finding] = []
        for where, field, value in places:
            texts = [value, unquote(value, errors="replace")] if "%" in value else [value]
            seen: set[str] = set()
            for text, url in zip(texts, (False, True), strict=False):
                for token, match in watchlist.find(text):
                    if match.identifier in seen:
                        continue
                    seen.add(match.identifier)
                    encoding = "url" if url and match.encoding == "plain" else match.encoding
                    found.append(
                        Finding(
                            message_id=mid,
                            where=where,
                            field=field,
                            kind="hashed-msisdn" if match.encoding in ("md5", "sha1", "sha256") else "msisdn",
                            value=(value if where != "body" else token)[:MAX_VALUE_CHARS],
                            identifier=match.identifier,
                            encoding=encoding,
                            rule=self.id,
                            confidence="high",
                            reason=f"watchlisted number, {match.form}"
                            + (f", {encoding}" if encoding != "plain" else ""),
                        )
                    )
        return found
