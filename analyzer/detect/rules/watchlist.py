"""The analyst's watchlist, in any form, anywhere in a message."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote

from analyzer.detect.context import MAX_VALUE_CHARS, Context
from analyzer.detect.rule import Rule
from analyzer.detect.view import MessageView
from analyzer.detect.watchlist import Watchlist
from analyzer.model import Finding


class WatchlistRule(Rule):
    id = "watchlist"
    description = "watchlisted numbers as E.164, 00, national, separated, percent/hex/base64-encoded or MD5/SHA digests"
    surfaces = ("header", "query", "path", "cookie", "set-cookie", "body", "redirect")

    def __init__(self) -> None:
        self.watchlist: Watchlist | None = None  # set by the engine when the analysis has one

    def match(self, view: MessageView, ctx: Context) -> Iterable[Finding]:
        watchlist = self.watchlist
        if not watchlist:
            return
        msg = view.message
        places: list[tuple[str, str, str]] = [
            ("header", name, value) for name, value in msg.headers if name.lower() not in ("cookie", "set-cookie")
        ]
        places += [("cookie", name, value) for name, value in view.cookies]
        places += [("set-cookie", name, value) for name, value in view.set_cookies()]
        if msg.direction == "request" and msg.uri:
            places.append(("query" if "?" in msg.uri else "path", "uri", msg.uri))
        if msg.body:
            places.append(("body", "body", view.body_text))
        for where, field, value in places:
            texts = [value, unquote(value, errors="replace")] if "%" in value else [value]
            seen: set[str] = set()
            for text, url in zip(texts, (False, True), strict=False):
                for token, match in watchlist.find(text):
                    if match.identifier in seen:
                        continue
                    seen.add(match.identifier)
                    encoding = "url" if url and match.encoding == "plain" else match.encoding
                    yield Finding(
                        message_id=msg.message_id,
                        where=where,
                        field=field,
                        kind="hashed-msisdn" if match.encoding in ("md5", "sha1", "sha256") else "msisdn",
                        value=(value if where != "body" else token)[:MAX_VALUE_CHARS],
                        identifier=match.identifier,
                        encoding=encoding,
                        rule=self.id,
                        confidence="high",
                        reason=f"watchlisted number, {match.form}" + (f", {encoding}" if encoding != "plain" else ""),
                    )
