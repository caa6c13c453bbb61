"""FortiGate event-log lines (`execute log display`, the GUI's raw download, syslog and
FortiAnalyzer forwarding): ``date=... time=... logid="0101037124" type="event" subtype="vpn"
... vpntunnel="to-branch" status="negotiate_error" reason="..."``.

A record is a run of ``key=value`` pairs (a value quoted or not; a quoted one may hold
blanks), after an optional syslog header (``<189>``, ``Jul  1 07:03:38 10.255.252.1 ``).
Each key this module reads is taken whole column by one pattern of its own
(:data:`KEYS`); the event's kind comes from the tables :data:`ACTION_KINDS` and
:data:`FAILED_STATUSES`, not from a chain of tests. What the log says went wrong is kept in
`detail` as ``<action> <status>: <reason>``; which rule a reason speaks for is the
rules' business (rules/fromlog.py).

Field names and logids: FortiOS Log Message Reference (docs.fortinet.com, 6.0-7.6),
e.g. 37124 MESGID_NEG_I_P1_ERROR "IPsec phase 1 error", 37138 MESGID_CONN_UPDOWN "IPsec
connection status changed" (fields remip, locip, remport, locport, cookies, vpntunnel,
status, reason, xauthuser, tunnelip, duration, sentbyte, rcvdbyte, nextstat).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze.sources.regex import groups, matches, to_int

# A physical line starts an event-log record when it matches this: an optional syslog
# priority, up to eight header words without `=` (a syslog time and host, a FortiAnalyzer
# prefix), then `date=YYYY-MM-DD time=HH:MM:SS`.
# FortiOS 4.x-5.0 `execute log display` printed the time bare before the fields instead,
# and named them with underscores: `2012-07-20 13:08:51 log_id=0101037124 type=event
# subtype=ipsec pri=error ... rem_ip=... vpn_tunnel="N/A" status=negotiate_error
# error_reason=no matching gateway for new request` (a bare reason of several words).
OLD_STAMP = r"^(?:<\d{1,3}>\d? ?)?(?P<date>\d{4}-\d\d-\d\d) (?P<time>\d\d:\d\d:\d\d) +log_id="
RECORD_START = (r"^(?:<\d{1,3}>\d? ?)?(?:(?:[^=\s]+ +){0,8}date=\"?\d{4}-\d\d-\d\d\"? +"
                r"time=\"?\d\d:\d\d:\d\d\"?(?:\s|$)|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +log_id=)")
# A record that does not start its line: a web copy ran it into the prose before it, or
# collapsed several onto one line (a forum's copy of FortiOS 4.x alert mail: `... from the
# fortigate unit:    Message meets Alert condition  date=2010-10-11 time=12:47:27
# devname=(devname) ... log_id=0101037128 ...    Message meets Alert condition  date=...`).
# Found at `date=... time=...` where a `logid`/`log_id` follows on the line.
RECORD_ANYWHERE = (r"\bdate=\"?\d{4}-\d\d-\d\d\"? +time=\"?\d\d:\d\d:\d\d\"?\s(?:[^\n]*?\s)??log_?id=")
# A line of the record a copy broke at each field (`type=event `, `rem_ip=xxx`, ...): it
# starts with a key and joins the record above.
FIELD_LINE = r"^[a-z][a-z_]*="

# Other names of the keys read: the 4.x-5.0 ones (see OLD_STAMP), and `error_num`, the reason
# of the ESP error log (37131 MESGID_ESP_ERROR, every version). A record with two is read by
# the first on its line.
ALIASES: dict[str, tuple[str, ...]] = {
    "logid": ("log_id",), "remip": ("rem_ip",), "locip": ("loc_ip",), "remport": ("rem_port",),
    "locport": ("loc_port",), "vpntunnel": ("vpn_tunnel",), "reason": ("error_reason", "error_num"),
    "xauthuser": ("xauth_user",),
}
# Keys whose bare value may run over several words, up to the next `key=` (4.x `error_reason`).
WORDS = frozenset({"reason"})


def key_names(name: str) -> str:
    """``name`` and its old spellings, as a regex alternation."""
    return "|".join((name, *ALIASES.get(name, ())))


# One pattern per key read: the value quoted (blanks allowed) or bare (to the next blank).
# A key is found only at the line's start, after a blank (`devname=` is not `name=`) or
# after a syslog priority (`<189>date=...`, a raw syslog record).
KEY_BEFORE = r"(?:^<\d{1,3}>|^|\s)"


def _key(name: str) -> str:
    if name in WORDS:  # words without `=`, each ending at a blank or the line's end
        return rf"{KEY_BEFORE}(?:{key_names(name)})=(?:\"(?P<q>[^\"]*)\"|(?P<b>[^\s\"]*(?: +[^\s\"=]+)*)(?:\s|$))"
    return rf"{KEY_BEFORE}(?:{key_names(name)})=(?:\"(?P<q>[^\"]*)\"|(?P<b>{PLACEHOLDER}|[^\s\"]*))"


# A value a poster replaced by its description in parentheses (`rem_ip=(client' s public ip)`):
# the whole description, not its first word.
PLACEHOLDER = r"\([^()=\"]*\)"


# key -> (event column or None for one read here only)
KEYS: dict[str, str | None] = {
    "date": None, "time": None, "eventtime": None, "logid": None, "type": None, "subtype": None,
    "action": None, "status": None, "reason": None, "vd": "vdom", "vpntunnel": "tunnel",
    "remip": "dst", "remport": "dport", "locip": "src", "locport": "sport", "cookies": None, "version": None,
    "tunneltype": None, "devname": "device", "spi": "esp_spi",
}
# FortiOS' empty value.
NONE_VALUES = ("N/A", "")
# A device name a poster blanked out (`devname=(devname)`, `<hostname>`, `[FGT]`): no
# FortiGate's name, so the prompt's host name (sources/text.py) still names the device.
BLANKED_DEVICE = r"^(?:\(.*\)|<.*>|\[.*\])$"
# `subtype` of VPN lines: `vpn` (5.2+), `ipsec` (4.x-5.0).
VPN_SUBTYPES = ("vpn", "ipsec")

# The event's kind by `action` (FortiOS Log Message Reference: MESGID_* of the vpn
# category); a VPN line of another action is `vpn-log`, a line of another subtype or an
# SSL-VPN line (SSL_VPN) `log-other` (not IKE evidence: IKE903 still speaks of an input that
# holds only those).
ACTION_KINDS: dict[str, str] = {
    "negotiate": "vpn-negotiate",
    "tunnel-up": "vpn-up",
    "phase2-up": "vpn-up",
    "install_sa": "vpn-up",
    "tunnel-down": "vpn-down",
    "phase2-down": "vpn-down",
    "delete_phase1_sa": "vpn-down",
    "delete_ipsec_sa": "vpn-down",
    "tunnel-stats": "vpn-stats",
    "dpd": "vpn-dpd",
}
# SSL-VPN lines share subtype `vpn` with IPsec (`logdesc="SSL VPN tunnel up"
# action="tunnel-up" tunneltype="ssl-tunnel"`): not IKE/IPsec, so `log-other` (kept, out of
# the IPsec timeline and findings). A line is SSL-VPN when one of its keys says so:
# (key, pattern of its value). Logids (last five digits, Log Message Reference): 39424-39426
# LOG_ID_EVENT_SSL_VPN_USER_* (tunnel up/down, login fail), 39936-39953
# LOG_ID_EVENT_SSL_VPN_SESSION_* (new connection, tunnel up/down/stats, ...).
SSL_VPN: list[tuple[str, str]] = [
    ("tunneltype", r"^ssl"),  # `ssl`, `ssl-tunnel`, `ssl-web`
    ("action", r"^ssl-"),  # `ssl-new-con`, `ssl-login-fail`, `ssl-exit-error`, ...
    ("logid", r"(?:3942[4-6]|399(?:3[6-9]|4\d|5[0-3]))$"),
]
# A line whose status says it failed is an error, whatever its action.
FAILED_STATUSES = frozenset({"negotiate_error", "failure", "failed", "dpd_failure", "error", "esp_error",
                             "timeout", "negotiate_timeout"})


def _value(core: pa.Array, name: str) -> pa.Array:
    g = groups(core, _key(name))
    # A quoted value without the blanks a forum's copy put inside the quotes (`vd=" root"`).
    value = pc.coalesce(pc.utf8_trim_whitespace(g["q"]), g["b"]).cast(pa.string())
    return pc.if_else(pc.is_in(value, pa.array(NONE_VALUES)), pa.scalar(None, pa.string()), value)


def parse(core: pa.Array) -> dict[str, object]:
    """Event-log records → event columns (kind, detail, time, tunnel, addresses, cookies)."""
    v = {name: _value(core, name) for name in KEYS}
    out: dict[str, object] = {col: v[name] for name, col in KEYS.items() if col is not None}
    blanked = pc.fill_null(pc.match_substring_regex(out["device"], BLANKED_DEVICE), False)
    out["device"] = pc.if_else(blanked, pa.scalar(None, pa.string()), out["device"])
    for port in ("sport", "dport"):  # digits only: a mangled line may hold `locport=outintf=`
        digits = pc.fill_null(pc.match_substring_regex(out[port], r"^\d+$"), False)
        out[port] = to_int(pc.if_else(digits, out[port], pa.scalar(None, pa.string())), pa.int32())

    # Kinds by table, whole column: the action's row of ACTION_KINDS (its last for none).
    names = pa.array([*ACTION_KINDS.values(), "vpn-log"], pa.string())
    row = pc.fill_null(pc.index_in(v["action"], pa.array(list(ACTION_KINDS), pa.string())), len(ACTION_KINDS))
    kind = pc.take(names, row)
    kind = pc.if_else(pc.fill_null(pc.is_in(v["status"], pa.array(sorted(FAILED_STATUSES))), False), "vpn-error", kind)
    vpn = pc.fill_null(pc.is_in(v["subtype"], pa.array(VPN_SUBTYPES)), False).to_numpy(zero_copy_only=False)
    for key, pattern in SSL_VPN:
        vpn &= ~matches(v[key], pattern)
    out["kind"] = pc.if_else(pa.array(vpn), kind, "log-other")

    # `negotiate negotiate_error: peer SA proposal not match local policy`, `tunnel-up`.
    head = pc.binary_join_element_wise(pc.fill_null(v["action"], ""), pc.fill_null(v["status"], ""), " ")
    head = pc.utf8_trim(head, " ")
    detail = pc.if_else(pc.is_valid(v["reason"]), pc.binary_join_element_wise(head, v["reason"], ": "), head)
    out["detail"] = pc.if_else(pc.equal(detail, ""), pa.scalar(None, pa.string()), detail)

    cookies = groups(pc.fill_null(v["cookies"], ""), r"^(?P<i>[0-9a-fA-F]{16})/(?P<r>[0-9a-fA-F]{16})$")
    out["ispi"], out["rspi"] = pc.utf8_lower(cookies["i"]), pc.utf8_lower(cookies["r"])
    version = groups(pc.fill_null(v["version"], ""), r"^IKEv(?P<v>[12])$")["v"]
    out["ike_version"] = to_int(version, pa.int8())
    old = {k: col.cast(pa.string()) for k, col in groups(core, OLD_STAMP).items()}
    out["ts_abs"] = _stamp(pc.coalesce(v["date"], old["date"]), pc.coalesce(v["time"], old["time"]), v["eventtime"])
    return out


def _stamp(date: pa.Array, time: pa.Array, eventtime: pa.Array) -> pa.Array:
    """`YYYY-MM-DD HH:MM:SS[.ffffff]`: the device's clock as the line prints it (date and
    time, as the debug's console stamps are), the fraction of a second from `eventtime`
    when it holds one (19 digits: ns, 16: us, 13: ms; 10 digits are whole seconds)."""
    base = pc.binary_join_element_wise(date, time, " ")
    frac = groups(pc.fill_null(eventtime, ""), r"^\d{10}(?P<f>\d{3}|\d{6}|\d{9})$")["f"]
    frac = pc.utf8_slice_codeunits(frac, 0, 6)
    return pc.if_else(pc.is_valid(frac), pc.binary_join_element_wise(base, frac, "."), base)
