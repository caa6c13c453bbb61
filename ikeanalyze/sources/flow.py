"""FortiGate `diagnose debug flow trace` lines → `flow` events.

Engineers paste the packet-flow trace beside the IKE debug and the sniffer to show where a
packet went (public handbooks and notes; FORMATS.md has no section yet):

    2022-12-30 17:50:12 id=20085 trace_id=1 func=ipsecdev_hard_start_xmit line=669 msg="enter IPSec interface VPN-to-SH, tun_id=0.0.0.0"
    trace_id=1 func=print_pkt_detail line=5942 msg="vd-root:0 received a packet(proto=1, 10.0.1.101:48564->10.0.2.101:2048) tun_id=10.0.0.4 from EDGE_INET1. type=8, ..."

The stamp (`diagnose debug console timestamp enable`), `id=` and `func=`/`line=` (`diagnose
debug flow show function-name enable`) are optional. The addresses in a trace are the
packet's, inside the tunnel, not the gateways': they are not put in src/dst. Kept: the
time, the message (`detail`, after its function), the VDOM, and the tunnel when the line
names the IPsec interface the packet enters or came from. A line that shows the packet
in IPsec (:data:`TUNNEL_NAMES`, or IPsec/ESP in its function or message:
`esp_output4 ... "IPsec encrypt/auth"`) is kind `flow-ipsec`, IPsec evidence; the others
(session, route, policy) are kind `flow`.

A trace (`trace_id`) names its tunnel once; its later lines (`IPsec encrypt/auth`, `send
to ...`, `No matching IPsec selector, drop`) carry that tunnel too (:func:`_carried`), so
`--tunnel` keeps a whole trace and a rule can say which tunnel dropped a packet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze.sources.regex import groups, matches

TS = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?"
# A trace record, where it starts; START: a line that starts with one (the line classifier).
RECORD = rf"(?:{TS} )?(?:id=\d+ )?trace_id=\d+ (?:func=\S+ )?(?:line=\d+ )?msg="
START = "^" + RECORD
# One glued after the prompt the trace was started from (`FG1 # id=20085 trace_id=2
# func=print_pkt_detail ...`: the console prints the first record right after it): found
# after a blank, so a word ending in `id=` (`xid=`) is not taken for one.
RECORD_ANYWHERE = rf"\s{RECORD}"
LINE = (rf"^(?:(?P<ts_abs>{TS}) )?(?:id=\d+ )?trace_id=(?P<trace_id>\d+) (?:func=(?P<func>\S+) )?(?:line=\d+ )?"
        r"msg=(?P<msg>.*)$")

# A trace line whose message is closed: whole, whatever its length (not cut by a terminal).
COMPLETE = r"msg=\".*\"\s*$"

# Messages that name the IPsec interface (the phase-1 name) a packet enters, in order: 6.2+
# `enter IPSec interface VPN-IPSEC, tun_id=0.0.0.0`; 4.x-6.0 `enter IPsec interface-HO_port1_2`
# (a hyphen, no blank). Read at the start of the message or after a later record's `msg=`
# (a web copy that ran a trace's records onto one line: the line is one event).
AT_MSG = r"(?:^|\bmsg=)\"?"
TUNNEL_NAMES = [
    rf"{AT_MSG}enter IP[sS]ec interface[ -](?P<tunnel>[^,\s\"]+)",
    rf"{AT_MSG}output to IPSec tunnel (?P<tunnel>[^,\s\"]+)",
]
# The first line of a packet's trace (`vd-root:0 received a packet(...)`, 4.x `vd-root
# received a packet(...)`): a trace_id printed again after it is another packet's.
PACKET_START = r"^\"?vd-\S+ received a packet\("
# `vd-root:0 received a packet(...) tun_id=200.1.1.2 from VPN-to-SH.`: came in from a tunnel
# when the tunnel id is not 0.0.0.0.
RECEIVED = r"^\"?vd-(?P<vdom>[^:\s]+):\d+ received a packet\(.*\) tun_id=(?P<tun_id>\S+) from (?P<iface>\S+?)\.?(?:\s|\"|$)"
IPSEC = r"(?i)ipsec|\besp"
# A record a web copy broke at a blank, and the shape of its rest (sources/text.py joins
# them, as for ikedebug.RESTS): (how the record ends, how its rest begins, the separator).
RESTS: list[tuple[str, str, str]] = [
    # `... func=ipsec_common_output4 line=804 msg=` / blank / `"No matching IPsec selector, drop"`
    (r"^(?:\S+ )*trace_id=\d+ .*\bmsg=\s*$", r'^"[^"]*"', ""),
]


def parse(core: pa.Array) -> dict[str, object]:
    """Trace lines → event columns."""
    n = len(core)
    g = groups(core.cast(pa.string()), LINE)
    msg = pc.fill_null(g["msg"], "")
    func = g["func"]
    tunnel = pa.nulls(n, pa.string())
    for pattern in TUNNEL_NAMES:
        tunnel = pc.coalesce(tunnel, groups(msg, pattern)["tunnel"])
    got = groups(msg, RECEIVED)
    from_tunnel = pc.and_(pc.is_valid(got["tun_id"]), pc.not_equal(pc.fill_null(got["tun_id"], ""), "0.0.0.0"))
    tunnel = pc.coalesce(tunnel, pc.if_else(from_tunnel, got["iface"], pa.scalar(None, pa.string())))
    ipsec = matches(msg, IPSEC) | matches(pc.fill_null(func, ""), IPSEC) | pc.is_valid(tunnel).to_numpy(zero_copy_only=False)
    tunnel = _carried(tunnel, g["trace_id"], matches(msg, PACKET_START))
    text = pc.utf8_trim(msg, '"')
    detail = pc.if_else(pc.is_valid(func), pc.binary_join_element_wise(func, text, ": "), text)
    return {
        "kind": pa.array(np.where(ipsec, "flow-ipsec", "flow"), pa.string()),
        "tunnel": tunnel,
        "vdom": got["vdom"],
        "detail": detail.cast(pa.string()),
        "ts_abs": g["ts_abs"],
        "ts_rel": pa.nulls(n, pa.string()),
    }


def _carried(tunnel: pa.Array, trace_id: pa.Array, starts: np.ndarray) -> pa.Array:
    """The tunnel a packet's trace named, on its later lines too: per trace (its `trace_id`,
    and how many packets of that id began above, as ids start again after a reboot), the
    last tunnel named on or above each line. A line above the one naming it keeps none
    (the route and policy lines of a packet on its way in are not yet the tunnel's)."""
    if not len(tunnel) or tunnel.null_count == len(tunnel):
        return tunnel
    trace = pd.Series(trace_id.to_numpy(zero_copy_only=False), dtype=object)
    packet = pd.Series(starts).groupby(trace, sort=False, dropna=False).cumsum()
    named = pd.Series(tunnel.to_numpy(zero_copy_only=False), dtype=object)
    filled = named.groupby([trace, packet], sort=False, dropna=False).ffill()
    return pa.array(filled.to_numpy(), pa.string(), from_pandas=True)
