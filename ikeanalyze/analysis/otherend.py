"""What another input saw of a conversation one input shows unanswered: the capture or
sniffer run at the other end, which the next steps ask for ("collect the same on the
peer").

An input is at the other end when its own printed in/out (a sniffer's, a debug's
`comes`/`sent`) puts ``remote`` on its local side for this pair, and never ``local``: an
input that also sees ``local`` as its own side is from this end, or from a firewall in
between, and tells nothing of the peer. Only its packets within the finding's time (give
or take CLOCK_SLACK_S, for two devices' clocks) count. A NAT between the two that changes
an address, or clocks further apart than that, hide the match: then nothing is said.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

import numpy as np
import pandas as pd

from ikeanalyze.analysis.tablecache import groups
from ikeanalyze.analysis.views import said as view_said
from ikeanalyze.words import counted

CLOCK_SLACK_S = 120.0


@dataclass
class OtherEnd:
    sources: list[str]
    arrived: pd.DataFrame  # packets from this side that reached the other end, in input order
    answered: pd.DataFrame  # packets the other end sent back in that time
    untimed: bool = False  # relative clocks: the other run's packets of the pair, whenever they came
    views: bool = False  # the other end is another device's run in one of the inputs

    def facts(self) -> dict:
        """The finding's facts: ``other_end`` (counts) and ``other_end_inputs`` (names)."""
        return {"other_end": {"arrived": len(self.arrived), "sent_back": len(self.answered)},
                "other_end_inputs": self.sources}


def other_end(wire: pd.DataFrame, events: pd.DataFrame, rows: pd.DataFrame, kinds: tuple[str, ...],
              same_length: bool) -> OtherEnd | None:
    """What the inputs at the other end saw of ``rows`` (this end's packets to the peer,
    all of one source, local and remote): the packets of ``kinds`` between the two there,
    in the rows' time; with ``same_length``, only arrivals of the rows' lengths (an IKE
    request keeps its length through NAT). None when no input is at the other end."""
    if wire.empty or rows.empty:
        return None
    first, last = rows.iloc[0], rows.iloc[-1]
    source, local, remote = str(first["source"]), str(first["local"]), str(first["remote"])
    view = first.get("view")
    untimed = pd.isna(first["time"]) or pd.isna(last["time"])
    # Another input, or another view of this one (the other FortiGate's run in one paste).
    same_input = (wire["source"] == source).to_numpy()
    viewed = wire["view"].to_numpy(dtype=object) if "view" in wire else np.full(len(wire), None)
    has_view = pd.notna(viewed)  # (a view is a label or None: analysis.views.labels)
    others = ~same_input | (has_view & (viewed != view)) if isinstance(view, str) else ~same_input | has_view
    if untimed:
        # Relative stamps (seconds since each run started): only another run of this paste
        # can be set beside them, and not by time; another input's clock cannot be matched.
        others &= same_input & has_view
    pair = others & (((wire["local"] == remote) & (wire["remote"] == local))
                     | ((wire["local"] == local) & (wire["remote"] == remote))).fillna(False).to_numpy()
    if not pair.any():
        return None
    w = wire[pair]
    printed = events.loc[w.index, "direction"].notna().to_numpy()
    ends = _ends(w, source)
    this_side = set(ends[(w["local"] == local).to_numpy() | ~printed])
    if untimed:
        when = pd.Series(True, index=w.index)
    else:
        slack = pd.Timedelta(seconds=CLOCK_SLACK_S)
        when = (w["time"] >= first["time"] - slack) & (w["time"] <= last["time"] + slack)
    far = (w["local"] == remote).to_numpy() & when.fillna(False).to_numpy() & w["kind"].isin(kinds).to_numpy()
    far &= ~pd.Series(ends).isin(this_side).to_numpy()
    if not far.any():
        return None
    w, ends = w[far], ends[far]
    inbound = w["in"].to_numpy().astype(bool)
    arrived = inbound
    if same_length:
        lengths = set(rows["length"].dropna().astype(int))
        arrived = inbound & w["length"].isin(lengths).fillna(False).to_numpy()
    seen_by = "view" in w and bool(w["view"].notna().any())
    return OtherEnd(sorted(set(ends)), w[arrived], w[~inbound], untimed, seen_by)


def _ends(w: pd.DataFrame, source: str) -> np.ndarray:
    """Each row's capture point as a finding names it: its input, or the view (the
    device's run) within it when the input holds several (and that input, when it is
    not ``source``, the finding's own)."""
    names = w["source"].astype(str).to_numpy(dtype=object)
    if "view" not in w:
        return names
    views = w["view"].to_numpy(dtype=object)
    # Named once per (input, view), not per row: the pair's packets may be a long run's ESP.
    group, first = groups(pd.DataFrame({"n": names, "v": views}), ["n", "v"])
    said = [n if not isinstance(v, str) else view_said(v) if n == source else f"{view_said(v)} ({PurePath(n).name})"
            for n, v in zip(names[first], views[first])]
    return np.array(said, dtype=object)[group]


def told(end: OtherEnd, local: str, remote: str, what: tuple[str, str], back: tuple[str, str],
         maybe_unseen: bool = False) -> str:
    """The sentence a finding adds: where the packets were lost, from both ends' view.
    ``what`` and ``back`` are the nouns (one, many) of the packets sent and answered.
    ``maybe_unseen``: this end's view is a CPU sniffer that NP offload may blind to what
    comes back."""
    from ikeanalyze.analysis.sas import where  # sas imports the rules' helpers

    names = ", ".join(end.sources)
    if end.untimed:
        said = (f" The other end ({names}) shows, over its whole run (each run's clock counts from its own "
                f"start: the two cannot be lined up),")
    elif end.views:
        said = f" The other end ({names}) shows, in the same minutes,"
    else:
        said = f" The input from the other end ({names}) shows, in the same minutes,"
    if len(end.arrived) and len(end.answered):
        lost = (f"either it is lost on the way to {local} or {local}'s NP offload keeps it from the CPU sniffer"
                if maybe_unseen else f"what it sends is lost on the way to {local} (a firewall, NAT or ISP "
                f"filter on the return path)")
        return (f"{said} {counted(len(end.arrived), *what)} arriving at {remote} (first at "
                f"{where(end.arrived.iloc[0])}) and {counted(len(end.answered), *back)} sent back (first at "
                f"{where(end.answered.iloc[0])}): {remote} sends back, and {lost}.")
    if len(end.arrived):
        them = "it" if len(end.arrived) == 1 else "them"
        return (f"{said} {counted(len(end.arrived), *what)} arriving at {remote} (first at "
                f"{where(end.arrived.iloc[0])}) and nothing sent back: {remote} receives {them} and does not answer "
                f"(its own IKE debug says why).")
    return f"{said} none of these {what[1]} arriving at {remote}: they are lost on the way there."
