"""What the FortiGate believed: state snapshots (`diagnose vpn tunnel list`, `diagnose vpn
ike gateway list`, `get vpn ipsec tunnel summary`) as a per-tunnel view rules can ask.

sources/snapshot.py parsed each block once into the `detail` of its first `snapshot` row;
this module gathers the blocks (:class:`Block`, in input order), merges the latest block of
each output per tunnel name into one :class:`TunnelState`, and answers the questions rules
ask of them. Every answer carries the exact lines that prove it (:meth:`Block.evidence`),
so a finding can quote `dpd: mode=off` rather than paraphrase it.

A block has the time of the timed lines around it in the paste (sources/snapshot.py
`inherit_times`); two tunnel-list blocks of one tunnel are "before" and "after", which is
how `enc` counters are seen to grow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from ikeanalyze.diagnosis import Evidence, counted, human_duration
from ikeanalyze.endpoints import address, host

# The outputs a TunnelState keeps the latest block of (sources/snapshot.py `list`).
OUTPUTS = ("tunnel", "gateway", "summary", "details")
# Words FortiOS uses in `status:` of a gateway list IKE SA.
CONNECTING = "connecting"
ESTABLISHED = "established"


@dataclass(frozen=True)
class Line:
    """One logical line of a block: what it shows (`at`), where, and its text."""

    at: str
    p: int | None  # phase-2 (proxyid) index, for per-SA lines
    s: int | None  # SA index (tunnel list) or IKE SA index (gateway list)
    source: str
    ref: int
    text: str
    time: datetime | None


@dataclass
class Block:
    """One tunnel's block of one output, as the device printed it once."""

    kind: str  # tunnel | gateway | summary | details
    tunnel: str | None
    source: str
    ref: int  # first line
    time: datetime | None
    t: float | None
    facts: dict
    lines: list[Line] = field(default_factory=list)
    device: str | None = None  # the hostname of the prompt above it (events' `device`), if any

    def evidence(self, at: str, p: int | None = None, s: int | None = None) -> list[Evidence]:
        """The lines showing ``at`` (optionally of one SA), as finding evidence."""
        return [Evidence(x.source, x.ref, x.text.strip(), x.time) for x in self.lines
                if x.at == at and (p is None or x.p == p) and (s is None or x.s == s)]

    @property
    def header(self) -> Evidence:
        x = self.lines[0]
        return Evidence(x.source, x.ref, x.text.strip(), x.time)

    def line(self, prefix: str) -> Evidence:
        """The first line that starts with ``prefix`` (`name:` of a block whose first line
        names no tunnel: `gateway`, `vd: root/0`), else the first line."""
        return next((Evidence(x.source, x.ref, x.text.strip(), x.time) for x in self.lines
                     if x.text.strip().startswith(prefix)), self.header)

    def sas(self) -> list[tuple[int, int, dict]]:
        """(proxyid index, SA index, SA facts) of a tunnel-list block."""
        return [(p, s, sa) for p, p2 in enumerate(self.facts.get("proxyids", []))
                for s, sa in enumerate(p2.get("sas", []))]


@dataclass
class TunnelState:
    """The latest of each output for one tunnel name (of one device, when the paste holds
    several devices' outputs: see :func:`build`), and the history of tunnel lists."""

    name: str
    device: str | None = None  # set only when the input's prompts name more than one device
    tunnel: Block | None = None  # latest `diagnose vpn tunnel list` block
    gateway: Block | None = None  # latest `diagnose vpn ike gateway list` block
    summary: Block | None = None  # latest `get vpn ipsec tunnel summary` line
    details: Block | None = None  # latest `get vpn ipsec tunnel details` block
    history: list[Block] = field(default_factory=list)  # every tunnel-list block, in order
    blocks: list[Block] = field(default_factory=list)  # every block of this tunnel, of any output, in order

    # -- phase 1 (gateway list)
    @property
    def ike_sas(self) -> list[dict]:
        return list(self.gateway.facts.get("ike_sas", [])) if self.gateway else []

    @property
    def phase1(self) -> str | None:
        """`established` when any IKE SA is, `connecting` when all are, else None."""
        states = [sa.get("status") for sa in self.ike_sas]
        if ESTABLISHED in states:
            return ESTABLISHED
        if states and all(s == CONNECTING for s in states):
            return CONNECTING
        return None

    @property
    def phase1_state(self) -> int | None:
        return next((sa["state"] for sa in self.ike_sas if "state" in sa), None)

    @property
    def transport(self) -> str | None:
        """`TCP`/`UDP` as the gateway list's `transport:` says (7.4+), else None."""
        if not self.gateway:
            return None
        value = self.gateway.facts.get("transport") or next(
            (sa["transport"] for sa in self.ike_sas if sa.get("transport")), None)
        return str(value) if value else None

    # -- tunnel list
    def _t(self, key: str) -> dict:
        return dict(self.tunnel.facts.get(key) or {}) if self.tunnel else {}

    @property
    def natt(self) -> dict:
        """`mode` (none | keepalive | silent ...), `remote_port`, `interval`."""
        return self._t("natt")

    @property
    def dpd(self) -> dict:
        """`mode` (off | on-demand | on-idle), `on`, `status`, `idle`, `retry`, `count`, `seqno`."""
        return self._t("dpd")

    @property
    def stat(self) -> dict:
        """`rxp`, `txp`, `rxb`, `txb`: tunnel packet/byte counters."""
        return self._t("stat")

    @property
    def selectors(self) -> list[dict]:
        if not self.tunnel:
            return []
        return [{"proxyid": p2.get("name"), "src": list(p2.get("src", [])), "dst": list(p2.get("dst", []))}
                for p2 in self.tunnel.facts.get("proxyids", [])]

    @property
    def sas(self) -> list[dict]:
        """Per SA: SPIs, enc/dec packets and bytes, npu flag."""
        if not self.tunnel:
            return []
        return [{"proxyid": self.tunnel.facts["proxyids"][p].get("name"), **{k: sa.get(k) for k in SA_KEYS}}
                for p, _, sa in self.tunnel.sas()]

    @property
    def npu(self) -> bool:
        """`options[...]=npu`, or an SA whose `npu_flag` shows offload (FortiOS 5.x lists
        print no `options[]`): the tunnel's ESP may be offloaded to the NPU."""
        return bool(self.tunnel and self.tunnel.facts.get("npu")) or any(
            f not in ("00", "0") for f in self.npu_flags)

    @property
    def npu_flags(self) -> list[str]:
        return [str(sa["npu_flag"]) for _, _, sa in (self.tunnel.sas() if self.tunnel else []) if "npu_flag" in sa]

    @property
    def remote(self) -> str | None:
        return _address("remote", (self.tunnel, self.gateway, self.details, self.summary))

    @property
    def local(self) -> str | None:
        return _address("local", (self.gateway, self.tunnel, self.details, self.summary))

    def as_dict(self) -> dict:
        """The facts a report shows (JSON `snapshots[]`, docs/json.md). DPD, counters,
        selectors and SAs come from the tunnel list or, without one, from `tunnel details`."""
        latest = [b for b in (self.gateway, self.tunnel, self.summary, self.details) if b]
        shown = _details_view(self.details) if self.details and not self.tunnel else {
            "dpd": {k: self.dpd.get(k) for k in DPD_KEYS} if self.tunnel else None,
            "stat": self.stat or None, "selectors": self.selectors, "sas": self.sas}
        return {
            "tunnel": self.name,
            "device": self.device,
            "time": _iso(max((b.time for b in latest if b.time is not None), default=None)),
            "refs": [{"source": b.source, "ref": b.ref, "output": b.kind} for b in latest],
            "phase1": self.phase1,
            "phase1_state": self.phase1_state,
            "local": self.local,
            "remote": self.remote,
            "transport": self.transport,
            "natt": {k: self.natt.get(k) for k in ("mode", "remote_port", "interval")} if self.tunnel else None,
            "dpd_sent_recv": [[sa.get("dpd_sent"), sa.get("dpd_recv")] for sa in self.ike_sas if "dpd_sent" in sa],
            **shown,
            "npu": self.npu,
            "summary": ({k: v for k, v in self.summary.facts.items() if k not in ("list", "name")}
                        if self.summary else None),
            "snapshots": len(self.blocks),
        }


# The tunnel list's `dpd:` keys a report shows; SA keys of a report's `sas[]`.
DPD_KEYS = ("mode", "on", "status", "idle", "retry", "count", "seqno")
SA_KEYS = ("dec_spi", "enc_spi", "dec_pkts", "dec_bytes", "enc_pkts", "enc_bytes", "npu_flag")


def _details_view(b: Block) -> dict:
    """A report's `dpd`, `stat`, `selectors` and `sas` from a `tunnel details` block, in the
    tunnel list's names where both outputs print the fact: its `rx`/`tx` packets and bytes
    are `stat`'s `rxp`/`txp`/`rxb`/`txb` (the errors are `rx_errors`/`tx_errors`, printed by
    no tunnel list), an SA's `inbound`/`outbound` SPIs its `dec_spi`/`enc_spi`. It prints no
    per-SA counters or npu flag (null) and says whether the peer agreed to DPD (`negotiated`)."""
    f = b.facts
    rx, tx = f.get("rx") or {}, f.get("tx") or {}
    stat = {"rxp": rx.get("packets"), "txp": tx.get("packets"), "rxb": rx.get("bytes"), "txb": tx.get("bytes"),
            "rx_errors": rx.get("errors"), "tx_errors": tx.get("errors")}
    dpd = f.get("dpd") if isinstance(f.get("dpd"), dict) else None
    sels = f.get("selectors", [])
    return {
        "dpd": {**{k: dpd.get(k) for k in DPD_KEYS}, "negotiated": dpd.get("negotiated")} if dpd else None,
        "stat": stat if rx or tx else None,
        "selectors": [{"proxyid": sel.get("name"), "src": [sel["src"]] if sel.get("src") else [],
                       "dst": [sel["dst"]] if sel.get("dst") else []} for sel in sels],
        "sas": [{"proxyid": sel.get("name"), **{k: sa.get(k) for k in SA_KEYS}}
                for sel in sels for sa in sel.get("sas", [])],
    }


def _address(key: str, blocks: tuple[Block | None, ...]) -> str | None:
    """``key``'s address from the first block that has one with a port: `tunnel list`
    prints port 0 where no NAT-T port is in use (`202.106.1.1:0->101.100.1.1:0`) while
    `ike gateway list` prints the IKE port; port 0 only when no block has another."""
    found = [str(b.facts[key]) for b in blocks if b and b.facts.get(key)]
    return next((a for a in found if not a.endswith(":0")), found[0] if found else None)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat(timespec="microseconds") if t is not None else None


@dataclass
class Snapshots:
    blocks: list[Block]
    tunnels: dict[tuple[str | None, str], TunnelState]  # by (device, tunnel name); device: see build
    latest: dict[str, TunnelState] = field(default_factory=dict)  # by name: the state of its latest block

    def __bool__(self) -> bool:
        return bool(self.blocks)

    def get(self, tunnel: str | None) -> TunnelState | None:
        """The state of the tunnel named ``tunnel``; of several devices', the one whose
        block of it came last (what a rule asking by name alone saw before devices were told apart)."""
        return self.latest.get(tunnel) if tunnel else None

    def for_peer(self, ip: str | None) -> list[TunnelState]:
        """Tunnels whose remote gateway address is ``ip`` (`1.2.3.4` or `1.2.3.4:500`)."""
        if not ip:
            return []
        ip = host(ip)
        return [s for s in self.tunnels.values() if s.remote and host(s.remote) == ip]

    def as_list(self) -> list[dict]:
        return [s.as_dict() for s in self.tunnels.values()]


def build(events: pd.DataFrame) -> Snapshots:
    """Gather the snapshot blocks of an event table (see module docstring)."""
    # Only the columns read below: itertuples over arrow columns boxes every cell it passes.
    cols = [c for c in ("detail", "source", "time", "tunnel", "ref", "t", "device", "text") if c in events.columns]
    rows = events.loc[(events["kind"] == "snapshot").fillna(False).to_numpy(), cols]
    blocks: dict[tuple[str, int], Block] = {}
    for r in rows.itertuples(index=False):  # snapshot rows: a few per tunnel, never packets
        d = json.loads(r.detail) if isinstance(r.detail, str) else {}
        key = (str(r.source), int(d.get("block", -1)))
        time = None if pd.isna(r.time) else pd.Timestamp(r.time).to_pydatetime()
        if "facts" in d:
            blocks[key] = Block(d["facts"].get("list", "?"), r.tunnel if isinstance(r.tunnel, str) else None,
                                str(r.source), int(r.ref), time, None if pd.isna(r.t) else float(r.t), d["facts"],
                                device=r.device if isinstance(r.device, str) else None)
        b = blocks.get(key)
        if b is not None:
            b.lines.append(Line(str(d.get("at")), d.get("p"), d.get("s"), str(r.source), int(r.ref), str(r.text),
                                time))
    ordered = sorted(blocks.values(), key=lambda b: (b.time is None, b.time or datetime.min, b.source, b.ref))
    # Outputs of several devices (an HA pair's members, each under its own prompt) are kept
    # apart: one member's block never replaces another's. With one device named, or none,
    # a tunnel's state is keyed by its name alone, as a block without a prompt above it
    # is most likely that device's.
    per_device = keyed_per_device(ordered)
    tunnels: dict[tuple[str | None, str], TunnelState] = {}
    latest: dict[str, TunnelState] = {}
    for b in ordered:
        if not b.tunnel or b.kind not in OUTPUTS:
            continue  # `diagnose vpn ike config` / `ike status`: not the tunnel's state
        device = b.device if per_device else None
        st = tunnels.setdefault((device, b.tunnel), TunnelState(b.tunnel, device))
        setattr(st, b.kind, b)  # later blocks replace earlier ones: the latest wins
        st.blocks.append(b)
        latest[b.tunnel] = st
        if b.kind == "tunnel":
            st.history.append(b)
    return Snapshots(ordered, tunnels, latest)


# ---------------------------------------------------------------------------------------
# Questions rules ask. Each takes the Context (its cached `snapshots` view).


@dataclass(frozen=True)
class OneWay:
    """An SA whose `enc` counter grew (or is non-zero) while `dec` stayed 0."""

    tunnel: str
    remote: str | None  # the peer gateway `ip:port` (a block that prints a port: tunnel or gateway list)
    proxyid: str | None
    enc_spi: str | None
    dec_spi: str | None
    enc_before: int | None  # enc packets in the earliest snapshot of this SA (None: one snapshot)
    enc_after: int
    dec: int
    first: Block | None
    last: Block
    evidence: list[Evidence]
    npu_flag: str | None = None  # the SA's, when printed
    device: str | None = None  # the tunnel's FortiGate, when the paste holds several (TunnelState.device)

    @property
    def growing(self) -> bool:
        return self.enc_before is not None and self.enc_after > self.enc_before


def esp_one_way(ctx, min_enc: int = 1) -> list[OneWay]:
    """SAs sending ESP that never decrypted any: `enc:pkts` > 0 (and growing, when two
    snapshots show it) while `dec:pkts` is 0 in every snapshot of that SA. An SA whose
    inbound side is (or may be) NPU-offloaded is left out: its `dec` counter may miss what
    the NPU decrypted. The outbound side does not matter: `enc` above 0 is proof enough."""
    out: list[OneWay] = []
    for st in ctx.snapshots.tunnels.values():
        if not st.history:
            continue
        last = st.history[-1]
        for p, s, sa in last.sas():
            enc, dec = sa.get("enc_pkts"), sa.get("dec_pkts")
            if enc is None or dec is None or dec != 0 or enc < min_enc or not _decrypts_counted(st, sa):
                continue
            first, before = _earliest(st.history[:-1], sa.get("enc_spi"))
            if first is not None and (before is None or before > enc):
                first, before = None, None  # a different SA reused the SPI; do not compare
            if first is not None and _ever_decrypted(st.history, sa.get("enc_spi")):
                continue
            ev = (first.evidence("counters") if first else []) + last.evidence("counters", p, s)
            out.append(OneWay(st.name, st.remote, last.facts["proxyids"][p].get("name"), sa.get("enc_spi"),
                              sa.get("dec_spi"), before, enc, dec, first, last, ev,
                              str(sa["npu_flag"]) if "npu_flag" in sa else None, st.device))
    return out


# npu_flag bits: 01 the outbound (encrypting) SA is offloaded, 02 the inbound one.
NPU_INBOUND = 0x02


def _decrypts_counted(st: TunnelState, sa: dict) -> bool:
    """Is the SA's `dec:pkts` the CPU's whole count? Not when its inbound side is
    offloaded (npu_flag 02, 03), nor when offload is allowed and no flag is printed."""
    flag = sa.get("npu_flag")
    if flag is None:
        return not st.npu
    try:
        return not int(str(flag), 16) & NPU_INBOUND
    except ValueError:
        return False


def _earliest(blocks: list[Block], enc_spi: str | None) -> tuple[Block | None, int | None]:
    for b in blocks:
        for _, _, sa in b.sas():
            if enc_spi and sa.get("enc_spi") == enc_spi and sa.get("enc_pkts") is not None:
                return b, int(sa["enc_pkts"])
    return None, None


def _ever_decrypted(blocks: list[Block], enc_spi: str | None) -> bool:
    return any(sa.get("enc_spi") == enc_spi and (sa.get("dec_pkts") or 0) > 0
               for b in blocks for _, _, sa in b.sas())


def npu_offloaded(ctx, tunnel: str | None) -> bool:
    """Is this tunnel's ESP handled by the NPU, out of the CPU sniffer's sight?
    `options[...]=npu` allows offload; an SA's `npu_flag=00` says none of it is offloaded
    yet, any other value (01 enc, 02 dec, 03 both) that some is."""
    st = ctx.snapshots.get(tunnel)
    if st is None or not st.npu:
        return False
    flags = st.npu_flags
    return not flags or any(f not in ("00", "0") for f in flags)


def npu_tunnels(ctx, peer_ip: str | None = None) -> list[TunnelState]:
    """Offloaded tunnels, optionally only those to ``peer_ip``."""
    states = ctx.snapshots.for_peer(peer_ip) if peer_ip else list(ctx.snapshots.tunnels.values())
    return [s for s in states if npu_offloaded(ctx, s.name)]


def dpd_off(ctx, tunnel: str | None) -> bool:
    """DPD off (:func:`dpd_mode_off`) on the latest state of the tunnel named ``tunnel``."""
    st = ctx.snapshots.get(tunnel)
    return st is not None and dpd_mode_off(st)


# How the outputs say DPD is off: the tunnel list's `dpd: mode=off`, `tunnel details`'
# `dpd: disabled` (its mode word before any `/negotiated`).
DPD_OFF_MODES = frozenset({"off", "disabled", "disable"})


def dpd_block(st: TunnelState) -> Block | None:
    """The block whose `dpd:` line tells this tunnel's DPD: its tunnel list's, else (none
    printed) its `tunnel details`'. One answer per tunnel, whichever outputs the paste holds."""
    return next((b for b in (st.tunnel, st.details) if b is not None and b.facts.get("dpd")), None)


def dpd_mode_off(st: TunnelState) -> bool:
    """`dpd: mode=off` (tunnel list) or `dpd: disabled` (tunnel details): nothing will notice
    a dead peer before the SA expires."""
    b = dpd_block(st)  # (`on=0` with a mode only means no probe is due now)
    return b is not None and str(b.facts["dpd"].get("mode")).lower() in DPD_OFF_MODES


def phase1_connecting(ctx) -> list[TunnelState]:
    """Gateways whose every IKE SA is `status: connecting` (phase 1 not up)."""
    return [s for s in ctx.snapshots.tunnels.values() if s.phase1 == CONNECTING]


def dpd_failed(ctx) -> list[TunnelState]:
    """Tunnels whose latest tunnel list says `dpd: ... status=fail`: the device itself
    declares that dead peer detection failed (FortiOS 7.4.4+/7.6 keeps such a tunnel
    `status=up` but marks its interface inactive, article 416613)."""
    return [s for s in ctx.snapshots.tunnels.values() if str(s.dpd.get("status") or "") == "fail"]


def transport(ctx, tunnel: str | None) -> str | None:
    """`TCP` / `UDP` from the gateway list's `transport:` line, when the paste has one."""
    st = ctx.snapshots.get(tunnel)
    return st.transport if st else None


def tcp_tunnels(ctx) -> list[TunnelState]:
    return [s for s in ctx.snapshots.tunnels.values() if (s.transport or "").upper().startswith("TCP")]


def sniffer_esp_one_way(ctx, peer_ip: str) -> tuple[int, int] | None:
    """(ESP packets out, in) the packet sources saw for ``peer_ip`` when one side is 0."""
    flows = ctx.packet_flows
    if flows.empty:
        return None
    mine = flows[(flows["remote"].astype(object) == peer_ip).to_numpy()]
    out, inn = int(mine["esp_out"].sum()), int(mine["esp_in"].sum())
    if (out or inn) and not (out and inn):
        return out, inn
    return None


def next_steps(ctx) -> list[str]:
    """What the snapshots say to collect or trust next: a tunnel the snapshots show down
    with nothing else in the input about it (:func:`down_unexplained`); an NPU-offloaded
    tunnel whose ESP a packet source saw in one direction only: the CPU sniffer does not see
    offloaded ESP, so that picture is not IKE108 (the rule keeps quiet about it)."""
    admin, rest = _down(ctx)
    several = len({b.device for b in ctx.snapshots.blocks if b.device}) > 1  # (as build tells devices apart)
    steps: list[str] = [_admin_down_step(b, several) for b in admin] + [_down_step(st) for st in rest]
    for st in ctx.snapshots.tunnels.values():
        peer = host(st.remote or "")
        if not peer or not npu_offloaded(ctx, st.name):
            continue
        seen = sniffer_esp_one_way(ctx, peer)
        if seen is None:
            continue
        out, inn = seen
        b = st.tunnel
        flags = ", ".join(f"npu_flag={f}" for f in dict.fromkeys(st.npu_flags)) or "no npu_flag line"
        counters = "; ".join(f"dec {sa['dec_pkts']} / enc {sa['enc_pkts']} packets"
                             for sa in st.sas if sa.get("dec_pkts") is not None)
        steps.append(
            f"The packet capture shows ESP with {peer} one way only ({out} out, {inn} in), but tunnel "
            f"{st.name} is NPU-offloaded (options {'/'.join(b.facts.get('options', []))}, {flags}; "
            f"{b.source} line {b.ref}): the CPU sniffer does not see offloaded ESP, so this is not "
            f"evidence of one-way ESP. Trust the tunnel list counters ({counters or 'none printed'}), "
            f"repeat `diagnose vpn tunnel list name {st.name}` to see them move, or disable offload "
            f"(`set npu-offload disable` in the phase 1) while sniffing.")
    return steps


@dataclass(frozen=True)
class Note:
    """A sentence a rule appends to its message, with the snapshot lines behind it."""

    tunnel: str
    text: str
    evidence: list[Evidence]
    facts: dict


def _sa_timeouts(st: TunnelState) -> list[tuple[str, str]]:
    """Per SA of its tunnel list, `life: ... timeout=LEFT/TOTAL` as (LEFT, TOTAL) texts."""
    return [str((sa.get("life") or {}).get("timeout", "")).partition("/")[::2]
            for _, _, sa in (st.tunnel.sas() if st.tunnel else [])]


def sa_seconds_left(st: TunnelState) -> int | None:
    """Seconds until the first phase-2 SA expires, from `life: ... timeout=LEFT/TOTAL`."""
    left = [int(head) for head, _ in _sa_timeouts(st) if head.isdigit()]
    return min(left) if left else None


def sa_lifetime(st: TunnelState) -> int | None:
    """The phase-2 SA lifetime in seconds (TOTAL of the first SA that prints it)."""
    return next((int(total) for _, total in _sa_timeouts(st) if total.isdigit()), None)


@dataclass(frozen=True)
class SaExpiry:
    """How long a tunnel outlives a dead peer without DPD, as its snapshot shows it: the
    tunnel list's `life: ... timeout=LEFT/TOTAL`, else `tunnel details`' `lifetime/rekey:
    TOTAL/REKEY` (it prints when the SA is rekeyed, not when it expires: a rekey with a dead
    peer fails, and the SA lives on to its lifetime)."""

    left: int | None  # seconds until the first phase-2 SA expires (tunnel list)
    total: int | None  # its lifetime
    rekey: int | None  # seconds until its rekey (tunnel details)
    evidence: list[Evidence]

    def until(self) -> str:
        """`until its phase-2 SA expires: ...`, for "the tunnel stays up ..."."""
        if self.left is not None:
            return (f"until its phase-2 SA expires: {human_duration(self.left)} left at the snapshot"
                    + (f" of {human_duration(self.total)}" if self.total else ""))
        if self.total is not None:
            return (f"until its SAs expire: its phase-2 SA lives {human_duration(self.total)}"
                    + (f", and its rekey was {human_duration(self.rekey)} away at the snapshot"
                       if self.rekey is not None else ""))
        return "until its SAs expire"


def sa_expiry(st: TunnelState) -> SaExpiry:
    if st.tunnel is not None and sa_lifetime(st) is not None:
        return SaExpiry(sa_seconds_left(st), sa_lifetime(st), None, st.tunnel.evidence("life")[:1])
    lines = [x for x in (st.details.lines if st.details else []) if x.text.strip().startswith("lifetime/rekey:")]
    for x in lines:  # (the first SA that prints both numbers)
        total, _, rekey = x.text.strip().partition(":")[2].strip().partition("/")
        if total.isdigit():
            return SaExpiry(None, int(total), int(rekey) if rekey.isdigit() else None,
                            [Evidence(x.source, x.ref, x.text.strip(), x.time)])
    return SaExpiry(None, None, None, [])


def dpd_off_note(ctx, peer_ip: str | None) -> Note | None:
    """Why a tunnel to a silent peer stayed up: DPD off on its tunnel list (`dpd: mode=off`)
    or `tunnel details` (`dpd: disabled`)."""
    for st in ctx.snapshots.for_peer(peer_ip):
        if not dpd_off(ctx, st.name):
            continue
        b = dpd_block(st)
        ev = b.evidence("dpd")
        where = f" ({ev[0].source} line {ev[0].ref})" if ev else ""
        said = "`dpd: mode=off`" if b is st.tunnel or not ev else f"`{ev[0].text}`"
        expiry = sa_expiry(st)
        until = "until its SAs expire"
        if expiry.left is not None:
            until = f"until its phase-2 SA expires ({human_duration(expiry.left)} left at the snapshot)"
        elif expiry.total is not None:
            until = expiry.until()
        text = (f"DPD is off on tunnel {st.name} ({said}{where}), so nothing detects the dead peer: "
                f"the tunnel stays up {until}.")
        return Note(st.name, text, ev + expiry.evidence,
                    {"dpd_off": True, "dpd_tunnel": st.name, "sa_seconds_left": expiry.left})
    return None


def transport_note(ctx, peer_ip: str | None, ispi: str | None = None) -> Note | None:
    """A gateway list that says `transport: TCP` for this peer (or this IKE SA) confirms
    IKE over TCP from the device's own state."""
    for st in tcp_tunnels(ctx):
        same_sa = bool(ispi) and any(sa.get("ispi") == ispi for sa in st.ike_sas)
        same_peer = bool(peer_ip) and bool(st.remote) and host(st.remote) == peer_ip
        if not (same_sa or same_peer):
            continue
        ev = st.gateway.evidence("transport")
        where = f", {ev[0].source} line {ev[0].ref}" if ev else ""
        text = f"The gateway list confirms it: {st.name} has `transport: {st.transport}`{where}."
        return Note(st.name, text, ev, {"gateway_transport": st.transport, "gateway": st.name})
    return None


IKE_KINDS = ("ike", "ike-sent", "ike-received", "ike-exchange", "retransmit", "negotiation-failed")


def has_ike_traffic(ctx, st: TunnelState) -> bool:
    """Any IKE packet or debug line of this gateway (by tunnel name or remote address)."""
    return _ike_traffic(ctx, st.name, st.remote)


def _ike_traffic(ctx, name: str, remote: str | None) -> bool:
    ev = ctx.events
    ike = ev["kind"].isin(IKE_KINDS).fillna(False).to_numpy()
    if not ike.any():
        return False
    mine = (ev["tunnel"] == name).fillna(False).to_numpy()
    peer = host(remote or "")
    if peer:
        mine |= ((ev["src"] == peer) | (ev["dst"] == peer)).fillna(False).to_numpy()
    return bool((ike & mine).any())


def connecting_note(ctx, peer_ip: str | None = None, tunnel: str | None = None) -> Note | None:
    """A gateway list that shows this gateway's phase 1 still `connecting`."""
    states = ctx.snapshots.for_peer(peer_ip) if peer_ip else []
    if tunnel and ctx.snapshots.get(tunnel):
        states = [ctx.snapshots.get(tunnel), *states]
    for st in states:
        if st.phase1 != CONNECTING:
            continue
        ev = st.gateway.evidence("status")
        sa = st.ike_sas[-1]
        counts = st.gateway.facts.get("ike_sa_counts") or {}
        created = f", `IKE SA: created {counts['created']}`" if counts.get("created") else ""
        where = f" ({ev[-1].source} line {ev[-1].ref})" if ev else ""
        text = (f"The gateway list agrees: phase 1 of {st.name} is `status: {sa.get('status_text', CONNECTING)}`"
                f"{where}{created}, never established.")
        return Note(st.name, text, ev[-1:], {"gateway": st.name, "phase1": CONNECTING,
                                             "phase1_state": st.phase1_state,
                                             "direction": sa.get("direction")})
    return None


def selectors_down(st: TunnelState) -> tuple[int, int] | None:
    """(total, up) from the tunnel summary when fewer phase-2 selectors are up than exist."""
    sel = st.summary.facts.get("selectors") if st.summary else None
    if isinstance(sel, list) and len(sel) == 2 and all(isinstance(x, int) for x in sel) and sel[1] < sel[0]:
        return sel[0], sel[1]
    return None


def no_phase2(st: TunnelState) -> bool:
    """The tunnel summary's `selectors(total,up): 0/0`: the phase 1 has no phase 2 at all
    (none configured, or every one deleted), so it can carry no traffic."""
    sel = st.summary.facts.get("selectors") if st.summary else None
    return sel == [0, 0]


def no_phase2_sa(st: TunnelState) -> list[Evidence]:
    """The `proxyid=... sa=0` lines of a tunnel list: of every phase 2 when none has an SA,
    else of those without one beside others that are up (see :func:`phase2s_up`). Without a
    tunnel list, the `tunnel details` selectors when none has an `SA`."""
    if st.tunnel:
        return [e for p in _without_sa(st) for e in st.tunnel.evidence("proxyid", p)]
    sels = st.details.facts.get("selectors", []) if st.details else []
    if not sels or any(sel.get("sas") for sel in sels):
        return []
    return [e for e in st.details.evidence("selector") if e.text.startswith("name:")]


def _without_sa(st: TunnelState) -> list[int]:
    """Indexes of the tunnel list's phase 2s (`proxyid=`) that have no SA."""
    p2s = st.tunnel.facts.get("proxyids", []) if st.tunnel else []
    return [p for p, p2 in enumerate(p2s) if p2.get("sa") == 0 and not p2.get("sas")]


def phase2s_up(st: TunnelState) -> list[str]:
    """The names of the tunnel list's phase 2s that have an SA."""
    p2s = st.tunnel.facts.get("proxyids", []) if st.tunnel else []
    down = set(_without_sa(st))
    return [str(p2.get("name")) for p, p2 in enumerate(p2s) if p not in down]


def admin_down(ctx) -> list[Block]:
    """`diagnose vpn ike config` blocks that say `status.admin: down` (the latest of each
    tunnel of each device), of tunnels with no IKE exchange in the input: an administrator
    took the tunnel down, and FortiOS negotiates nothing on it. That is why nothing does."""
    latest: dict[tuple, Block] = {}
    for b in ctx.snapshots.blocks:
        if b.kind == "ike-config" and b.tunnel:
            latest[(b.device, b.tunnel)] = b
    return [b for b in latest.values() if str(b.facts.get("status.admin", "")).lower() == "down"
            and not _ike_traffic(ctx, b.tunnel, b.facts.get("remote"))]


def ike_config_selectors(ctx, tunnel: str | None) -> Block | None:
    """The latest `diagnose vpn ike config` block of ``tunnel`` whose `phase2s:` lines were
    read as selectors (its facts' `selectors`, as TunnelState.selectors), else None."""
    found = [b for b in ctx.snapshots.blocks if b.kind == "ike-config" and b.tunnel == tunnel
             and b.facts.get("selectors")] if tunnel else []
    return found[-1] if found else None


def _admin_keys(admin: list[Block], per_device: bool) -> set[tuple]:
    """The (device, tunnel) keys of TunnelState of the tunnels ``admin`` explains: each
    device's own (another FortiGate's tunnel of the same name may be down for no reason);
    the device is None where build keys states by name alone (``per_device``:
    :func:`keyed_per_device`)."""
    return {(b.device if per_device else None, b.tunnel) for b in admin}


def keyed_per_device(blocks) -> bool:
    """Whether tunnel states are keyed by (device, tunnel) (:func:`build`): the tunnel
    outputs of the blocks name more than one device."""
    return len({b.device for b in blocks if b.device and b.kind in OUTPUTS}) > 1


def _down(ctx) -> tuple[list[Block], list[TunnelState]]:
    """The `diagnose vpn ike config` blocks of tunnels taken down administratively, and the
    tunnel states down for no reason the input shows (each told once)."""
    admin = admin_down(ctx)
    said = _admin_keys(admin, keyed_per_device(ctx.snapshots.blocks))
    return admin, [st for st in down_unexplained(ctx) if (st.device, st.name) not in said]


def down_labels(ctx) -> tuple[list[str], bool]:
    """The tunnels the snapshots show down, as the summary names them, and whether any of
    them is down for no reason the input shows (not administratively down)."""
    admin, rest = _down(ctx)
    labels = [f"{b.tunnel} (administratively down: `status.admin: down`"
              + "".join(f", line {e.ref}" for e in b.evidence("status.admin")[:1]) + ")" for b in admin]
    labels += [st.name + (f" (phase 2 {', '.join(part)} only)" if (part := partly_down(st))
                          else " (no phase 2)" if no_phase2(st) else "") for st in rest]
    return labels, bool(rest)


def down_tunnels(ctx) -> list[dict]:
    """The tunnels of :func:`down_labels` as data, for the report's headline and the JSON:
    ``tunnel``, ``remote_gateway`` (the address, or None), ``device`` (or None) and
    ``admin_down``."""
    admin, rest = _down(ctx)
    # An ike config's `remote` may be no address (a dial-up's), a published list's a
    # placeholder (`y.y.y.y`): named only when it is one.
    out = [{"tunnel": b.tunnel, "remote_gateway": address(b.facts.get("remote")), "device": b.device,
            "admin_down": True} for b in admin]
    out += [{"tunnel": st.name, "remote_gateway": address(st.remote), "device": st.device,
             "admin_down": False} for st in rest]
    return out


def down_unexplained(ctx) -> list[TunnelState]:
    """Tunnels a snapshot shows down, wholly or partly (`selectors(total,up): 1/0`, a
    tunnel list with a `proxyid=` at `sa=0`, or phase 1 `connecting`) of which the input holds no IKE traffic:
    nothing here says why. An initiator stuck `connecting` is left to IKE105 (its gateway
    list is that rule's evidence). (A tunnel `diagnose vpn ike config` shows administratively
    down is among them: :func:`admin_down` tells why.)"""
    out = []
    for st in ctx.snapshots.tunnels.values():
        if not (selectors_down(st) or no_phase2(st) or no_phase2_sa(st) or st.phase1 == CONNECTING):
            continue
        if st.phase1 == CONNECTING and st.ike_sas and st.ike_sas[-1].get("direction") == "initiator":
            continue
        if not has_ike_traffic(ctx, st):
            out.append(st)
    return out


def _down_step(st: TunnelState) -> str:
    if no_phase2(st):
        return _no_phase2_step(st)
    said = []
    sel = selectors_down(st)
    if sel:
        ev = st.summary.evidence("summary")
        where = f", {ev[0].source} line {ev[0].ref}" if ev else ""
        said.append(f"{sel[1]} of {counted(sel[0], 'phase-2 selector')} up (`selectors(total,up): {sel[0]}/{sel[1]}`{where})")
    elif (ev := no_phase2_sa(st)) and (up := phase2s_up(st)):
        shown = "; ".join(f"`{' '.join(e.text.split()[:4])}`, line {e.ref}" for e in ev)
        said.append(f"{counted(len(ev), 'phase 2')} without an SA in its tunnel list ({shown}) while {', '.join(up)} "
                    f"{'is' if len(up) == 1 else 'are'} up: phase 1 is up, these selectors did not "
                    f"negotiate (does the peer have the mirror selectors?)")
    elif ev:
        shown = " ".join(ev[0].text.split()[:4])
        where = "its tunnel list" if st.tunnel else "`get vpn ipsec tunnel details` (no `SA` under its selectors)"
        said.append(f"no phase-2 SA in {where} (`{shown}`, {ev[0].source} line {ev[0].ref})")
    if st.phase1 == CONNECTING:
        ev = st.gateway.evidence("status")
        where = f" (line {ev[-1].ref})" if ev else ""
        sa = st.ike_sas[-1]
        role = f" as {sa['direction']}" if sa.get("direction") else ""
        said.append(f"phase 1 still `status: {sa.get('status_text', CONNECTING)}`{role}{where}")
    elif st.phase1 == ESTABLISHED and st.gateway and said and not partly_down(st):
        # Phase 1 is up: what is missing is phase 2, which narrows the debug to read.
        ev = st.gateway.evidence("status")
        where = f" (`{' '.join(ev[-1].text.split())}`, line {ev[-1].ref})" if ev else ""
        said.append(f"phase 1 is established{where}, so phase 2 is what does not come up: its proposals, PFS "
                    f"group or selectors against the peer's, or nothing started it (no traffic for its "
                    f"selectors and no `set auto-negotiate enable`)")
    # (here: nextsteps imports this module, by analysis.context)
    from ikeanalyze.analysis.nextsteps import DEBUG_ON, log_filter

    peer = address(st.remote)  # not a placeholder (`x.x.x.x`): no filter on that
    filt = log_filter(peer) if peer else f"`diagnose vpn ike log filter name {st.name}`"
    to = f" (remote gateway {peer})" if peer else ""
    to = f" on {st.device}{to}" if st.device else to  # one of several devices in the paste
    debug = f"{filt}, {DEBUG_ON}"
    partly = partly_down(st)
    if partly:
        # Clearing the gateway would also drop the phase 2s that work: start only the others.
        starts = " and ".join(f"`diagnose vpn tunnel up {name} {st.name}`" for name in partly)
        return (f"Tunnel {st.name}{to} is partly down: {' and '.join(said)}; no IKE exchange of it in the input says "
                f"why. Collect the IKE debug while that phase 2 negotiates: {debug}, then {starts} to start it "
                f"(`diagnose vpn ike gateway clear` would also drop the phase 2s that are up).")
    gw = "" if st.gateway else f"`diagnose vpn ike gateway list name {st.name}` (is phase 1 up?) and "
    return (f"Tunnel {st.name}{to} is down: {' and '.join(said)}; no IKE exchange of it in the input says why. "
            f"Collect {gw}the IKE debug while it negotiates: {debug}, then "
            f"`diagnose vpn ike gateway clear name {st.name}` to start a negotiation.")


def _admin_down_step(b: Block, several: bool) -> str:
    """A tunnel taken down by an administrator needs bringing up, not a debug: nothing negotiates."""
    ev = b.evidence("status.admin")
    where = f", {ev[0].source} line {ev[0].ref}" if ev else ""
    peer = address(b.facts.get("remote"))
    to = f" (remote gateway {peer})" if peer else ""
    to = f" on {b.device}{to}" if b.device and several else to
    return (f"Tunnel {b.tunnel}{to} is administratively down (`status.admin: down` in `diagnose vpn ike config`"
            f"{where}): FortiOS negotiates nothing on it, so an IKE debug would show no attempt. If that is not "
            f"meant, find where it was taken down (is its interface `set status down` in `show system interface "
            f"{b.tunnel}`?), bring it up, and check that `diagnose vpn ike config` then says `status.admin: up` for it.")


def _no_phase2_step(st: TunnelState) -> str:
    """A phase 1 without a phase 2 needs one, not a debug: nothing will negotiate."""
    ev = st.summary.evidence("summary")
    where = f", {ev[0].source} line {ev[0].ref}" if ev else ""
    tx = st.summary.facts.get("tx")
    dropped = ""
    if isinstance(tx, list) and len(tx) == 2 and isinstance(tx[1], int) and tx[1] > 0:
        dropped = (f"; {counted(tx[1], 'packet')} routed into it {'was' if tx[1] == 1 else 'were'} dropped "
                   f"(`tx(pkt,err): {tx[0]}/{tx[1]}`): something sends traffic there")
    to = f" on {st.device}" if st.device else ""
    return (f"Tunnel {st.name}{to} has no phase 2 at all (`selectors(total,up): 0/0`{where}){dropped}. Nothing will "
            f"negotiate on it: configure one (`config vpn ipsec phase2-interface`, `edit <name>`, `set phase1name "
            f"\"{st.name}\"` and its selectors), mirrored on the peer, or take the routes to it away.")


def partly_down(st: TunnelState) -> list[str]:
    """The phase 2s of a tunnel list without an SA when others of it are up (else empty)."""
    if not phase2s_up(st):
        return []
    p2s = st.tunnel.facts.get("proxyids", [])
    return [str(p2s[p].get("name")) for p in _without_sa(st)]


def connecting_without_ike(ctx) -> list[TunnelState]:
    """Gateways stuck `connecting` of which the paste shows no IKE traffic at all: the
    snapshot is the only evidence that phase 1 never came up."""
    return [st for st in phase1_connecting(ctx) if not has_ike_traffic(ctx, st)]
