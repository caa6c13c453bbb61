"""FortiGate `diagnose debug application ike -1` lines, and the fnbamd/samld lines beside them.

A record is ``[<timestamp> ]ike <ctx>: <message>`` (FORMATS.md §2). The context is split
once by :data:`PREFIX`; the message is named by the first row of :data:`MESSAGES` that
matches it. Each row's named groups land in the event columns of the same name
(`msg_id` is hex in these lines; `hex` is the hex dump of an `in/out/enc/dec` line).
Adding a line form means adding a row here, not an `elif`.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze.errors import WireError
from ikeanalyze.sources import spans
from ikeanalyze.sources.regex import (
    distinct,
    fields,
    groups,
    int_array,
    matches,
    matches_at,
    scatter,
    take_joined,
    to_int,
)
from ikeanalyze.wire.iana import FLAG_V1_ENCRYPTION, PAYLOAD_SK, PAYLOAD_SKF
from ikeanalyze.wire.ike import HEADER_LEN, decode
from ikeanalyze.wire.natt import NON_ESP_MARKER

TS = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?"
# Public pastes redact IPv4 addresses a letter or three per octet (`x.x.x.x`,
# `XXX.XXX.XXX.XXX`, `Y.Y.Y.Y`; FORMATS.md §2): the address columns then hold that text.
REDACTED_IP = r"(?:[xXyYzZ]{1,3}\.){3}[xXyYzZ]{1,3}"
IP = rf"(?:{REDACTED_IP}|[0-9A-Fa-f.:]*[0-9A-Fa-f])"
SPI = r"[0-9a-fA-F]{16}"
ENDPOINTS = rf"(?P<src>{IP}):(?P<sport>\d+)->(?P<dst>{IP}):(?P<dport>\d+)"

# Authors who quote a debug line elide a number of its context they think beside the point
# (`ike ...:to-fgt1: ignoring request ...`, the VDOM index; `ike 0:to-fgt1:...: ...`, the
# serial) with three dots or the ellipsis character: the field is there, its value unknown.
ELIDED = "(?:\\.\\.\\.|\u2026)"  # the character itself: read by RE2 and by Python's re
# A physical line starts an IKE debug record when it matches this. A record with no
# context (`ike Negotiate SA Error: ...`, `ike shrank heap by 159744 bytes`) starts with a
# word; prose wrapped before a word `ike` (`ike gateway clear` brings it back to `1/1`.`)
# is told from it by the markdown code span it quotes: the daemon prints no backquote.
RECORD_START = rf"^(?:{TS} )?ike (?:V=[^:\s]+:|\d+[: ]|:|{ELIDED}:|[A-Za-z][^`]*$)"
# The same, anywhere in a line: a prompt or typed keys glued before it, or several records
# collapsed onto one line by a web copy.
RECORD_ANYWHERE = rf"(?:{TS} )?ike (?:V=[^:\s]+:|\d+:)"

PREFIX = (
    rf"^(?:(?P<ts>{TS}) )?ike (?:V=(?P<vdom>[^:\s]+):)?"
    rf"(?:(?:(?P<vdidx>\d+)|{ELIDED})(?::(?P<gw>[^:\s]*)(?::(?:{ELIDED}|(?P<serial>\d*))(?::(?P<p2>[^:\s]*)"
    rf"(?::(?:{ELIDED}|(?P<p2serial>\d*)))?)?)?)?)?"
    # Proposal and selector lines are indented for humans: the message starts after the blanks.
    r":? *(?P<msg>(?s:.*))$"
)
COOKIES = rf"^(?P<c_ispi>{SPI})/(?P<c_rspi>{SPI})$"

# (kind, pattern) in order; the first match wins.
# A proposal refused, in the words of FortiOS builds and of the event log's reason.
REFUSED_WORDS = (r"no (?:SA )?proposal chosen|no (?:matching|suitable) proposal found"
                 r"|peer SA proposal not match local policy")
MESSAGES: list[tuple[str, str]] = [
    ("ike-received", rf"^(?:IKEv1 Aggressive, )?comes {ENDPOINTS}(?:,ifindex=\d+)?(?:,vrf=\d+)?(?:,len=(?P<length>\d+))?"),
    ("ike-received", rf"^(?:IKEv1 Aggressive, )?comes (?P<src>{IP}):(?P<sport>\d+)->(?P<dst>{IP})\b"),
    ("ike-exchange", rf"^IKEv(?P<ike_version>[12]) exchange=(?P<exchange>[A-Za-z_ ]+?) id=(?P<ispi>{SPI})/(?P<rspi>{SPI})(?::(?P<msg_id>[0-9a-fA-F]+))?(?: len=(?P<length>\d+))?"),
    ("nat-keepalive-sent", rf"^sent IKE msg \((?P<detail>keepalive)\): {ENDPOINTS}"),
    # A terminal that wrapped the line at a field's blank drops it: `vrf=0,` / `id=...` joins as `vrf=0,id=`.
    ("ike-sent", rf"^sent IKE msg \((?P<detail>[^)]*)\): {ENDPOINTS}(?:, ?len=(?P<length>\d+))?(?:, ?vrf=\d+)?(?:, ?id=(?P<ispi>{SPI})/(?P<rspi>{SPI})(?::(?P<msg_id>[0-9a-fA-F]+))?)?"),
    ("error", rf"^could not send IKE Packet\((?P<exchange>[^)]*)\):{ENDPOINTS}(?:, len=(?P<length>\d+))?(?:, vrf=\d+)?: (?P<detail>error \d+:.*)$"),
    ("nat-keepalive-sent", rf"^NAT keep-alive \d+ (?P<src>{IP})->(?P<dst>{IP}):(?P<dport>\d+)"),
    ("ike-hex", r"^(?P<detail>in|out|enc|dec) +(?P<hex>[0-9A-Fa-f]+)\s*$"),
    ("tcp-accepted", rf"^accepts ike tcp-transport\(vd=\d+, vrf=\d+, intf=[^,]*, {ENDPOINTS}(?P<detail>.*)$"),
    ("sa-established", rf"^established IKE SA (?P<ispi>{SPI})/(?P<rspi>{SPI})"),
    ("sa-established", r"^added? IPsec SA: SPIs=(?P<esp_spi>[0-9a-fA-F]+)/(?P<detail>[0-9a-fA-F]+)"),
    ("sa-established", r"^(?P<detail>set oper up|sending SNMP tunnel UP trap|(?:static )?tunnel up event.*)"),
    ("negotiation-failed", r"^(?P<detail>negotiation timeout), deleting"),
    ("negotiation-failed", rf"^(?P<ispi>{SPI})/(?P<rspi>{SPI}) (?P<detail>retransmission timeout)"),
    ("negotiation-failed", r"^Negotiate (?:ISAKMP )?SA Error:? ?(?P<detail>.*)$"),
    # The refusal in the words of other builds and of the event log's reason (`no matching
    # proposal found`, `peer SA proposal not match local policy`) is the same failure.
    ("negotiation-failed", rf"^(?P<detail>{REFUSED_WORDS})"),
    ("negotiation-failed", r"^(?P<detail>PSK auth failed: .*)$"),
    ("negotiation-failed", r"^(?P<detail>received \S+ error notify response, abort)"),
    ("negotiation-failed", r"^(?P<detail>ignoring (?:IKEv[12] request|IKE request|request to establish IPsec SA), .*)$"),
    ("negotiation-failed", r"^(?P<detail>failed to match peer selectors|traffic selectors unacceptable|no matching phase2 found)"),
    ("negotiation-failed", r"^(?P<detail>negotiation failure)\s*$"),
    ("negotiation-failed", r"^(?P<detail>gw validation failed)"),
    ("retransmit", r"^(?P<detail>retransmission, re-send last message)"),
    ("dpd", r"^(?P<detail>send IKEv1 DPD probe), seqno (?P<msg_id_dec>\d+)"),
    ("dpd", r"^(?P<detail>(?:DPD negotiated|VID DPD|.*R-U-THERE.*|.*DPD.*))$"),
    ("notify", r"^(?:received|processing) (?:p\d )?notify type (?P<notify>[A-Za-z0-9_-]+)"),
    ("notify", r"^notify msg received: (?P<notify>[A-Za-z0-9_-]+)"),
    ("nat", r"^(?P<detail>NAT (?:detected|not detected).*|process NAT-D|create NAT-D hash.*|detected NAT|NAT-T float port \d+|selected NAT-T version: .*|reset NAT-T)\s*$"),
    ("nat", r"^remote port change (?P<sport>\d+) -> (?P<dport>\d+)"),
    ("sa-deleted", rf"^(?P<detail>schedule[d]? delete of IKE SA) (?P<ispi>{SPI})/(?P<rspi>{SPI})"),
    ("sa-deleted", r"^(?P<detail>connection expiring due to .*|going to be deleted|deleting|flushing|flushed|deleted|sending SNMP tunnel DOWN trap|deleting IPsec SA.*|delete IPsec SA.*|IPsec SA with SPI \S+ deletion failed.*"
                   r"|processing delete request.*|deleting IKE SA .*|deleted IPsec SA with SPI.*|delete|delete dynamic"
                   r"|remote selector down event.*|sending SNMP tunnel DOWN trap.*)\s*$"),
    ("error", rf"^(?P<detail>invalid IKE request SPI) (?P<ispi>{SPI})/(?P<rspi>{SPI})(?::(?P<msg_id>[0-9a-fA-F]+))?"),
    # `invalid ESP 1 (HMAC) SPI fe2c9989 seq 0000c10f 9  192.0.2.1->198.51.100.2`: the packet's sender first.
    ("error", rf"^(?P<detail>invalid ESP \d+ \(\w+\)) SPI (?P<esp_spi>[0-9a-fA-F]+)(?:.*?\s(?P<src>{IP})->(?P<dst>{IP})\s*$)?"),
    ("proposal", r"^(?P<detail>(?:incoming|peer|accepted|incoming child SA) proposal:|my proposal(?:, gw \S+)?:|proposal id = \d+:"
                 r"|protocol(?: id)? = .*|encapsulation = .*|type ?= ?.*|lifetime=\d+.*|ISAKMP SA lifetime=\d+.*|PFS is \w+"
                 r"|PFS DH group = \d+|SA proposal chosen, matched gateway .*|matched proposal id \d+|trans_id = .*"
                 r"|transform = .*|negotiation result)\s*$"),
    ("selectors", r"^(?P<detail>TS[ir]_\d+ .*|IPsec SA selectors .*|src \d+ \d+ .*|dst \d+ \d+ .*|phase2 matched by .*|.*narrowing.*"
                  r"|comparing selectors|matched by rfc-rule-\d+|add(?:ed)? dynamic IPsec SA (?:selectors|proxyids).*"
                  r"|using mode-cfg override .*|specified selectors mismatch|(?:peer|mine): type=\d+/\d+, local=.*"
                  r"|peer proposal is: .*)$"),
    ("negotiation-start", r"^(?P<detail>IPsec SA connect \d+ \S+->\S+(?: negotiating)?|no suitable IKE_SA, queuing CHILD_SA request and initiating IKE_SA negotiation)\s*$"),
    ("ike-fragment", r"^(?P<detail>encrypted fragment \d+ of \d+ queued|reassembled fragmented message|splitting payload len=\d+ into \d+ fragments|received fragment \d+ of \d+.*)\s*$"),
    ("auth", r"^(?P<detail>(?:received )?peer identifier .*|re-validate gw ID|gw validation OK|PSK authentication succeeded|authentication (?:OK|succeeded|failed)|.*XAUTH.*|.*EAP.*|peer cert.*|.*certificate.*|peer ID verified|sending CERTREQ.*|received peer certreq.*|received FCT.*|received EMS.*|Validating X\.509 certificate|signature verification \w+|fnbam cert group matching failed"
             r"|(?:certificate|peer) validation \w+.*)$"),
]

# The kind of each MESSAGES row, then that of a message no row matches.
_KINDS = np.array([kind for kind, _ in MESSAGES] + ["ike-other"], dtype=object)
# COOKIES's length: two SPIs and a slash.
_COOKIES_LEN = 2 * 16 + 1


def _kind_in(row: np.ndarray, *kinds: str) -> np.ndarray:
    """Which messages (their MESSAGES row, -1 for none) are of one of ``kinds``."""
    return np.isin(_KINDS, kinds)[row]


# Columns the message groups may fill, with their arrow types.
GROUP_COLUMNS: dict[str, pa.DataType] = {
    "src": pa.string(), "sport": pa.int32(), "dst": pa.string(), "dport": pa.int32(),
    "length": pa.int32(), "ike_version": pa.int8(), "exchange": pa.string(),
    "ispi": pa.string(), "rspi": pa.string(), "msg_id": pa.int64(), "esp_spi": pa.string(),
    "notify": pa.string(), "detail": pa.string(), "hex": pa.string(),
    "response": pa.bool_(), "payloads": pa.string(), "proposals": pa.string(), "selectors": pa.string(),
}


# Decimal groups, converted to integers as whole columns (msg_id is hex: converted in Python).
INT_GROUPS = frozenset(n for n, t in GROUP_COLUMNS.items() if pa.types.is_integer(t) and n != "msg_id")


def _typed(values: np.ndarray, typ: pa.DataType) -> pa.Array:
    # The object array itself, not a list of it: arrow reads its items in place.
    if pa.types.is_integer(typ):
        try:  # Python ints (or None) that fit: arrow converts them at once
            return pa.array(values, typ)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
            return int_array(values, typ)  # a mangled number too big for its column is null
    return pa.array(values, typ)


def parse(core: pa.Array) -> dict[str, object]:
    """Parse IKE debug records (prompt junk removed) into event columns."""
    n = len(core)
    pre, msg = _prefix_once(core)
    pre, msg = _bare_messages(core, pre, msg)
    gw = pre["gw"]
    # Cookies (two SPIs and a slash) in place of a gateway name, or an elision (ELIDED):
    # no tunnel's name. Only names of those lengths are asked.
    gw_len = pc.fill_null(pc.binary_length(gw), 0).to_numpy(zero_copy_only=False)
    maybe = np.flatnonzero(gw_len == _COOKIES_LEN)
    cookies = groups(gw.take(pa.array(maybe)), COOKIES)
    cookie_rows = maybe[pc.is_valid(cookies["c_ispi"]).to_numpy(zero_copy_only=False)]
    no_name = np.zeros(n, dtype=bool)
    no_name[cookie_rows] = True
    short = np.flatnonzero(gw_len == _ELISION_LEN)
    no_name[short[np.isin(gw.take(pa.array(short)).to_numpy(zero_copy_only=False), _ELISION_NAMES)]] = True
    tunnel = pc.if_else(pa.array(no_name), None, gw)

    cols: dict[str, np.ndarray] = {name: np.full(n, None, dtype=object) for name in GROUP_COLUMNS}
    # A debug repeats its messages (a proposal's lines, each retry of a negotiation): each
    # distinct message is named and read once, and its columns spread to its lines.
    texts, which = distinct(msg)
    named = _first_row(texts)  # -1 (none): _KINDS' last, ike-other
    row = named[which]
    for r, (_, pattern) in enumerate(MESSAGES):
        mine = np.flatnonzero(named == r)
        if not len(mine):
            continue
        idx = np.flatnonzero(row == r)
        spread = np.searchsorted(mine, which[idx])  # each line's text among ``mine``
        g = groups(texts.take(pa.array(mine)), pattern)
        for name, values in g.items():
            if name == "msg_id_dec":
                vals = values.to_pylist()
                cols["msg_id"][idx] = _objects([None if v is None or len(v) > 20 else int(v) for v in vals])[spread]
                continue
            if name in INT_GROUPS:  # decimal digits: converted in arrow, a number too big is null
                values = to_int(values, GROUP_COLUMNS[name])
            vals = values.to_pylist()
            if name == "msg_id":
                vals = [None if v is None else int(v, 16) for v in vals]
            elif name in ("ispi", "rspi", "esp_spi"):
                vals = [None if v is None else v.lower() for v in vals]
            cols[name][idx] = _objects(vals)[spread]

    # Cookies in the context name the SA before a gateway is matched.
    # (lowered by arrow: the SPIs are hex digits, which it lowers as Python does)
    c_i = pc.utf8_lower(cookies["c_ispi"].drop_null()).to_numpy(zero_copy_only=False)
    c_r = pc.utf8_lower(cookies["c_rspi"].drop_null()).to_numpy(zero_copy_only=False)
    fill = cols["ispi"][cookie_rows] == None  # noqa: E711 (object arrays)
    cols["ispi"][cookie_rows[fill]] = c_i[fill]
    cols["rspi"][cookie_rows[fill]] = c_r[fill]

    # A keepalive's `id=` is derived from the 0xFF payload, not an SPI (FORMATS.md §2.2).
    keep = _kind_in(row, "nat-keepalive-sent")
    cols["ispi"][keep] = None
    cols["rspi"][keep] = None
    cols["msg_id"][keep] = None

    direction = np.full(n, None, dtype=object)
    direction[_kind_in(row, "ike-received", "tcp-accepted")] = "in"
    direction[_kind_in(row, "ike-sent", "nat-keepalive-sent", "error")] = "out"
    # `invalid IKE request SPI …`, `invalid ESP 1 (HMAC) …`: errors of what arrived.
    errors = np.flatnonzero(_kind_in(row, "error"))
    arrived = pc.starts_with(pa.array(cols["detail"][errors], pa.string()), "invalid ")
    direction[errors[pc.fill_null(arrived, False).to_numpy(zero_copy_only=False)]] = "in"
    hexes = np.flatnonzero(_kind_in(row, "ike-hex"))
    hexdir = cols["detail"][hexes]
    direction[hexes[np.isin(hexdir, ["in", "dec"])]] = "in"
    direction[hexes[np.isin(hexdir, ["out", "enc"])]] = "out"

    _decode_hex(hexes, cols, _sa_of(gw, pre["serial"], hexes))
    _join_exchange(row, cols, direction)
    transport = _transport(row, cols)

    # The hex dump is not an event column: it was decoded into them (_decode_hex).
    out: dict[str, object] = {
        name: _typed(values, GROUP_COLUMNS[name]) for name, values in cols.items() if name != "hex"
    }
    out["kind"] = pa.DictionaryArray.from_arrays(pa.array(row % len(_KINDS), pa.int32()),
                                                 pa.array(_KINDS, pa.string())).cast(pa.string())
    out["transport"] = pa.array(transport, pa.string())
    out["direction"] = pa.array(direction, pa.string())
    out["tunnel"] = tunnel
    out["vdom"] = pc.coalesce(pre["vdom"], pre["vdidx"])
    out["serial"] = to_int(pre["serial"], pa.int64())
    out["ts_abs"] = pre["ts"]
    return out


# What PREFIX begins with: lines without it are bare messages (BARE_BODY).
HEAD = rf"^(?:{TS} )?ike "


# The context fields a bare line takes from the prefixed line above it (_bare_messages).
BARE_CONTEXT = ("vdom", "vdidx", "gw", "serial")


def _bare_messages(core: pa.Array, pre: dict[str, pa.Array], msg: pa.Array) -> tuple[dict[str, pa.Array], pa.Array]:
    """``pre`` and ``msg`` with the lines that have no `ike ` context (BARE_BODY's, which
    the text reader took for their block) read as their message, after a console stamp
    if any. Their context (VDOM, gateway, serial) is that of the nearest prefixed line
    above them, where there is one: a poster who kept the first line's prefix and cut the
    rest pasted one negotiation (without it the lines would join none); else it stays
    null. (Only lines with no message are asked.)"""
    empty = np.flatnonzero(pc.equal(pc.binary_length(msg), 0).to_numpy(zero_copy_only=False))
    if not len(empty):
        return pre, msg
    bare = empty[~matches_at(core, empty, HEAD)]
    if not len(bare):
        return pre, msg
    found = groups(core.take(pa.array(bare)), BARE_SPLIT)
    pre = {**pre, "ts": scatter(pre["ts"], bare, found["ts"])}
    prefixed = np.ones(len(core), dtype=bool)
    prefixed[empty] = False
    above = np.flatnonzero(prefixed)
    k = np.searchsorted(above, bare) - 1
    heir = bare[k >= 0]
    if len(heir):
        src = pa.array(above[k[k >= 0]])
        pre.update({f: scatter(pre[f], heir, pre[f].take(src)) for f in BARE_CONTEXT})
    return pre, scatter(msg, bare, pc.fill_null(found["msg"], ""))



def _objects(values: list) -> np.ndarray:
    """A list as a 1-d object array (numpy would make a sequence of sequences 2-d)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


# PREFIX read by byte position (:func:`_prefix`): its stamp, and how far a field is read
# (longer ones are left to PREFIX).
_STAMP = "DDDD-DD-DD DD:DD:DD"
_FIELD_WORDS = 6


def _name_end(w: np.ndarray) -> np.ndarray:
    """Bytes that end a `[^:\\s]` run (RE2's ``\\s``: tab, LF, FF, CR, space)."""
    return (spans.equal_bits(w, ord(":")) | spans.equal_bits(w, ord(" ")) | spans.equal_bits(w, 9)
            | spans.equal_bits(w, 10) | spans.equal_bits(w, 12) | spans.equal_bits(w, 13))


def _run(b: spans.Bytes, at: np.ndarray, end: np.ndarray, stop, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the ``rows`` (0 for the others), the length of the run of bytes from ``at`` up to
    the first byte ``stop`` flags or ``end``; and where the run goes on past _FIELD_WORDS
    words (not measured). Word by word, each on the rows the words before did not end."""
    length = np.zeros(len(at), np.int64)
    length[rows] = np.maximum(end[rows] - at[rows], 0)
    todo = rows[length[rows] > 0]
    for k in range(_FIELD_WORDS):
        if not len(todo):
            break
        first = spans.lowest_bit(spans.bitmask([stop(b.words(at[todo] + spans.WORD * k))]))
        hit = first < spans.WORD
        length[todo[hit]] = np.minimum(length[todo[hit]], spans.WORD * k + first[hit])
        todo = todo[~hit & (length[todo] > spans.WORD * (k + 1))]
    long = np.zeros(len(at), bool)
    long[todo] = True
    return length, long


# ELIDED's two spellings: the same length in UTF-8.
_ELISION_NAMES = ["...", "\u2026"]
_ELISIONS = tuple(e.encode() for e in _ELISION_NAMES)
_ELISION_LEN = 3


def _elided(b: spans.Bytes, at: np.ndarray, end: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Whether an elision (ELIDED) starts at ``at``, asked on the rows ``where`` only (False
    elsewhere): the few that lack the number there, not every debug line."""
    out = np.zeros(len(at), bool)
    rows = np.flatnonzero(where)
    if len(rows):
        a, e = at[rows], end[rows]
        out[rows] = (e - a >= _ELISION_LEN) & (spans.starts(b, a, _ELISIONS[0]) | spans.starts(b, a, _ELISIONS[1]))
    return out


def _prefix(core: pa.Array) -> tuple[dict[str, pa.Array], pa.Array]:
    """PREFIX's fields (ts, vdom, vdidx, gw, serial: null where empty or absent) and the
    message ("" where PREFIX does not match), read by byte position.

    PREFIX is a row of optional fields, each a greedy run ended by a byte class, and its
    message runs to the line's end: it matches by one walk from the line's start, each
    field taken when its first byte is there (only the stamp can fail after it began, and
    then no `ike` can follow). The walk is that of every line at once, a field at a time;
    the few lines it cannot finish (a field over _FIELD_WORDS words, a stamp fraction
    as long) are extracted by PREFIX itself. RE2's extraction runs its slowest engine over
    the whole line for the message; this reads a few words per line."""
    b = spans.Bytes(core)
    s, e = b.start, b.end
    n = len(s)
    slow = np.zeros(n, bool)
    # `TS ` (a fraction optional) or nothing, then `ike `.
    stamp = (e - s >= 20) & spans.fits(b, s, _STAMP)
    dot = stamp & spans.byte_is(b, s + 19, e, ord("."))
    frac, long = _run(b, s + 20, e, spans.nondigit_bits, np.flatnonzero(dot))
    slow |= long
    ts_end = np.where(dot & (frac > 0), s + 20 + frac, s + 19)
    stamp = stamp & spans.byte_is(b, ts_end, e, ord(" "))
    at = np.where(stamp, ts_end + 1, s)
    ok = (e - at >= 4) & spans.starts(b, at, b"ike ")
    at = at + 4
    ranges = {"ts": (stamp & ok, s, ts_end)}
    # `V=vdom:`
    has = ok & (e - at >= 2) & spans.starts(b, at, b"V=")
    length, long = _run(b, at + 2, e, _name_end, np.flatnonzero(has))
    slow |= long
    has = has & (length > 0) & spans.byte_is(b, at + 2 + length, e, ord(":"))
    ranges["vdom"] = (has, at + 2, at + 2 + length)
    at = np.where(has, at + 3 + length, at)
    # `vdidx`, then `:gw`, `:serial`, (`:p2`, `:p2serial`: walked past, not kept), each
    # only after the one before. A number may be elided (ELIDED): walked past, null.
    length, long = _run(b, at, e, spans.nondigit_bits, np.flatnonzero(ok))
    slow |= long
    has = ok & (length > 0)
    ranges["vdidx"] = (has, at, at + length)
    elided = _elided(b, at, e, ok & ~has)
    has = has | elided  # (a new array: the range above keeps the digits only)
    at = np.where(has, at + np.where(elided, _ELISION_LEN, length), at)
    for name, stop in (("gw", _name_end), ("serial", spans.nondigit_bits), (None, _name_end),
                       (None, spans.nondigit_bits)):
        has = has & spans.byte_is(b, at, e, ord(":"))
        length, long = _run(b, at + 1, e, stop, np.flatnonzero(has))
        slow |= long
        if name:
            ranges[name] = (has & (length > 0), at + 1, at + 1 + length)
        if stop is spans.nondigit_bits:
            length = np.where(_elided(b, at + 1, e, has & (length == 0)), _ELISION_LEN, length)
        at = np.where(has, at + 1 + length, at)
    # `:? *`, and the message is the rest of the line.
    at = np.where(ok & spans.byte_is(b, at, e, ord(":")), at + 1, at)
    spaced = ok & spans.byte_is(b, at, e, ord(" "))
    length, long = _run(b, at, e, lambda w: spans.unequal_bits(w, ord(" ")), np.flatnonzero(spaced))
    slow |= long
    at = np.where(ok, at + length, e)

    out = {name: spans.texts(b, start, end, has) for name, (has, start, end) in ranges.items()}
    rest = np.flatnonzero(slow)
    if len(rest):
        found = pc.extract_regex(core.take(pa.array(rest)), PREFIX)
        pick = np.arange(n)
        pick[rest] = n + np.arange(len(rest))
        for name, values in fields(found, tuple(out)).items():
            out[name] = take_joined([out[name], values.cast(out[name].type)], pick)
        msg_len = pc.binary_length(pc.fill_null(pc.struct_field(found, "msg"), "")).to_numpy(zero_copy_only=False)
        at[rest] = e[rest] - msg_len
    return out, spans.texts(b, at, e)


# One line in this many is asked whether it starts with a time stamp (:func:`_prefix_once`).
_STAMP_SAMPLE = 64


def repeated(core: pa.Array) -> tuple[pa.Array, np.ndarray] | None:
    """The distinct records of ``core`` and each line's among them (regex.distinct), where
    the records repeat: a debug without time stamps repeats them (a proposal's lines, each
    retry of a negotiation; the 500k-line benchmark's 180k records are 3k texts), and a
    question of each line is then asked once per text. None where they do not: a sample
    of the lines (one in _STAMP_SAMPLE) that mostly starts with a stamp (stamped lines
    seldom repeat; not looked for further), or over half the lines distinct."""
    b = spans.Bytes(core)
    sample = b.start[::_STAMP_SAMPLE]
    if np.count_nonzero((b.end[::_STAMP_SAMPLE] - sample >= len(_STAMP)) & spans.fits(b, sample, _STAMP)) * 2 > len(sample):
        return None
    texts, which = distinct(core)
    return None if len(texts) * 2 > len(core) else (texts, which)


def _prefix_once(core: pa.Array) -> tuple[dict[str, pa.Array], pa.Array]:
    """:func:`_prefix` of each distinct line once, spread to its lines, where the lines
    repeat (:func:`repeated`); else of every line."""
    once = repeated(core)
    if once is None:
        return _prefix(core)
    texts, which = once
    pre, msg = _prefix(texts)
    at = pa.array(which)
    return {name: values.take(at) for name, values in pre.items()}, msg.take(at)


# MESSAGES patterns without their group names, for whole-table tests of several at once.
# Each wrapped in its own group: a union of them must not let one row's flags (`(?i)`) or
# alternation reach into the next.
_PLAIN = ["(?:" + re.sub(r"\(\?P<\w+>", "(?:", pattern) + ")" for _, pattern in MESSAGES]


# A message pasted without its `ike 0:gw:123:` context (a forum poster strips it, or the
# page shows the lines so): read when its body is unmistakably the daemon's (FORMATS.md §2)
# by BARE_BODY, MESSAGES without what prose says too: a row's alternatives that take any
# text before a word (`.*DPD.*`, `.*certificate.*`), the hex dumps (`in 1234…`: a word and
# a number) and the teardown and retransmission words (`deleting`). Which bare lines are
# read is decided by their block (sources/text.py): one with a prefixed IKE debug line or a
# BARE_STRONG body, which names a packet's addresses, an SA's SPIs or the failure in the
# daemon's own words. The line is then read by MESSAGES as any other.
BARE_LEFT_OUT = ("ike-hex", "sa-deleted", "retransmit")
_STRONG_SIGNS = ("(?P<src>", "(?P<ispi>", "(?P<esp_spi>", REFUSED_WORDS, "PSK auth failed: ", "Negotiate (?:ISAKMP )?SA Error")


def _scan(text: str):
    """(index, character, depth) of ``text``'s characters outside escapes and character
    classes; depth counts the groups open before each."""
    depth, i, in_class = 0, 0, False
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        else:
            depth -= c == ")"
            yield i, c, depth
            depth += c == "("
        i += 1


def _leading_group_end(text: str) -> int | None:
    """Where the group ``text`` opens with (`(?:`) closes, None when it does not open with one."""
    if not text.startswith("(?:"):
        return None
    return next(i for i, c, depth in _scan(text) if c == ")" and depth == 0)


def _without_any_first(alternation: str) -> str:
    """``alternation`` without its alternatives that take any text first (`.*DPD.*`), also
    inside an alternative that is one group; empty when none is left."""
    cuts = [i for i, c, depth in _scan(alternation) if c == "|" and depth == 0]
    kept = []
    for a, b in zip([-1, *cuts], [*cuts, len(alternation)]):
        alt = alternation[a + 1:b]
        if _leading_group_end(alt) == len(alt) - 1:  # one group: its own alternatives
            inner = _without_any_first(alt[3:-1])
            alt = f"(?:{inner})" if inner else ""
        if alt and not alt.startswith(".*"):
            kept.append(alt)
    return "|".join(kept)


def _bare(pattern: str) -> str | None:
    """``pattern`` (a MESSAGES row) as BARE_BODY takes it: group names gone, not anchored,
    without the alternatives of a leading group that take any text first; None when
    nothing is left."""
    plain = re.sub(r"\(\?P<\w+>", "(?:", pattern).removeprefix("^")
    end = _leading_group_end(plain)
    if end is not None:
        inner = _without_any_first(plain[3:end])
        plain = f"(?:{inner}){plain[end + 1:]}" if inner else ""
    return plain if plain and not plain.startswith(".*") else None


_BARE = [(kind, pattern, _bare(pattern)) for kind, pattern in MESSAGES if kind not in BARE_LEFT_OUT]
BARE_BODY = rf"^(?:{TS} )? *(?:" + "|".join(f"(?:{b})" for _, _, b in _BARE if b) + ")"
BARE_STRONG = rf"^(?:{TS} )? *(?:" + "|".join(f"(?:{b})" for _, p, b in _BARE
                                              if b and any(w in p for w in _STRONG_SIGNS)) + ")"
# The stamp and message of a bare line (BARE_BODY's), for :func:`parse`.
BARE_SPLIT = rf"^(?:(?P<ts>{TS}) )? *(?P<msg>.*)$"


def _first_row(msg: pa.Array, rows: np.ndarray | None = None, lo: int = 0, hi: int = len(MESSAGES)) -> np.ndarray:
    """Per message (of ``rows``, default all), the index of the first MESSAGES row (from
    ``lo`` to ``hi``) it matches, -1 for none. Rows are halved: one test of the union of
    the first half says which half to look in, so a message meets about log2(rows)
    patterns, not every row before its own (a pass costs about the same for one pattern
    or many)."""
    if rows is None:
        rows = np.arange(len(msg))
    if not len(rows):
        return np.zeros(0, dtype=np.int64)
    if hi - lo == 1:
        return np.where(matches_at(msg, rows, MESSAGES[lo][1]), lo, -1)
    mid = (lo + hi) // 2
    first = matches_at(msg, rows, "(?:" + "|".join(_PLAIN[lo:mid]) + ")")
    out = np.empty(len(rows), dtype=np.int64)
    for part, a, b in ((first, lo, mid), (~first, mid, hi)):
        out[part] = _first_row(msg, rows[part], a, b)
    return out


def _sa_of(gw: pa.Array, serial: pa.Array, rows: np.ndarray) -> list[tuple[object, object]]:
    """The (gateway, serial) context of each of ``rows``: which IKE SA's line it is."""
    take = pa.array(rows, pa.int64())
    return list(zip(gw.take(take).to_pylist(), serial.take(take).to_pylist()))


def _same_sa(a: tuple[object, object], b: tuple[object, object]) -> bool:
    """Two (gateway, serial) contexts of one IKE SA: the serial decides where both print one
    (a dial-up gateway is renamed `ra` → `ra_0` mid-negotiation), else the gateway too."""
    if a[1] is not None and b[1] is not None:
        return a[1] == b[1]
    return a == b


def _decode_hex(rows: np.ndarray, cols: dict[str, np.ndarray], sa: list[tuple[object, object]]) -> None:
    """Decode the `in/out/enc/dec HEX` dumps (at ``rows``) (wrapped lines already joined) with the wire
    decoder: header, payload chain, notifies, proposals.

    What FortiOS prints (checked against the corpus): `in`/`out` are the whole IKE message
    as on the wire (without the RFC 3948 non-ESP marker); `dec` is the decrypted message:
    the IKE header, then for IKEv2 an SK payload header of length 4 whose next-payload
    names the first inner payload, then the inner payloads (for IKEv1 the header still
    has its E flag); `enc` is the plaintext payload chain before encryption, with no IKE
    header and no first-payload type: it is read under the header of the `out` dump that
    follows it (the same message encrypted), whose SK/SKF payload (IKEv2) or header
    (IKEv1) names the first payload. That `out` must be the next dump and carry the same
    gateway and serial (``sa``): another SA's message, interleaved by a busy daemon, would
    lend its header (exchange, SPIs, message id) to a message it is not. The `detail` keeps the dump's word and says where
    decoding stopped, if it did.
    """
    decoded: dict[tuple[str, str, str], dict[str, object]] = {}  # a re-sent message is dumped again: decode it once
    found = []
    words, hexes = cols["detail"][rows].tolist(), cols["hex"][rows].tolist()
    for k, (word, hx) in enumerate(zip(words, hexes)):  # a fraction of the lines
        head = ""
        if word == "enc":
            paired = k + 1 < len(words) and words[k + 1] == "out" and _same_sa(sa[k], sa[k + 1])
            head = (hexes[k + 1] or "") if paired else ""
            if not head:
                found.append(_ENC)
                continue
        known = decoded.get((word, hx or "", head))
        if known is None:
            known = decoded[(word, hx or "", head)] = _decoded_fields(word, hx or "", head)
        found.append(known)
    # A column at a time, from each distinct result once (a message dumped again shares its
    # first dump's dict): a debug repeats its messages far more often than it prints new ones.
    distinct: dict[int, int] = {}
    which = np.array([distinct.setdefault(id(known), len(distinct)) for known in found], np.int64)
    results = list({id(known): known for known in found}.values())
    for name in {name for known in results for name in known}:
        has = np.array([name in known for known in results], dtype=bool)[which]
        values = _objects([known.get(name) for known in results])
        cols[name][rows[has]] = values[which[has]]


_ENC = {"detail": "enc; not decoded: plaintext payload chain before encryption, and no `out` dump of the "
                  "encrypted message after it (the same SA's next dump) to take the IKE header from"}
_ENC_UNDER_CLEAR = {"detail": "enc; not decoded: plaintext payload chain before encryption, and the `out` dump "
                              "after it is not an encrypted message"}


def _decoded_fields(word: str, hx: str, head: str = "") -> dict[str, object]:
    """The columns one `in/out/dec` dump fills, or an `enc` dump under the `out` dump
    ``head`` (see :func:`_decode_hex`)."""
    data = _bytes(hx)
    if word == "enc":
        data = _plaintext_as_message(data, _bytes(head))
        if data is None:
            return _ENC_UNDER_CLEAR
    elif word == "dec":
        data = _decrypted_as_message(data)
    try:
        message = decode(data)
    except WireError as exc:
        return {"detail": f"{word}; not decoded: {exc}"}
    out: dict[str, object] = {
        "ike_version": message.version,
        "exchange": message.exchange_name,
        "response": message.response,
        "msg_id": message.msg_id,
        "ispi": message.ispi,
        "rspi": message.rspi,
        "payloads": " ".join(message.payloads) or None,
        "notify": " ".join(message.notify) or None,
        "proposals": message.proposals_summary or None,
        "selectors": message.selectors_summary or None,
    }
    if message.stopped:
        out["detail"] = f"{word}; decoding stopped: {message.stopped}"
    return out


def _bytes(hx: str) -> bytes:
    """A dump's bytes, without the RFC 3948 non-ESP marker."""
    data = bytes.fromhex(hx[:len(hx) - len(hx) % 2])
    if data[:4] == NON_ESP_MARKER and len(data) >= 4 + HEADER_LEN:
        data = data[4:]
    return data


def _plaintext_as_message(chain: bytes, sent: bytes) -> bytes | None:
    """An `enc` payload chain as a message the decoder reads in clear, under the header of
    the encrypted message ``sent``: IKEv2 takes the first payload from its SK/SKF payload
    and drops the chain's padding (RFC 7296 §3.14: the last byte counts the pad bytes
    before it); IKEv1's header names the first payload itself. None when ``sent`` is not
    an encrypted message."""
    if len(sent) < HEADER_LEN + 4 or not chain:
        return None
    version = sent[17] >> 4
    if version == 2 and sent[16] in (PAYLOAD_SK, PAYLOAD_SKF):
        first = sent[HEADER_LEN]
        pad = chain[-1] + 1
        if pad < len(chain):
            chain = chain[:-pad]
        flags = sent[19]
    elif version == 1 and sent[19] & FLAG_V1_ENCRYPTION:
        first, flags = sent[16], sent[19] & ~FLAG_V1_ENCRYPTION & 0xFF
    else:
        return None
    length = (HEADER_LEN + len(chain)).to_bytes(4, "big")
    return sent[:16] + bytes([first, sent[17], sent[18], flags]) + sent[20:24] + length + chain


def _decrypted_as_message(data: bytes) -> bytes:
    """A `dec` dump as a message the decoder reads in clear: IKEv2 drops the 4-byte SK
    header and lets the IKE header name the first inner payload; IKEv1 clears the E flag."""
    if len(data) < HEADER_LEN:
        return data
    version = data[17] >> 4
    if version == 2 and data[16] == PAYLOAD_SK and len(data) >= HEADER_LEN + 4 and data[30:32] == b"\x00\x04":
        inner = data[HEADER_LEN]
        body = data[HEADER_LEN + 4:]
        length = (HEADER_LEN + len(body)).to_bytes(4, "big")
        return data[:16] + bytes([inner]) + data[17:24] + length + body
    if version == 1 and data[19] & FLAG_V1_ENCRYPTION:
        return data[:19] + bytes([data[19] & ~FLAG_V1_ENCRYPTION & 0xFF]) + data[20:]
    return data


def _join_exchange(row: np.ndarray, cols: dict[str, np.ndarray], direction: np.ndarray) -> None:
    """`comes A:p->B:q` is followed by `IKEvN exchange=X id=I/R:M len=L` for the same
    message: the received row (the packet) gets the header, the exchange row the addresses."""
    ex = np.flatnonzero(_kind_in(row, "ike-exchange"))
    ex = ex[ex > 0]
    pair = _kind_in(row[ex - 1], "ike-received")  # each pair is two rows of its own: whole columns at once
    i, j = ex[pair], ex[pair] - 1
    for to, frm, names in ((j, i, ("ike_version", "exchange", "ispi", "rspi", "msg_id", "length")),
                           (i, j, ("src", "sport", "dst", "dport"))):
        for name in names:
            col = cols[name]
            empty = np.equal(col[to], None)
            col[to[empty]] = col[frm[empty]]
    direction[i] = "in"


def _transport(row: np.ndarray, cols: dict[str, np.ndarray]) -> np.ndarray:
    """UDP 500, UDP 4500, or TCP: the gateway's own port says which. A `comes` to, or a
    `sent IKE msg` from, any other port is IKE over TCP (RFC 8229, `ike-tcp-port`)."""
    n = len(row)
    transport = np.full(n, None, dtype=object)
    received = _kind_in(row, "ike-received", "ike-exchange")
    sent = _kind_in(row, "ike-sent", "nat-keepalive-sent", "error")
    accepted = _kind_in(row, "tcp-accepted")
    port = np.where(accepted, cols["sport"], np.where(received, cols["dport"], np.where(sent, cols["sport"], None)))
    rows = np.flatnonzero((received | sent | accepted) & np.not_equal(port, None))
    transport[np.flatnonzero(np.equal(port, None) & _kind_in(row, "nat-keepalive-sent"))] = "udp4500"
    values = port[rows]
    values = np.asarray(values, dtype=np.int64)  # parsed integers (regex.to_int), or None: not in rows
    ok = (values >= 0) & (values <= 99999)  # five digits at most: more is a mangled line, not a port
    transport[rows[ok]] = np.where(values[ok] == 500, "udp500", np.where(values[ok] == 4500, "udp4500", "tcp"))
    return transport


# Authentication daemons beside IKE: fnbamd (`[1757] handle_req-Rcvd auth req ...`,
# optionally after a date; `fnbamd_dbg_hex_pnt[50] EAP msg from client (43)-02 64 ...`),
# samld (`samld_process_request [145]: ...`, `__samld_sp_login_resp [866]: ...`) and the
# SSL-VPN daemon's SAML lines (`[22973:root:1ee]fsv_saml_login_response:509 No group info`).
# The EAP proxy (FortiGate's own RADIUS/EAP server for local users, hostapd-derived) prints
# `RADIUS SRV: ...`, `EAP-MSCHAPV2: ...`, `CTRL-EVENT-EAP-...` and `eap_comm_... 748 -- ...`.
# A paste may align the functions after pids of several widths (`[438]  ldap_start-...`).
EAP_PROXY = r"RADIUS SRV|EAP(?:-[\w-]+)?|CTRL-EVENT-[A-Z-]+|e(?:ap|p)_\w+"
AUTHD_START = (
    rf"^(?:{TS} )?\[\d+\] +\S|^_*(?i:samld|fsv_saml|fnbamd)\w* \[\d+\]:|^__\w+ \[\d+\]:"
    r"|^[A-Za-z]\w*_\w+\[\d+\] |^\[\d+:[^\]\s]*\][A-Za-z_]\w*:\d+ "
    r"|^(?:RADIUS SRV|EAP(?:-[\w-]+)?): |^CTRL-EVENT-[A-Z]+-[A-Z-]+\b|^e(?:ap|p)_\w+ \d+\b"
)
# The same found mid-line: typed keys (` de2025-01-20 14:31:38 [730] __rad_conn_timeout-...`),
# a dump cut off by another daemon's line, garbled bytes before a samld function name.
AUTHD_ANYWHERE = rf"{TS} \[\d+\] [A-Za-z_]|[A-Za-z_]\w*_\w+ \[\d+\]: "
# The head of an authd record: its stamp and the daemon's function. The message after it
# is not an event column (the record's text is), so it is not extracted: RE2 extracts
# groups by its slowest engine, over every byte a group spans.
AUTHD = (
    rf"^(?:(?P<ts>{TS}) )?(?:\[(?P<pid>\d+)\] +(?P<func>[A-Za-z_][\w]*)-?|(?P<func2>_*\w+) \[\d+\]: ?"
    r"|(?P<func3>\w+)\[\d+\] |\[\d+:[^\]\s]*\](?P<func4>\w+):\d+ "
    rf"|(?P<func5>{EAP_PROXY})(?:: | \d+\b|\b))?"
)
# An authd record that opens a dump printed over several lines: samld `func [N]:` with
# nothing after it (then `**** AuthnRequest ****`, XML, `*****`), or an attribute whose
# XML value the daemon prints with its own line breaks (`Attr: 16, 3179, <lasso:Session`).
BLOCK_OPEN = r"^_*\w+ \[\d+\]:\s*$|^_*\w+ \[\d+\]:\s+Attr: \d+, \d+, <|hexdump(?:_ascii)?\(len=\d+\):\s*$"
# An `in/out/enc/dec HEX` record: its wrapped hex lines are continuations.
HEX_RECORD = rf"^(?:{TS} )?ike \S*:? ?(?:in|out|enc|dec) [0-9A-Fa-f]+\s*$"
# The same with every byte on the lines below (`ike 0:IPSECVPN_Zscaler:1094499: out `, a
# blank line, ` 65D3AE18...`: a web copy broke it after the word).
HEX_OPEN = rf"^(?:{TS} )?ike \S*:? ?(?:in|out|enc|dec)\s*$"
# Records a web copy broke at a blank and the shape of their rest, on the line below or
# after the blank line(s) the copy put at every break: (how the record ends, how its rest
# begins, the separator that joins them). A dump's bytes are asked by HEX_RECORD/HEX_OPEN.
RESTS: list[tuple[str, str, str]] = [
    # `sent IKE msg (AUTH):` / `10.17.4.132:4500->103.9.225.1:4500, len=240, vrf=0, id=...`
    (r"\bsent IKE msg \([^)]*\):\s*$", rf"^{IP}:\d+->{IP}:\d+\b", " "),
    # `IKEv2 exchange=AUTH_RESPONSE` / `id=d877b92d9f8675a0/5929808be8170f37:00000001 len=80`
    (r"\bIKEv[12] exchange=[A-Za-z_ ]*[A-Za-z_]\s*$", rf"^id={SPI}/{SPI}\b", " "),
    # `comes` / `192.0.2.7:500->198.51.100.1:500,ifindex=5,...`
    (r"\bcomes\s*$", rf"^{IP}:\d+->{IP}:\d+\b", " "),
    # `sent IKE msg` / `(AUTH_RESPONSE): 192.0.2.1:4500->...`
    (r"\bsent IKE msg\s*$", r"^\([A-Za-z0-9_ ]*\):", " "),
    # `established IKE SA` / `7c3e19a04b5d2f81/e0a4c2917f3b5d06`
    (r"\bestablished IKE SA\s*$", rf"^{SPI}/{SPI}\s*$", " "),
    # `..., id=d877b92d9f8675a0/5929808be8170f37:0000` / `0001`: the message id cut inside
    # its 8 digits (the two parts must make 8: MSG_ID_DIGITS).
    (rf"\bid={SPI}/{SPI}:[0-9A-Fa-f]{{1,7}}\s*$", r"^[0-9A-Fa-f]{1,7}\s*$", ""),
]
# Digits of a message id in `id=I/R:M` (`:00000001`, IKEv1 `:eb88c9a9`).
MSG_ID_DIGITS = 8


def parse_authd(core: pa.Array) -> dict[str, object]:
    g = groups(core, AUTHD)
    return {
        "kind": pa.repeat(pa.scalar("authd", pa.string()), len(core)),
        "detail": pc.coalesce(g["func"], g["func2"], g["func3"], g["func4"], g["func5"]),
        "ts_abs": g["ts"],
    }


def is_record(arr: pa.Array) -> np.ndarray:
    return matches(arr, RECORD_START)
