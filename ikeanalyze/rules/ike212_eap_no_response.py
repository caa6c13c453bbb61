"""The client stops answering during IKE_AUTH / EAP.

## What it detects
A dial-up negotiation where this side sent its IKE_AUTH response carrying an EAP request
(`responder preparing EAP identity request`, or a later EAP challenge) and the client never
sent another message for that IKE SA until the FortiGate gave up (`negotiation timeout,
deleting`).

## Why it matters
The FortiGate did its part; the client received (or should have received) the EAP
request and went silent. Usual causes: the client rejected the gateway's AUTH payload (a
pre-shared key or certificate the client does not accept — FortiClient then shows a
generic error and sends nothing), the user never entered credentials, or the response was
lost on the path (large EAP/TLS messages, missing IKE fragmentation).

## Evidence
The EAP request line, the last `sent IKE msg (AUTH_RESPONSE)` to the client, the absence of
any later message from it, and the timeout.

## Fix
Check the client side first: its log (FortiClient: *Logs* with debug level) says whether it
rejected the gateway's authentication (PSK or certificate mismatch). Check the pre-shared key
/ certificate configured on the client against the phase 1, and enable IKE fragmentation
(`set fragmentation enable`) when EAP-TLS or certificates make the messages large.
"""

from __future__ import annotations

from collections.abc import Iterator

from ikeanalyze.analysis import linesearch, sas
from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.base import evidence, finding, human_duration, moment, span
from ikeanalyze.rules.registry import NoThresholds, rule

EAP_REQUEST = linesearch.text_search(r"EAP identity request|sending EAP request|EAP \d+ result FNBAM_CHALLENGED")
TIMEOUT = linesearch.text_search(r"negotiation timeout, deleting")


@rule("IKE212", "eap-no-response", severity="error", explains=("IKE210", "IKE304"))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    ev = ctx.events
    for n in ng.negotiations(ev):
        eap = n.lines(EAP_REQUEST)
        timeout = n.lines(TIMEOUT)
        if eap.empty or timeout.empty:
            continue
        end = timeout.iloc[-1]
        req = eap[eap["ref"] < int(end.ref)]
        if req.empty:
            continue
        req = req.iloc[-1]
        sent = n.rows[(n.rows["kind"] == "ike-sent").to_numpy() & (n.rows["ref"] > int(req.ref)).to_numpy()
                      & (n.rows["ref"] < int(end.ref)).to_numpy()]
        if sent.empty:
            continue
        last_sent = sent.iloc[-1]
        # Anything from the client for this IKE SA after our EAP request answers it.
        src = ev[(ev["source"] == n.source).to_numpy() & (ev["ref"] > int(last_sent.ref)).to_numpy()
                 & (ev["ref"] < int(end.ref)).to_numpy()
                 & ev["kind"].isin(["ike-received", "ike-exchange"]).to_numpy()
                 & (ev["ispi"] == n.ispi).fillna(False).to_numpy()]
        if len(src):
            continue
        waited = span(last_sent, end)
        gw = f" on gateway {n.tunnel}" if n.tunnel else ""
        msg = (f"{n.peer or 'The client'}{gw} never answered the EAP request: this side sent "
               f"`{last_sent.detail}` at {sas.where(last_sent)} and heard nothing more for that IKE SA "
               f"until the negotiation timed out at {sas.where(end)}"
               + (f" ({human_duration(waited)} later)" if waited else "")
               + ". The client stopped during IKE_AUTH: it likely rejected this side's authentication "
               "(pre-shared key or certificate) or the user never completed the login.")
        yield finding(
            "IKE212", msg,
            between=(req, end),
            tunnel=n.tunnel, peer=n.peer, evidence=[evidence(r) for r in ng.evidence_rows([req, last_sent, end])],
            timeline=[moment(last_sent, f"EAP request sent to {n.peer or 'the client'}; no answer follows")],
            facts={"waited_s": waited},
        )
