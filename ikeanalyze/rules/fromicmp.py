"""ICMP port unreachable for IKE's ports, told by the rule of the port: UDP 500 by IKE105, UDP 4500 by IKE106.

A host with nothing listening on a UDP port, or a firewall that rejects instead of dropping,
answers a datagram with an ICMP port unreachable naming the address and the port it was
sent to (print-icmp.c: `192.0.2.1 udp port 4500 unreachable`, the `detail` of an `icmp`
event of tcpdump or sniffer text, or of a capture, whose reader words it as tcpdump does). A
lost datagram says nothing; this one says that nothing takes IKE there.

When the rule already tells that the peer does not answer on that port (an IKE_SA_INIT re-sent
unanswered, IKE_AUTH re-sent on 4500 after the NAT-T switch), the refusals of the same input
and address become a sentence, a fact and evidence of that finding (:func:`add`); those no
finding took, from a peer that sent nothing from that port in the input, are a finding of
their own (:func:`alone`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from ikeanalyze.analysis.flows import PACKET_ORIGINS
from ikeanalyze.analysis.sas import where
from ikeanalyze.diagnosis import Finding
from ikeanalyze.endpoints import endpoint
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.sources.tcpdump import PORT_NAMES
from ikeanalyze.wire.ports import IKE_NATT_PORT, IKE_PORT

# A port unreachable's summary, as the packet sources word it (the port by number, or by
# tcpdump's name for it without `-n`): tcpdump and the FortiGate sniffer (print-icmp.c; 3.x
# ICMPv6, `icmp6: 2001:db8::2 udp port 500 unreachable`), tcpdump 4.x ICMPv6 (print-icmp6.c).
PORT_UNREACHABLE = (r"^(?:(?P<addr>\S+) udp port (?P<port>[\w-]+) unreachable"
                    r"|destination unreachable, unreachable port, (?P<addr6>\S+) udp port (?P<port6>[\w-]+))")
IKE_PORTS = (IKE_PORT, IKE_NATT_PORT)
# What each port carries, as the sentences name it.
WHAT = {IKE_PORT: "IKE", IKE_NATT_PORT: "NAT-T (IKE and ESP on UDP 4500)"}
# A refusal told alone (:func:`alone`): what was sent to the port, and what its refusal means.
ALONE = {
    IKE_PORT: ("IKE", "No IKE negotiation can start: nothing takes IKE there (no IKE service, the VPN not enabled "
                      "on that address), or a firewall rejects it."),
    IKE_NATT_PORT: ("UDP 4500 (NAT-T: IKE, ESP in UDP or keepalives)",
                    "Nothing takes NAT-T there (no IKE SA or NAT-T listener on that address), or a firewall rejects "
                    "UDP 4500: IKE after the NAT-T switch, and ESP in UDP, cannot pass."),
}


@dataclass(frozen=True)
class Refusal:
    """The ICMP port unreachables of one input, from one sender, for one address and port,
    sent to one address."""

    rows: pd.DataFrame  # the icmp events, in input order
    sender: str  # who sent them: the refused host itself, or a router or firewall on the way
    addr: str  # where the refused datagrams went
    port: int  # 500 or 4500
    to: str  # who sent the refused datagrams (the ICMP's destination)

    @property
    def source(self) -> str:
        return str(self.rows["source"].iat[0])

    @property
    def first(self) -> pd.Series:
        return self.rows.iloc[0]

    @property
    def last(self) -> pd.Series:
        return self.rows.iloc[-1]

    def by(self) -> str:
        """Who refused, as a sentence names it."""
        return self.addr if self.sender == self.addr else f"{self.sender} (on the way to {self.addr})"

    def times(self) -> str:
        n = len(self.rows)
        return "once" if n == 1 else f"{n} times"

    def sentence(self) -> str:
        """`Instead, 192.0.2.1 sent ICMP port unreachable for its UDP 500 3 times (the first at …): …`,
        said after a finding's `nothing came back`."""
        whose = "its" if self.sender == self.addr else f"{self.addr}'s"
        return (f"Instead, {self.by()} sent ICMP port unreachable for {whose} UDP {self.port} {self.times()} "
                f"(the first at {where(self.first)}): nothing takes {WHAT[self.port]} there, or a firewall "
                f"rejects it.")

    def facts(self) -> dict:
        return {"from": self.sender, "addr": self.addr, "port": self.port, "count": len(self.rows),
                "first_ref": int(self.first["ref"])}


def refusals(ctx, port: int) -> list[Refusal]:
    """The ICMP port unreachables of every packet source for UDP ``port`` (500 or 4500); read
    once per analysis (``ctx.extras``)."""
    every = ctx.extras.get("icmp_refusals")
    if every is None:
        every = ctx.extras["icmp_refusals"] = _refusals(ctx.events)
    return [r for r in every if r.port == port]


def _refusals(events: pd.DataFrame) -> list[Refusal]:
    is_icmp = (events["kind"] == "icmp").fillna(False).to_numpy()
    if not is_icmp.any():  # (nearly every input: one pass over one column)
        return []
    icmp = events[is_icmp]
    icmp = icmp[icmp["origin"].isin(PACKET_ORIGINS).to_numpy() & icmp["detail"].notna().to_numpy()
                & icmp["src"].notna().to_numpy() & icmp["dst"].notna().to_numpy()]
    if icmp.empty:
        return []
    said = icmp["detail"].astype(str).str.extract(PORT_UNREACHABLE)
    addr = said["addr"].fillna(said["addr6"])
    named = said["port"].fillna(said["port6"])
    port = pd.to_numeric(named.map(lambda p: PORT_NAMES.get(p, p), na_action="ignore"), errors="coerce")
    keep = (port.isin(IKE_PORTS) & addr.notna()).to_numpy()
    if not keep.any():
        return []
    rows = icmp[keep]
    key = [rows["source"].astype(str), rows["src"].astype(str), addr[keep], port[keep].astype(int),
           rows["dst"].astype(str)]
    return [Refusal(g, sender, a, int(p), to) for (_, sender, a, p, to), g in rows.groupby(key, sort=False)]


def add(ctx, f: Finding, port: int, source: str, addr: str, taken: set[int]) -> Finding:
    """The refusals of UDP ``port`` of ``addr`` in the input ``source`` join ``f``, a finding
    that the peer does not answer there: a sentence each, their first ICMP line as evidence,
    ``facts.icmp_unreachable``. ``taken`` collects them (their first event's index), so that
    :func:`alone` tells only the others."""
    mine = [r for r in refusals(ctx, port) if r.source == source and r.addr == addr]
    for r in mine:
        f.message += " " + r.sentence()
        f.evidence.append(evidence(r.first))
        taken.add(int(r.rows.index[0]))
    if mine:
        f.facts["icmp_unreachable"] = [r.facts() for r in mine]
    return f


def alone(ctx, code: str, port: int, taken: set[int]) -> Iterator[Finding]:
    """A finding of ``code`` for each refusal of UDP ``port`` that no finding took, when
    nothing came from that address's port in the same input (then the port takes IKE after
    all, and the refusal was passing: a restart, a mapping gone stale)."""
    events = ctx.events
    sent, means = ALONE[port]
    for r in refusals(ctx, port):
        if int(r.rows.index[0]) in taken or _heard(events, r.source, r.addr, port):
            continue
        ends = [r.first, r.last] if len(r.rows) > 1 else [r.first]
        until = "" if len(r.rows) == 1 else f" to {where(r.last)}"
        msg = (f"{r.to} sent {sent} to {endpoint(r.addr, port)} and {r.by()} answered with ICMP port unreachable "
               f"{r.times()} ({where(r.first)}{until}); nothing came from {r.addr}'s UDP {port} in this input. {means}")
        yield finding(
            code, msg,
            between=(r.first, r.last),
            peer=endpoint(r.addr, port),
            evidence=[evidence(row) for row in ends],
            timeline=[moment(r.first, f"ICMP port unreachable for UDP {port} of {r.addr} from {r.sender}")],
            facts={"icmp_unreachable": [r.facts()], "from": "icmp"},
        )


def _heard(events: pd.DataFrame, source: str, addr: str, port: int) -> bool:
    """Whether anything came from ``addr``'s UDP ``port`` in the input ``source`` (an IKE
    message, ESP in UDP, a keepalive)."""
    return bool(((events["source"] == source) & (events["src"] == addr) & (events["sport"] == port))
                .fillna(False).any())


def evidence_sources(ctx) -> set[str]:
    """The inputs holding a refusal of UDP 500 or 4500: IKE evidence (IKE903)."""
    return {r.source for port in IKE_PORTS for r in refusals(ctx, port)}
