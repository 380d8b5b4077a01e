"""The detection engine: the selected rules over every message, findings de-duplicated.

What `Detector.scan(message, recorder)` returns is defined rule by rule: each selected rule's
`match` over a view of the message (`Rule.match`: its header passes, the request URI, the
body), in registration order. One identifier seen at one place of one message is one
finding: when several rules find it, the one with the highest confidence is kept (the first
registered on a tie), at the place the first rule to find it put it.

Strategy: the same result, computed per field. What a rule finds in a header field depends
on that field alone (direction, name, value; `Rule.header_findings`), and a gateway repeats
fields endlessly: a browser's User-Agent and Accept, a subscriber's enrichment header and
cookies on every request. So the findings of each distinct field are remembered, per rule
and pass (`FIELD_MEMO_SIZE`, `FIELD_MEMO_CHARS`); a repeated field costs one dictionary
look-up, and a field of a class no selected rule reads (Date, Content-Length: two thirds of
a capture's fields) one look-up of its name. Request URIs are remembered the same way, and
bodies up to `MEMO_BODY_BYTES` by (direction, content type, content encoding, bytes): a
server sends many subscribers the same script or API answer. The findings remembered for a
message's parts are then put back in the order `match` would give (rule, pass, wire order)
before de-duplication, each copied with the message's id, so the result is the same list.

State kept across messages is still kept for every message: the digest-shaped tokens of a
field are remembered with it and handed to the hashed-number rule for each request that
carries the field (`HashedNumberRule.keep`).

A rule that raises on some input is a bug, but the analysis goes on: the message is then
scanned rule by rule, the error is an anomaly (`RULE_ERROR`) naming the rule, and the other
rules still run. A field or URI on which a rule raised is not remembered.

The public `scan_header` and `scan_uri` give the findings of one field without a message
(log readers, notebooks); `scan` is made of the same remembered results.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

from analyzer.anomalies import Recorder
from analyzer.detect import catalog
from analyzer.detect.context import Context
from analyzer.detect.decoders import Decoder
from analyzer.detect.rule import Registry, Rule
from analyzer.detect.rules import build_registry
from analyzer.detect.rules.hashed import DigestCandidate, DigestToken, HashedNumberRule
from analyzer.detect.rules.watchlist import WatchlistRule
from analyzer.detect.view import HEADER_CLASSES, MessageView, header_class
from analyzer.detect.watchlist import Watchlist
from analyzer.limits import DEFAULT_LIMITS
from analyzer.model import Finding, HttpMessage, MessageRef

if TYPE_CHECKING:
    from analyzer.api import Options

RANK = {"low": 0, "medium": 1, "high": 2}
# Distinct header fields (direction, name, value) and request URIs whose findings are
# remembered, and the characters they may hold: the defaults of Limits.detection_memo_fields
# and detection_memo_chars, where the reasons are.
FIELD_MEMO_SIZE = DEFAULT_LIMITS.detection_memo_fields
FIELD_MEMO_CHARS = DEFAULT_LIMITS.detection_memo_chars
# The message id of remembered findings; `scan` puts the message's own id in their copies.
TEMPLATE_ID = 0
# Bodies longer than this are read for each message, never remembered: the bodies that
# repeat are what servers send to many subscribers (scripts, styles, API answers), cut at
# the 4 KiB response prefix; request bodies (up to 64 KiB) are the device's own.
MEMO_BODY_BYTES = 8 * 1024
# Where the URI's and the body's findings of a rule come, after its header passes
# (`Rule.match` order); a rule has far fewer passes than this.
_URI_PASS = 1_000
_BODY_PASS = 1_001

_ORDER = itemgetter(0, 1, 2)
# A remembered finding's fields but its message id, in constructor order: a copy for
# another message is Finding(message_id, *_NOT_ID(finding)) (dataclasses.replace costs
# ten times more, and findings are copied for every message that repeats a field).
_FINDING_FIELDS = [f.name for f in dataclasses.fields(Finding)]
if _FINDING_FIELDS[0] != "message_id":
    raise ImportError("analyzer.model.Finding must start with message_id")
_NOT_ID = attrgetter(*_FINDING_FIELDS[1:])
_DIGEST_ORDER = itemgetter(0, 1)

Part = tuple[int, int, int, tuple[Finding, ...]]  # rule position, pass, wire order, findings
MemoKey = str | tuple[str, str, str] | tuple[str, str | None, str | None, bytes]


@dataclass(frozen=True, slots=True)
class Remembered:
    """What one header field, URI or body gives, tied to no message.

    hits: (rule position, pass, findings) of each rule that found something, the findings
    with the id of no message in particular (TEMPLATE_ID; a body's: the first message's);
    digests: the digest-shaped tokens the hashed-number rule keeps from it (requests only),
    in the pass `digest_pass` of that rule.
    """

    hits: tuple[tuple[int, int, tuple[Finding, ...]], ...]
    digest_pass: int
    digests: tuple[DigestToken, ...]


NOTHING = Remembered((), 0, ())


class RuleFailed(Exception):
    """A rule raised while a field or body was read; the message is scanned rule by rule."""

    def __init__(self, rule: Rule, error: Exception) -> None:
        super().__init__(rule.id)
        self.rule = rule
        self.error = error


class Detector:
    def __init__(
        self,
        rules: list[Rule],
        context: Context,
        *,
        strict: bool = False,
        memo_size: int = FIELD_MEMO_SIZE,
        memo_chars: int = FIELD_MEMO_CHARS,
    ) -> None:
        """`rules` must be configured (a watchlist set) before the first scan: what they
        find in a field is remembered from then on."""
        self.rules = rules
        self.context = context
        self.strict = strict
        self.memo_size = memo_size
        self.memo_chars = memo_chars
        self.hashed = next((r for r in rules if isinstance(r, HashedNumberRule)), None)
        # Per header class, the (position, pass, rule) of each rule reading it, in rule order.
        self._readers: dict[int, list[tuple[int, int, Rule]]] = {cls: [] for cls in HEADER_CLASSES}
        self._uri_rules: list[tuple[int, Rule]] = []
        self._body_rules: list[tuple[int, Rule]] = []
        # Rules that define `match` themselves are run on a view of each message.
        self._whole: list[tuple[int, Rule]] = []
        for pos, rule in enumerate(rules):
            if rule is self.hashed:
                continue
            if type(rule).match is not Rule.match:
                self._whole.append((pos, rule))
                continue
            if not rule.enabled():
                continue  # it finds nothing anywhere: no field need be offered to it
            for pass_, classes in enumerate(rule.header_passes):
                for cls in classes:
                    self._readers[cls].append((pos, pass_, rule))
            if rule.reads_uri:
                self._uri_rules.append((pos, rule))
            if rule.reads_body:
                self._body_rules.append((pos, rule))
        # The hashed-number rule's pass for each header class it reads.
        self._digest_pass: dict[int, int] = {}
        if self.hashed is not None:
            for pass_, classes in enumerate(self.hashed.header_passes):
                self._digest_pass.update(dict.fromkeys(classes, pass_))
        self._inert_names: dict[str, bool] = {}
        # Keys: (direction, name, value) for a header field, the URI for a request URI,
        # (direction, content type, content encoding, body) for a body.
        self._memo: dict[MemoKey, Remembered] = {}
        self._memo_held = 0  # characters (bytes of bodies) of the keys remembered

    # ------------------------------------------------------------------ messages
    def scan(self, message: HttpMessage, recorder: Recorder) -> list[Finding]:
        try:
            return self._scan(message)
        except RuleFailed:
            return self.scan_by_rule(message, recorder)

    def _scan(self, message: HttpMessage) -> list[Finding]:
        direction = message.direction
        parts: list[Part] = []
        digests: list[tuple[int, int, tuple[DigestToken, ...]]] = []
        memo = self._memo
        inert = self._inert_names
        for order, (name, value) in enumerate(message.headers):
            # Two thirds of a capture's fields are of a class no selected rule reads (Date,
            # Content-Length, …): known by their name, whatever their value.
            if (known := inert.get(name)) or (known is None and self._inert(name)):
                continue
            got = memo.get((direction, name, value))
            if got is None:
                got = self._field(direction, name, value)
            if got is NOTHING:
                continue
            for pos, pass_, found in got.hits:
                parts.append((pos, pass_, order, found))
            if got.digests:
                digests.append((got.digest_pass, order, got.digests))
        uri = message.uri
        if uri and direction == "request":
            got = memo.get(uri) or self._uri(uri)
            for pos, pass_, found in got.hits:
                parts.append((pos, pass_, 0, found))
            if got.digests:
                digests.append((_URI_PASS, 0, got.digests))
        body = message.body
        if body:
            # Servers send many subscribers the same script, style or API answer.
            key = (direction, message.content_type, message.content_encoding, body)
            got = memo.get(key) or self._body(message, key)
            for pos, pass_, found in got.hits:
                parts.append((pos, pass_, 0, found))
            if got.digests:
                digests.append((_BODY_PASS, 0, got.digests))
        if self._whole:
            view = MessageView(message, self.context.max_decoded_body_bytes)
            for pos, rule in self._whole:
                found = _run(rule, rule.match, view, self.context)
                if found:
                    parts.append((pos, 0, 0, found))
        if digests and self.hashed is not None:
            digests.sort(key=_DIGEST_ORDER)
            self.hashed.keep(message, [token for _, _, tokens in digests for token in tokens])
        if not parts:
            return []
        return _findings(parts, message.message_id)

    def scan_by_rule(self, message: HttpMessage, recorder: Recorder) -> list[Finding]:
        """`scan` by its definition: each rule's `match` in turn (for a message on which a
        rule raised: the error is recorded and the other rules still run)."""
        view = MessageView(message, self.context.max_decoded_body_bytes)
        best: dict[tuple[str, str, str, str], Finding] = {}
        for rule in self.rules:
            try:
                for finding in rule.match(view, self.context):
                    key = (finding.where, finding.field, finding.kind, finding.identifier)
                    kept = best.get(key)
                    if kept is None or RANK[finding.confidence] > RANK[kept.confidence]:
                        best[key] = finding
            except Exception as exc:  # a bug in one rule must not stop the analysis
                if self.strict:
                    raise
                recorder.add(
                    "RULE_ERROR",
                    f"{rule.id}: {type(exc).__name__}: {exc}",
                    frame=message.frame_last,
                    har_entry=message.har_entry,
                    line=message.line,
                    flow_id=message.endpoints.flow_id,
                )
        return list(best.values())

    # ------------------------------------------------------------------ single fields
    def scan_header(
        self,
        direction: str,
        name: str,
        value: str,
        *,
        ref: MessageRef | None = None,
        recorder: Recorder | None = None,
    ) -> list[Finding]:
        """The findings in one header field: what `scan` reports for a message that has
        this field alone (no URI, no body).

        ref: the message the field belongs to: its id goes in the findings (TEMPLATE_ID
        without), and a request's digest-shaped tokens are kept as candidates for the
        hashed-number match at the end of the analysis (none are kept without a ref).
        recorder: where a rule's error goes (RULE_ERROR); without one, or when strict, the
        rule's exception is raised.
        """
        inert = self._inert_names.get(name)
        if inert or (inert is None and self._inert(name)):
            return []
        try:
            got = self._memo.get((direction, name, value)) or self._field(direction, name, value)
        except RuleFailed as failed:
            got = self._field_by_rule(direction, name, value, failed, ref, recorder)
        return self._single(got, ref)

    def scan_uri(
        self,
        direction: str,
        uri: str,
        *,
        ref: MessageRef | None = None,
        recorder: Recorder | None = None,
    ) -> list[Finding]:
        """The findings in a request URI (query parameters, path segments): what `scan`
        reports for a request that has this URI and no header or body. A response's URI is
        its request's, never read again: nothing. `ref` and `recorder` as for `scan_header`."""
        if not uri or direction != "request":
            return []
        try:
            got = self._memo.get(uri) or self._uri(uri)
        except RuleFailed as failed:
            got = self._uri_by_rule(uri, failed, ref, recorder)
        return self._single(got, ref)

    def _single(self, got: Remembered, ref: MessageRef | None) -> list[Finding]:
        if ref is not None and got.digests and self.hashed is not None:
            self.hashed.keep(ref, got.digests)
        if not got.hits:
            return []
        return _findings([(pos, pass_, 0, found) for pos, pass_, found in got.hits], _message_id(ref))

    # ------------------------------------------------------------------ the memo
    def _field(self, direction: str, name: str, value: str) -> Remembered:
        """Read one header field with every rule, and remember it. RuleFailed if a rule raises."""
        got = self._read_field(direction, name, value, skip=())
        self._remember((direction, name, value), got, len(name) + len(value))
        return got

    def _inert(self, name: str) -> bool:
        """Whether no selected rule reads a header of this name (remembered per name)."""
        if len(self._inert_names) >= catalog.NAME_CACHE_SIZE:
            self._inert_names.clear()
        cls = header_class(name)[0]
        inert = not self._readers[cls] and cls not in self._digest_pass
        self._inert_names[name] = inert
        return inert

    def _read_field(self, direction: str, name: str, value: str, *, skip: Sequence[Rule]) -> Remembered:
        cls, entry, guess = header_class(name)
        hits = []
        digests: tuple[DigestToken, ...] = ()
        digest_pass = self._digest_pass.get(cls)
        hashed = self.hashed
        rule: Rule | None = None
        try:  # one try for all the rules: a field costs no call per rule beyond the rule's own
            for pos, pass_, rule in self._readers[cls]:
                if skip and rule in skip:
                    continue
                found = tuple(rule.header_findings(TEMPLATE_ID, name, value, cls, entry, guess, self.context))
                if found:
                    hits.append((pos, pass_, found))
            if digest_pass is not None and direction == "request" and hashed is not None and hashed not in skip:
                rule = hashed
                digests = tuple(hashed.header_tokens(name, value, cls))
        except Exception as exc:  # a bug in one rule: the message is scanned rule by rule
            if rule is None:
                raise  # not a rule's: the engine's own, to be seen
            raise RuleFailed(rule, exc) from exc
        if not hits and not digests:
            return NOTHING
        return Remembered(tuple(hits), digest_pass or 0, digests)

    def _uri(self, uri: str) -> Remembered:
        """Read one request URI with every rule, and remember it. RuleFailed if a rule raises."""
        got = self._read_uri(uri, skip=())
        self._remember(uri, got, len(uri))
        return got

    def _read_uri(self, uri: str, *, skip: Sequence[Rule]) -> Remembered:
        hits = []
        for pos, rule in self._uri_rules:
            if rule in skip:
                continue
            found = _run(rule, rule.uri_findings, TEMPLATE_ID, uri, self.context)
            if found:
                hits.append((pos, _URI_PASS, found))
        digests: tuple[DigestToken, ...] = ()
        if self.hashed is not None and self.hashed not in skip:
            digests = _run(self.hashed, self.hashed.uri_tokens, uri)
        if not hits and not digests:
            return NOTHING
        return Remembered(tuple(hits), _URI_PASS, digests)

    def _body(self, message: HttpMessage, key: MemoKey) -> Remembered:
        """Read a (non-empty) body with every rule, and remember it. RuleFailed if a rule raises."""
        view = MessageView(message, self.context.max_decoded_body_bytes)
        hits = []
        for pos, rule in self._body_rules:
            found = _run(rule, rule.body_findings, view, self.context)
            if found:
                hits.append((pos, _BODY_PASS, found))
        digests: tuple[DigestToken, ...] = ()
        if self.hashed is not None and message.direction == "request":
            digests = _run(self.hashed, self.hashed.body_tokens, view)
        got = Remembered(tuple(hits), _BODY_PASS, digests) if hits or digests else NOTHING
        if len(message.body) <= MEMO_BODY_BYTES:
            self._remember(key, got, len(message.body))
        return got

    def _remember(self, key: MemoKey, got: Remembered, chars: int) -> None:
        if chars > self.memo_chars or self.memo_size <= 0:
            return
        if len(self._memo) >= self.memo_size or self._memo_held + chars > self.memo_chars:
            # Emptied rather than evicted one by one: an LRU's bookkeeping would cost every
            # look-up, and what a capture repeats comes back within a few messages.
            self._memo.clear()
            self._memo_held = 0
        self._memo[key] = got
        self._memo_held += chars

    # ------------------------------------------------------------------ a rule failed
    def _field_by_rule(
        self,
        direction: str,
        name: str,
        value: str,
        failed: RuleFailed,
        ref: MessageRef | None,
        recorder: Recorder | None,
    ) -> Remembered:
        """A field on which a rule raised: the error recorded, the other rules read (not remembered)."""
        skip = [failed.rule]
        while True:
            self._rule_error(failed, ref, recorder)
            try:
                return self._read_field(direction, name, value, skip=skip)
            except RuleFailed as again:
                failed = again
                skip.append(again.rule)

    def _uri_by_rule(
        self, uri: str, failed: RuleFailed, ref: MessageRef | None, recorder: Recorder | None
    ) -> Remembered:
        skip = [failed.rule]
        while True:
            self._rule_error(failed, ref, recorder)
            try:
                return self._read_uri(uri, skip=skip)
            except RuleFailed as again:
                failed = again
                skip.append(again.rule)

    def _rule_error(self, failed: RuleFailed, ref: MessageRef | None, recorder: Recorder | None) -> None:
        if self.strict or recorder is None:
            raise failed.error
        recorder.add(
            "RULE_ERROR",
            f"{failed.rule.id}: {type(failed.error).__name__}: {failed.error}",
            frame=ref.frame_last if ref else None,
            har_entry=ref.har_entry if ref else None,
            line=ref.line if ref else None,
            flow_id=ref.endpoints.flow_id if ref else None,
        )

    @property
    def digest_candidates(self) -> list[DigestCandidate]:
        return self.hashed.candidates if self.hashed is not None else []

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)


def _run(rule: Rule, method: Callable[..., Iterable[Any]], *args: object) -> tuple[Any, ...]:
    """A rule's method's results as a tuple; RuleFailed if it raises."""
    try:
        return tuple(method(*args))
    except Exception as exc:  # a bug in one rule: `scan` redoes the message rule by rule
        raise RuleFailed(rule, exc) from exc


def _message_id(ref: MessageRef | None) -> int:
    return ref.message_id if ref is not None else TEMPLATE_ID


def _findings(parts: list[Part], message_id: int) -> list[Finding]:
    """Findings in `Rule.match` order (rule, pass, wire order), de-duplicated, with the message's id."""
    parts.sort(key=_ORDER)
    best: dict[tuple[str, str, str, str], Finding] = {}
    for _, _, _, found in parts:
        for finding in found:
            key = (finding.where, finding.field, finding.kind, finding.identifier)
            kept = best.get(key)
            if kept is None or RANK[finding.confidence] > RANK[kept.confidence]:
                best[key] = finding
    return [f if f.message_id == message_id else Finding(message_id, *_NOT_ID(f)) for f in best.values()]


def registry() -> Registry:
    return build_registry()


def build_detector(options: Options) -> Detector:
    """The detector an analysis with these options runs (UsageError for a bad selection)."""
    reg = build_registry()
    rules, decoder_ids = reg.select(options.rules)
    decoders = [d for d in reg.decoders.values() if isinstance(d, Decoder) and d.id in decoder_ids]
    watchlist = Watchlist(options.watchlist, options.region) if options.watchlist else None
    for rule in rules:
        if isinstance(rule, WatchlistRule):
            rule.watchlist = watchlist
    context = Context(
        region=options.region, decoders=decoders, max_decoded_body_bytes=options.limits.max_decoded_body_bytes
    )
    return Detector(
        rules,
        context,
        strict=options.strict,
        memo_size=options.limits.detection_memo_fields,
        memo_chars=options.limits.detection_memo_chars,
    )
