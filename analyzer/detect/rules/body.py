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
from analyzer.detect.view import MessageView, field_kind
from analyzer.model import Finding

NUMBER_IN_TEXT = re.compile(r"(?<![\d+])\+?\d{7,16}(?!\d)")
# What may stand between a printed name and its value: `name: v`, `name=v`, `"name": "v"`,
# `<td>name</td><td>v`, `<dt>name</dt><dd>v`, `HTTP_NAME => v`. Anchored at the window's end.
ECHO_NAME = re.compile(
    r"([A-Za-z][A-Za-z0-9_.-]{1,60})"
    r"(?:[\"']?\s{0,4}(?::|=>?)\s{0,4}[\"']?|\s{0,4}</t[dh]>\s{0,4}<t[dh][^>]{0,40}>\s{0,4}"
    r"|\s{0,4}</dt>\s{0,4}<dd[^>]{0,40}>\s{0,4}|\s{0,4}</b>\s{0,4}:?\s{0,4})\Z"
)
ECHO_WINDOW = 120
# Candidates looked at per body: a body that is a list of ten thousand numbers is not a
# leak of ten thousand subscribers, and must not take ten thousand lookups.
MAX_TEXT_CANDIDATES = 500


class BodyFieldRule(Rule):
    id = "body-fields"
    description = "form and JSON body fields: names such as msisdn/phone, or any valid mobile number"
    surfaces = ("body",)

    def match(self, view: MessageView, ctx: Context) -> Iterable[Finding]:
        if not view.message.body:
            return
        mid = view.message.message_id
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
            else:
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

    def match(self, view: MessageView, ctx: Context) -> Iterable[Finding]:
        if not view.message.body:
            return
        text = view.body_text
        mid = view.message.message_id
        fields_read = bool(view.body_fields)
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
        bare: list[Finding] = []
        for count, m in enumerate(NUMBER_IN_TEXT.finditer(text)):
            if count >= MAX_TEXT_CANDIDATES:
                break
            window = text[max(0, m.start() - ECHO_WINDOW) : m.start()]
            echo = ECHO_NAME.search(window)
            name = echo.group(1) if echo else ""
            entry = lookup(name) if name else None
            if entry is not None and entry.kind in IDENTITY_KINDS:
                found += ctx.findings_in(
                    mid,
                    m.group(0),
                    where="body",
                    field=name,
                    expect=str(entry.kind),
                    cue="echo",
                    why=f"{entry.name} printed next to it (a header-echo page?)",
                    rule=self.id,
                )
            elif name and (cue := field_kind(name)) is not None:
                found += ctx.findings_in(
                    mid,
                    m.group(0),
                    where="body",
                    field=name,
                    expect=cue[0],
                    cue="echo",
                    why=f"printed as {cue[1]}",
                    rule=self.id,
                )
            elif not fields_read:
                bare += ctx.findings_in(
                    mid,
                    m.group(0),
                    where="body",
                    field=name or "text",
                    expect=None,
                    cue=None,
                    why="a valid mobile number in the body",
                    rule=self.id,
                )
        named = {f.identifier for f in found}
        yield from found
        yield from (f for f in bare if f.identifier not in named)
