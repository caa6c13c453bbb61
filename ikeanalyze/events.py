"""The event table: one row per observation, from any source.

This module is the one place where a column is born: its name, its dtype and, for the
categorical columns, the vocabulary of values it may hold. Parsers fill plain Python
lists or arrow arrays per column and call :func:`frame` once per chunk; they never build
rows as dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

# The times the table holds, in microseconds since 1970: pandas' nanosecond range
# (1677-09-21 to 2262-04-11), which every report's time arithmetic uses, less a day at
# each end for that arithmetic (a chart's ticks round outwards). A stamp outside it is a
# mangled line, not a time (sources/text.py keeps such a line without one).
_DAY_US = 86_400_000_000
TIME_MIN_US = pd.Timestamp.min.value // 1000 + _DAY_US
TIME_MAX_US = pd.Timestamp.max.value // 1000 - _DAY_US

# Column -> arrow type. Order is the order of the table.
SCHEMA: dict[str, pa.DataType] = {
    "time": pa.timestamp("us"),  # absolute, in the source's own clock (see IngestReport.clock)
    "t": pa.float64(),  # seconds since the first timed event of the source
    "source": pa.string(),  # input name
    "ref": pa.int64(),  # 1-based line (text) or frame number (capture)
    "origin": pa.string(),  # pcap | sniffer | tcpdump | ikedebug | authd | snapshot | flow | eventlog | config
    "kind": pa.string(),  # see KINDS
    "iface": pa.string(),
    "direction": pa.string(),  # in | out | None (unknown: sniffer `--`, captures before inference)
    "src": pa.string(),
    "sport": pa.int32(),
    "dst": pa.string(),
    "dport": pa.int32(),
    "proto": pa.string(),  # udp | tcp | esp | icmp | arp | ip-proto-N
    "length": pa.int32(),  # L4 payload length (UDP/TCP payload, ESP: IP payload)
    "tcp_flags": pa.string(),  # space-separated words: syn fin rst psh ack
    "tcp_seq": pa.int64(),
    "tcp_ack": pa.int64(),
    "transport": pa.string(),  # see TRANSPORTS
    "ike_version": pa.int8(),
    "exchange": pa.string(),  # IKE exchange name (SA_INIT, AUTH, ... / Identity Protection ...)
    "response": pa.bool_(),
    "msg_id": pa.int64(),
    "ispi": pa.string(),  # 16 lowercase hex digits
    "rspi": pa.string(),
    "payloads": pa.string(),  # space-separated payload names in chain order
    "notify": pa.string(),  # space-separated notify type names
    "proposals": pa.string(),  # SA proposals: "#1 IKE: AES_CBC-256 PRF_HMAC_SHA2_256 ... | #2 ..."
    "selectors": pa.string(),  # IKEv2 traffic selectors: "TSi 0:10.0.1.0-10.0.1.255:0; TSr ..."
    "esp_spi": pa.string(),  # 8 lowercase hex digits
    "esp_seq": pa.int64(),
    "tunnel": pa.string(),  # FortiGate phase-1 / connection name
    "vdom": pa.string(),
    # The FortiGate that printed a text line, where the paste's CLI prompts name one: the
    # hostname of the last prompt above it (`FGT-2` of `FGT-2 (Secondary) # get ...`).
    "device": pa.string(),
    "serial": pa.int64(),  # FortiOS IKE SA serial (debug context `gw:serial:`)
    "detail": pa.string(),  # kind-specific detail: sent-message type, error text, reason
    "wire": pa.bool_(),  # the row stands for one packet on the wire (flows count these)
    "text": pa.string(),  # the raw line (text) or a one-line summary (capture)
}
COLUMNS: tuple[str, ...] = tuple(SCHEMA)
DTYPES: dict[str, pd.ArrowDtype] = {name: pd.ArrowDtype(t) for name, t in SCHEMA.items()}
ARROW_SCHEMA = pa.schema(list(SCHEMA.items()))

# The `kind` vocabulary. Packet kinds come from captures and sniffer text; the rest from
# debug lines. Extend here (and only here) when a new form needs a new kind.
PACKET_KINDS = frozenset(
    {"ike", "esp", "nat-keepalive", "tcp", "iketcp-prefix", "ip-fragment", "icmp", "arp", "other"}
)
DEBUG_KINDS = frozenset(
    {
        "ike-sent",
        "ike-received",
        "ike-exchange",
        "ike-hex",
        "nat-keepalive-sent",
        "nat",
        "dpd",
        "sa-established",
        "sa-deleted",
        "negotiation-failed",
        "tcp-accepted",
        "retransmit",
        "notify",
        "proposal",
        "auth",
        "selectors",
        "error",
        "negotiation-start",  # `IPsec SA connect ...`: the device starts a negotiation
        "ike-fragment",  # IKEv2 fragmentation (RFC 7383): `encrypted fragment 1 of 7 queued`
        "ike-other",
    }
)
# `flow`: a `diagnose debug flow` trace line; `flow-ipsec`: one that shows the packet in IPsec.
# `config`: a statement of a pasted FortiOS configuration (sources/fgconfig.py).
OTHER_KINDS = frozenset({"authd", "snapshot", "flow", "flow-ipsec", "config"})
# FortiGate event-log lines (sources/eventlog.py): a VPN line by its action and status
# (`vpn-error`: the status says it failed), `log-other` a line of another subtype or an SSL-VPN one.
EVENTLOG_KINDS = frozenset(
    {"vpn-negotiate", "vpn-error", "vpn-up", "vpn-down", "vpn-stats", "vpn-dpd", "vpn-log", "log-other"}
)
KINDS = PACKET_KINDS | DEBUG_KINDS | OTHER_KINDS | EVENTLOG_KINDS

TRANSPORTS = frozenset({"udp500", "udp4500", "tcp", "esp"})
ORIGINS = frozenset({"pcap", "sniffer", "tcpdump", "ikedebug", "authd", "snapshot", "flow", "eventlog", "config"})

# The `wire` column says which rows stand for one packet: every capture frame and sniffer
# header; a debug `comes`/`sent IKE msg` line; the `NAT keep-alive` notice. The `out FF`
# hex line and a `sent IKE msg (keepalive)` echoing the notice just above it are the same
# packet again, so they are not wire rows and a keepalive is never counted three times.


def table(columns: Mapping[str, Any], n: int) -> pa.Table:
    """The event table of ``n`` rows as arrow, from whole columns; missing columns are null.

    Readers that build many pieces (a capture's chunks) concatenate and sort these and make
    one DataFrame at the end (:func:`from_table`): a DataFrame per piece costs more than the
    piece."""
    arrays = []
    for name, typ in SCHEMA.items():
        col = columns.get(name)
        if col is None:
            arr = pa.nulls(n, typ)
        elif isinstance(col, (pa.Array, pa.ChunkedArray)):
            arr = col if col.type == typ else col.cast(typ)
        else:
            arr = pa.array(col, type=typ)
        if len(arr) != n:
            raise ValueError(f"column {name!r} has {len(arr)} rows, expected {n}")
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


def from_table(tab: pa.Table) -> pd.DataFrame:
    """The event DataFrame of an arrow event table (columns in schema order, arrow dtypes)."""
    return pd.DataFrame(
        {name: pd.Series(tab.column(name), dtype=DTYPES[name], copy=False) for name in SCHEMA}, copy=False
    )


def columns(rows: list[dict]) -> dict[str, list]:
    """Rows made one by one (a dict each, only the fields they have) as whole columns, for
    :func:`table`/:func:`frame`, which null the columns no row has."""
    names = dict.fromkeys(name for row in rows for name in row)
    return {name: [row.get(name) for row in rows] for name in names}


def frame(columns: Mapping[str, Any], n: int) -> pd.DataFrame:
    """Build an event table of ``n`` rows from whole columns; missing columns are null."""
    return from_table(table(columns, n))


def empty() -> pd.DataFrame:
    """An event table with no rows and every column typed."""
    return frame({}, 0)


def concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate event tables, keeping the schema even when there are none."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty()
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    return out.astype(DTYPES)
