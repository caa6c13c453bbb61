"""Pre-shared key mismatch: both ends reach authentication, and the keys do not agree.

## What it detects
The FortiGate debug's `PSK auth failed: probable pre-shared key mismatch` (IKEv2), the
IKEv1 `probable pre-shared secret mismatch` (also as `Negotiate SA Error: ...`; in Main
Mode the peer's message 5, or 6 when this side initiated, encrypted with keys derived
from the secret, fails to parse),
and an AUTHENTICATION_FAILED notify received (the debug's `notify type` line, or the
decrypted answer's `dec` dump when that line is not in the input) for a negotiation that does not use
certificates or EAP: the peer refused this side's AUTH payload (a pre-shared key, printed
or assumed: FortiOS prints certificate lines when it signs). One finding per peer, with
how many attempts failed; the message is worded by IKE version.
When neither end states it, the IKEv1 initiator's view is told as a probable mismatch
(severity warning): Main Mode message 5, the first one encrypted with keys derived from
the secret, sent again and again and never answered after the peer answered messages 1
and 3 on the same SA (in a capture or a sniffer's hex dumps, which name no step, message 5
is the initiator's third message, and either end may have captured it). Not when message 5 moved to UDP 4500 (NAT-T: a blocked port,
IKE106, looks the same), is larger than an ID and a hash (certificates), was sent fewer
than 3 times with no `negotiation timeout` (the paste may end before the answer), or the
negotiation has certificate, EAP or XAUTH lines. The IKEv1 Aggressive Mode responder's view
is told the same way: after this side's message 2 (`agg_r1send`) the initiator sends no
message 3 but encrypted Informationals on the same SA that this side never decrypts (no
`dec` line): the initiator could not verify this side's hash and said so with keys of
its own.
A FortiGate event-log line stating the same cause (a reason of `pre-shared key|secret mismatch`) is told too, with the
log's numbers; beside a debug of the same peer or tunnel it is more evidence of that
finding, not a second one (rules/fromlog.py).

## Why it matters
Everything before authentication worked (reachability, NAT-T, proposals), so the tunnel
fails late and the peer's retransmissions and timeouts look like a network problem. The
peer keeps retrying with the same key until someone changes one of them.

## Evidence
The `PSK auth failed` / `probable pre-shared secret mismatch` / `received notify type
AUTHENTICATION_FAILED` lines, the peer identifier it presented, and the failure count.

## Fix
Set the same key on both ends (`config vpn ipsec phase1-interface` → `edit <name>` → `set
psksecret <key>`); watch for trailing spaces, characters the peer's UI mangles, and a
dial-up peer that matched a different phase 1 than expected (check `peer identifier` /
`matched gateway` lines, or `set peerid` / `set localid`). When the peer sent
AUTHENTICATION_FAILED, also make this side's local ID what the peer expects (`set
localid-type address|fqdn` and `set localid <value>`; third-party peers such as Azure
or Sophos often reject FortiOS's default ID); the peer's own log says which of the two.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from ikeanalyze.analysis import linesearch, sas
from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.endpoints import endpoint
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import NoThresholds, rule

PSK_FAILED = linesearch.text_search(r"PSK auth failed|probable pre-shared (?:key|secret) mismatch")
AUTH_FAILED_NOTIFY = linesearch.text_search(r"notify type AUTHENTICATION_FAILED")
NOT_PSK = linesearch.text_search(r"(?i)certificate|EAP")
PEER_ID = linesearch.text_search(r"peer identifier")
USES_PSK = linesearch.text_search(r"PRESHARED_KEY|PSK|pre-shared")


# How IKEv1 tells the phase-1 exchange, and what the key protects there.
V1_MODES = {
    "Identity Protection": ("Main Mode", "the peer's Main Mode message 5 (its ID and HASH, encrypted with keys "
                                         "derived from the pre-shared secret) did not decrypt or verify"),
    "Aggressive": ("Aggressive Mode", "the peer's Aggressive Mode HASH did not verify with this side's pre-shared secret"),
}
# Main Mode when this side initiated: the peer's ID and HASH come in message 6.
V1_MM_INITIATOR = V1_MODES["Identity Protection"][1].replace("message 5", "message 6")


def _version(h: ng.Hit) -> int | None:
    v = next((n.version for n in h.negotiations if n.version), None)
    if v is None and any("pre-shared secret" in str(r.text) for r in h.rows):
        return 1  # the IKEv1 wording of the failure line
    return v


# This side's Main Mode sends as the initiator (ident_i1send, i2send, i3send): the peer's
# encrypted ID and HASH are then message 6.
MM_INITIATOR = linesearch.text_search(r"sent IKE msg \(ident_i\d+send\)")


def _what(h: ng.Hit, first) -> str:
    """What failed, in the words of the IKE version (and, in Main Mode, of this side's role)."""
    if _version(h) != 1:
        return "IKE_AUTH failed PSK verification"
    exchange = next((x for n in h.negotiations if (x := n.exchange_before(int(first.ref)))), None)
    mode, what = V1_MODES.get(exchange, (None, None))
    if what is None:
        return "IKEv1 phase-1 authentication failed with this side's pre-shared secret"
    ref = int(first.ref)
    mine = [n for n in h.negotiations if ref in n.column("ref")]  # the negotiation of the failure line
    if exchange == "Identity Protection" and any((n.column("ref")[n.where(MM_INITIATOR)] < ref).any() for n in mine):
        what = V1_MM_INITIATOR  # (an earlier negotiation of the hit that initiated is another's role)
    return f"{what} (`probable pre-shared secret mismatch`, IKEv1 {mode})"


@rule("IKE204", "psk-mismatch", severity="error",
      explains=("IKE210", "IKE304", "IKE303", "IKE302"))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    found = ng.hits(ctx.events, PSK_FAILED)
    told = ng.hits(ctx.events, AUTH_FAILED_NOTIFY, kinds=("notify",))
    for h in told + _decoded_refusals(ctx, told):
        # The peer refused this side's AUTH. Certificates or EAP in the negotiation make it
        # another rule's story; otherwise the method is a pre-shared key, printed or not
        # (FortiOS prints certificate lines when it signs).
        if not any(len(n.lines(NOT_PSK)) for n in h.negotiations):
            found.append(h)
    merged: dict[tuple, ng.Hit] = {}
    for h in found:
        key = (h.source, h.peer, h.tunnel)
        if key in merged:
            merged[key].rows.extend(r for r in h.rows if r not in merged[key].rows)
            known = {id(x) for x in merged[key].negotiations}
            for n in h.negotiations:
                if id(n) not in known:
                    known.add(id(n))
                    merged[key].negotiations.append(n)
        else:
            merged[key] = h
    for h in merged.values():
        rows = sorted(h.rows, key=lambda r: int(r.ref))
        attempts = len(rows)
        ident = []
        for n in h.negotiations:
            ident += [r for r in n.lines(PEER_ID).itertuples()]
        first, last = rows[0], rows[-1]
        who = h.peer or "the peer"
        gw = f" on gateway {h.tunnel}" if h.tunnel else ""
        ids = f", presenting {ident[0].text.split('peer identifier', 1)[1].strip()}" if ident else ""
        where = f"first at {sas.where(ng._as_row(first))}, last at {sas.where(ng._as_row(last))}"
        facts: dict[str, object] = {"attempts": attempts}
        if any(r.kind not in ("notify", "ike-hex") for r in rows):  # this side found the keys differ
            msg = f"Pre-shared key mismatch with {who}{gw}{ids}: {_what(h, first)} {counted(attempts, 'time')}, {where}."
        else:  # the peer refused this side's AUTH: its key, or this side's ID
            shown = any(len(n.lines(USES_PSK)) for n in h.negotiations)
            asked = "answered this side's IKE_AUTH with" if _version(h) != 1 else "sent"
            msg = (f"{who[0].upper()}{who[1:]}{gw} refused this side's authentication: it {asked} AUTHENTICATION_FAILED "
                   f"{counted(attempts, 'time')}, {where}. The pre-shared keys differ, or the peer does not accept this "
                   f"side's local ID (`set localid-type` / `set localid`, the peer's peer-ID setting); the peer's "
                   f"own log says which. "
                   + ("The negotiation used a pre-shared key." if shown else
                      "The authentication method is not in this log; with no certificate or EAP lines a "
                      "pre-shared key is assumed."))
            facts.update(refused_by="peer", method="psk" if shown else "psk (assumed)")
        ev_rows = sorted({int(r.ref): r for r in [*ident[:1], *rows[:3], *rows[-1:]]}.values(), key=lambda r: int(r.ref))
        yield finding(
            "IKE204", msg,
            between=(first, last),
            tunnel=h.tunnel, peer=h.peer, evidence=[evidence(r) for r in ev_rows],
            timeline=[moment(first, f"PSK authentication of {who} failed" if "refused_by" not in facts
                             else f"{who} refused this side's authentication")],
            facts=facts,
        )
    if not merged:
        yield from _main_mode_5_unanswered(ctx)
        yield from _aggressive_hash_unreadable(ctx)


def _decoded_refusals(ctx: Context, told: list[ng.Hit]) -> list[ng.Hit]:
    """AUTHENTICATION_FAILED in a decrypted answer from the peer (`dec` dump) of a
    negotiation whose `received notify type` line is not in the input (a paste cut just
    before it, a build that does not print it)."""
    said = {id(n) for h in told for n in h.negotiations}
    out = []
    for h in ng.hits(ctx.events, r"\bAUTHENTICATION_FAILED\b", column="notify", kinds=("ike-hex",)):
        h.rows = [r for r in h.rows if str(r.direction) == "in"]
        if h.rows and h.negotiations and not any(id(n) in said for n in h.negotiations):
            out.append(h)
    return out


# FortiOS names an initiator's Main Mode sends ident_i1send, i2send, i3send: messages 1, 3, 5.
MM5_SEND = "ident_i3send"
MM5_MIN_SENDS = 3  # sends of message 5 without a `negotiation timeout` line to say the SA gave up
MM5_PSK_MAX = 400  # bytes: message 5 with an ID and a hash (FortiOS: 60-110); certificates make it 1000+


def _main_mode_5_unanswered(ctx: Context) -> Iterator[Finding]:
    """The initiator's view of an IKEv1 key mismatch, when nothing states one: Main Mode
    message 5 (the first encrypted one) sent again and again and never answered, though the
    peer answered messages 1 and 3 on the same SA. A responder that cannot decrypt or verify
    it drops it without a word."""
    msgs = sas.of(ctx)
    if msgs.empty:
        return
    for s in sas.sends(msgs, min_count=2):
        first = s.first
        debug = str(first["origin"]) == "ikedebug"
        inbound = bool(first["in"])
        if (s.answered or not s.request or s.exchange != "Identity Protection"
                or (debug and (inbound or str(first["detail"]) != MM5_SEND))):
            continue
        # Earlier by place in the input (`order`), not frame number: in a capture out of time
        # order (mergecap -a, the outbound capture first) messages 2 and 4 follow message 5's frames.
        on_sa = msgs[(msgs["source"] == first["source"]).to_numpy() & (msgs["ispi"] == first["ispi"]).to_numpy()
                     & (msgs["order"] < first["order"]).to_numpy()]
        mine = on_sa["in"].to_numpy().astype(bool) == inbound
        if not debug and not _third_of_initiator(on_sa[mine]):
            continue  # on the wire, message 5 is the initiator's third message (no step names)
        same_sa = on_sa[~mine]
        if len(same_sa) < 2:
            continue  # message 4 never came: that is a lost answer, not a key that failed
        if str(first["transport"]) != str(same_sa["transport"].iloc[-1]):
            continue  # moved to 4500 by NAT-T: a blocked port (IKE106) looks just the same
        if pd.notna(first["length"]) and int(first["length"]) > MM5_PSK_MAX:
            continue  # too big for an ID and a hash: certificates, and maybe lost fragments
        # (The input's rows from message 2 to the last send: `order` is a position in ctx.events.)
        negotiation = ctx.events.iloc[int(same_sa["order"].min()):int(s.last["order"]) + 1]
        negotiation = negotiation[(negotiation["source"] == first["source"]).to_numpy()]
        said = negotiation["text"].fillna("").astype(str)
        if said.str.contains(r"(?i)certificate|\bEAP\b|XAUTH").any():
            continue  # signed with a certificate: another rule's story
        if s.count < MM5_MIN_SENDS and not said.str.contains("negotiation timeout").any():
            continue  # the paste may just end before the answer
        gw = f" on gateway {s.tunnel}" if s.tunnel else ""
        sender, answerer, whose = ((f"{s.peer}'s", "this side", "this side's") if inbound
                                   else ("this side's", "the peer", "the peer's"))
        msg = (f"Probable pre-shared key mismatch with {s.peer}{gw}: {sender} Main Mode message 5 (its ID and "
               f"HASH, encrypted with keys derived from the pre-shared secret) was sent {s.count} times "
               f"({sas.where(first)} to {sas.where(s.last)}) and never answered, although {answerer} answered "
               f"messages 1 and 3 on the same SA (message 4 at {sas.where(same_sa.iloc[-1])}). A responder that cannot "
               f"decrypt or verify message 5 drops it without a word: the keys differ, or (the same from the "
               f"initiator's side) the responder matched another phase 1 or rejects the initiator's ID. "
               f"{whose[0].upper() + whose[1:]} IKE debug says which (`probable pre-shared secret mismatch`).")
        f = finding(
            "IKE204", msg,
            between=(first, s.last),
            tunnel=s.tunnel, peer=s.peer,
            evidence=[evidence(same_sa.iloc[-1]), evidence(first), evidence(s.last)],
            timeline=[moment(first, f"Main Mode message 5 to {s.peer}, never answered")],
            facts={"attempts": s.count, "inferred_from": "main-mode-5-unanswered", "method": "psk (assumed)"},
        )
        f.severity = "warning"  # inferred from silence, not stated by either end
        yield f


def _third_of_initiator(earlier) -> bool:
    """The sender's earlier messages on the SA (``earlier``) are two distinct ones, the first
    with a zero responder SPI: it is the initiator, and this is its third message, Main
    Mode's message 5 (a capture or sniffer hex dump names no step)."""
    sends = earlier.drop_duplicates("send")
    return len(sends) == 2 and str(sends["rspi"].iloc[0]) == sas.ZERO_SPI


AM2_SEND = "agg_r1send"  # the responder's Aggressive Mode message 2 (its hash, and the keys' material)


def _aggressive_hash_unreadable(ctx: Context) -> Iterator[Finding]:
    """The IKEv1 Aggressive Mode responder's view of a key mismatch, when nothing states
    one: after this side's message 2 the initiator sends no message 3 but encrypted
    Informationals on the same SA that this side never decrypts (no `dec` line). The
    initiator could not verify this side's hash (its keys come from another pre-shared key)
    and said so in a notify encrypted with those keys."""
    ev = ctx.events
    sent = ev[(ev["kind"] == "ike-sent").to_numpy() & (ev["detail"] == AM2_SEND).fillna(False).to_numpy()]
    if sent.empty:
        return
    # The rows of those SAs, taken once: a long log has many aggressive-mode answers.
    of_sas = ev[ev["ispi"].isin(sent["ispi"].dropna().unique()).to_numpy()]
    for (source, ispi, rspi), mine in sent.groupby(["source", "ispi", "rspi"], sort=False, observed=True):
        am2 = mine.iloc[0]
        sa = of_sas[(of_sas["source"] == source).to_numpy() & (of_sas["ispi"] == ispi).fillna(False).to_numpy()
                    & (of_sas["ref"] > int(am2["ref"])).to_numpy()]
        on_sa = sa[(sa["rspi"] == rspi).fillna(False).to_numpy()]
        got = on_sa[(on_sa["kind"] == "ike-received").to_numpy()]
        infos = got[(got["exchange"] == "Informational").fillna(False).to_numpy()]
        if infos.empty or (got["exchange"] == "Aggressive").any():
            continue  # message 3 came: the hashes verified
        decrypted = on_sa[(on_sa["kind"] == "ike-hex").to_numpy()
                          & on_sa["detail"].fillna("").astype(str).str.startswith("dec").to_numpy()
                          & on_sa["msg_id"].isin(infos["msg_id"].dropna().tolist()).to_numpy()]
        if not decrypted.empty:
            continue  # a notify this side could read: it says what it is
        said = ev[(ev["source"] == source).to_numpy() & (ev["ref"] >= int(am2["ref"]) - 100).to_numpy()
                  & (ev["ref"] <= int(sa["ref"].max())).to_numpy()]["text"].fillna("").astype(str)
        if said.str.contains(r"(?i)certificate|\bEAP\b").any():
            continue  # signed with a certificate: another rule's story
        first = infos.iloc[0]
        peer = endpoint(first["src"], first["sport"]) if pd.notna(first["src"]) and pd.notna(first["sport"]) else None
        again = int(((sa["kind"] == "ike-received") & (sa["exchange"] == "Aggressive").fillna(False)).sum())
        timeout = said.str.contains("negotiation timeout").any()
        tunnel = str(am2["tunnel"]) if pd.notna(am2["tunnel"]) else None
        gw = f" on gateway {tunnel}" if tunnel else ""
        msg = (f"Probable pre-shared key mismatch with {peer or 'the peer'}{gw}: after this side's Aggressive Mode "
               f"answer (message 2, {sas.where(am2)}) the peer sent no message 3 but "
               f"{counted(len(infos), 'encrypted Informational message')} on the same SA that this side could not decrypt ({sas.where(first)}"
               + (f" to {sas.where(infos.iloc[-1])}" if len(infos) > 1 else "") + ")"
               + (f", and sent its message 1 again {counted(again, 'time')}" if again else "")
               + ("; the negotiation timed out" if timeout else "")
               + ". In Aggressive Mode the initiator checks the responder's hash first; keys derived from another "
               "pre-shared key fail it, and the initiator's notify, encrypted with its own keys, cannot be read "
               "here. The initiator's log (FortiClient: `probable pre-shared key mismatch`) says it outright.")
        f = finding(
            "IKE204", msg,
            between=(am2, infos.iloc[-1]),
            tunnel=tunnel, peer=peer,
            evidence=[evidence(am2), evidence(first)] + ([evidence(infos.iloc[-1])] if len(infos) > 1 else []),
            timeline=[moment(first, f"encrypted Informational from {peer or 'the peer'} instead of message 3: "
                                    "not decrypted")],
            facts={"attempts": len(infos), "inferred_from": "aggressive-mode-notify-unreadable",
                   "method": "psk (assumed)"},
        )
        f.severity = "warning"  # inferred: neither end states it
        yield f
