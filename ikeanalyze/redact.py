"""--redact: take out what a customer may not want to leave the building.

Redaction works on the outputs (the Diagnosis and the event table), after the rules ran, so
the diagnosis is the same one the real data gave; only the words change. One Redactor sees
every string of one report, so a value gets the same pseudonym everywhere:

* IP addresses: one pseudonym per address, in the same kind of range (RFC 1918 blocks stay
  in their block, CGNAT and link-local stay so, public addresses go to the documentation
  ranges), the /24 mapped as a whole so neighbours stay neighbours, the host octet and the
  port kept. No pseudonym equals an address of the input.
* Names: user names (XAUTH, EAP, SAML, fnbamd), certificate subjects/issuers and DN
  components, peer IDs, groups, auth servers, e-mail addresses, host names (FQDNs, the
  device prompt, FortiClient HOST=), GUIDs → `user-1`, `dn-2`, `host-3.example.net`, …
  A name learned in one line is replaced wherever it appears (`for vito in …`).
* Secrets: `ENC …` blobs (psksecret, passwords), IKE keys (SK_ei …, `key=16 …`), hex and
  base64 payloads (IKE messages, sniffer hex dumps, SAML assertions): replaced, with the
  IKE header (SPIs, exchange, message ID) kept.

Protocol words, ports, SPIs, times, counts and tunnel names stay, so the story reads the same.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from ikeanalyze.diagnosis import Diagnosis, Evidence, Finding, Moment

# --- what to find -----------------------------------------------------------------------

_IPV4 = r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\d])"
_IPV6 = r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])"
IP_RE = re.compile(f"(?P<ip>{_IPV4}|{_IPV6})")
IPV4_RE = re.compile(f"(?P<ip>{_IPV4})")  # most lines: no IPv6 to look for (see _has_v6)

# Secrets: replaced outright, never learned (they are not names a reader follows).
# (pattern, replacement); the replacement may use the groups.
SECRETS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\b(ENC)\s+[A-Za-z0-9+/=]{6,}"), r"\1 [redacted]"),
    (re.compile(r"\b(SK_(?:ei|er|ai|ar|d|pi|pr))(:?\s+)(?:\d+:)?[0-9A-Fa-f][0-9A-Fa-f-]*"), r"\1\2[key redacted]"),
    (re.compile(r"\b(key=\d+\s+)[0-9A-Fa-f]{8,}"), r"\1[key redacted]"),
    (re.compile(r"\b((?:pre-?shared[ -]?key|psksecret|passw(?:or)?d|secret)\s*[=:]\s*)\S+", re.I), r"\1[redacted]"),
    # sniffer hex dump line: keep the offset, drop the bytes (they hold addresses and payload)
    (re.compile(r"^(\s*0x[0-9a-fA-F]{4}\s).*$"), r"\1[packet bytes redacted]"),
]
# IKE messages in debug hex (`in`, `out`, `enc`, `dec`): keep the 28-byte IKE header.
IKE_HEX = re.compile(r"\b(in|out|enc|dec)(\s+)([0-9A-Fa-f]{56})([0-9A-Fa-f]{8,})")
LONG_HEX = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{64,}(?![0-9A-Za-z])")
BASE64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}")

# Names: (category, pattern with a group `v` holding the value). Tried in this order.
NAMES: list[tuple[str, re.Pattern]] = [
    ("host", re.compile(r"^(?:\s*)(?P<v>[A-Za-z0-9][\w.-]{0,34})(?: \([\w.-]+\))? [#$](?: |$)")),  # device prompt
    ("host", re.compile(r"\bset hostname \"?(?P<v>[^\"\s]+)")),
    ("host", re.compile(r"\bhostname \"(?P<v>[^\"]+)\"")),
    ("user", re.compile(r"\bXAUTH_USER_NAME '(?P<v>[^']+)'")),
    # FortiGate event-log fields (`user="vito"`, `xauthuser=`, `useralt=`, `devname=`, `devid=`);
    # `N/A` is FortiOS' empty value.
    ("user", re.compile(r'\b(?:xauth)?user(?:alt)?="(?!N/A")(?P<v>[^"]+)"')),
    ("group", re.compile(r'\b(?:xauth)?group="(?!N/A")(?P<v>[^"]+)"')),
    ("host", re.compile(r'\bdev(?:name|id)="?(?!N/A)(?P<v>[^"\s]+)')),
    ("user", re.compile(r"\b[Uu]ser(?:name)? \"(?P<v>[^\"]+)\"")),
    ("user", re.compile(r"\b[Uu]ser(?:name)? '(?P<v>[^']+)'")),
    ("user", re.compile(r"\bRcvd auth req \d+ for (?P<v>\S+) in ")),
    ("group", re.compile(r"\bRcvd auth req \d+ for \S+ in (?P<v>\S+)")),
    ("user", re.compile(r"\b(?:USER|User|user|UID|uid)\s*[=:]\s*(?P<v>[^\s,;'\"<>]+)")),
    ("user", re.compile(r"\bAuthneticating '(?P<v>[^']+)'|\bAuthenticating '(?P<v2>[^']+)'")),
    ("user", re.compile(r"\bNAME '(?P<v>[^']+)'")),
    ("user", re.compile(r"\bFCT-UID\s*[:=]\s*(?P<v>[0-9A-Fa-f]{8,})")),
    ("user", re.compile(r"\bEMS SN\s*[:=]\s*(?P<v>\w{6,})")),
    ("host", re.compile(r"\bHOST\s*=\s*(?P<v>[^\s,;'\"]+)")),
    ("host", re.compile(r"\bDOMAIN\s*=\s*(?P<v>[^\s,;'\"]+)")),
    ("peer", re.compile(r"\bpeer identifier (?!IPV[46]_ADDR)\w+ '(?P<v>[^']*)'?")),
    ("peer", re.compile(r"\b(?:peer ?id|localid|peerid|local-id|peer-id)\s*[=:]?\s*[\"'](?P<v>[^\"']+)[\"']", re.I)),
    ("dn", re.compile(r"\b(?:subject|issuer)\s*=?\s*'(?P<v>[^']*)'?")),
    ("dn", re.compile(r"\b(?:subject|issuer)\s*=\s*\"(?P<v>[^\"]*)\"?")),
    ("group", re.compile(r"\b(?:[Gg]roup|usergroup)\s+[\"'](?P<v>[^\"']+)[\"']")),
    ("group", re.compile(r"\bFortinet-Group-Name\s*'?(?P<v>[^'\s]+)")),
    ("server", re.compile(r"\b(?:server|svr)\s+'(?P<v>[^']+)'")),
    ("server", re.compile(r"\bname='(?P<v>[^']+)'")),
    ("server", re.compile(r"\bConn?ction with (?P<v>[^:\s]+):")),
    ("server", re.compile(r"\b(?:fnbamd_rad_resume|Pausing)-?\s*(?P<v>[A-Za-z][\w-]+):\d")),
    ("xml", re.compile(r"<(?:saml2?:|saml:)?(?:NameID|AttributeValue|Audience|Issuer)\b[^>]*>(?P<v>[^<]+)<")),
    ("dn", re.compile(r"\b(?:CN|OU|O|DC|L|ST|emailAddress|UID|SN|GN)\s*=\s*(?P<v>[^,/'\"=<>]+?)(?=\s*(?:,|/|'|\"|$|<))",
                      re.I)),
]
# A substring (lower case) each NAMES row needs, so the regexes only run on lines that can
# match: a capture's or sniffer's packet lines hold none of them.
NAME_HINTS: list[tuple[str, ...]] = [
    ("#", "$"), ("hostname",), ("hostname",), ("xauth_user_name",), ("user=", "useralt="), ("group=",),
    ("devname=", "devid="), ("user",), ("user",), ("auth req",),
    ("auth req",), ("user", "uid"), ("authneticating", "authenticating"), ("name '",), ("fct-uid",), ("ems sn",),
    ("host",), ("domain",), ("peer identifier",), ("peer", "localid", "local-id"), ("subject", "issuer"),
    ("subject", "issuer"), ("group",), ("fortinet-group-name",), ("server", "svr"), ("name='",), ("ction with",),
    ("fnbamd_rad_resume", "pausing"), ("nameid", "attributevalue", "audience", "issuer"), ("=",),
]
SECRET_HINTS: list[tuple[str, ...]] = [("enc ",), ("sk_",), ("key=",), ("pass", "secret", "psk", "pre-shared",
                                                                        "preshared"), ("0x",)]
NAME_GATE = re.compile("|".join(re.escape(h) for hs in NAME_HINTS for h in hs))
SECRET_GATE = re.compile("|".join(re.escape(h) for hs in SECRET_HINTS for h in hs))
LONG_TOKEN = re.compile(r"[0-9A-Za-z+/]{40}")
FQDN_GATE = re.compile(r"[A-Za-z0-9]\.[A-Za-z]{2}")
EMAIL = re.compile(r"(?<![\w.+-])(?P<local>[\w.%+-]+)@(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)")
GUID = re.compile(r"\b[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b")
TLDS = ("com|net|org|edu|gov|mil|int|info|biz|io|uk|de|fr|nl|ch|es|pl|cz|hu|ru|cn|jp|au|nz|ca|"
        "br|za|dk|fi|ie|pt|gr|tr|ro|sk|si|hr|lt|lv|ee|lu|sg|hk|tw|kr|mx|ar|cl|asia|cloud|app|dev|online|"
        "site|local|lan|corp|internal|intranet|home|localdomain|arpa")
FQDN = re.compile(rf"(?<![\w.@-])(?P<v>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+(?:{TLDS}))(?![\w-])", re.I)
# Standards and vendor names that identify no customer (SAML schemas, the vendor's own sites).
PUBLIC_DOMAINS = ("fortinet.com", "fortinet.net", "fortiguard.com", "microsoft.com", "microsoftonline.com",
                  "windows.net", "xmlsoap.org", "w3.org", "oasis-open.org", "example.net", "example.com",
                  "example.org")
PUBLIC_LABELS = {"onmicrosoft", "microsoftonline", "microsoft", "fortinet", "example", "mail", "login", "www",
                 "corp", "local", "internal", "schemas", "xmlsoap"}
# Values that are protocol words, not names: never replaced wherever they appear.
STOP = {"root", "user", "users", "group", "groups", "admin", "none", "null", "unknown", "local", "remote",
        "default", "server", "name", "true", "false", "yes", "no", "any", "all", "guest", "computers", "builtin",
        "vpn", "ipsec", "ike", "saml", "ldap", "radius", "fortigate", "forticlient", "fortinet", "group-name"}
PSEUDO = re.compile(r"^(?:user|group|server|host|peer|dn|name|id)-\d+(?:\.example\.net)?$|^\[.*\]$")

PREFIX = {"user": "user", "group": "group", "server": "server", "host": "host", "peer": "peer", "dn": "dn",
          "xml": "name", "email": "user", "guid": "id"}


# --- addresses --------------------------------------------------------------------------

_V4_BLOCKS = [  # (network an original falls in, network its pseudonyms come from)
    (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("10.0.0.0/8")),
    (ipaddress.ip_network("172.16.0.0/12"), ipaddress.ip_network("172.16.0.0/12")),
    (ipaddress.ip_network("192.168.0.0/16"), ipaddress.ip_network("192.168.0.0/16")),
    (ipaddress.ip_network("100.64.0.0/10"), ipaddress.ip_network("100.64.0.0/10")),
    (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("169.254.0.0/16")),
]
_V4_PUBLIC = [ipaddress.ip_network(n) for n in ("203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24",
                                                 "198.18.0.0/15", "240.0.0.0/4")]


def _keep_v4(a: ipaddress.IPv4Address) -> bool:
    """Addresses that name nobody: unspecified, broadcast, loopback, multicast, netmasks."""
    if a.is_unspecified or a.is_loopback or a.is_multicast or int(a) == 0xFFFFFFFF:
        return True
    bits = int(a)
    inv = (~bits) & 0xFFFFFFFF
    return bits >> 24 == 255 and (inv & (inv + 1)) == 0  # a contiguous netmask


@dataclass
class Redactor:
    """One per report: the same value gets the same pseudonym in every output."""

    names: dict[str, str] = field(default_factory=dict)  # value → pseudonym
    learned: dict[str, str] = field(default_factory=dict)  # value → pseudonym, for the global pass
    ips: dict[str, str] = field(default_factory=dict)
    nets: dict[tuple[int, int], int] = field(default_factory=dict)  # (block, original /24) → pseudonym /24
    taken24: set[int] = field(default_factory=set)  # /24s (as ints >> 8) present in the input
    taken6: set[str] = field(default_factory=set)
    counters: dict[str, int] = field(default_factory=dict)
    _block_next: dict[int, int] = field(default_factory=dict)
    _global: re.Pattern | None = None

    # -- phase 1: know every original address, so that no pseudonym equals one
    def scan(self, texts: Iterable[str]) -> None:
        found: set[str] = set()
        for s in texts:
            found.update(m.group("ip") for m in (IP_RE if _has_v6(s) else IPV4_RE).finditer(s))
        for text in found:
            a = _addr(text)
            if isinstance(a, ipaddress.IPv4Address):
                self.taken24.add(int(a) >> 8)
            elif a is not None:
                self.taken6.add(str(a))

    # -- phase 2: replace (and learn names)
    def text(self, s: str) -> str:
        if not s:
            return s
        low = s.lower()
        if SECRET_GATE.search(low):
            for (pat, rep), hints in zip(SECRETS, SECRET_HINTS):
                if any(h in low for h in hints):
                    s = pat.sub(rep, s)
        if LONG_TOKEN.search(s):
            s = IKE_HEX.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}…[{len(m.group(4)) // 2} bytes redacted]",
                            s)
            s = LONG_HEX.sub(lambda m: f"[hex, {len(m.group(0)) // 2} bytes redacted]", s)
            s = BASE64.sub(lambda m: "[base64 redacted]" if not _is_words(m.group(0)) else m.group(0), s)
        low = s.lower()
        if NAME_GATE.search(low):
            for (cat, pat), hints in zip(NAMES, NAME_HINTS):
                if any(h in low for h in hints):
                    s = pat.sub(lambda m, cat=cat: self._name_sub(m, cat), s)
        if "@" in s:
            s = EMAIL.sub(self._email, s)
        if s.count("-") >= 4:
            s = GUID.sub(lambda m: self.pseudonym("guid", m.group(0).lower()), s)
        if FQDN_GATE.search(s):
            s = FQDN.sub(self._fqdn, s)
        return (IP_RE if _has_v6(s) else IPV4_RE).sub(lambda m: self.ip(m.group("ip")), s)

    # -- phase 3: a name learned anywhere is replaced everywhere
    def finish(self, s: str) -> str:
        if self._global is None:
            words = sorted((v for v in self.learned if _global_ok(v)), key=len, reverse=True)
            self._global = re.compile(
                r"(?<![A-Za-z0-9_])(?:" + "|".join(map(re.escape, words)) + r")(?![A-Za-z0-9_])") if words else None
            if self._global is None:
                return s
        return self._global.sub(lambda m: self.learned[m.group(0)], s) if s else s

    def pseudonym(self, cat: str, value: str) -> str:
        key = value  # one pseudonym per value, whichever context named it first
        got = self.names.get(key)
        if got is None:
            prefix = PREFIX[cat]
            n = self.counters.get(prefix, 0) + 1
            self.counters[prefix] = n
            got = f"{prefix}-{n}" + (".example.net" if cat == "host" and "." in value else "")
            self.names[key] = got
        if len(value) >= 3:
            self.learned.setdefault(value, got)
        return got

    def _name_sub(self, m: re.Match, cat: str) -> str:
        key = "v" if m.group("v") is not None else "v2"
        v = m.group(key)
        if v is None or not v.strip() or PSEUDO.match(v.strip()) or v.strip() in ("*",):
            return m.group(0)
        value = v.strip()
        if "=" in value and cat in ("dn", "peer"):
            for part in re.split(r"\s*[,/]\s*", value):  # learn the parts: CN=vito is `vito` elsewhere
                k, eq, pv = part.partition("=")
                if eq and len(pv.strip()) >= 3 and not PSEUDO.match(pv.strip()):
                    self.pseudonym("dn", pv.strip())
        elif cat == "user" and "@" in value:
            local = value.split("@", 1)[0]
            if len(local) >= 3:
                self.learned.setdefault(local, self.pseudonym("user", value))
        start, end = m.span(key)
        base = m.start(0)
        rep = self.pseudonym(cat, value)
        text = m.group(0)
        return text[: start - base] + v.replace(value, rep) + text[end - base:]

    def _email(self, m: re.Match) -> str:
        whole = m.group(0)
        if PSEUDO.match(m.group("local")) or _public(m.group("domain")):
            return whole
        self._labels(m.group("domain"))
        rep = self.pseudonym("email", whole.lower())
        self.learned.setdefault(whole, rep)
        if len(m.group("local")) >= 3:
            self.learned.setdefault(m.group("local"), rep)
        return rep + "@example.net"

    def _fqdn(self, m: re.Match) -> str:
        v = m.group("v")
        if _public(v) or PSEUDO.match(v):
            return v
        self._labels(v)
        return self.pseudonym("host", v.lower())

    def _labels(self, domain: str) -> None:
        """Learn a domain's own labels: a line wrapped mid-name leaves `fgt3.` or `@svishal.o…`."""
        for label in domain.split(".")[:-1]:
            if len(label) >= 4 and label.lower() not in STOP and label.lower() not in PUBLIC_LABELS:
                self.pseudonym("host", label)

    def ip(self, text: str) -> str:
        got = self.ips.get(text)
        if got is not None:
            return got
        a = _addr(text)
        if a is None:
            return text
        v4 = isinstance(a, ipaddress.IPv4Address)
        out = self._v6(a) if not v4 else text if _keep_v4(a) else self._v4(a)
        self.ips[text] = out
        return out

    def _v4(self, a: ipaddress.IPv4Address) -> str:
        blocks = [(i, dst) for i, (src, dst) in enumerate(_V4_BLOCKS) if a in src]
        block_id, pools = (blocks[0][0], [blocks[0][1]]) if blocks else (-1, _V4_PUBLIC)
        key = (block_id, int(a) >> 8)
        if key not in self.nets:
            self.nets[key] = self._next24(block_id, pools)
        return str(ipaddress.IPv4Address((self.nets[key] << 8) | (int(a) & 0xFF)))

    def _next24(self, block_id: int, pools: list) -> int:
        used = set(self.nets.values())
        for pool in pools:
            first, last = int(pool.network_address) >> 8, int(pool.broadcast_address) >> 8
            start = max(first, self._block_next.get(block_id, first)) if len(pools) == 1 else first
            for n in range(start, last + 1):
                if n not in used and n not in self.taken24:
                    self._block_next[block_id] = n + 1
                    return n
        raise ValueError("no pseudonym range left for IPv4 addresses")

    def _v6(self, a: ipaddress.IPv6Address) -> str:
        if a.is_unspecified or a.is_loopback or a.is_multicast:
            return str(a)
        prefix = "fe80::" if a.is_link_local else "fd00::" if a.is_private else "2001:db8::"
        n = self.counters.get(prefix, 0)
        while True:
            n += 1
            cand = f"{prefix}{n:x}"
            if cand not in self.taken6:
                break
        self.counters[prefix] = n
        return cand


def _has_v6(s: str) -> bool:
    """An IPv6 address has `::` or seven colons; a time of day has two."""
    return "::" in s or s.count(":") >= 7


def _addr(text: str):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _public(domain: str) -> bool:
    d = domain.lower().rstrip(".")
    return any(d == p or d.endswith("." + p) for p in PUBLIC_DOMAINS)


def _is_words(s: str) -> bool:
    """A long run of letters only (an identifier, a URL path) is not a base64 blob."""
    return s.isalpha() or "/" in s and not any(c.isdigit() for c in s)


def _global_ok(v: str) -> bool:
    return (len(v) >= 4 or v.isupper()) and not v.isdigit() and v.lower() not in STOP and not PSEUDO.match(v)


# --- applying it to a report ------------------------------------------------------------

# Event columns that hold protocol vocabulary, SPIs or configuration names (phase-1 names and
# interfaces stay so the reader can find the tunnel); every other text column is redacted,
# including columns added to the schema later.
KEEP_COLUMNS = frozenset({"origin", "kind", "direction", "proto", "transport", "tcp_flags", "exchange", "ispi",
                          "rspi", "payloads", "notify", "esp_spi", "vdom", "tunnel", "iface", "proposals"})
# Event columns whose every value is a name of one category: taken as such (the line that
# named it, a prompt, is no event to learn it from) and replaced wherever else it appears.
NAME_COLUMNS = {"device": "host"}


def _text_columns(events: pd.DataFrame) -> list[str]:
    return [c for c in events.columns if c not in KEEP_COLUMNS
            and (pd.api.types.is_string_dtype(events[c]) or events[c].dtype == object)]


def redact_strings(strings: Iterable[str], r: Redactor | None = None,
                   names: Iterable[tuple[str, str]] = ()) -> dict[str, str]:
    """Original → redacted for a set of strings, through all three phases; ``names``:
    (category, value) known to be names, each its own pseudonym."""
    r = r or Redactor()
    known = {v: r.pseudonym(cat, v) for cat, v in names}
    uniq = list(dict.fromkeys(s for s in strings if isinstance(s, str)))
    r.scan(uniq)
    first = [r.text(s) for s in uniq]
    return {**{s: r.finish(t) for s, t in zip(uniq, first)}, **known}


def _events_names(events: pd.DataFrame | None) -> list[tuple[str, str]]:
    if events is None or events.empty:
        return []
    return [(cat, v) for c, cat in NAME_COLUMNS.items() if c in events.columns
            for v in events[c].dropna().astype(str).unique().tolist()]


def _events_strings(events: pd.DataFrame | None) -> list[str]:
    if events is None or events.empty:
        return []
    out: list[str] = []
    for c in _text_columns(events):
        out.extend(events[c].dropna().astype(str).unique().tolist())
    return out


def _apply_events(events: pd.DataFrame, table: dict[str, str]) -> pd.DataFrame:
    out = events.copy()
    for c in _text_columns(out):
        col = out[c]
        out[c] = col.map(table).astype(col.dtype)  # every string of the column is a key of `table`
    return out


def events(table: pd.DataFrame) -> pd.DataFrame:
    """The event table with names, addresses and secrets replaced (`events --redact`)."""
    return _apply_events(table, redact_strings(_events_strings(table), names=_events_names(table)))


def diagnosis(d: Diagnosis, table: pd.DataFrame | None = None) -> Diagnosis:
    """A redacted copy of ``d`` (and of its events, kept on ``d.events`` when present)."""
    if table is None:
        table = d.events
    strings = _events_strings(table) + list(_diagnosis_strings(d))
    m = redact_strings(strings, names=_events_names(table))

    def s(v):
        return m.get(v, v) if isinstance(v, str) else v

    def facts(v):
        if isinstance(v, dict):
            return {s(k): facts(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return type(v)(facts(x) for x in v)
        return s(v)

    def finding(f: Finding) -> Finding:
        g = copy.copy(f)
        g.message, g.peer, g.fix = s(f.message), s(f.peer), s(f.fix)  # a fix names the peer (rules.base.fill_fix)
        g.evidence = [Evidence(s(e.source), e.ref, s(e.text), e.time) for e in f.evidence]
        g.timeline = [Moment(t.time, t.t, s(t.text), s(t.source), t.ref, t.stamp) for t in f.timeline]
        g.facts = facts(f.facts)
        g.symptoms = [finding(x) for x in f.symptoms]
        return g

    ingest = copy.deepcopy(d.ingest)
    for r in ingest.inputs:
        r.source = s(r.source)
        r.warnings = [s(w) for w in r.warnings]
        r.examples = [(ref, s(t)) for ref, t in r.examples]
    out = copy.copy(d)  # any field not named here is carried over unchanged
    out.findings = [finding(f) for f in d.findings]
    out.timeline = [Moment(t.time, t.t, s(t.text), s(t.source), t.ref, t.stamp) for t in d.timeline]
    out.ingest, out.summary, out.next_steps = ingest, s(d.summary), [s(x) for x in d.next_steps]
    if hasattr(d, "snapshots"):
        out.snapshots = facts(d.snapshots)
    out.down_tunnels = facts(getattr(d, "down_tunnels", []))  # names and addresses, as in the summary
    if table is not None:
        out.events = _apply_events(table, m)
    return out


def _diagnosis_strings(d: Diagnosis) -> Iterable[str]:
    yield d.summary
    yield from d.next_steps
    for t in d.timeline:
        yield t.text
        if t.source:
            yield t.source
    for f in d.all_findings():
        yield f.message
        yield f.fix
        if f.peer:
            yield f.peer
        for e in f.evidence:
            yield e.source
            yield e.text
        for t in f.timeline:
            yield t.text
        yield from _fact_strings(f.facts)
    yield from _fact_strings(getattr(d, "snapshots", []))
    yield from _fact_strings(getattr(d, "down_tunnels", []))
    for r in d.ingest.inputs:
        yield r.source
        yield from r.warnings
        for _, t in r.examples:
            yield t


def _fact_strings(v) -> Iterable[str]:
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield from _fact_strings(k)
            yield from _fact_strings(x)
    elif isinstance(v, (list, tuple)):
        for x in v:
            yield from _fact_strings(x)
