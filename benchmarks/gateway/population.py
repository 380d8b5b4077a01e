"""Who is on the synthetic Gi link: subscribers behind the gateway (with stable numbers,
IMSIs and tracking tokens) and the servers they talk to, by name.

Everything is drawn from one seeded `random.Random` in a fixed order, so the same seed
gives the same population. Numbers use ranges that `phonenumbers` accepts as valid mobile
numbers (checked by tests/benchmarks/test_generator.py), so a detector that validates
numbers sees them as real ones.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field

# (E.164 prefix without +, digits after it) per country; all valid mobile ranges.
NUMBER_RANGES: dict[str, list[tuple[str, int]]] = {
    "GB": [("4474", 8), ("4475", 8), ("4478", 8), ("44771", 7), ("44772", 7), ("44773", 7), ("44792", 7), ("44795", 7)],
    "DE": [("49170", 7), ("49171", 7), ("49172", 7), ("49175", 7), ("49176", 8), ("49151", 8)],
    "IT": [("3932", 8), ("3933", 8), ("3934", 8), ("3939", 8)],
    "AR": [(f"54911{d}", 7) for d in "2345678"] + [(f"549351{d}", 6) for d in "23456789"],
    "US": [("1202555", 4)],  # not sent in headers: Verizon sent an opaque X-UIDH instead
}


@dataclass(frozen=True)
class Operator:
    """A mobile operator's gateway and how it enriches requests (header names, value forms)."""

    name: str
    country: str
    weight: float
    mcc_mnc: str
    headers: tuple[str, ...]  # templates: "name: {msisdn}", "{imsi}", "{uidh}"


# The header names are the ones documented in header-enrichment studies (Mulliner 2010,
# the 2012 O2 UK incident, Verizon's UIDH in 2014); spellings and case vary as on the wire.
OPERATORS: tuple[Operator, ...] = (
    Operator("uk-openwave", "GB", 0.20, "23410", ("x-up-calling-line-id: {msisdn}",)),
    Operator("uk-msisdn", "GB", 0.08, "23430", ("X-MSISDN: {msisdn}",)),
    Operator("uk-netinfo", "GB", 0.06, "23433", ("x-network-info: GPRS,{msisdn},unsecured",)),
    Operator("uk-nokia", "GB", 0.08, "23415", ("x-nokia-msisdn: {msisdn}", "x-nokia-imsi: {imsi}")),
    Operator("uk-wap", "GB", 0.06, "23420", ("x-wap-network-client-msisdn: {msisdn}",)),
    Operator("de-msisdn", "DE", 0.14, "26201", ("x-msisdn: {msisdn}",)),
    Operator("de-plain", "DE", 0.06, "26203", ("msisdn: {msisdn}",)),
    Operator("it-h3g", "IT", 0.12, "22299", ("x-h3g-msisdn: {msisdn}", "x-nokia-imsi: {imsi}")),
    Operator("ar-netinfo", "AR", 0.10, "722070", ("x-network-info: GPRS,{msisdn},unsecured",)),
    Operator("us-uidh", "US", 0.08, "311480", ("X-UIDH: {uidh}",)),
)

USER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (Linux; U; Android 2.3.6; en-gb; GT-S5830 Build/GINGERBREAD) AppleWebKit/533.1 "
    "(KHTML, like Gecko) Version/4.0 Mobile Safari/533.1",
    "Mozilla/5.0 (Linux; U; Android 4.0.4; en-gb; GT-I9300 Build/IMM76D) AppleWebKit/534.30 "
    "(KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
    "Mozilla/5.0 (Linux; Android 4.1.2; GT-I9100 Build/JZO54K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/30.0.1599.92 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 5_0_1 like Mac OS X) AppleWebKit/534.46 (KHTML, like Gecko) "
    "Version/5.1 Mobile/9A405 Safari/7534.48.3",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 6_1_3 like Mac OS X) AppleWebKit/536.26 (KHTML, like Gecko) "
    "Version/6.0 Mobile/10B329 Safari/8536.25",
    "Mozilla/5.0 (iPad; CPU OS 5_1 like Mac OS X) AppleWebKit/534.46 (KHTML, like Gecko) Version/5.1 "
    "Mobile/9B176 Safari/7534.48.3",
    "Opera/9.80 (J2ME/MIDP; Opera Mini/7.1.32052/29.3417; U; en) Presto/2.8.119 Version/11.10",
    "Opera/9.80 (Android; Opera Mini/7.5.33361/31.1448; U; de) Presto/2.8.119 Version/11.1010",
    "Nokia6300/2.0 (07.21) Profile/MIDP-2.0 Configuration/CLDC-1.1",
    "Mozilla/5.0 (Symbian/3; Series60/5.2 NokiaN8-00/012.002; Profile/MIDP-2.1 Configuration/CLDC-1.1 ) "
    "AppleWebKit/533.4 (KHTML, like Gecko) NokiaBrowser/7.3.0 Mobile Safari/533.4 3gpp-gba",
    "BlackBerry9700/5.0.0.862 Profile/MIDP-2.1 Configuration/CLDC-1.1 VendorID/331 UNTRUSTED/1.0",
    "Mozilla/5.0 (compatible; MSIE 9.0; Windows Phone OS 7.5; Trident/5.0; IEMobile/9.0; NOKIA; Lumia 800)",
    "Dalvik/1.6.0 (Linux; U; Android 4.0.4; GT-I9300 Build/IMM76D)",
    "WhatsApp/2.8.4 Android/4.0.4 Device/samsung-GT-I9300",
    "Mozilla/5.0 (Windows NT 6.1; rv:9.0.1) Gecko/20100101 Firefox/9.0.1",  # a tethered laptop
)

LANGUAGES = {"GB": "en-GB,en;q=0.8", "DE": "de-DE,de;q=0.8,en;q=0.6", "IT": "it-IT,it;q=0.8,en;q=0.6"}
LANGUAGES |= {"AR": "es-AR,es;q=0.8,en;q=0.5", "US": "en-US,en;q=0.8"}

TLDS = {"GB": ("co.uk", "com", "net"), "DE": ("de", "com"), "IT": ("it", "com"), "AR": ("com.ar", "com")}
TLDS |= {"US": ("com", "net", "org")}
WORDS: list[str] = [
    *("news", "daily", "sport", "mail", "shop", "tv", "radio", "music", "games", "weather", "travel", "auto"),
    *("home", "style", "tech", "mobile", "chat", "photo", "video", "maps", "jobs", "money", "bet", "food"),
    *("city", "live", "star", "info", "portal", "click", "web", "zone", "world", "planet", "express", "times"),
    *("post", "mirror", "herald", "local", "deals", "club", "fan", "film", "book", "kids", "health", "garden"),
    *("pets", "cook", "market", "trade", "social", "blog", "forum", "net", "cloud", "media", "press", "smart"),
    *("fast", "top", "best", "my", "go", "get", "one", "red", "blue", "sun", "moon"),
]
AD_WORDS = ("ads", "adserv", "pixel", "stats", "metrics", "track", "beacon", "banner", "count", "tag")


@dataclass
class Subscriber:
    index: int
    ip: bytes
    ip_text: str
    operator: Operator
    user_agent: str
    language: str
    msisdn: str  # E.164 digits without '+'
    imsi: str
    uidh: str
    enrichment: list[tuple[str, str]] = field(default_factory=list)
    identifiers: list[tuple[str, str]] = field(default_factory=list)  # (kind, truth value)
    next_port: int = 0
    seed: int = 0


@dataclass
class Server:
    name: str
    ip: bytes
    ip_text: str
    kind: str  # site, assets, ads, download, tls, dns
    site_country: str
    software: str
    assets: Server | None = None  # a site's img./static. host, if it has one
    rtt_us: int = 20_000  # round trip from the tap to the server and back


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choices("0123456789", k=count))


def make_subscriber(rng: random.Random, index: int, operator: Operator) -> Subscriber:
    # Private client addresses as a GGSN hands them out: 10.0.0.0/8, one per subscriber
    # (index spread over the /8 so the set looks like a big pool, not a dense block).
    # 40503 is prime to 0xFFFFFE, so distinct indexes give distinct addresses; 1..0xFFFFFE
    # avoids only the network and broadcast addresses of the /8.
    spread = (index * 40503 + 257) % 0xFFFFFE + 1
    ip = bytes((10, spread >> 16, (spread >> 8) & 0xFF, spread & 0xFF))
    prefix, rest = rng.choice(NUMBER_RANGES[operator.country])
    msisdn = prefix + _digits(rng, rest)
    imsi = operator.mcc_mnc + _digits(rng, 15 - len(operator.mcc_mnc))
    # Verizon's UIDH looked like base64 of ~42 bytes: an opaque, stable per-line token.
    uidh = base64.b64encode(rng.randbytes(42)).decode("ascii")
    values = {"msisdn": msisdn, "imsi": imsi, "uidh": uidh}
    sub = Subscriber(
        index=index,
        ip=ip,
        ip_text=".".join(map(str, ip)),
        operator=operator,
        user_agent=rng.choice(USER_AGENTS),
        language=LANGUAGES[operator.country],
        msisdn=msisdn,
        imsi=imsi,
        uidh=uidh,
        next_port=rng.randrange(32768, 60000),
        seed=rng.getrandbits(40),
    )
    for template in operator.headers:
        name, _, value = template.partition(": ")
        sub.enrichment.append((name, value.format(**values)))
        for kind in ("msisdn", "imsi", "uidh"):
            if "{" + kind + "}" in value:
                sub.identifiers.append((kind, "+" + msisdn if kind == "msisdn" else values[kind]))
    return sub


def make_subscribers(rng: random.Random, count: int) -> list[Subscriber]:
    weights = [op.weight for op in OPERATORS]
    return [make_subscriber(rng, i, rng.choices(OPERATORS, weights)[0]) for i in range(count)]


class AddressPlan:
    """Server addresses from the documentation ranges (RFC 5737 TEST-NET-1..3) and the
    benchmarking range 198.18.0.0/15 (RFC 2544), so no real host is named."""

    def __init__(self, rng: random.Random) -> None:
        blocks = [(192, 0, 2), (198, 51, 100), (203, 0, 113)] + [(198, 18 + i // 256, i % 256) for i in range(512)]
        self.free = [bytes((a, b, c, d)) for a, b, c in blocks for d in range(1, 255)]
        rng.shuffle(self.free)

    def take(self) -> bytes:
        return self.free.pop()


def _unique_domain(rng: random.Random, tlds: tuple[str, ...], taken: set[str], words: tuple[str, ...]) -> str:
    while True:
        name = rng.choice(words) + rng.choice(WORDS)
        domain = f"{name}.{rng.choice(tlds)}"
        if domain not in taken:
            taken.add(domain)
            return domain


def make_servers(rng: random.Random, plan: AddressPlan, sites: int, tls: int) -> dict[str, list[Server]]:
    """Sites (www/m host and often an img/static host), ad/analytics hosts, download
    hosts, TLS-only hosts and DNS resolvers, each with its own address."""
    taken: set[str] = set()
    countries = list(TLDS)
    software = ("Apache/2.2.22 (Ubuntu)", "nginx/1.0.15", "Microsoft-IIS/7.5", "Apache", "nginx", "lighttpd/1.4.28")
    out: dict[str, list[Server]] = {"site": [], "assets": [], "ads": [], "download": [], "tls": [], "dns": []}

    def server(name: str, kind: str, country: str) -> Server:
        ip = plan.take()
        # Servers abroad are further from a UK/DE/IT/AR gateway than local ones.
        rtt = int(rng.uniform(2, 25) * 1000) if rng.random() < 0.6 else int(rng.uniform(25, 180) * 1000)
        return Server(name, ip, ".".join(map(str, ip)), kind, country, rng.choice(software), rtt_us=rtt)

    words = tuple(WORDS)
    for _ in range(sites):
        country = rng.choice(countries)
        domain = _unique_domain(rng, TLDS[country], taken, words)
        site = server(("m." if rng.random() < 0.3 else "www.") + domain, "site", country)
        out["site"].append(site)
        if rng.random() < 0.6:
            site.assets = server(rng.choice(("img.", "static.", "cdn.", "i.")) + domain, "assets", country)
            out["assets"].append(site.assets)
    for _ in range(max(4, sites // 12)):
        domain = _unique_domain(rng, ("com", "net"), taken, AD_WORDS)
        out["ads"].append(server(rng.choice(("", "ad.", "t.", "p.")) + domain, "ads", "US"))
    for _ in range(max(2, sites // 30)):
        out["download"].append(server("dl." + _unique_domain(rng, ("com", "net"), taken, words), "download", "US"))
    for _ in range(tls):
        domain = _unique_domain(rng, ("com", "net", "co.uk", "de"), taken, words)
        out["tls"].append(server(rng.choice(("www.", "api.", "secure.", "login.")) + domain, "tls", "US"))
    for _ in range(4):
        out["dns"].append(server("resolver", "dns", "GB"))
    return out
