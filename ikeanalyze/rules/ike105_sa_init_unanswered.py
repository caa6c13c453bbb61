"""IKE_SA_INIT unanswered: the first message of a negotiation is re-sent and nothing comes back.

## What it detects
An IKEv2 IKE_SA_INIT request, or the first IKEv1 Main/Aggressive mode message (responder
SPI still zero), sent at least `min_sends` times (the original and its retransmissions)
with no message at all coming back on that SA (a retry after the peer answered an earlier
try, with INVALID_KE_PAYLOAD or a COOKIE, is not unanswered: the peer is there). Read from decoded captures and sniffer hex
dumps, from IKE debug (`sent IKE msg (SA_INIT)` then `(RETRANSMIT_SA_INIT)` with no
`comes` for the SPI), and from sniffer text without hex dumps as the same `udp <len>` to
port 500 repeated while nothing at all arrives from that peer, or, in the responder's sniffer,
arriving from the peer while this side sends nothing back to it (at verbosity 1-3 the text
shows no in/out: when nothing tells which side is this FortiGate, the finding says what
each possibility means and `--local` settles it). An IKE debug of the
responder that keeps receiving and ignoring SA_INIT is left to the rule that names the
reason it gives (IKE209 and friends), and so is the responder's sniffer of those requests. An ICMP port unreachable for UDP 500 (`192.0.2.1 udp
port 500 unreachable`, from tcpdump or sniffer text or a capture) is no answer: it joins the
finding of the requests it refused, and, when there is none (a request sent once) and nothing
came from that address's UDP 500 in the input, it is the finding.

## Why it matters
Nothing was negotiated: no proposal, no authentication, not even an error came back. The
request never reached the peer, the peer's answer never came back, or nothing listens
there. Proposal, key and certificate settings cannot be the cause yet.

## Evidence
The first and the last attempt, how many were sent, the waits between them, and the
peer address and port they went to. With an input from the other end (its sniffer or
debug, given on the same command line, or the other FortiGate's sniffer run under its own
prompt in the same paste; its own in/out must put the peer on its side, and only its
packets from the same minutes count, or its whole run when both runs print relative stamps), how many requests of that length arrived
there and how many answers it sent: where they were lost, on the way there or back. A `diagnose vpn ike gateway list` whose IKE SA is
still `status: connecting` joins the evidence; as initiator with no IKE traffic in the
paste at all, that line alone is the finding. ICMP port unreachables for UDP 500 of the
silent side: who sent them (that host, or a router or firewall on the way), how many, the
first one (`facts.icmp_unreachable`).

## Fix
Check, in this order: the remote gateway address in the phase-1 settings (`set
remote-gw`); that the peer is up and has IKE enabled on that interface; that UDP 500
(and 4500) is allowed both ways on every firewall between (`diagnose sniffer packet any
'host <peer> and (udp port 500 or udp port 4500)' 6 0 l` on both ends shows where it
stops); that an upstream NAT or ISP does not block or rewrite IKE. Run the same sniffer on
the peer to see whether the requests arrive.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ikeanalyze.analysis import sas, snapshots
from ikeanalyze.analysis.context import Context
from ikeanalyze.analysis.otherend import other_end, told
from ikeanalyze.diagnosis import Finding
from ikeanalyze.endpoints import address, endpoint
from ikeanalyze.rules import fromicmp
from ikeanalyze.rules.base import evidence, finding, human_duration, join_note, moment, sides_unknown
from ikeanalyze.rules.registry import rule
from ikeanalyze.wire.ports import IKE_PORT


@dataclass(frozen=True)
class Thresholds:
    min_sends: int = 2  # the original plus at least one retransmission


@rule("IKE105", "sa-init-unanswered", severity="error", thresholds=Thresholds(),
      explains=("IKE304", "IKE210"), absence=True)
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    msgs = sas.of(ctx)
    taken: set[int] = set()  # the ICMP port unreachables a finding below told
    for s in sas.sends(msgs, min_count=t.min_sends):
        if (s.exchange not in sas.FIRST_EXCHANGES or not s.request or s.answered or s.count < t.min_sends
                or str(s.first["rspi"]) != sas.ZERO_SPI):
            continue
        inbound = bool(s.first["in"])
        if inbound and str(s.first["origin"]) == "ikedebug":
            continue  # the responder's own log says why it ignores them
        if sas.came_in_before(msgs, s.first):
            continue  # the peer answered an earlier try (INVALID_KE_PAYLOAD, a COOKIE): it is there
        f = _finding(s.rows, s.exchange, s.peer, s.tunnel, inbound, spi=str(s.first["ispi"]))
        f = _with_refusals(ctx, f, s.first, inbound, taken)
        yield _with_gateway_list(ctx, _with_other_end(ctx, f, s.rows, inbound))
    # Peers whose requests an IKE debug shows arriving: its rule tells why they were ignored.
    debugged = set() if msgs.empty else set(
        msgs.loc[(msgs["origin"] == "ikedebug").to_numpy() & msgs["in"].fillna(False).to_numpy(), "remote"].astype(str))
    for r in sas.udp_repeats(ctx.wire, t.min_sends):
        rows = r.rows
        inbound = bool(rows.iloc[0]["in"])
        if inbound and str(rows.iloc[0]["remote"]) in debugged:
            continue
        f = _finding(rows, r.exchange, sas.endpoint(rows.iloc[0]), None, inbound, spi=None)
        f = _with_refusals(ctx, f, rows.iloc[0], inbound, taken)
        yield _with_gateway_list(ctx, _with_other_end(ctx, f, rows, inbound))
    for r in sas.unoriented_repeats(ctx.events, ctx.wire, t.min_sends, ctx.views):
        first = r.rows.iloc[0]
        yield fromicmp.add(ctx, _unoriented_finding(r.rows), IKE_PORT, str(first["source"]), str(first["dst"]), taken)
    yield from _from_gateway_lists(ctx)
    yield from fromicmp.alone(ctx, "IKE105", IKE_PORT, taken)


def _with_refusals(ctx: Context, f: Finding, first, inbound: bool, taken: set[int]) -> Finding:
    """ICMP port unreachables for UDP 500 of the side that never answered (the peer; this
    side, when the peer's requests went unanswered) join the finding (rules/fromicmp.py)."""
    silent = first["local"] if inbound else first["remote"]
    return fromicmp.add(ctx, f, IKE_PORT, str(first["source"]), str(silent), taken)


def _unoriented_finding(rows) -> Finding:
    """A repeat from sniffer text with no in/out: told from both sides, since the text does
    not say which one is this FortiGate."""
    first, last, n, gaps, when = _repeat(rows)
    sender, silent = endpoint(first["src"], first["sport"]), endpoint(first["dst"], first["dport"])
    msg = (f"{sender} sent the same `udp {first['length']}` datagram {n} times to {silent}{when}; "
           f"nothing at all came back from "
           f"{first['dst']}. "
           + sides_unknown("The sniffer text", ((first["src"], "the peer never answered or its answers never arrived"),
                                                (first["dst"], "this FortiGate ignored the requests (its IKE debug says why)")))
           + " The text has no payload: a repeated datagram to UDP 500 with no reply is taken as an unanswered "
           "first IKE message.")
    return finding(
        "IKE105", msg,
        between=(first, last),
        peer=silent,
        evidence=[evidence(first), evidence(last)],
        timeline=[moment(first, f"first `udp {first['length']}` from {sender} to {silent}"),
                  moment(last, f"attempt {n}, still nothing from {first['dst']}")],
        facts={"sends": n, "intervals_s": gaps, "exchange": None, "ispi": None, "direction": None,
               "sender": sender, "backoff": sas.backoff(gaps)},
    )


def _repeat(rows) -> tuple:
    """The sends ``rows`` of one request: first, last, how many, the waits between them,
    and when, as the messages say it (` over 7 s (23:00:01 (line 4) to ...; waits 1, 2 s)`)."""
    first, last = rows.iloc[0], rows.iloc[-1]
    gaps = sas.gaps(rows)
    span = sas.span(first, last) if gaps else None
    over = f" over {human_duration(span)}" if span else ""
    return first, last, len(rows), gaps, f"{over} ({sas.where(first)} to {sas.where(last)}{sas.waits(gaps)})"


def _finding(rows, exchange: str | None, peer: str, tunnel: str | None, inbound: bool, spi: str | None) -> Finding:
    first, last, n, gaps, when = _repeat(rows)
    what = {"SA_INIT": "IKE_SA_INIT", "Identity Protection": "IKEv1 Main Mode first message",
            "Aggressive": "IKEv1 Aggressive Mode first message"}.get(exchange or "", f"`udp {first['length']}` datagram")
    spi_text = f" (initiator SPI {spi})" if spi else ""
    local = sas.endpoint(first, "local")
    if inbound:
        msg = f"{peer} sent the same {what}{spi_text} {n} times{when} and {local} never answered."
    else:
        msg = f"{local} sent the same {what}{spi_text} {n} times to {peer}{when}; nothing came back."
    if exchange is None:
        msg += " The sniffer text has no payload: a repeated datagram to UDP 500 with no reply is taken as an unanswered first IKE message."
    return finding(
        "IKE105", msg,
        between=(first, last),
        fix=INBOUND_FIX if inbound and str(first["origin"]) == "sniffer" else None,
        tunnel=tunnel, peer=peer,
        evidence=[evidence(first), evidence(last)] if n > 1 else [evidence(first)],
        timeline=[moment(first, f"first {what} to {peer}" if not inbound else f"first {what} from {peer}"),
                  # Named: with two peers unanswered, their attempts interleave in the timeline.
                  moment(last, f"attempt {n} to {peer}, still no answer" if not inbound
                         else f"attempt {n} from {peer}, still no answer")],
        facts={"sends": n, "intervals_s": gaps, "exchange": exchange, "ispi": spi, "direction": "in" if inbound else "out",
               "backoff": sas.backoff(gaps)},
    )


# The Fix section is for the initiator's side; when this side received the requests and
# kept quiet, the reason is in its own IKE debug and settings. Only the FortiGate's sniffer
# says which side it ran on (a capture's or tcpdump's local side is inferred).
INBOUND_FIX = ("The requests reached this side and it never answered: run `diagnose vpn ike log filter rem-addr4 "
               "<peer>` and `diagnose debug application ike -1` here to see why it ignores them (no phase 1 for "
               "that peer or interface, `no matching gateway`, no firewall policy for the tunnel, a passive "
               "phase 1); check that IKE listens on the interface the requests arrive on and that no local-in "
               "policy drops UDP 500.")

IKE_KINDS = ("ike", "ike-received", "ike-sent")  # a packet's, a debug's


def _with_other_end(ctx: Context, f: Finding, rows, inbound: bool) -> Finding:
    """Where the requests were lost, when an input from the peer's side is there too."""
    if inbound:
        return f
    end = other_end(ctx.wire, ctx.events, rows, IKE_KINDS, same_length=True)
    if end is None:
        return f
    first = rows.iloc[0]
    f.message += told(end, str(first["local"]), str(first["remote"]), ("request of that length", "requests of that length"),
                     ("answer", "answers"))
    f.evidence += [evidence(r) for r in (end.arrived.head(1), end.answered.head(1)) for r in r.itertuples()]
    f.facts.update(end.facts())
    return f


def _with_gateway_list(ctx: Context, f: Finding) -> Finding:
    """A gateway list showing the same phase 1 still `connecting` joins the evidence."""
    note = snapshots.connecting_note(ctx, f.peer_ip, f.tunnel)
    if note:
        join_note(f, note)
        f.tunnel = f.tunnel or note.tunnel
    return f


def _from_gateway_lists(ctx: Context) -> Iterator[Finding]:
    """An initiator's phase 1 stuck `connecting` with no IKE traffic of it in the paste:
    the gateway list is the only evidence that nothing answered."""
    for st in snapshots.connecting_without_ike(ctx):
        sa = st.ike_sas[-1]
        if sa.get("direction") != "initiator":
            continue  # a responder received the first message: not unanswered
        g = st.gateway
        status = g.evidence("status")[-1:]
        counts = (g.facts.get("ike_sa_counts") or {}).get("created")
        tries = f"; `IKE SA: created {counts}`" if counts else ""
        to = f" to {st.remote}" if address(st.remote) else ""  # not a placeholder (`y.y.y.y`)
        where = f" ({status[0].source} line {status[0].ref})" if status else ""
        msg = (f"Phase 1 of {st.name}{to} is still `status: {sa.get('status_text')}`{where}{tries}: "
               f"it never established and the paste shows no IKE traffic with that peer.")
        summary = st.summary.evidence("summary") if st.summary else []
        yield finding("IKE105", msg, start=g.time, t_start=g.t, tunnel=st.name, peer=st.remote,
                      evidence=[g.header] + status + summary,
                      facts={"gateway": st.name, "phase1": "connecting", "phase1_state": st.phase1_state,
                             "direction": "initiator", "ike_sa_created": counts, "from": "gateway list"})
