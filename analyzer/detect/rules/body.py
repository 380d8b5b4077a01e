"""Request and response bodies: form and JSON fields, and text (HTML, XML, MMS PDUs).

Header-echo pages are the canonical case: a page that prints the headers it received
(`x-up-calling-line-id: 447…`) is how the 2012 leak was noticed. Text is scanned number
first: each digit run is a candidate, and only the few characters before it are looked
at for the name it is printed with. That keeps the scan linear in the body's length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from analyzer.detect.catalog import IDENTITY_KINDS, lookup
from analyzer.detect.context import Context
from analyzer.detect.rule import Rule
from analyzer.detect.rules.headers import MMS_ADDRESS
from analyzer.detect.view import MessageView, field_kind, identity_word_positions
from analyzer.model import Finding

NUMBER_IN_TEXT = re.compile(r"(?<![\d+])\+?\d{7,16}(?!\d)")
# Characters of a printed name (header, CGI variable, JSON key, form field).
NAME_CHARS = re.compile(r"[\w.-]{1,60}")
NOT_NAME = re.compile(r"[^\w.-]")
# What may stand between a printed name and its value: `name: v`, `name=v`, `"name": "v"`,
# `<td>name</td><td>v`, `<dt>name</dt><dd>v`, PHP's print_r `[HTTP_NAME] => v` and
# phpinfo's `_SERVER["HTTP_NAME"]</td><td class="v">v`.
VALUE_AFTER_NAME = re.compile(r"(?:[\s\"':=>\]\[]|<[^<>]{0,40}>){1,12}?(\+?\d{7,16})(?!\d)")
# Identity words looked at per body, and bare numbers per request body: a body that is a
# list of ten thousand numbers is not ten thousand leaks, and must not cost that much.
MAX_TEXT_CANDIDATES = 200


class BodyFieldRule(Rule):
    id = "body-fields"
    description = "form and JSON body fields: names such as msisdn/phone, or any valid mobile number"
    surfaces = ("body",)
    reads_body = True

    def body_findings(self, view: MessageView, ctx: Context) -> Iterable[Finding]:
        if not view.body_worth_reading:
            return
        mid = view.message.message_id
        uncued = view.message.direction == "request"
        for name, value in view.body_fields:
            cue = field_kind(name) if name else None
            if cue is not None:
                yield from ctx.findings_in(
                    mid,
                    value,
                    where="body",
                    field=name,
                    expect=cue[0],
                    cue="field-name",
                    why=f"body {cue[1]}",
                    rule=self.id,
                )
            elif uncued:
                yield from ctx.findings_in(
                    mid,
                    value,
                    where="body",
                    field=name,
                    expect=None,
                    cue=None,
                    why="a valid mobile number in a body field",
                    rule=self.id,
                )


class BodyTextRule(Rule):
    id = "body-text"
    description = "numbers in body text: echoed header names (header-echo pages), MMS addresses, mobile numbers"
    surfaces = ("body",)
    reads_body = True

    def body_findings(self, view: MessageView, ctx: Context) -> Iterable[Finding]:
        if not view.body_worth_reading:
            return
        text = view.body_text
        mid = view.message.message_id
        found: list[Finding] = []
        for m in MMS_ADDRESS.finditer(text):
            found += ctx.findings_in(
                mid,
                m.group(1),
                where="body",
                field="MMS address",
                expect="msisdn",
                cue="mms-address",
                why="MMS address (/TYPE=PLMN)",
                rule=self.id,
            )
        # Names first: each identity word is widened to the whole printed name, and the
        # first number printed right after it is its value.
        lowered = view.body_lower
        for at in identity_word_positions(lowered, MAX_TEXT_CANDIDATES, view.body_keywords):
            left = text[max(0, at - 60) : at]
            start = at - len(NOT_NAME.split(left)[-1])
            name_match = NAME_CHARS.match(text, start)
            if name_match is None:
                continue
            name = name_match.group(0).strip(".-_")
            value = VALUE_AFTER_NAME.match(text, name_match.end())
            if value is None:
                continue
            number = value.group(1)
            entry = lookup(name)
            if entry is not None and entry.kind in IDENTITY_KINDS:
                found += ctx.findings_in(
                    mid,
                    number,
                    where="body",
                    field=name,
                    expect=str(entry.kind),
                    cue="echo",
                    why=f"{entry.name} printed next to it (a header-echo page?)",
                    rule=self.id,
                )
            elif (cue := field_kind(name)) is not None:
                found += ctx.findings_in(
                    mid,
                    number,
                    where="body",
                    field=name,
                    expect=cue[0],
                    cue="echo",
                    why=f"printed as {cue[1]}",
                    rule=self.id,
                )
        yield from found
        # Bare numbers (no name printed with them) only count in what the device sent: a
        # response page full of numbers says nothing about the subscriber.
        if view.message.direction != "request" or view.body_fields:
            return
        named = {f.identifier for f in found}
        for count, m in enumerate(NUMBER_IN_TEXT.finditer(text)):
            if count >= MAX_TEXT_CANDIDATES:
                break
            for finding in ctx.findings_in(
                mid,
                m.group(0),
                where="body",
                field="text",
                expect=None,
                cue=None,
                why="a valid mobile number in the body",
                rule=self.id,
            ):
                if finding.identifier not in named:
                    yield finding
