"""A negotiation was abandoned: `negotiation timeout, deleting`.

## What it detects
The FortiGate debug's `negotiation timeout, deleting` for an IKE SA (phase 1 or its
first CHILD SA) that did not complete within the retransmission budget. One finding per
peer (or gateway), with how many negotiations timed out and the exchange each was in.
A FortiGate event-log line stating the same cause (a reason of `negotiation timeout`) is told too, with the
log's numbers; beside a debug of the same peer or tunnel it is more evidence of that
finding, not a second one (rules/fromlog.py).

When the gateway's remote address was still 0.0.0.0 (its FQDN had not resolved: the
debug later prints `remote gateway IP address changed 0.0.0.0-><address>`), the finding
says so: the negotiation that timed out had no peer to reach.

## Why it matters
A timeout is a symptom: the last message was not answered. The root cause is grouped
above it when the input shows one (unanswered SA_INIT, PSK mismatch on the peer, a client
that stopped answering EAP, a refused gateway); alone, it says the other side or the path
lost the exchange.

## Evidence
The `negotiation timeout` line(s) and the last message this side sent before it.

## Fix
Look at the finding grouped above it. Without one, debug both ends at the same time
(`diagnose vpn ike log filter rem-addr4 <peer>`, `diagnose debug application ike -1`) and
capture `diagnose sniffer packet any 'host <peer> and (udp port 500 or udp port 4500)' 6 0 l`
to see which message is lost. When the gateway's name had not resolved (the finding says
so), check DNS resolution of the peer's FQDN on the FortiGate (`execute ping <fqdn>`, the
DNS servers in `config system dns`) and the phase 1's `set remotegw-ddns <fqdn>`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ikeanalyze.analysis import linesearch, sas, snapshots
from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.rules.base import evidence, finding, ispis, join_note, moment
from ikeanalyze.rules.registry import NoThresholds, rule

TIMEOUT = linesearch.text_search(r"negotiation timeout, deleting")
# A dial-out gateway named by FQDN (DDNS) starts with remote address 0.0.0.0 until the
# name resolves; the debug prints the change, and the DNS request before it names the FQDN.
UNRESOLVED = linesearch.text_search(r"remote gateway IP address changed 0\.0\.0\.0->")
DNS_REQUEST = linesearch.text_search(r"sending DNS request for remote peer (\S+)")
UNRESOLVED_FIX = ("Check DNS resolution of the peer's FQDN on the FortiGate (`execute ping <fqdn>`, the DNS "
                  "servers in `config system dns`) and the phase 1's `set remotegw-ddns <fqdn>`: the negotiation "
                  "ran before the name resolved, with remote address 0.0.0.0.")


@rule("IKE210", "negotiation-timeout", severity="warning")
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    for h in ng.hits(ctx.events, TIMEOUT):
        first, last = h.rows[0], h.rows[-1]
        sent = []
        for n in h.negotiations:
            s = n.rows[(n.rows["kind"] == "ike-sent").to_numpy() & (n.rows["ref"] < int(last.ref)).to_numpy()]
            if len(s):
                sent.append(s.iloc[-1])
        last_sent = f"; the last message sent was `{sent[-1].detail}` at {sas.where(sent[-1])}" if sent else ""
        gw = f" on gateway {h.tunnel}" if h.tunnel else ""
        msg = (f"{counted(len(h.rows), 'IKE negotiation')} with {h.peer or 'the peer'}{gw} timed out and "
               f"{'was' if len(h.rows) == 1 else 'were'} deleted "
               f"({sas.where(ng._as_row(first))}"
               + (f" to {sas.where(ng._as_row(last))}" if len(h.rows) > 1 else "") + f"){last_sent}.")
        ddns = _unresolved(ctx, first, h.tunnel)
        f = finding(
            "IKE210", msg + (ddns[0] if ddns else ""),
            between=(first, last),
            tunnel=h.tunnel, peer=h.peer,
            evidence=[evidence(r) for r in [*ng.evidence_rows(sent[-1:], h.rows[:3]), *(ddns[1] if ddns else [])]],
            timeline=[moment(last, f"negotiation with {h.peer or 'the peer'} timed out")],
            facts={"timeouts": len(h.rows), "ispis": ispis(h.negotiations)}
            | ({"unresolved_fqdn": ddns[2]} if ddns else {}),
            fix=UNRESOLVED_FIX if ddns else None,
        )
        # A gateway list showing that phase 1 still `connecting` joins the evidence.
        note = snapshots.connecting_note(ctx, f.peer_ip, f.tunnel)
        if note:
            join_note(f, note)
        yield f


def _unresolved(ctx: Context, first, tunnel: str | None) -> tuple[str, list, str | None] | None:
    """The gateway's remote address was 0.0.0.0 at the timeout: the first `remote gateway
    IP address changed 0.0.0.0->` of its gateway comes after it. (sentence, rows, FQDN)"""
    if not tunnel:
        return None
    lines = ng.light(ctx.events)
    col = ng.light_text(ctx.events)
    mine = ng.gateway_lines(ctx.events, first.source, tunnel)
    changed = np.flatnonzero(mine & col.search(UNRESOLVED))
    if not len(changed) or int(lines["ref"].iloc[changed[0]]) < int(first.ref):
        return None
    change = lines.iloc[changed[0]]
    names = col.extract(DNS_REQUEST)
    asked = np.flatnonzero(mine & pd.notna(names))
    asked = asked[lines["ref"].to_numpy()[asked].astype(int) <= int(change["ref"])]
    fqdn = str(names[asked[-1]]) if len(asked) else None
    rows = ([lines.iloc[asked[-1]]] if len(asked) else []) + [change]
    name = f"its name {fqdn} ({sas.where(rows[0])})" if fqdn else "its name"
    text = (f" The gateway's remote address was still 0.0.0.0 until {sas.where(change)} (`remote gateway IP "
            f"address changed 0.0.0.0->…`): {name} had not resolved when the negotiation started, so it had "
            "no peer to reach.")
    return text, rows, fqdn
