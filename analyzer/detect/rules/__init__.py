"""The detection rules, one class each, registered explicitly in `build_registry`."""

from __future__ import annotations

from analyzer.detect.decoders import DECODERS
from analyzer.detect.rule import Registry
from analyzer.detect.rules.body import BodyFieldRule, BodyTextRule
from analyzer.detect.rules.cookies import CookieRule, SetCookieRule
from analyzer.detect.rules.hashed import HashedNumberRule
from analyzer.detect.rules.headers import HeaderCatalogRule, HeaderNameHeuristicRule, HeaderValueRule
from analyzer.detect.rules.tokens import TrackingTokenRule
from analyzer.detect.rules.url import PathRule, QueryRule, RedirectRule
from analyzer.detect.rules.watchlist import WatchlistRule


def build_registry() -> Registry:
    """Every rule and decoder, in the order they run (an explicit list: no import magic)."""
    registry = Registry()
    registry.register(HeaderCatalogRule())
    registry.register(HeaderNameHeuristicRule())
    registry.register(TrackingTokenRule())
    registry.register(HeaderValueRule())
    registry.register(CookieRule())
    registry.register(SetCookieRule())
    registry.register(QueryRule())
    registry.register(PathRule())
    registry.register(RedirectRule())
    registry.register(BodyFieldRule())
    registry.register(BodyTextRule())
    registry.register(WatchlistRule())
    registry.register(HashedNumberRule())
    for decoder in DECODERS:
        registry.register_decoder(decoder.id, decoder)
    return registry
