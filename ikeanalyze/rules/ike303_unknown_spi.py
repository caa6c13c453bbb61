"""Unknown SPI: IKE or ESP keeps arriving for an SA this side does not know.

## What it detects
IKE debug `invalid IKE request SPI <ispi>/<rspi>:<msgid>` for an IKE SA that this input
never saw being negotiated or used, at least `min_messages` times; ESP errors that name an
unknown SPI; and, in captures, the INVALID_SPI / INVALID_IKE_SPI notifications (RFC 7296
§3.10.1) with which a peer says that it does not know the SPI it was sent. FortiOS's benign `ignoring invalid SPI, IPsec SA just negotiated`
(ESP that raced the new SA) and replay errors are not counted, and neither is a peer
retransmitting into an SA this input shows being deleted (a symptom of whatever deleted
it, reported there).
A FortiGate event-log line stating the same cause (logid 37131 "IPsec ESP",
`error_num="Received ESP packet with unknown SPI."`, at least two of one peer) is told too,
with the log's numbers and the SPI; beside a debug of the same peer or tunnel it is more
evidence of that finding, not a second one (rules/fromlog.py).

## Why it matters
The peer still uses an SA that this side has lost: after a reboot, an HA failover without
session sync, a flush (`diagnose vpn ike gateway clear`) or an SA deleted on one side
only. The peer believes the tunnel is up and its traffic is dropped until its own SA
times out or DPD notices.

## Evidence
Each distinct SPI pair (or ESP SPI), how often it arrived, and the first and last line.

## Fix
Make the peer renegotiate: clear the SA on the peer (`diagnose vpn ike gateway clear name
<tunnel>`), enable DPD on both ends (`set dpd on-idle`) so a lost SA is detected, and
for HA clusters enable IPsec SA synchronisation. If it recurs, compare both ends' SA
lifetimes and look for one side deleting SAs the other keeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ikeanalyze.analysis import sas
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.endpoints import endpoint
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import rule

UNKNOWN_IKE = r"^invalid IKE request SPI"
UNKNOWN_ESP = r"(?i)(?:unknown|invalid|no SA for) (?:ESP )?SPI|SPI \S+ not found"
INVALID_SPI_NOTIFY = r"\bINVALID_(?:IKE_)?SPI\b"
BENIGN = r"(?i)just negotiated|\(replay\)"
# Rows that only repeat the incoming message itself; any other row with the SPI means this
# side knew the SA (it processed, answered, established or deleted it).
MESSAGE_ECHOES = ("ike-received", "ike-exchange", "ike-hex", "error")


@dataclass(frozen=True)
class Thresholds:
    min_messages: int = 2  # arrivals for one unknown SA before it is reported


@rule("IKE303", "unknown-spi", severity="warning", thresholds=Thresholds())
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    ev = ctx.events
    yield from _notified(ev)
    errors = ev[(ev["kind"] == "error").fillna(False).to_numpy()]
    if errors.empty:
        return
    detail = errors["detail"].fillna("").astype(str)
    text = errors["text"].fillna("").astype(str)
    benign = text.str.contains(BENIGN).to_numpy() | detail.str.contains(BENIGN).to_numpy()
    ike = errors[detail.str.contains(UNKNOWN_IKE).to_numpy() & ~benign]
    esp = errors[(detail.str.contains(UNKNOWN_ESP).to_numpy() | text.str.contains(UNKNOWN_ESP).to_numpy())
                 & ~detail.str.contains(UNKNOWN_IKE).to_numpy() & ~benign]
    known = _known_spis(ev)
    for (source, ispi, rspi), rows in ike.groupby(["source", "ispi", "rspi"], sort=False):
        if (source, ispi) in known or len(rows) < t.min_messages:
            continue
        came = ev[(ev["source"] == source).fillna(False).to_numpy() & (ev["ispi"] == ispi).fillna(False).to_numpy()
                  & (ev["kind"] == "ike-received").fillna(False).to_numpy()]
        peer = endpoint(came.iloc[0].src, came.iloc[0].sport) if len(came) and isinstance(came.iloc[0].src, str) else None
        yield _finding(rows, f"IKE SA {ispi}/{rspi}", "IKE requests", peer)
    for (_source, spi), rows in esp.groupby(["source", "esp_spi"], sort=False, dropna=False):
        if len(rows) < t.min_messages:
            continue
        yield _finding(rows, f"ESP SPI {spi}" if isinstance(spi, str) else "an unknown ESP SPI", "ESP packets",
                       _peer(rows.iloc[0]))


def _notified(ev) -> Iterator[Finding]:
    """Decoded IKE carrying INVALID_SPI / INVALID_IKE_SPI: its sender does not know an SPI it got."""
    notes = ev[(ev["kind"] == "ike").fillna(False).to_numpy() & sas.once(ev)  # a capture's copy is no message
               & ev["notify"].fillna("").astype(str).str.contains(INVALID_SPI_NOTIFY).to_numpy()]
    for (_source, src), rows in notes.groupby(["source", "src"], sort=False):
        first, last = rows.iloc[0], rows.iloc[-1]
        name = "INVALID_IKE_SPI" if "INVALID_IKE_SPI" in str(first.notify) else "INVALID_SPI"
        peer = endpoint(src, first.sport)
        sent = ev[(ev["kind"] == "esp").fillna(False).to_numpy() & (ev["dst"] == src).fillna(False).to_numpy()
                  & (ev["source"] == first.source).fillna(False).to_numpy()]
        spis = sorted(set(sent["esp_spi"].dropna().astype(str)))
        using = f"; the ESP sent to it uses SPI {', '.join('0x' + x for x in spis[:3])}" if spis else ""
        msg = (f"{peer} sent {counted(len(rows), f'{name} notification')} to {first.dst} ({sas.where(first)} to "
               f"{sas.where(last)}): it does not know an SPI this side still uses{using}.")
        yield finding(
            "IKE303", msg,
            between=(first, last), peer=peer,
            evidence=[evidence(first)] + ([evidence(last)] if len(rows) > 1 else []),
            timeline=[moment(first, f"{peer} reports an unknown SPI ({name})")],
            facts={"messages": int(len(rows)), "what": name, "esp_spis": spis},
        )


def _known_spis(ev) -> set[tuple[str, str]]:
    mask = ev["ispi"].notna().to_numpy() & ~ev["kind"].isin(MESSAGE_ECHOES).fillna(False).to_numpy()
    sub = ev.loc[mask, ["source", "ispi"]].drop_duplicates().astype(str)  # few distinct pairs, many rows
    return set(zip(sub["source"], sub["ispi"]))


def _finding(rows, what: str, unit: str, peer: str | None) -> Finding:
    first, last = rows.iloc[0], rows.iloc[-1]
    frm = f" from {peer}" if peer else ""
    msg = (f"{len(rows)} {unit}{frm} arrived for {what}, which no SA here knows ({sas.where(first)} to {sas.where(last)}): "
           f"the peer still uses an SA this side has lost.")
    tunnel = rows["tunnel"].dropna()
    return finding(
        "IKE303", msg,
        between=(first, last),
        tunnel=str(tunnel.iloc[0]) if len(tunnel) else None, peer=peer,
        evidence=[evidence(first)] + ([evidence(last)] if len(rows) > 1 else []),
        timeline=[moment(first, f"{unit} for unknown {what}")],
        facts={"messages": int(len(rows)), "what": what},
    )


def _peer(row) -> str | None:
    src = row["src"]
    if isinstance(src, str) and src:
        return src
    return None

