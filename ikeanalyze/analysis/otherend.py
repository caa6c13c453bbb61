"""What another input saw of a conversation one input shows unanswered: the capture or
sniffer run at the other end, which the next steps ask for ("collect the same on the
peer"). An input is at the other end when its own local side is this one's remote and its
remote this one's local (its `in`/`out` as its sniffer printed them, or as inferred). A NAT
between the two that changes an address hides the match: then nothing is said.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class OtherEnd:
    sources: list[str]
    arrived: pd.DataFrame  # packets from this side that reached the other end, in input order
    answered: pd.DataFrame  # packets the other end sent back

    def facts(self) -> dict:
        """The finding's facts: ``other_end`` (counts) and ``other_end_inputs`` (names)."""
        return {"other_end": {"arrived": len(self.arrived), "sent_back": len(self.answered)},
                "other_end_inputs": self.sources}


def other_end(wire: pd.DataFrame, source: str, local: str, remote: str, kinds: tuple[str, ...]) -> OtherEnd | None:
    """The rows of ``kinds`` between ``local`` and ``remote`` in the inputs other than
    ``source`` that see them from ``remote``'s side; None when no input does."""
    if wire.empty:
        return None
    w = wire[(wire["source"] != source).to_numpy() & (wire["local"] == remote).fillna(False).to_numpy()
             & (wire["remote"] == local).fillna(False).to_numpy() & wire["kind"].isin(kinds).to_numpy()]
    if w.empty:
        return None
    inbound = w["in"].to_numpy().astype(bool)
    return OtherEnd(sorted({str(s) for s in w["source"]}), w[inbound], w[~inbound])


def told(end: OtherEnd, local: str, remote: str, what: str, back: str) -> str:
    """The sentence a finding adds: where the packets were lost, from both ends' view."""
    from ikeanalyze.analysis.sas import where  # sas imports the rules' helpers

    names = ", ".join(end.sources)
    if len(end.arrived) and len(end.answered):
        return (f" The input from the other end ({names}) shows {len(end.arrived)} of the {what} arriving at "
                f"{remote} (first at {where(end.arrived.iloc[0])}) and {len(end.answered)} {back} sent back "
                f"(first at {where(end.answered.iloc[0])}): {remote} sends back, and what it sends is lost on the "
                f"way to {local} (a firewall, NAT or ISP filter on the return path).")
    if len(end.arrived):
        return (f" The input from the other end ({names}) shows {len(end.arrived)} of the {what} arriving at "
                f"{remote} (first at {where(end.arrived.iloc[0])}) and nothing sent back: {remote} receives them "
                f"and does not answer (its own IKE debug says why).")
    return (f" The input from the other end ({names}) shows none of the {what} arriving at {remote}: they are "
            f"lost on the way there.")
