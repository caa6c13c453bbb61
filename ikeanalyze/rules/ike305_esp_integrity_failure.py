"""ESP integrity failure: packets of an established SA fail their HMAC check and are dropped.

## What it detects
ESP packets that arrive on an SA this side knows but whose integrity check value does not
verify: the IKE debug's `invalid ESP <n> (HMAC) SPI <spi> seq <seq> ... <src>-><dst>`, at
least `min_packets` of them per tunnel and sending address. One finding per tunnel and
peer, with how many packets, which SPIs, and the first and last line.
A FortiGate event-log line stating the same cause (logid 37131 "IPsec ESP",
`status=esp_error`, `error_num="Invalid ESP packet detected (HMAC validation failed)."`)
is told too, with the log's numbers; beside a debug of the same peer or tunnel it is more
evidence of that finding, not a second one (rules/fromlog.py). (ESP for an SPI no SA knows
is IKE303; replayed packets, which FortiOS also reports, are not counted here.)

## Why it matters
The tunnel is up and both ends believe they agree, yet the packets that fail the check are
dropped: traffic is lost in one direction, partly or wholly, with no renegotiation to show
for it. The MAC this side computes differs from the one in the packet: the two ends hold
different keys for the SA (an SA re-keyed or re-installed on one side only, HA members out
of sync), or something on the path alters the packets (a link or device corrupting them,
an MTU/fragmentation problem), or this side's own offload computes it wrongly (Fortinet
article 230343: the check fails in the kernel or in the NPU).

## Evidence
The first and the last failed packet (SPI, sequence number, addresses), how many failed,
and the distinct SPIs: one SPI failing while a newer one works points at an SA that one
side replaced; every SPI failing points at the path or the hardware.

## Fix
Renegotiate the SA so both ends derive fresh keys (`diagnose vpn ike gateway clear name
<tunnel>`) and see whether the errors stop; compare the SPIs both ends show for the tunnel
(`diagnose vpn tunnel list name <tunnel>`). If they come back, look at the path (the ISP
link, devices that rewrite or fragment UDP/ESP; lower the tunnel MTU to test) and at the
rx error counter of the tunnel interface (`diagnose netlink interface list <tunnel>`,
`rxe=`). When the errors follow the hardware, test with `set npu-offload disable` on the
phase 1 and check the NPU drop counters (`diagnose npu np6 dce <id>` or the platform's
equivalent).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from ikeanalyze.analysis import sas
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import rule

# The debug's word for the failed check, as the `error` row's detail holds it.
HMAC_FAILED = r"^invalid ESP \d+ \(HMAC\)"
# The failed packet's sequence number, printed after its SPI.
SEQ = re.compile(r"\bseq ([0-9a-fA-F]+)")
MAX_SPIS = 5  # SPIs named in the message; the facts list them all


@dataclass(frozen=True)
class Thresholds:
    min_packets: int = 1  # failed packets per tunnel and peer: each one was dropped


@rule("IKE305", "esp-integrity-failure", severity="error", thresholds=Thresholds())
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    ev = ctx.events
    errors = ev[(ev["kind"] == "error").fillna(False).to_numpy()]
    if errors.empty:
        return
    failed = errors[errors["detail"].fillna("").astype(str).str.contains(HMAC_FAILED).to_numpy()]
    keys = [failed[c].astype("string").fillna("") for c in ("source", "tunnel", "src")]
    for _, rows in failed.groupby(keys, sort=False):
        if len(rows) < t.min_packets:
            continue
        yield _finding(rows)


def _finding(rows: pd.DataFrame) -> Finding:
    first, last = rows.iloc[0], rows.iloc[-1]
    spis = list(dict.fromkeys(str(s) for s in rows["esp_spi"].dropna()))
    peer = str(first.src) if isinstance(first.src, str) and first.src else None
    tunnel = str(first.tunnel) if isinstance(first.tunnel, str) else None
    frm = f" from {peer}" if peer else ""
    on = f" on tunnel {tunnel}" if tunnel else ""
    seq = SEQ.search(str(first.text))
    spi_text = ", ".join(f"0x{s}" for s in spis[:MAX_SPIS]) + (f" and {len(spis) - MAX_SPIS} more" if len(spis) > MAX_SPIS else "")
    span = f"{sas.where(first)}" + (f" to {sas.where(last)}" if len(rows) > 1 else "")
    their, were = ("its", "was") if len(rows) == 1 else ("their", "were")
    msg = (f"{counted(len(rows), 'ESP packet')}{frm}{on} failed {their} integrity check and {were} dropped (`invalid ESP ... "
           f"(HMAC)`, {span}): SPI {spi_text or 'not printed'}"
           + (f", {'first ' if len(rows) > 1 else ''}at sequence number 0x{seq.group(1)}" if seq else "")
           + ". The MAC computed here differs from the packet's: the ends hold different keys for the SA, or "
           "the packets are altered on the path or by the offload hardware.")
    return finding(
        "IKE305", msg,
        between=(first, last), tunnel=tunnel, peer=peer,
        evidence=[evidence(first)] + ([evidence(last)] if len(rows) > 1 else []),
        timeline=[moment(first, f"ESP from {peer or 'the peer'} fails its HMAC check" + (f" ({tunnel})" if tunnel else ""))],
        facts={"packets": int(len(rows)), "esp_spis": spis},
    )
