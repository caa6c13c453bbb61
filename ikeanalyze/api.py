"""The Python API under every CLI command and the web page: load → diagnose → render."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import IO

import numpy as np
import pandas as pd

from ikeanalyze import diagnosis as dg
from ikeanalyze.analysis import nextsteps, snapshots, views
from ikeanalyze.analysis.context import Context
from ikeanalyze.endpoints import endpoint
from ikeanalyze.endpoints import parse as parse_endpoint
from ikeanalyze.errors import UsageError
from ikeanalyze.ingest import IngestReport
from ikeanalyze.sources import Blob, LoadOptions
from ikeanalyze.sources import load as _load


def load(inputs: Iterable[str | Blob], options: LoadOptions | None = None) -> tuple[pd.DataFrame, IngestReport]:
    """Read inputs (paths, directories, globs, ``-``, Blobs) into one event table."""
    return _load(inputs, options)


def focus(events: pd.DataFrame, peer: str | None = None, tunnel: str | None = None) -> pd.DataFrame:
    """Keep the events of one peer (``IP``, ``IP:PORT``, ``[IPv6]:PORT``) and/or one tunnel name.

    Rows without addresses (most debug lines) are kept when their tunnel was seen with
    that peer; packet rows are kept for a tunnel when they involve an address the tunnel's
    own lines name."""
    if not peer and not tunnel:
        return events
    keep = np.ones(len(events), dtype=bool)
    src, dst = events["src"].astype(object), events["dst"].astype(object)
    if peer:
        try:
            ip, port = parse_endpoint(peer)  # `IP`, `IP:PORT`, `[IPv6]:PORT`
        except ValueError as exc:
            raise UsageError(f"--peer '{peer}': {exc} (IP, IP:PORT or [IPv6]:PORT)") from exc
        hit_src = (src == ip).to_numpy()
        hit_dst = (dst == ip).to_numpy()
        if port is not None:
            # (not `&=`: a comparison of an arrow-backed column can give a read-only array)
            hit_src = hit_src & (events["sport"] == port).fillna(False).to_numpy()
            hit_dst = hit_dst & (events["dport"] == port).fillna(False).to_numpy()
        hit = hit_src | hit_dst
        tunnels = set(events.loc[hit, "tunnel"].dropna().astype(str))
        keep &= hit | events["tunnel"].isin(tunnels).fillna(False).to_numpy()
    if tunnel:
        mine = (events["tunnel"] == tunnel).fillna(False).to_numpy()
        addrs = (set(events.loc[mine, "src"].dropna().astype(str)) | set(events.loc[mine, "dst"].dropna().astype(str)))
        local = set(events.loc[mine & (events["direction"] == "out").fillna(False).to_numpy(), "src"].dropna())
        remote = addrs - local
        keep &= mine | (src.isin(remote) | dst.isin(remote)).to_numpy()
    return events[keep].reset_index(drop=True)


def diagnose(
    events: pd.DataFrame,
    ingest: IngestReport,
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    thresholds: Mapping[str, str] | None = None,
    options: LoadOptions | None = None,
    peer: str | None = None,
    tunnel: str | None = None,
) -> dg.Diagnosis:
    """Run the selected rules over the events and tell the incident."""
    from ikeanalyze import rules
    from ikeanalyze.analysis import tablecache

    tablecache.forget()  # the views of earlier analyses: their tables are freed, and none can be mixed in
    options = options or LoadOptions()
    chosen = rules.select(list(select), list(ignore))
    limits = rules.thresholds_for(dict(thresholds or {}))
    ctx = Context(focus(events, peer, tunnel), ingest, options.local, options.ike_tcp_ports)
    if peer or tunnel:  # where each input ends is the input's, not the focused rows' (registry._cut_ends)
        ctx.extras["input_ends"] = rules.input_ends(events, ingest)
    findings = list(rules.run(ctx, chosen, limits))
    for f in findings:
        f.clock = ctx.clock(f.evidence[0].source) if f.evidence else "device"
    explains = {r.code: r.explains for r in rules.REGISTRY.values()}
    ranked = dg.rank(findings, explains)
    from ikeanalyze.rules.base import fill_fix, ungrouped_fix

    for f in findings:  # every finding, ranked or grouped as a symptom
        fill_fix(f)
    for f in ranked:  # the causes and the findings no cause took
        ungrouped_fix(f)
    from ikeanalyze.rules import fromlog

    timeline = views.in_run_order(ctx, dg.build_timeline(ranked + [s for f in ranked for s in f.symptoms],
                                                         _opening(ctx) + fromlog.moments(ctx.events)))
    summary = dg.summarize(ranked, ingest)
    down, unexplained = snapshots.down_labels(ctx)
    no_cause = all(f.code.startswith(INPUT_CODES) or f.severity == "info" for f in ranked)
    if down and no_cause:
        # "No problem found" (or a note on unread lines, or on what is worth knowing but no
        # fault) over a tunnel the snapshot shows down would mislead at 2 a.m.
        summary = (f"No rule found a cause in {sum(r.events for r in ingest.inputs)} events, but the snapshot shows "
                   f"{dg.counted(len(down), 'tunnel')} down: {', '.join(down[:5])}{' …' if len(down) > 5 else ''}. "
                   + ("What to collect next says what would tell why." if unexplained else
                      "Nothing negotiates on a tunnel taken down; what to collect next says where to look.")
                   + (f" {summary}" if ranked else ""))
    d = dg.Diagnosis(ranked, timeline, ingest, summary,
                     next_steps=list(dict.fromkeys(snapshots.next_steps(ctx) + nextsteps.suggest(ctx, ranked))),
                     snapshots=ctx.snapshots.as_list(), events=ctx.events,
                     down_tunnels=snapshots.down_tunnels(ctx) if down and no_cause else [])
    return d


# Findings about the input itself (unread lines, a cut-off paste), not about a tunnel.
INPUT_CODES = "IKE9"


def _opening(ctx: Context) -> list[dg.Moment]:
    """The first packet of each packet-source flow that later matters: where the story starts."""
    from ikeanalyze.rules.base import moment

    flows = ctx.packet_flows
    if flows.empty:
        return []
    out = []
    both = flows[(flows["n_in"] > 0) & (flows["n_out"] > 0) & flows["transport"].isin(["udp500", "udp4500", "esp"])]
    for _, f in both.sort_values("first_ref").head(3).iterrows():
        rows = ctx.packets(f)
        r = rows.iloc[0]
        transport = {"udp4500": "UDP 4500", "udp500": "UDP 500", "tcp": "TCP", "esp": "ESP"}.get(
            f["transport"], str(f["proto"]).upper())
        out.append(moment(r, f"traffic both ways on {transport} between {endpoint(f['remote'], f['rport'])} and "
                             f"{endpoint(f['local'], f['lport'])} "
                             f"({int(f['n_in'])} in, {int(f['n_out'])} out in total)"
                             + (f", in {views.said(f['view'])}" if isinstance(f.get("view"), str) else "")))
    return out


def render(diagnosis: dg.Diagnosis, fmt: str = "terminal", out: IO[str] | None = None, **kw) -> str | None:
    from ikeanalyze import report

    return report.render(diagnosis, fmt, out, **kw)


def redact(diagnosis: dg.Diagnosis) -> dg.Diagnosis:
    """A copy with addresses, names and secrets replaced by consistent pseudonyms (--redact);
    its events (``diagnosis.events``) are redacted with the same pseudonyms."""
    from ikeanalyze import redact as _redact

    return _redact.diagnosis(diagnosis)


def redact_events(events: pd.DataFrame) -> pd.DataFrame:
    """The event table with addresses, names and secrets replaced (``events --redact``)."""
    from ikeanalyze import redact as _redact

    return _redact.events(events)


def analyze(inputs: Iterable[str | Blob], options: LoadOptions | None = None, **kw) -> dg.Diagnosis:
    """load() then diagnose()."""
    events, ingest = load(inputs, options)
    return diagnose(events, ingest, options=options, **kw)
