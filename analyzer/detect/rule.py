"""Rules: one class each, registered explicitly, selected by an expression.

A rule has an `id`, a one-line `description`, the `surfaces` it reads, and its findings in
three parts: `header_findings` for one header field (of the classes its `header_passes`
name), `uri_findings` for a request's URI, `body_findings` for a message with a body.
`match(view, ctx)` is their sum over one message, in that order; the engine computes the
same sum from what each part gave the last time it saw that field, URI or body. A rule
that needs the whole message at once defines `match` itself (the engine then runs it on
every message). `Registry.register` refuses a duplicate id (as plaso's parser manager
does), so a rule can never shadow another by accident.

Selection (`--rules` / `rules=`): a comma-separated list applied left to right, starting
from no rule: `all`, an id, or a surface name (`header`, `query`, `body`, …) adds; a
leading `-` removes. `all,-tracking-token` is every rule but one; `header-catalog,watchlist`
just those two. When a name is both a rule id and a surface (`cookie`, `set-cookie`,
`redirect`), it is the rule. Decoders (`decode-hex`, `decode-base64`, `decode-url`) are all
on unless the expression names one without a `-` (then only those named are on) or
removes them (`-decode-hex`, `-all`): picking rules does not silently turn decoding off.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from analyzer.errors import UsageError
from analyzer.model import Finding

if TYPE_CHECKING:
    from analyzer.detect.catalog import CatalogEntry, Kind
    from analyzer.detect.context import Context
    from analyzer.detect.view import MessageView

SURFACES = ("header", "query", "path", "cookie", "set-cookie", "body", "redirect")


class Rule:
    id: ClassVar[str] = ""
    description: ClassVar[str] = ""
    surfaces: ClassVar[tuple[str, ...]] = ()
    # The header fields the rule reads, as passes over the message's fields: each pass a set
    # of header classes (`view.IDENTITY`, `view.COOKIE`, …) read in wire order. `({OTHER},
    # {TOKEN})` reports every OTHER field, then every TOKEN field. A class is in one pass at most.
    header_passes: ClassVar[tuple[frozenset[int], ...]] = ()
    # Reads the URI of requests (a response's URI is its request's: never read again).
    reads_uri: ClassVar[bool] = False
    # Reads a non-empty body.
    reads_body: ClassVar[bool] = False

    def enabled(self) -> bool:
        """False when the rule cannot find anything as configured (a watchlist rule without a
        list): the engine then leaves it out of its per-field reading."""
        return True

    # What a rule finds in a header field or a URI must depend on that field and the context
    # alone (never on the message's other fields): `Detector` remembers it per distinct field.
    # A body's findings may depend on the direction, content type and encoding, nothing else.
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
        """Findings in one header field of a class the rule's passes read."""
        return ()

    def uri_findings(self, mid: int, uri: str, ctx: Context) -> Iterable[Finding]:
        """Findings in the (non-empty) URI of a request."""
        return ()

    def body_findings(self, view: MessageView, ctx: Context) -> Iterable[Finding]:
        """Findings in a message whose body is not empty."""
        return ()

    def match(self, view: MessageView, ctx: Context) -> Iterable[Finding]:
        """Every finding in one message, in order: the header passes, the URI, the body.

        This is the definition `Detector.scan` computes faster (remembering findings per
        field), and what it falls back to for a message on which a rule raises.
        """
        msg = view.message
        if self.header_passes:
            fields = view.header_fields()
            for classes in self.header_passes:
                for name, value, cls, entry, guess in fields:
                    if cls in classes:
                        yield from self.header_findings(msg.message_id, name, value, cls, entry, guess, ctx)
        if self.reads_uri and msg.direction == "request" and msg.uri:
            yield from self.uri_findings(msg.message_id, msg.uri, ctx)
        if self.reads_body and msg.body:
            yield from self.body_findings(view, ctx)

    def __repr__(self) -> str:
        return f"<rule {self.id}: {self.description}>"


@dataclass
class Registry:
    rules: dict[str, Rule] = field(default_factory=dict)
    decoders: dict[str, object] = field(default_factory=dict)

    def register(self, rule: Rule) -> None:
        if not rule.id or rule.id in self.rules or rule.id in self.decoders:
            raise ValueError(f"rule id {rule.id!r} is empty or already registered")
        unknown = set(rule.surfaces) - set(SURFACES)
        if unknown:
            raise ValueError(f"rule {rule.id}: unknown surfaces {sorted(unknown)}")
        self.rules[rule.id] = rule

    def register_decoder(self, decoder_id: str, decoder: object) -> None:
        if decoder_id in self.rules or decoder_id in self.decoders:
            raise ValueError(f"decoder id {decoder_id!r} is already registered")
        self.decoders[decoder_id] = decoder

    def select(self, expression: str | None) -> tuple[list[Rule], list[str]]:
        """The rules and decoder ids an expression selects, in registration order."""
        everything = [*self.rules, *self.decoders]
        if expression is None or not expression.strip():
            return list(self.rules.values()), list(self.decoders)
        terms = [t.strip() for t in expression.split(",") if t.strip()]
        names_a_decoder = any(t in self.decoders for t in terms)
        chosen: set[str] = set() if names_a_decoder else set(self.decoders)
        for raw in terms:
            term = raw.strip()
            if not term:
                continue
            remove = term.startswith("-")
            name = term.lstrip("+-")
            if name == "all":
                ids = set(everything)
            elif name in self.rules or name in self.decoders:
                ids = {name}
            elif name in SURFACES:
                ids = {rid for rid, rule in self.rules.items() if name in rule.surfaces}
            else:
                raise UsageError(
                    f"unknown rule {name!r} in --rules; known: all, {', '.join(everything)}, or a surface: "
                    f"{', '.join(SURFACES)}"
                )
            chosen = chosen - ids if remove else chosen | ids
        return [r for rid, r in self.rules.items() if rid in chosen], [d for d in self.decoders if d in chosen]

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules.values())
