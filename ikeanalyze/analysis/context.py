"""The read-only analysis context every rule receives: events plus views built once."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from ikeanalyze.analysis import configured as configured_mod
from ikeanalyze.analysis import direction, iketcp, sas
from ikeanalyze.analysis import flows as flows_mod
from ikeanalyze.analysis import snapshots as snapshots_mod
from ikeanalyze.analysis import views as views_mod
from ikeanalyze.ingest import IngestReport
from ikeanalyze.wire.ports import IKE_NATT_PORT


@dataclass
class Context:
    events: pd.DataFrame
    ingest: IngestReport
    local: tuple[str, ...] = ()
    ike_tcp_ports: tuple[int, ...] = ()
    extras: dict = field(default_factory=dict)

    @cached_property
    def wire(self) -> pd.DataFrame:
        """Packet rows with local/remote sides (see analysis.flows.oriented). A capture has
        no in/out: the gateway's addresses are inferred (or given with --local) first. A
        frame a capture recorded twice (`detail` duplicate-frame, sources/pcap.py) crossed the
        wire once: its copy is no packet row, so the flows count packets, not frames."""
        events = self.events
        kept = sas.once(events)
        if not kept.all():
            events = events[kept]
        unknown = events["direction"].isna() & events["wire"].fillna(False).astype(bool)
        if unknown.any():
            events = direction.fill_direction(events, direction.infer_local(events, self.local))
        return flows_mod.oriented(events, self.views)

    @cached_property
    def views(self) -> pd.Series | None:
        """Which capture point saw each packet-text row when an input holds several (the
        sniffer runs of two FortiGates, or two runs of one: analysis.views); None when none does."""
        return views_mod.views(self.events, {r.source: r.capture_runs for r in self.ingest.inputs})

    @cached_property
    def flows(self) -> pd.DataFrame:
        return flows_mod.build(self.wire)

    @cached_property
    def _flow_rows(self) -> dict:
        return flows_mod.index(self.wire)

    @cached_property
    def packet_flows(self) -> pd.DataFrame:
        """Flows from sources that see every packet (captures, sniffer): the only ones where
        silence from a peer means something. A debug log never shows ESP."""
        f = self.flows
        if f.empty:
            return f
        return f[f["origin"].isin(flows_mod.PACKET_ORIGINS)]

    @cached_property
    def tcp_ike(self) -> list[iketcp.TcpIke]:
        return iketcp.find(self.events, self.wire)

    @cached_property
    def opener_wire(self) -> pd.DataFrame:
        """Sniffer text with no in/out that ``wire`` could not orient, oriented with the
        opener of each UDP 500 exchange as local (analysis.direction.opener_oriented)."""
        return direction.opener_oriented(self.events, self.wire, self.views)

    @cached_property
    def ike_tcp_server_ports(self) -> frozenset[int]:
        """TCP ports an IKE-over-TCP server listens on: 4500, IKE's own; the `--ike-tcp-port`s;
        and those where the input shows IKE over TCP."""
        return frozenset({IKE_NATT_PORT, *self.ike_tcp_ports, *(c.sport for c in self.tcp_ike)})

    @cached_property
    def ike_tcp_port_packets(self) -> pd.DataFrame:
        """TCP packets to or from an IKE-over-TCP server port: IKE evidence even when no IKE
        message got through (a connection reset answering its SYN, IKE110)."""
        w = self.wire
        tcp = w[(w["proto"] == "tcp").fillna(False).to_numpy()]
        ports = list(self.ike_tcp_server_ports)
        return tcp[tcp["lport"].isin(ports).fillna(False).to_numpy() | tcp["rport"].isin(ports).fillna(False).to_numpy()]

    @cached_property
    def configured(self) -> configured_mod.Configured:
        """Phase-1 and phase-2 entries of a pasted configuration; see analysis.configured."""
        return configured_mod.build(self.events)

    @cached_property
    def snapshots(self) -> snapshots_mod.Snapshots:
        """State snapshots (tunnel list, gateway list) per tunnel name; see analysis.snapshots."""
        return snapshots_mod.build(self.events)

    def unit(self, source: str | None) -> str:
        """`line` or `frame`: what a ref counts in that input."""
        for r in self.ingest.inputs:
            if r.source == source:
                return r.unit
        return "line"

    def clock(self, source: str) -> str:
        for r in self.ingest.inputs:
            if r.source == source:
                return r.clock
        return "device"

    def packets(self, flow: pd.Series | int) -> pd.DataFrame:
        """The oriented wire rows of one flow (a row of the flow table, or its `fid`), in input order."""
        fid = flow if isinstance(flow, (int, np.integer)) else flow["fid"]
        return self.wire.iloc[self._flow_rows.get(int(fid), [])]
