"""Rules: one class each, registered explicitly, selected by an expression.

A rule has an `id`, a one-line `description`, the `surfaces` it reads, and
`match(view, ctx) -> Iterable[Finding]`. `Registry.register` refuses a duplicate id (as
plaso's parser manager does), so a rule can never shadow another by accident.

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
    from analyzer.detect.context import Context
    from analyzer.detect.view import MessageView

SURFACES = ("header", "query", "path", "cookie", "set-cookie", "body", "redirect")


class Rule:
    id: ClassVar[str] = ""
    description: ClassVar[str] = ""
    surfaces: ClassVar[tuple[str, ...]] = ()

    def match(self, view: MessageView, ctx: Context) -> Iterable[Finding]:
        raise NotImplementedError

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
