"""IKE messages and their SAs: who sent what, which requests were re-sent, which answered.

One row per IKE message seen on the wire, from every source that names the SPIs (a
decoded capture frame; a debug `comes` line with its `exchange=` line; a debug `sent IKE
msg` line). Rows are grouped into *sends*: the same message (same source, direction,
SPI pair, message ID, request/response and, when both are known, length) sent again is
a retransmission. A capture that recorded one frame twice a few µs apart is not: the pcap
source marks those `detail = "duplicate-frame"` and they are dropped here.

Each source keeps its own view: a debug log and a capture of the same exchange are never
merged, so a count is always a count of lines or frames of one input.

Sniffer text without hex dumps names no SPIs; :func:`udp_repeats` finds the same
`udp <len>` re-sent to port 500 with nothing coming back, which is all such text can show.
tcpdump text names the exchange and flags but (without `-vv`) no SPIs: the same first
message re-sent to a side that sent nothing back.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze import endpoints
from ikeanalyze.analysis import linesearch
from ikeanalyze.analysis import views as views_mod
from ikeanalyze.analysis.direction import unoriented
from ikeanalyze.analysis.tablecache import groups, per_table
from ikeanalyze.diagnosis import clock_text, printed_stamp
from ikeanalyze.wire import iana
from ikeanalyze.wire.ports import IKE_PORT

DUPLICATE = "duplicate-frame"  # sources/pcap.py marks capture duplicates with this detail


def once(events: pd.DataFrame) -> np.ndarray:
    """Rows that are not a capture's copy of a frame it recorded twice (``DUPLICATE``): what
    crossed the wire, for a rule that counts packets or messages from the events."""
    return (events["detail"] != DUPLICATE).fillna(True).to_numpy(dtype=bool)
ZERO_SPI = "0000000000000000"
MESSAGE_KINDS = ("ike", "ike-sent", "ike-received", "ip-fragment")

# `sent IKE msg (<type>)` → (exchange, response, named retransmission). Rows in order,
# first match wins; `None` leaves the exchange to be inherited from the original send.
SENT_TYPES: list[tuple[str, str | None, bool | None, bool]] = [
    (r"^RETRANSMIT_(?P<x>SA_INIT|AUTH|CREATE_CHILD|INFORMATIONAL|SESSION_RESUME)$", None, False, True),
    (r"^(?P<x>SA_INIT|AUTH|CREATE_CHILD|INFORMATIONAL|SESSION_RESUME)_RESPONSE$", None, True, False),
    (r"^(?P<x>SA_INIT|AUTH|CREATE_CHILD|INFORMATIONAL|SESSION_RESUME)$", None, False, False),
    (r"^NO_PROPOSAL_CHOSEN$", None, True, False),  # an error response to the request it answers
    (r"^R-U-THERE$", "Informational", None, False),
    (r"^R-U-THERE-ACK$", "Informational", None, False),
    (r"^ident_[ir]\d+send$", "Identity Protection", None, False),
    (r"^agg_[ir]\d+send$", "Aggressive", None, False),
    (r"^quick_[ir]\d+send$", "Quick Mode", None, False),
    (r"^cfg_send$", "Transaction", None, False),
    (r"^CFG_RETRANS$", "Transaction", None, True),
    (r"(?i)retrans", None, None, True),  # retransmit, P1_RETRANSMIT, CFG_RETRANS, ...
]
# Names the debug prints for IKEv2 exchanges, normalised to the wire decoder's names.
EXCHANGE_ALIASES = {"CREATE_CHILD": "CREATE_CHILD_SA", "Quick": "Quick Mode", "Mode config": "Transaction"}
FIRST_EXCHANGES = ("SA_INIT", "Identity Protection", "Aggressive")  # messages that start an IKE SA


@functools.lru_cache(maxsize=1024)
def _sent_type(detail: str | None) -> tuple[str | None, bool | None, bool]:
    """(exchange, response, named retransmission) of a `sent IKE msg (<type>)`; the same
    few types name every send, so each is read once."""
    if not detail:
        return None, None, False
    for pattern, exch, response, retx in SENT_TYPES:
        m = re.search(pattern, detail)
        if m:
            x = m.groupdict().get("x")
            return EXCHANGE_ALIASES.get(x, x) if x else exch, response, retx
    return None, None, False


def _received_exchange(name: str | None, version) -> tuple[str | None, bool | None]:
    """`exchange=AUTH_RESPONSE` is a response; an IKEv2 name without the suffix a request."""
    if not name:
        return None, None
    name = name.strip()
    if name.endswith("_RESPONSE"):
        base = name[: -len("_RESPONSE")]
        return EXCHANGE_ALIASES.get(base, base), True
    return EXCHANGE_ALIASES.get(name, name), (False if version == 2 else None)


def messages(events: pd.DataFrame, wire: pd.DataFrame) -> pd.DataFrame:
    """IKE messages with SPIs, oriented (``in``/``local``/``remote``), grouped into sends.

    Added columns: ``exch`` (exchange name), ``resp`` (True/False/None), ``fragmented``,
    ``named_retx`` (the debug line calls it a retransmission), ``send`` (id of the message
    being sent, shared by its retransmissions), ``attempt`` (0 for the original),
    ``retransmit`` and ``answered`` (the other side sent a response to this send; for
    IKEv1, which has no response flag, anything on the same SA afterwards)."""
    w = wire[wire["kind"].isin(MESSAGE_KINDS).to_numpy() & wire["ispi"].notna().to_numpy()]
    if w.empty:
        return _empty()
    extra = events.loc[w.index, ["rspi", "ike_version", "detail", "payloads", "notify"]]
    w = w.join(extra)
    w = w[(w["detail"].astype(object) != DUPLICATE).to_numpy()].copy()
    if w.empty:
        return _empty()
    kind = w["kind"].astype(object).to_numpy()
    detail = w["detail"].astype(object).to_numpy()
    exch = w["exchange"].astype(object).to_numpy().copy()
    resp = _objects(w["response"])
    named = np.zeros(len(w), dtype=bool)
    # Each distinct `sent IKE msg (<type>)`, and each distinct (exchange, version) of an
    # arrival, is read once: a long debug repeats a few of them thousands of times.
    sent = np.flatnonzero(kind == "ike-sent")
    codes, types = pd.factorize(pd.Series(detail[sent], dtype=object))
    said = [_sent_type(t) for t in types] + [_sent_type(None)]
    for col, out in enumerate((exch, resp, named)):
        out[sent] = np.array([v[col] for v in said], dtype=object)[codes]
    came = np.flatnonzero(kind == "ike-received")
    if len(came):
        version = _objects(w["ike_version"])[came]
        pairs = pd.MultiIndex.from_arrays([pd.Series(exch[came], dtype=object), pd.Series(version, dtype=object)])
        codes, distinct = pd.factorize(pairs)
        read = [_received_exchange(None if pd.isna(x) else x, None if pd.isna(v) else int(v)) for x, v in distinct]
        read.append(_received_exchange(None, None))
        exch[came] = np.array([x for x, _ in read], dtype=object)[codes]
        told = np.array([r for _, r in read], dtype=object)[codes]
        resp[came] = np.where(pd.isna(told), resp[came], told)
    w["exch"] = exch
    w["resp"] = resp
    w["named_retx"] = named
    det = pd.Series(detail, index=w.index).fillna("").astype(str)
    w["fragmented"] = (w["kind"] == "ip-fragment").to_numpy() | det.str.startswith("reassembled from").to_numpy()
    w["rspi"] = w["rspi"].astype(object).where(w["rspi"].notna(), ZERO_SPI)
    w["order"] = order(events, w)
    w = w.sort_values(["source", "order"], kind="stable")
    w["frag"] = _ike_fragments(events, w)
    w["content"] = _contents(events, w)
    _group_sends(w)
    _answered(w)
    return w


def order(events: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Each of ``rows``' place in its input (wire and message rows keep the events' index):
    its line order in text, and in a capture out of time order (sources.pcap sorts its rows
    by time) its time order, where frame numbers (`ref`) would have an answer come before the
    request it answers. The ``order`` column of :func:`messages`."""
    return events.index.get_indexer(rows.index)


def _objects(column: pd.Series) -> np.ndarray:
    """A column as Python objects, None where missing (numpy's booleans and integers boxed
    as Python's, as ``astype(object)`` gives them)."""
    values = column.astype(object).to_numpy()
    return np.where(pd.isna(values), None, values)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["source", "ref", "t", "time", "direction", "in", "ispi", "rspi", "msg_id", "exch",
                                 "resp", "send", "attempt", "retransmit", "answered", "fragmented", "named_retx", "order",
                                 "content"])


FRAGMENT_WIRE = r"\bfrag (\d+)/(\d+)\b"  # wire decoder summary of an SKF payload (RFC 7383)
# debug: a received IKE fragment; the next N sends are fragments
FRAGMENT_IN = linesearch.text_search(r"(?:encrypted )?fragment (\d+) of (\d+)")
FRAGMENT_OUT = linesearch.text_search(r"splitting payload len=\d+ into (\d+) fragments")


def _ike_fragments(events: pd.DataFrame, w: pd.DataFrame) -> np.ndarray:
    """The RFC 7383 fragment number of each message (0 when it is whole): the fragments of
    one message share its SPIs and message ID and are not retransmissions of each other."""
    from ikeanalyze.analysis import negotiations as ng  # it imports this module

    frag = np.zeros(len(w), dtype=np.int64)
    total = np.zeros(len(w), dtype=np.int64)  # how many fragments the message has, where said
    wire_col = linesearch.Column(w["text"].fillna("").astype(str).to_numpy())
    wire_no = wire_col.extract(FRAGMENT_WIRE)
    has = pd.notna(wire_no)
    frag[has] = [int(v) for v in wire_no[has]]
    wire_of = wire_col.extract(FRAGMENT_WIRE, 2)
    total[has] = [int(v) for v in wire_of[has]]
    # The debug lines, searched as one column (the view the IKE2xx analyses share).
    lines = ng.light(events)
    dbg = np.flatnonzero((lines["origin"] == "ikedebug").to_numpy()) if len(lines) else np.empty(0, dtype=np.int64)
    if not len(dbg):
        _fragments_by_order(w, frag, total)
        return frag
    col = ng.light_text(events)
    kinds = w["kind"].astype(str).to_numpy()
    src = w["source"].astype(str).to_numpy()
    refs = w["ref"].astype(int).to_numpy()
    # The received / sent messages of each source, as positions in `w` and their lines:
    # `w` is sorted by (source, ref), so each lookup below is a binary search.
    recv = {s: np.flatnonzero((src == s) & (kinds == "ike-received")) for s in np.unique(src)}
    sent = {s: np.flatnonzero((src == s) & (kinds == "ike-sent")) for s in np.unique(src)}
    # (Read as Python objects, each converted where a fragment line is: a few of them.)
    dsrc = lines["source"].to_numpy()[dbg]
    drefs = lines["ref"].to_numpy()[dbg]
    nums = col.extract(FRAGMENT_IN)[dbg]
    of = col.extract(FRAGMENT_IN, 2)[dbg]
    for j in np.flatnonzero(pd.notna(nums)):
        pos = recv.get(str(dsrc[j]), np.empty(0, dtype=np.int64))
        k = np.searchsorted(refs[pos], int(drefs[j]), side="left")  # the last one before this line
        if k:
            frag[pos[k - 1]], total[pos[k - 1]] = int(nums[j]), int(of[j])
    totals = col.extract(FRAGMENT_OUT)[dbg]
    for j in np.flatnonzero(pd.notna(totals)):
        pos = sent.get(str(dsrc[j]), np.empty(0, dtype=np.int64))
        k = np.searchsorted(refs[pos], int(drefs[j]), side="right")  # the next `total` after this line
        after = pos[k:k + int(totals[j])]
        frag[after] = np.arange(1, len(after) + 1)
        total[after] = int(totals[j])
    _fragments_from_hex(events, frag, total, refs, recv, sent)
    _fragments_by_order(w, frag, total)
    return frag


def _fragments_by_order(w: pd.DataFrame, frag: np.ndarray, total: np.ndarray) -> None:
    """Number the unnumbered copies of a message that was seen in numbered fragments: after
    an SA is deleted FortiOS prints no `fragment N of M` for the peer's re-sent fragments,
    and a paste without the `in` hex keeps only their `comes … len=` lines. Such copies
    (same side, SPIs, message ID and request/response, after the numbered ones) are the
    fragments again in their order: the k-th is fragment (k mod M) + 1, taken only when
    all M fragments were numbered before (a paste cut mid-message tells no order) and its
    length is that fragment's (a lost fragment leaves the rest unnumbered)."""
    if not frag.any():
        return
    key = _message_key(w, w["resp"])
    gid = key.groupby(list(key.columns), sort=False).ngroup().to_numpy()
    numbered = frag > 0
    most = pd.Series(total).groupby(gid).transform("max").to_numpy()
    seen = pd.Series(np.where(numbered, frag, np.nan)).groupby(gid).transform("nunique").to_numpy()
    refs = w["ref"].astype("int64").to_numpy()
    first_ref = pd.Series(np.where(numbered, refs, np.iinfo(np.int64).max)).groupby(gid).transform("min").to_numpy()
    todo = ~numbered & (most > 1) & (seen == most) & (refs > first_ref)
    if not todo.any():
        return
    at = np.flatnonzero(todo)
    guess = pd.Series(np.ones(len(at), dtype=np.int64)).groupby(gid[at]).cumsum().to_numpy() - 1
    guess = guess % most[at] + 1
    length = w["length"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    known = pd.DataFrame({"g": gid[numbered], "f": frag[numbered], "len": length[numbered]}) \
        .dropna().drop_duplicates(["g", "f"]).set_index(["g", "f"])["len"]
    want = known.reindex(pd.MultiIndex.from_arrays([gid[at], guess])).to_numpy()
    same = np.isnan(want) | np.isnan(length[at]) | (want == length[at])
    frag[at[same]] = guess[same]


# (The first 72 hex digits are read: where 72 or more follow is where 72 do; a greedy
# match would run over each record's thousands.)
SKF_HEX = re.compile(r"\b(in|out) ([0-9A-Fa-f]{72})")
SKF_PAYLOAD = "35"  # RFC 7383 Encrypted and Authenticated Fragment (53), as the IKE header's next payload


def _fragments_from_hex(events: pd.DataFrame, frag: np.ndarray, total: np.ndarray, refs: np.ndarray,
                        recv: dict, sent: dict) -> None:
    """Fragment numbers the debug's `in`/`out` hex of an SKF message carries (its Fragment
    Number field, bytes 32-33, and Total Fragments, bytes 34-35), for messages no fragment line numbered: after an SA is
    deleted FortiOS prints no `fragment N of M` for re-sent fragments, only their hex, and
    each fragment had looked like a re-send of the first."""
    skf = events.loc[(events["kind"] == "ike-hex").to_numpy() & (events["payloads"] == "SKF").fillna(False).to_numpy(),
                     ["source", "ref", "text"]]
    for source, ref, text in zip(skf["source"].tolist(), skf["ref"].tolist(), skf["text"].tolist()):
        m = SKF_HEX.search(str(text))
        if not m or m.group(2)[32:34] != SKF_PAYLOAD:
            continue
        number = int(m.group(2)[64:68], 16)
        if m.group(1) == "in":  # printed after its `comes` line
            pos = recv.get(str(source), np.empty(0, dtype=np.int64))
            k = int(np.searchsorted(refs[pos], int(ref), side="left"))
            at = pos[k - 1] if k else None
        else:  # printed before its `sent IKE msg` line
            pos = sent.get(str(source), np.empty(0, dtype=np.int64))
            k = int(np.searchsorted(refs[pos], int(ref), side="right"))
            at = pos[k] if k < len(pos) else None
        if at is not None and not frag[at]:
            frag[at], total[at] = number, int(m.group(2)[68:72], 16)


# The bytes of a message as the debug's `out`/`in` hex prints them. A retransmission is
# the same bytes sent again; two messages that share SPIs and a message ID (FortiOS
# reuses 0x0f for a child SA's Delete and then the IKE SA's Delete when it tears the SA
# down) differ after the header: IV and ciphertext, or the payloads of a clear message.
# The first bytes (header, SK payload header, IV) tell them apart; a hex cut short of
# them is not compared.
CONTENT_HEX_CHARS = 2 * 80  # header (28 bytes) + SK header (4) + IV (16) + ciphertext
MESSAGE_HEX = rf"\b(?:in|out) (?P<hex>[0-9A-Fa-f]{{{CONTENT_HEX_CHARS}}})"
HEX_LINE_READ = 400  # characters of a hex line read: its prefix (stamp, context) and CONTENT_HEX_CHARS
HEX_DETAILS = ("in", "out")  # the records of a message's bytes (`enc`/`dec` are its clear payloads)


def _contents(events: pd.DataFrame, w: pd.DataFrame) -> np.ndarray:
    """A number per distinct content of each debug message whose `out`/`in` hex is in the
    input (-1 where it is not): an `out` record is printed just before its `sent IKE msg`
    line, an `in` record just after its `comes` and `exchange=` lines, with the same SPIs
    and message ID."""
    content = np.full(len(w), -1, dtype=np.int64)
    hexes = events.loc[(events["kind"] == "ike-hex").to_numpy() & events["ispi"].notna().to_numpy()
                       & events["detail"].isin(HEX_DETAILS).to_numpy(),
                       ["source", "ref", "direction", "ispi", "msg_id", "text"]]
    if hexes.empty:
        return content
    # Only the start of each line is read: a hex record runs to thousands of characters.
    text = pc.utf8_slice_codeunits(pa.array(hexes["text"].array), 0, HEX_LINE_READ)
    found = pc.extract_regex(text, MESSAGE_HEX).field("hex")  # null: a hex cut short of CONTENT_HEX_CHARS
    whole = pc.is_valid(found).to_numpy(zero_copy_only=False)
    if not whole.any():
        return content
    hexes = hexes[whole]
    sig = pd.factorize(pc.utf8_upper(found.filter(pa.array(whole))).to_numpy(zero_copy_only=False))[0]
    # Each message's place in one (source, ref) order: sources numbered, refs below 2**40.
    sources = pd.Index(pd.unique(w["source"].astype(str)))
    def place(source: pd.Series, ref: pd.Series) -> np.ndarray:
        code = sources.get_indexer(source.astype(str))
        return np.where(code < 0, -1, code.astype(np.int64) * (1 << 40) + ref.astype("int64").to_numpy())
    at = place(w["source"], w["ref"])
    hex_at = place(hexes["source"], hexes["ref"])
    kinds = w["kind"].astype(str).to_numpy()
    ispi = w["ispi"].astype(str).to_numpy()
    msg = w["msg_id"].fillna(-1).astype("int64").to_numpy()
    hex_ispi = hexes["ispi"].astype(str).to_numpy()
    hex_msg = hexes["msg_id"].fillna(-1).astype("int64").to_numpy()
    hex_dir = hexes["direction"].astype(str).to_numpy()
    for direction, kind, side in (("out", "ike-sent", "right"), ("in", "ike-received", "left")):
        mine = np.flatnonzero(kinds == kind)
        pick = np.flatnonzero((hex_dir == direction) & (hex_at >= 0))
        if not len(mine) or not len(pick):
            continue
        k = np.searchsorted(at[mine], hex_at[pick], side=side)
        k = k if direction == "out" else k - 1  # the next send; the last arrival before
        ok = (k >= 0) & (k < len(mine))
        pick, k = pick[ok], k[ok]
        row = mine[k]
        # An IKEv1 debug send names no message ID (its hex says 0 for Main/Aggressive mode).
        same = (ispi[row] == hex_ispi[pick]) & ((msg[row] == hex_msg[pick]) | (msg[row] < 0)) \
            & (at[row] // (1 << 40) == hex_at[pick] // (1 << 40))
        # The record nearest its message wins: the last `out` before a send, the first `in` after an arrival.
        order = np.argsort(hex_at[pick[same]], kind="stable")
        rows, sigs = row[same][order], sig[pick[same]][order]
        if direction == "in":
            rows, sigs = rows[::-1], sigs[::-1]
        content[rows] = sigs  # numpy keeps the last write of a repeated index
    return content


# `sent IKE msg (ident_r2send)`: the IKEv1 exchange step a debug send names. Main and
# Aggressive mode messages share SPIs and message ID 0 (Quick mode's two initiator
# messages share theirs), so the step, like the length, tells one message from the next.
# The steps are the SENT_TYPES rows of these exchanges (a named retransmission is none).
STEP_EXCHANGES = ("Identity Protection", "Aggressive", "Quick Mode")


def _step(detail) -> str | None:
    return detail if isinstance(detail, str) and _sent_type(detail)[0] in STEP_EXCHANGES else None


def _message_key(w: pd.DataFrame, resp: pd.Series) -> pd.DataFrame:
    """What one IKE message's sends share: input, direction, SPIs, message ID, and whether
    it is a request or a response (``resp``; `?` when not known)."""
    return pd.DataFrame({
        "source": w["source"].astype(str).to_numpy(), "dir": w["direction"].astype(str).to_numpy(),
        "ispi": w["ispi"].astype(str).to_numpy(), "rspi": w["rspi"].astype(str).to_numpy(),
        "msg": w["msg_id"].fillna(-1).astype("int64").to_numpy(),
        "resp": resp.map({True: "r", False: "q"}).fillna("?").to_numpy(),
    })


def _group_sends(w: pd.DataFrame) -> None:
    """Number the sends: same source, direction, SPIs, message ID and request/response; a
    change of length, of IKEv1 exchange step or of the bytes the debug's hex shows (each
    when both are known) is a new message, not a retransmission."""
    resp = w["resp"]
    # A named re-send that says no exchange (`sent IKE msg (retransmit)` after `detected
    # retransmit, resend last message`) is the last message sent on its SA and message ID
    # again, request or response: it takes that message's direction of the exchange.
    unsaid = w["named_retx"].to_numpy() & resp.isna().to_numpy()
    if unsaid.any():
        same = [w["source"].astype(str), w["direction"].astype(str), w["ispi"].astype(str),
                w["rspi"].astype(str), w["msg_id"].fillna(-1).astype("int64")]
        last = resp.astype(object).groupby(same, sort=False).ffill()
        resp = resp.where(~unsaid, last)
        w["resp"] = resp
    key = _message_key(w, resp).set_index(w.index)
    key["frag"] = w["frag"].to_numpy()
    cols = list(key.columns)
    gid = key.groupby(cols, sort=False).ngroup()
    length = w["length"].astype("Float64")
    prev = length.groupby(gid.to_numpy()).shift(1)
    changed = (length.notna() & prev.notna() & (length != prev)).fillna(False).astype(bool)
    # The step of each send, decided once per distinct `sent IKE msg (<type>)`.
    codes, types = pd.factorize(w["detail"].astype(object).to_numpy())
    steps = np.array([_step(v) for v in types] + [None], dtype=object)[codes]
    steps = np.where((w["kind"].astype(object) == "ike-sent").to_numpy(), steps, None)
    if pd.notna(steps).any():  # IKEv1 debug sends only
        step = pd.Series(steps, index=w.index, dtype=object)
        prev_step = step.groupby(gid.to_numpy()).shift(1)
        changed |= (step.notna() & prev_step.notna() & (step != prev_step)).to_numpy()
    # The bytes, against the last copy of the group whose bytes are known.
    content = pd.Series(w["content"].to_numpy(), index=w.index).where(w["content"].to_numpy() >= 0)
    if content.notna().any():
        prev_content = content.groupby(gid.to_numpy()).ffill().groupby(gid.to_numpy()).shift(1)
        changed |= (content.notna() & prev_content.notna() & (content != prev_content)).to_numpy()
    variant = changed.astype(int).groupby(gid.to_numpy()).cumsum()
    send = pd.DataFrame({"g": gid, "v": variant}).groupby(["g", "v"], sort=False).ngroup()
    w["send"] = send.to_numpy()
    w["attempt"] = w.groupby("send").cumcount().to_numpy()
    # A debug line that says "retransmit" is one even when the original was logged earlier
    # than the capture began.
    w["retransmit"] = (w["attempt"].to_numpy() > 0) | w["named_retx"].to_numpy()


def _answered(w: pd.DataFrame) -> None:
    """Did the other side answer each send? IKEv2: a response with the same SPI and
    message ID travelling the other way, after the first attempt. IKEv1 (no response
    flag): any message on the same SA travelling the other way afterwards."""
    first_ref = w.groupby("send")["order"].transform("min").to_numpy()
    src = w["source"].astype(str).to_numpy()
    ispi = w["ispi"].astype(str).to_numpy()
    msg = w["msg_id"].fillna(-1).astype("int64").to_numpy()
    inbound = w["in"].to_numpy().astype(bool)
    refs = w["order"].to_numpy()  # (in input order: see messages)
    resp = w["resp"].to_numpy()
    is_resp = resp == True  # noqa: E712 (an object array of True/False/None)
    v2 = (w["ike_version"].fillna(0).astype(int).to_numpy() == 2) | pd.notna(resp)
    # The last ref each side sent on an SA (any message, and responses per message ID),
    # looked up for the other side of every row: whole-column group maxima.
    keys = pd.DataFrame({"src": src, "ispi": ispi, "msg": msg, "in": inbound, "ref": refs})
    last_any = _last_ref(keys, ["src", "ispi", "in"], [src, ispi, ~inbound])
    last_resp = _last_ref(keys[is_resp], ["src", "ispi", "msg", "in"], [src, ispi, msg, ~inbound])
    answered = np.where(v2 & ~is_resp, last_resp > first_ref, is_resp | (last_any > first_ref))
    w["answered"] = answered


def _last_ref(keys: pd.DataFrame, by: list[str], lookup: list[np.ndarray]) -> np.ndarray:
    """The greatest ``ref`` of the rows of ``keys`` in the group named by each ``lookup``
    row (-1 where there is none)."""
    if keys.empty:
        return np.full(len(lookup[0]), -1, dtype=np.int64)
    last = keys.groupby(by)["ref"].max()
    return last.reindex(pd.MultiIndex.from_arrays(lookup)).fillna(-1).to_numpy().astype(np.int64)


class _RowMaker:
    """``frame.iloc[k]`` for rows of a table of mixed column types, from its columns taken
    once: pandas' own finds the common type of every column again for each row (about a
    millisecond on the message table)."""

    def __init__(self, frame: pd.DataFrame):
        self.columns = frame.columns
        self.values = [frame.iloc[:, j]._values for j in range(frame.shape[1])]
        self.at = dict(zip(frame.index.tolist(), range(len(frame))))
        self.mixed = len(frame.dtypes.unique()) > 1

    def row(self, label) -> pd.Series:
        k = self.at[label]
        return pd.Series([v[k] for v in self.values], index=self.columns, dtype=object, name=label)


@dataclass
class Send:
    """One message and its retransmissions, as one source saw them."""

    rows: pd.DataFrame  # the attempts, in input order
    maker: _RowMaker | None = field(default=None, repr=False)  # rows of the table ``rows`` is part of

    # One row out of an arrow-backed table costs a conversion of every column: rules ask
    # for these many times, so each is taken once.
    @functools.cached_property
    def first(self):
        return self._row(0)

    @functools.cached_property
    def last(self):
        return self._row(-1)

    def _row(self, k: int):
        if self.maker is None or not self.maker.mixed:
            return self.rows.iloc[k]
        return self.maker.row(self.rows.index[k])

    @property
    def count(self) -> int:
        return len(self.rows)

    # The rows never change and several rules ask the same: each answer is worked out once.
    @functools.cached_property
    def retransmissions(self) -> int:
        return int(self.rows["retransmit"].sum())

    @functools.cached_property
    def answered(self) -> bool:
        return bool(self.rows["answered"].any())

    @functools.cached_property
    def exchange(self) -> str | None:
        ex = self.rows["exch"].dropna()
        return str(ex.iloc[0]) if len(ex) else None

    @functools.cached_property
    def request(self) -> bool:
        return not (self.rows["resp"] == True).any() and not _v1_refusal(self.rows)  # noqa: E712 (object column)

    @property
    def intervals(self) -> list[float]:
        return list(self._intervals)  # a list of its own for each caller

    @functools.cached_property
    def _intervals(self) -> list[float]:
        t = self.rows["t"].astype(float).to_numpy()
        return [round(float(x), 6) for x in np.diff(t) if not np.isnan(x)]

    @property
    def peer(self) -> str:
        r = self.last
        return endpoint(r)

    @functools.cached_property
    def tunnel(self) -> str | None:
        t = self.rows["tunnel"].dropna()
        return str(t.iloc[0]) if len(t) else None


def sends(msgs: pd.DataFrame, min_count: int = 1) -> list[Send]:
    """Every send, or only those seen at least ``min_count`` times: they are picked over the
    whole table first, because slicing out one group costs milliseconds and a busy capture
    holds thousands of single DPD exchanges."""
    if msgs.empty:
        return []
    groups = _groups(msgs)
    return [groups.send(k) for k in np.flatnonzero(groups.size >= min_count)]


class _Groups:
    """The sends of one message table, each sliced out (a millisecond apiece) only when a
    rule first asks for it, then shared by every rule that asks again."""

    def __init__(self, msgs: pd.DataFrame):
        self.msgs = msgs
        # Sends numbered in the order each is first seen, as groupby(sort=False).
        self.codes = pd.factorize(msgs["send"].to_numpy())[0]
        self.size = np.bincount(self.codes)
        self.order = np.argsort(self.codes, kind="stable")
        self.lo = np.cumsum(self.size) - self.size
        self.made: dict[int, Send] = {}
        self.maker: _RowMaker | None = None
        self.grouped: pd.DataFrame | None = None

    def send(self, k: int) -> Send:
        """The ``k``-th send (in first-seen order)."""
        found = self.made.get(k)
        if found is None:
            if self.maker is None:
                self.maker = _RowMaker(self.msgs)
                self.grouped = self.msgs.take(self.order)  # each send's rows one after another
            rows = self.grouped.iloc[self.lo[k]:self.lo[k] + self.size[k]]  # a view, as groupby's
            found = self.made[k] = Send(rows, self.maker)
        return found


def _groups(msgs: pd.DataFrame) -> _Groups:
    return per_table("sas.groups", msgs, _Groups)


class _SaIndex:
    """The rows of each IKE SA of a message table and the columns :func:`answers`,
    :func:`came_in_after` and :func:`sa_tunnel` read, taken once per table: every
    retransmitted send asks."""

    def __init__(self, msgs: pd.DataFrame) -> None:
        keys = [msgs["source"].astype(str).to_numpy(), msgs["ispi"].astype(str).to_numpy()]
        self.rows = pd.Series(np.arange(len(msgs))).groupby(keys, sort=False).indices if len(msgs) else {}
        self.inbound = msgs["in"].to_numpy().astype(bool)
        self.response = (msgs["resp"] == True).to_numpy()  # noqa: E712 (object column)
        self.msg_id = msgs["msg_id"].fillna(-1).astype("int64").to_numpy()
        self.order = msgs["order"].astype("int64").to_numpy()
        self.tunnel = msgs["tunnel"].to_numpy()

    def of(self, source, ispi) -> np.ndarray:
        return self.rows.get((str(source), str(ispi)), np.empty(0, dtype=np.int64))


def _sa_index(msgs: pd.DataFrame) -> _SaIndex:
    return per_table("sas.sa_index", msgs, _SaIndex)


def answers(msgs: pd.DataFrame, s: Send) -> np.ndarray:
    """Which attempts of ``s`` the other side answered before the next attempt (or at
    all, for the last): a response with the same message ID (IKEv2), any message on the SA
    (IKEv1). A request re-sent after an answer is one whose answer was lost or refused."""
    first = s.first
    ix = _sa_index(msgs)
    other = ix.of(first["source"], first["ispi"])
    other = other[ix.inbound[other] != bool(first["in"])]
    if is_v2(first):
        mid = -1 if pd.isna(first["msg_id"]) else int(first["msg_id"])
        other = other[ix.response[other] & (ix.msg_id[other] == mid)]
    order = s.rows["order"].astype("int64").to_numpy()
    if not len(other):
        return np.zeros(len(order), dtype=bool)
    bounds = np.append(order, np.iinfo(np.int64).max)
    got = np.searchsorted(np.sort(ix.order[other]), bounds)
    return np.diff(got) > 0


def is_v2(row) -> bool:
    """Is ``row``'s message IKEv2: it has a response flag (IKEv1 has none), or its version says so."""
    return pd.notna(row["resp"]) or (pd.notna(row.get("ike_version")) and int(row["ike_version"]) == 2)


def came_in_after(msgs: pd.DataFrame, row) -> bool:
    """Did any message come in on ``row``'s IKE SA (same source and initiator SPI) after it?"""
    return _came_in(msgs, row, after=True)


def came_in_before(msgs: pd.DataFrame, row) -> bool:
    """Did any message come in on ``row``'s IKE SA before it (the peer answered an earlier try)?"""
    return _came_in(msgs, row, after=False)


def _came_in(msgs: pd.DataFrame, row, after: bool) -> bool:
    ix = _sa_index(msgs)
    on_sa = ix.of(row["source"], row["ispi"])
    when = ix.order[on_sa] > int(row["order"]) if after else ix.order[on_sa] < int(row["order"])
    return bool((ix.inbound[on_sa] & when).any())


def sa_tunnel(msgs: pd.DataFrame, source: str, ispi: str) -> str | None:
    """The tunnel any message of an IKE SA names (a `comes` line names none; the
    daemon's lines about the same SA do)."""
    ix = _sa_index(msgs)
    named = [t for t in ix.tunnel[ix.of(source, ispi)] if isinstance(t, str)]
    return named[0] if named else None


# IKEv1 error notifies (RFC 2408 §3.14.1: types 1-8191), as the wire decoder names them.
V1_ERRORS = frozenset(name for t, name in iana.NOTIFY_V1.items() if 0 < t <= iana.NOTIFY_V1_ERROR_MAX)


def _v1_refusal(rows: pd.DataFrame) -> bool:
    """An IKEv1 Informational whose notifies are errors (NO-PROPOSAL-CHOSEN, INVALID-COOKIE…):
    it answers the message it refuses, sent again with each retry of that message. IKEv1 has
    no response flag, so only its content says it is no request awaiting an answer."""
    v1 = (rows["ike_version"] == 1).fillna(False).to_numpy() & (rows["exch"] == "Informational").fillna(False).to_numpy()
    if not v1.any():
        return False
    said = rows["notify"].to_numpy(dtype=object, na_value=None)[v1]
    return all(n is not None and set(str(n).split(",")) <= V1_ERRORS for n in said)


def retransmitted_requests(msgs: pd.DataFrame, min_retransmissions: int = 1) -> list[Send]:
    """Requests (and IKEv1 messages) sent again at least ``min_retransmissions`` times."""
    # Shared by the rules that ask, so a Send's first/last rows are taken once each.
    return list(per_table(("sas.resent", min_retransmissions), msgs,
                          lambda m: _retransmitted_requests(m, min_retransmissions)))


def _retransmitted_requests(msgs: pd.DataFrame, min_retransmissions: int) -> list[Send]:
    if msgs.empty:
        return []
    groups = _groups(msgs)
    counts = np.bincount(groups.codes, weights=msgs["retransmit"].to_numpy(), minlength=len(groups.size))
    return [s for s in (groups.send(k) for k in np.flatnonzero(counts >= min_retransmissions)) if s.request]


def backoff(intervals: list[float]) -> str:
    """`exponential` when each wait is clearly longer than the one before (RFC 7296 §2.1
    asks for an increasing, typically doubling, timer), `constant` when the waits stay
    within 25 % of each other, else `irregular`; `unknown` with fewer than two waits, or
    when the times go back (lines pasted out of time order tell no timer)."""
    iv = [x for x in intervals if x > 0]
    if len(iv) < 2 or any(x < 0 for x in intervals):
        return "unknown"
    ratios = [b / a for a, b in zip(iv, iv[1:])]
    if all(r >= 1.4 for r in ratios):
        return "exponential"
    if max(iv) <= 1.25 * min(iv):
        return "constant"
    return "irregular"


@dataclass
class Repeat:
    """The same `udp <len>` (or, in tcpdump text, the same first IKE message) sent again and
    again to one peer with nothing coming back."""

    rows: pd.DataFrame
    exchange: str | None = None  # as the text named it; None: only a `udp <len>` is known

    @property
    def count(self) -> int:
        return len(self.rows)


def udp_repeats(wire: pd.DataFrame, min_count: int = 2) -> list[Repeat]:
    """Runs of identical-length datagrams to UDP 500 from sources without SPIs (sniffer text
    without hex dumps), with no packet from the other side on any port (but an ICMP error)
    in between or after: this side's requests the peer never answered, and the peer's
    requests this side never answered (a responder's sniffer; the rows' `in` tells which)."""
    w = wire[(wire["origin"] == "sniffer").to_numpy() & (wire["kind"] == "ike").to_numpy()
             & wire["ispi"].isna().to_numpy()]
    if w.empty:
        return _first_message_repeats(wire, min_count)
    out: list[Repeat] = []
    # Peers heard from on any port, and peers this side sent anything to, once: asking the
    # whole wire table per peer cost ~10 ms each. An ICMP error is no answer (IKE105 tells
    # it: rules/fromicmp.py). Per view: another FortiGate's run in the paste, or this one's
    # earlier run, hears for itself.
    key = ["source", "view", "remote"]
    sniffed = (wire["origin"] == "sniffer").to_numpy() & (wire["kind"] != "icmp").fillna(True).to_numpy()
    came = wire["in"].to_numpy()
    heard, said = _peers(wire.loc[sniffed & came, key]), _peers(wire.loc[sniffed & ~came, key])
    # Each peer of `w` asked once; only the rows of peers that never answered (or were never
    # answered) are grouped below.
    group, first = groups(w, key)
    peers = _peers(w.iloc[first][key], ordered=True)
    inbound = w["in"].to_numpy()
    unheard = np.array([p not in heard for p in peers], dtype=bool)[group]
    unsaid = np.array([p not in said for p in peers], dtype=bool)[group]
    sent_out = unheard & ~inbound & (w["rport"] == IKE_PORT).fillna(False).to_numpy()
    came_in = unsaid & inbound & (w["lport"] == IKE_PORT).fillna(False).to_numpy()
    if came_in.any():
        # A request that arrives and leaves again unchanged crossed a firewall in between (its
        # sniffer on two ports): that box is neither end, and kept nothing unanswered.
        hop = w["source"].astype(str)
        for k in ("view", "src", "dst", "length"):
            hop = hop + "|" + w[k].astype(str)
        came_in &= ~hop.isin(hop[~inbound]).to_numpy()
    # One grouping of those rows by peer, way and length (a mask of every row per peer was
    # quadratic in the peers: a scanned UDP 500 has thousands), told in peer order (ngroup
    # numbers peers in order), this side's requests before the peer's, lengths as they come.
    pick = np.flatnonzero(sent_out | came_in)
    runs = pd.DataFrame({"peer": group[pick], "in": came_in[pick], "length": w["length"].iloc[pick].to_numpy()})
    parts = runs.groupby(["peer", "in", "length"], sort=False).indices
    for k in sorted(parts, key=lambda k: (k[0], k[1], parts[k][0])):
        if len(parts[k]) >= min_count:
            out.append(Repeat(w.iloc[pick[parts[k]]]))
    return out + _first_message_repeats(wire, min_count)


def _peers(rows: pd.DataFrame, ordered: bool = False):
    """The distinct rows as tuples, a missing value as None (a set; ``ordered``: a list in
    row order, duplicates kept)."""
    if not ordered:
        rows = rows.drop_duplicates()
    tuples = zip(*(rows[k].astype(object).where(rows[k].notna(), None) for k in rows.columns))
    return list(tuples) if ordered else set(tuples)


def unoriented_repeats(events: pd.DataFrame, wire: pd.DataFrame, min_count: int = 2,
                       views: pd.Series | None = None) -> list[Repeat]:
    """Sniffer text that shows no in/out (verbosity 1-3 on one interface, a `--`) and tells
    nothing of which side is the gateway (its rows are not in ``wire``): the same
    `udp <len>` from one address to another's UDP 500 again and again, with nothing at all
    (but an ICMP error) from the other in that input, or in that view of it (``views``,
    analysis.views: each FortiGate's run of a paste). Either side may be the local one."""
    # Sniffer text only: tcpdump's repeats without SPIs are _first_message_repeats'. (A sniffer
    # line to UDP 500 prints both addresses, which unoriented asks for.)
    m = unoriented(events, wire)
    if not m.any():
        return []
    m &= ((events["kind"] == "ike").fillna(False).to_numpy() & events["ispi"].isna().to_numpy()
          & (events["dport"] == IKE_PORT).fillna(False).to_numpy())
    if not m.any():
        return []
    sniffer = (events["origin"] == "sniffer").fillna(False).to_numpy()
    view = pd.Series(views_mod.labels(views, len(events)), index=events.index, name="view")
    said = sniffer & events["src"].notna().to_numpy() & (events["kind"] != "icmp").fillna(True).to_numpy()
    # (an ICMP error from the other is no answer, as above)
    senders = set(zip(events["source"][said].astype(object), view[said], events["src"][said].astype(object)))
    out = []
    rows = events[m]
    for (source, at, _src, dst, _len), same in rows.groupby(
            [rows["source"], view[m].fillna(""), rows["src"], rows["dst"], rows["length"]], sort=False):
        if (source, at or None, dst) not in senders and len(same) >= min_count:
            out.append(Repeat(same))
    return out


def _first_message_repeats(wire: pd.DataFrame, min_count: int) -> list[Repeat]:
    """tcpdump text without SPIs: the same first message (an IKE_SA_INIT request, an IKEv1
    Main or Aggressive Mode message) sent by one side to the other again and again, when the
    other sent no IKE message at all in that input (an ICMP unreachable or ESP of an old SA
    from it is no answer). Either side may be the local one: tcpdump runs on either end."""
    text = (wire["origin"] == "tcpdump").to_numpy()
    w = wire[text & (wire["kind"] == "ike").to_numpy() & wire["ispi"].isna().to_numpy()
             & wire["exchange"].isin(FIRST_EXCHANGES).to_numpy() & ~wire["response"].fillna(False).astype(bool).to_numpy()]
    if w.empty:
        return []
    ike = text & (wire["kind"] == "ike").fillna(False).to_numpy()
    senders = set(zip(wire.loc[ike, "source"].astype(object), wire.loc[ike, "src"].astype(object)))
    out = []
    for (source, _src, dst, exchange), rows in w.groupby(["source", "src", "dst", "exchange"], sort=False):
        if (source, dst) not in senders and len(rows) >= min_count:
            out.append(Repeat(rows, str(exchange)))
    return out


def of(ctx) -> pd.DataFrame:
    """The message table of a Context, built once and kept in ``ctx.extras``."""
    m = ctx.extras.get("ike_messages")
    if m is None:
        m = ctx.extras["ike_messages"] = messages(ctx.events, ctx.wire)
    return m


def seconds(a, b) -> float | None:
    """Seconds between two rows of one source."""
    if pd.isna(a["t"]) or pd.isna(b["t"]):
        return None
    return float(b["t"]) - float(a["t"])


def msg_id_text(v) -> str:
    """IKEv2 message IDs count up from 0; IKEv1's are random 32-bit values, shown as the debug prints them.
    From 10 on an IKEv2 ID is also given in hex: the debug prints `...:00000022` for msg 34,
    and the reader looks for it there."""
    if v is None or pd.isna(v):
        return "?"
    v = int(v)
    if v < 10:
        return str(v)
    return f"{v} (0x{v:x})" if v < 0x10000 else f"{v:08x}"


def where(row) -> str:
    """`23:34:42.766 (line 20)`, or just `line 20` when the input has no clock."""
    unit = "frame" if str(row["origin"]) == "pcap" else "line"
    if pd.isna(row["time"]) and pd.isna(row["t"]):
        return f"{unit} {int(row['ref'])}"
    time = None if pd.isna(row["time"]) else pd.Timestamp(row["time"]).to_pydatetime()
    t = None if pd.isna(row["t"]) else float(row["t"])
    return f"{clock_text(time, t, stamp=printed_stamp(row.get('text')))} ({unit} {int(row['ref'])})"


def gaps(rows: pd.DataFrame) -> list[float]:
    """Seconds between consecutive rows (by `t`, to the microsecond); rows without `t` give none."""
    return [round(float(x), 6) for x in rows["t"].astype(float).diff().dropna()]


def span(first, last) -> float | None:
    """Seconds from ``first`` to ``last`` (rows), None when either has no `t` (an untimed
    input, or a line whose stamp was mangled past what the table holds)."""
    a, b = first["t"], last["t"]
    return None if pd.isna(a) or pd.isna(b) else float(b) - float(a)


def waits(intervals: list[float]) -> str:
    """`, waits 5.0, 10.0 s` — empty when the input had no clock to measure them (no times,
    or all frames stamped alike as in some synthetic captures)."""
    return f", waits {intervals_text(intervals)}" if any(x > 0 for x in intervals) else ""


def intervals_text(intervals: list[float]) -> str:
    text = ", ".join(f"{x:.1f}" if x < 100 else f"{x:.0f}" for x in intervals) + " s"
    # A negative wait is no wait: the lines were pasted out of time order, and saying so is
    # what the reader needs before trusting any of them.
    return text + "; the times go back, so the lines are not in time order" if any(x < 0 for x in intervals) else text


def endpoint(row, side: str = "remote") -> str:
    """`ip:port` of a row's ``remote`` or ``local`` side (the address alone for ESP)."""
    port = row["rport" if side == "remote" else "lport"]
    return endpoints.endpoint(row[side], port)
