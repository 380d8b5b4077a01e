"""Access log format strings → line parsers, for nginx `log_format`, Apache `LogFormat` and
Squid `logformat`, plus the presets lineid recognises without being told.

Strategy: a format string is cut into literals and fields; each field gets a *role* (what
it says about the HTTP exchange: client address, time, request line, a request header…)
and a regular-expression group chosen from its context, so one compiled regex splits a
whole line in C. A field between double quotes takes the quoted-string pattern, which
skips escaped characters: nginx writes `"`, `\\` and bytes outside 0x20-0x7e as `\\xHH`
(ngx_http_log_module, escape=default), Apache writes `\\"`, `\\\\`, C escapes and `\\xhh`
(mod_log_config, since 2.0.46), Squid's quoted encoding `\\"`, `\\\\`, `\\r\\n\\t`. Those
three never contradict each other, so one unescape (`unescape_clf`) reads all of them.

Values the writers put for "nothing" (`-`) mean the header was absent. Fields that say
nothing about the request or response (process ids, durations, upstream timings) get the
role IGNORED; a format can always be read, only its headers and request line are used.

Accepted as `--log-format`: a preset name (`PRESETS`), a format string (`flavour:` prefix
optional: `nginx:`, `apache:`, `squid:`; otherwise told apart by its `$variables` or
`%codes`), or the whole directive as the config file has it (`log_format main escape=json
'…' '…';`, `LogFormat "…" combined`, `logformat name …`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from analyzer.errors import UsageError

# Roles: what a field's value is.
CLIENT_IP, CLIENT_PORT, SERVER_IP, SERVER_PORT = "client_ip", "client_port", "server_ip", "server_port"
SERVER_NAME = "server_name"
TIME_CLF, TIME_ISO, TIME_EPOCH, TIME_EPOCH_MS, TIME_EPOCH_US, TIME_SUBSEC_MS = (
    "time_clf",
    "time_iso",
    "time_epoch",
    "time_epoch_ms",
    "time_epoch_us",
    "time_subsec_ms",
)
REQUEST_LINE, METHOD, URI, PATH, QUERY, VERSION = "request_line", "method", "uri", "path", "query", "version"
STATUS, BODY_BYTES, CONTENT_TYPE = "status", "body_bytes", "content_type"
REQUEST_HEADER, RESPONSE_HEADER, COOKIE = "request_header", "response_header", "cookie"
ALL_REQUEST_HEADERS, ALL_RESPONSE_HEADERS = "all_request_headers", "all_response_headers"
CONNECTION, CONNECTION_REQUESTS, IGNORED = "connection", "connection_requests", "ignored"
TIME_ROLES = frozenset({TIME_CLF, TIME_ISO, TIME_EPOCH, TIME_EPOCH_MS, TIME_EPOCH_US})

# Escapes: how a field's value was written.
CLF, JSON, RAW, URL = "clf", "json", "raw", "url"

# One group for a quoted value: any character but `"` and `\`, or `\` and the character it
# escapes (Friedl's unrolled loop: no backtracking between alternatives).
QUOTED = r'([^"\\]*(?:\\.[^"\\]*)*)'
# For lines without `\\"`, where no quoted value can hold a quote: three times faster.
FAST_QUOTED = r'([^"]*)'
# The same for logs with raw quotes inside values (nginx before 0.7.0, escape=none,
# Apache before 2.0.46): the split is a guess, tried only when the strict regex fails.
LOOSE_QUOTED = r"(.*?)"
BRACKETED = r"([^\]]*)"
CLF_TIME = r"(\d{1,2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})"


@dataclass(frozen=True, slots=True)
class Field:
    role: str
    name: str | None = None  # header or cookie name, as the format spells it
    code: str = ""  # the directive as written: $http_x_msisdn, %{X-MSISDN}i, %{X-MSISDN}>h
    escape: str = CLF


@dataclass(frozen=True, slots=True)
class LogFormat:
    """A compiled format: its fields (one regex group each, in order) and its regexes.

    `regex` groups: one per field, then one for text after the last field (`None` when
    the line ends where the format does)."""

    name: str  # preset name, or "custom"
    flavour: str  # nginx | apache | squid
    text: str
    fields: tuple[Field, ...]
    regex: re.Pattern[str]
    loose: re.Pattern[str] | None  # None: the format has no quoted field
    fast: re.Pattern[str]  # `regex` with quoted fields as `[^"]*`: for lines without `\\"`

    def describe(self) -> str:
        what = self.name if self.name != "custom" else f"the given {self.flavour} format"
        return f"{what} ({self.text})"


# --------------------------------------------------------------------------- nginx
_NGINX_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_NGINX_ROLES = {
    "remote_addr": CLIENT_IP,
    "remote_port": CLIENT_PORT,
    "server_addr": SERVER_IP,
    "server_port": SERVER_PORT,
    "host": SERVER_NAME,  # Host header without port, else the request line's host, else server_name
    "time_local": TIME_CLF,
    "time_iso8601": TIME_ISO,
    "msec": TIME_EPOCH,
    "request": REQUEST_LINE,
    "request_method": METHOD,
    "request_uri": URI,  # the target as sent, with arguments
    "uri": PATH,  # normalised (decoded, merged slashes), without arguments
    "document_uri": PATH,
    "args": QUERY,
    "query_string": QUERY,
    "server_protocol": VERSION,
    "status": STATUS,
    "body_bytes_sent": BODY_BYTES,
    "connection": CONNECTION,
    "connection_requests": CONNECTION_REQUESTS,
}
# $content_type and $content_length are the request's headers (ngx_http_core_module).
_NGINX_REQUEST_HEADER_VARS = {"content_type": "content-type", "content_length": "content-length"}


def _nginx_field(var: str, escape: str) -> Field:
    code = "$" + var
    if var.startswith("http_"):
        # nginx lower-cases the name and turns '-' into '_'; the spelling on the wire is lost.
        return Field(REQUEST_HEADER, var[5:].replace("_", "-"), code, escape)
    if var.startswith("sent_http_"):
        return Field(RESPONSE_HEADER, var[10:].replace("_", "-"), code, escape)
    if var.startswith("cookie_"):
        return Field(COOKIE, var[7:], code, escape)
    if var in _NGINX_REQUEST_HEADER_VARS:
        return Field(REQUEST_HEADER, _NGINX_REQUEST_HEADER_VARS[var], code, escape)
    return Field(_NGINX_ROLES.get(var, IGNORED), None, code, escape)


def _tokens_nginx(text: str, escape: str) -> list[str | Field]:
    out: list[str | Field] = []
    pos = 0
    for m in _NGINX_VAR.finditer(text):
        out.append(text[pos : m.start()])
        out.append(_nginx_field(m.group(1) or m.group(2), escape))
        pos = m.end()
    out.append(text[pos:])
    return out


# --------------------------------------------------------------------------- Apache
_APACHE_DIRECTIVE = re.compile(
    r"%(?P<mods>[!<>0-9,]*)(?:\{(?P<arg>[^}]*)\})?(?P<mods2>[<>]?)(?P<code>\^t[io]|[a-zA-Z%])"
)
_APACHE_ROLES = {
    "a": CLIENT_IP,
    "h": CLIENT_IP,  # a name instead with HostnameLookups on: then no client_ip
    "A": SERVER_IP,
    "r": REQUEST_LINE,
    "m": METHOD,
    "U": PATH,
    "q": QUERY,  # '?' and the query string, or nothing
    "H": VERSION,
    "s": STATUS,
    "b": BODY_BYTES,
    "B": BODY_BYTES,
    "V": SERVER_NAME,  # per UseCanonicalName: the Host header's name by default
}
_APACHE_TIME_ARGS = {"sec": TIME_EPOCH, "msec": TIME_EPOCH_MS, "usec": TIME_EPOCH_US}
_CONFIG_ESCAPES = {'\\"': '"', "\\\\": "\\", "\\t": "\t", "\\n": "\n"}


def _apache_field(code: str, arg: str | None, written: str) -> Field:
    if code == "i" and arg:
        return Field(REQUEST_HEADER, arg, written)
    if code == "o" and arg:
        return Field(RESPONSE_HEADER, arg, written)
    if code == "C" and arg:
        return Field(COOKIE, arg, written)
    if code == "t":
        if not arg:
            return Field(TIME_CLF, None, written)
        unit = arg.removeprefix("begin:").removeprefix("end:")
        # strftime forms (%{%d/%b/%Y %T}t) are local time without a zone more often than
        # not; they are not read rather than read in a guessed zone.
        return Field(_APACHE_TIME_ARGS.get(unit, IGNORED), None, written)
    if code == "p":
        if arg == "remote":
            return Field(CLIENT_PORT, None, written)
        return Field(SERVER_PORT if arg in (None, "", "canonical", "local") else IGNORED, None, written)
    return Field(_APACHE_ROLES.get(code, IGNORED), None, written)


def _tokens_apache(text: str) -> list[str | Field]:
    for raw, real in _CONFIG_ESCAPES.items():  # C escapes of the config string (mod_log_config)
        text = text.replace(raw, real)
    out: list[str | Field] = []
    pos = 0
    for m in _APACHE_DIRECTIVE.finditer(text):
        out.append(text[pos : m.start()])
        if m.group("code") == "%":
            out.append("%")
        else:
            out.append(_apache_field(m.group("code"), m.group("arg"), m.group(0)))
        pos = m.end()
    out.append(text[pos:])
    return _merge_literals(out)


# --------------------------------------------------------------------------- Squid
# Format codes (squid.conf.documented, logformat), longest first so `>Hs` wins over `>h`.
_SQUID_CODES = {
    ">a": CLIENT_IP,
    ">p": CLIENT_PORT,
    "<a": SERVER_IP,  # the server or peer Squid forwarded to: who answered
    "<p": SERVER_PORT,
    "ts": TIME_EPOCH,
    "tu": TIME_SUBSEC_MS,
    "tl": TIME_CLF,
    "tg": TIME_CLF,
    ">h": REQUEST_HEADER,  # as the client sent it
    ">ha": REQUEST_HEADER,  # after adaptation: what Squid forwarded (request_header_add lands here)
    "<h": RESPONSE_HEADER,
    "Hs": STATUS,
    ">Hs": STATUS,
    "rm": METHOD,
    ">rm": METHOD,
    "ru": URI,
    ">ru": URI,
    "rp": PATH,
    ">rp": PATH,
    "rv": VERSION,
    ">rv": VERSION,
    "mt": CONTENT_TYPE,
}
_SQUID_OTHER_TEXT = (
    "<la <lp >la >lp la lp >A <A >eui >st <st st <sh >sh tr dt tt <tt <pt un ul ui us ue Ss Sh <Hs <rm <ru <rp <rv"
    " et ea sn err_code err_detail note ssl::bump_mode ssl::>sni ssl::>cert_subject"
)
_SQUID_OTHER = _SQUID_OTHER_TEXT.split()
_SQUID_CODE_ALT = "|".join(re.escape(c) for c in sorted([*_SQUID_CODES, *_SQUID_OTHER], key=len, reverse=True))
_SQUID_DIRECTIVE = re.compile(
    r"%(?P<enc>[\"\[#'/]?)-?(?P<width>0?\d*(?:\.\d+)?)(?:\{(?P<arg>[^}]*)\})?(?:http::)?"
    rf"(?P<code>{_SQUID_CODE_ALT}|%)(?:\{{(?P<arg2>[^}}]*)\}})?"
)
# Squid's encodings: `"` and `/` backslash-escape; `[` and `#` percent-encode (percent
# itself included, so decoding is exact); `'` is raw. With none, header and URL codes use
# "pass-through URL encoding", which leaves `%` alone: it cannot be undone unambiguously,
# so those values are kept as logged.
_SQUID_ENCODINGS = {'"': CLF, "/": CLF, "[": URL, "#": URL, "'": RAW, "": RAW}


def _squid_field(code: str, arg: str | None, enc: str, written: str) -> Field:
    role = _SQUID_CODES.get(code, IGNORED)
    escape = _SQUID_ENCODINGS[enc]
    if role in (REQUEST_HEADER, RESPONSE_HEADER):
        if not arg:
            # All headers, as log_mime_hdrs writes them: `[`-encoded "Name: value\r\n" lines.
            return Field(ALL_REQUEST_HEADERS if role == REQUEST_HEADER else ALL_RESPONSE_HEADERS, None, written, URL)
        return Field(role, arg.split(":", 1)[0], written, escape)  # {Name:element} logs a list element
    if role == TIME_CLF and arg:
        role = IGNORED  # a strftime form: see _apache_field
    return Field(role, None, written, escape)


def _tokens_squid(text: str) -> list[str | Field]:
    out: list[str | Field] = []
    pos = 0
    for m in _SQUID_DIRECTIVE.finditer(text):
        out.append(text[pos : m.start()])
        if m.group("code") == "%":
            out.append("%")
        else:
            arg = m.group("arg") if m.group("arg") is not None else m.group("arg2")
            out.append(_squid_field(m.group("code"), arg, m.group("enc"), m.group(0)))
        pos = m.end()
    out.append(text[pos:])
    return _merge_literals(out)


# --------------------------------------------------------------------------- compiling
def _merge_literals(tokens: list[str | Field]) -> list[str | Field]:
    out: list[str | Field] = []
    for token in tokens:
        if isinstance(token, str) and out and isinstance(out[-1], str):
            out[-1] += token
        else:
            out.append(token)
    return out


def _literal(text: str) -> str:
    # Runs of spaces match runs of spaces: Squid pads fields to their width (%6tr).
    return "".join(" +" if part.isspace() and " " in part else re.escape(part) for part in re.split(r"( +)", text))


def _pattern(field: Field, before: str, after: str, flavour: str, quoted: str) -> str:
    if field.role == TIME_CLF and flavour == "apache":
        return r"\[" + BRACKETED + r"\]"  # %t writes its own brackets
    if before.endswith('"') and after.startswith('"'):
        return quoted
    if before.endswith("[") and after.startswith("]"):
        return BRACKETED
    if field.role == TIME_CLF:
        return CLF_TIME
    stop = after[:1]
    if not stop or stop.isspace():
        return r"(\S*)"
    return r"([^\s" + re.escape(stop) + r"]*)"


def _regex(tokens: list[str | Field], flavour: str, quoted: str) -> str:
    parts = ["^"]
    for i, token in enumerate(tokens):
        if isinstance(token, str):
            parts.append(_literal(token))
            continue
        before = tokens[i - 1] if i > 0 and isinstance(tokens[i - 1], str) else ""
        after = tokens[i + 1] if i + 1 < len(tokens) and isinstance(tokens[i + 1], str) else ""
        parts.append(_pattern(token, str(before), str(after), flavour, quoted))
    # Text after the format's last field: sites append fields to a preset; it is reported.
    # Not in the loose regex, where it would take the rest of a line cut at any raw quote
    # (the group is kept, never matching, so group numbers stay the same).
    parts.append(r"(?:(?!)(.*))?\s*$" if quoted == LOOSE_QUOTED else r"(?:\s+(.*?))?\s*$")
    return "".join(parts)


def _compile(name: str, flavour: str, text: str, escape: str = CLF) -> LogFormat:
    if flavour == "nginx":
        tokens = _merge_literals(_tokens_nginx(text, escape))
    elif flavour == "apache":
        tokens = _tokens_apache(text)
    else:
        tokens = _tokens_squid(text)
    fields = tuple(t for t in tokens if isinstance(t, Field))
    if not fields:
        raise UsageError(f"log format {text!r} has no {flavour} fields")
    strict = re.compile(_regex(tokens, flavour, QUOTED))
    loose_text = _regex(tokens, flavour, LOOSE_QUOTED)
    loose = re.compile(loose_text) if loose_text != strict.pattern else None
    return LogFormat(name, flavour, text, fields, strict, loose, re.compile(_regex(tokens, flavour, FAST_QUOTED)))


# --------------------------------------------------------------------------- presets
_NGINX_COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
)
PRESET_TEXTS: dict[str, tuple[str, str]] = {
    # NCSA combined as Apache names it; nginx's built-in `combined` has the same layout
    # and its escapes are a subset of the ones unescape_clf reads, so one preset reads both.
    "combined": ("apache", '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'),
    "common": ("apache", '%h %l %u %t "%r" %>s %b'),
    "squid": ("squid", "%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt"),
    "squid-common": ("squid", '%>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st %Ss:%Sh'),
    "squid-combined": (
        "squid",
        '%>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st "%{Referer}>h" "%{User-Agent}>h" %Ss:%Sh',
    ),
    # Named only: recognising them from lines would guess what an extra field is.
    "nginx-combined": ("nginx", _NGINX_COMBINED),
    "nginx-main": ("nginx", _NGINX_COMBINED + ' "$http_x_forwarded_for"'),
    "apache-combined": ("apache", '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"'),
    "apache-common": ("apache", '%h %l %u %t "%r" %>s %b'),
    "apache-vhost-combined": ("apache", '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"'),
    "squid-native": ("squid", "%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt"),
}
# Recognised by content, most specific first: on a tie in lines matched, the earlier wins.
RECOGNISED = ("squid-combined", "squid-common", "combined", "common", "squid")
_PRESETS: dict[str, LogFormat] = {}


def preset(name: str) -> LogFormat:
    if name not in _PRESETS:
        flavour, text = PRESET_TEXTS[name]
        _PRESETS[name] = _compile(name, flavour, text)
    return _PRESETS[name]


_NGINX_DIRECTIVE = re.compile(r"^\s*log_format\s+\S+\s+(?:escape=(\w+)\s+)?(.*?);?\s*$", re.DOTALL)
_APACHE_CONFIG = re.compile(r'^\s*(?:LogFormat|CustomLog\s+\S+)\s+"((?:[^"\\]|\\.)*)"(?:\s+\S+)?\s*$', re.DOTALL)
_SQUID_CONFIG = re.compile(r"^\s*logformat\s+\S+\s+(.*?)\s*$", re.DOTALL)
_NGINX_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|(\S+)")
_NGINX_ESCAPES = {"default": CLF, "json": JSON, "none": RAW}
_SQUID_HINT = re.compile(r"%[\"\[#'/]?-?\d*(?:\{[^}]*\})?(?:>a|>h|<h|>ha|ts|tu|tl|tg|>Hs|Hs|Ss|Sh|rm|ru|rv|<st|un|mt)")


def compile_format(spec: str) -> LogFormat:
    """A preset name, a format string or a whole config directive → LogFormat (UsageError
    if it has no field lineid knows the syntax of)."""
    spec = spec.strip()
    if spec in PRESET_TEXTS:
        return preset(spec)
    if m := _NGINX_DIRECTIVE.match(spec):
        escape = _NGINX_ESCAPES.get(m.group(1) or "default")
        if escape is None:
            raise UsageError(f"unknown nginx log_format escape={m.group(1)}")
        parts = [a or b or c or "" for a, b, c in _NGINX_STRING.findall(m.group(2))]
        text = "".join(p.replace("\\'", "'").replace('\\"', '"') for p in parts)
        return _compile("custom", "nginx", text, escape)
    if m := _APACHE_CONFIG.match(spec):
        return _compile("custom", "apache", m.group(1))
    if m := _SQUID_CONFIG.match(spec):
        return _compile("custom", "squid", m.group(1))
    flavour, sep, rest = spec.partition(":")
    if sep and flavour in ("nginx", "apache", "squid"):
        return _compile("custom", flavour, rest.strip())
    if _NGINX_VAR.search(spec) and "%" not in spec.replace("%%", ""):
        return _compile("custom", "nginx", spec)
    if _SQUID_HINT.search(spec):
        return _compile("custom", "squid", spec)
    return _compile("custom", "apache", spec)


# --------------------------------------------------------------------------- values
_BACKSLASH = re.compile(rb"\\(x[0-9A-Fa-f]{2}|.)", re.DOTALL)
_C_ESCAPES = {b"n": b"\n", b"t": b"\t", b"r": b"\r", b"b": b"\b", b"v": b"\v", b"f": b"\f"}
_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")


def _unbackslash(m: re.Match[bytes]) -> bytes:
    code = m.group(1)
    if len(code) == 3:
        return bytes((int(code[1:], 16),))
    return _C_ESCAPES.get(code, code)


def unescape_clf(value: str) -> str:
    """nginx `\\xHH`, Apache `\\"` `\\\\` `\\n` `\\xhh`, Squid quoted `\\"` `\\r` → the
    value as sent. Escaped bytes are joined before decoding, so `\\xD0\\x9F` is one
    character; bytes that are not UTF-8 come out as the text `\\xNN`, as from captures."""
    raw = _BACKSLASH.sub(_unbackslash, value.encode("utf-8", "surrogateescape"))
    return raw.decode("utf-8", "backslashreplace")


def unescape_json(value: str) -> str:
    """nginx escape=json: JSON string escapes (`\\"`, `\\u0001`)."""
    try:
        result = json.loads('"' + value + '"')
    except ValueError:
        return value
    return str(result)


def unescape_url(value: str) -> str:
    """Squid `[` and `#` encodings: `%XX` for every special byte, `%` included."""
    raw = _PERCENT.sub(lambda m: bytes((int(m.group(1), 16),)), value.encode("utf-8", "surrogateescape"))
    return raw.decode("utf-8", "backslashreplace")


UNESCAPE = {CLF: unescape_clf, JSON: unescape_json, URL: unescape_url}
