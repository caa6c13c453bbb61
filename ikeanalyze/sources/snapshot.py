"""FortiGate state snapshots pasted beside the debugs (FORMATS.md §3) → `snapshot` events.

Three outputs say what the FortiGate believes at the moment they were typed:

* `diagnose vpn tunnel list` (and `dialup-list`): one block per tunnel of `key=value`
  tokens (`name=... ver=1 serial=1 <lgw>:<port>-><rgw>:<port> ...`, or in 5.6 without
  `ver=`/`serial=`, `stat:`, `dpd:`, `natt:`, one `proxyid=` per phase 2 with its selectors
  and SAs: SPIs, `dec:pkts/bytes=.., enc:pkts/bytes=..`, `npu_flag=`);
* `diagnose vpn ike gateway list`: one block per gateway of `key: value` lines, then one
  `id/spi:` paragraph per IKE SA (`status: connecting, state 3` or `established ...`);
* `get vpn ipsec tunnel details`: one indented block per tunnel under a bare `gateway` line
  (`  name: 'to-hq'`, `  local-gateway: 10.0.0.1:0 (static)`, `  remote-gateway: ...`,
  `  rx  packets: 0  bytes: 0  errors: 0`, `  dpd: on-idle/unnegotiated`, then `  selectors`
  with each phase 2's `name:`/`src:`/`dst:` and an `SA` paragraph per SA, its SPIs under
  `inbound`/`outbound`; `get vpn ipsec tunnel name X` prints the same block);
* `get vpn ipsec tunnel summary`: one line per tunnel, the remote gateway after the name
  (`'T2' 172.16.203.2:0  selectors(total,up): 1/1  rx(pkt,err): 0/0  tx(pkt,err): 0/4`; older
  builds print no address: `'to-hq'  selectors(total,up): 1/0 ...`).

A block is found by its first line (:data:`STARTS`) and runs while its lines look like
that output. Published copies cut lines mid-token (`dst_` / `mtu=1500`, `dp` /
`d-link=on`, `natt:` / `mode=none`); :func:`claim` says which logical line each physical
piece belongs to and how it joins (`""` mid-token, `" "` between tokens), and text.py's
record join glues them. Accounting (see ingest.REASONS): each logical line the device
printed is one `snapshot` event; a piece cut off it is a `continuation`; the `list all
ipsec tunnel` header and `-----` separators are `banner`; echoed commands are `prompt`; a
short sentence ending in a colon just above a block (`For example:`) is `annotation`.
A snapshot has no clock: :func:`inherit_times` gives it the time of the lines around it.

:func:`parse` turns the logical lines into events: every row carries its tunnel name and
in `detail` a compact JSON object `{"block": n, "at": <what the line shows>}` (`p`/`s`:
the phase-2 and SA index of per-SA lines); the block's first row also carries `"facts"`,
the whole block parsed (see analysis/snapshots.py for the view rules use). Addresses go
to `src`/`sport`/`dst`/`dport` (local → remote) of the row that names them, SPIs to
`esp_spi` (`dec:`/`enc:` rows, the `spi:` rows of `tunnel details`) and `ispi`/`rspi`
(`id/spi:` rows).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa

from ikeanalyze.endpoints import endpoint
from ikeanalyze.sources.ikedebug import REDACTED_IP
from ikeanalyze.sources.regex import Texts, int_array, matches, spread
from ikeanalyze.sources.textclean import ELISION, WRAP_MIN

# A line that opens a block, per output. A tunnel block's header has `ver=`/`serial=`
# after the name (7.x, most 5.6), or straight the gateways (5.6: `name=to_FGT1
# 10.2.2.100:0->10.1.1.100:0 lgwy=dyn ...`).
# An address as printed, or redacted in a published paste (`x.x.x.x`, as the debug lines).
_ADDR = rf"(?:{REDACTED_IP}|[0-9A-Fa-f.:]+)"
TUNNEL_START = rf"^name=\S+ (?:ver=\d+\b|{_ADDR}:\d+->{_ADDR}:\d+(?:\s|$))"
# A header a web copy damaged: its `name=` (and perhaps the name) lost, `ver=`, `serial=` and
# the gateways kept (`inet ver=1 serial=2 198.51.100.4:0->203.0.113.40:0 tun_id=...`). The
# word left before `ver=` may be a piece of the name, or of something else: the block is read
# without a tunnel name (a `name=<tunnel>` line of its own just above, a copy's cut, gives it
# back). Nothing but a tunnel list prints `ver=N serial=N <ip>:<port>-><ip>:<port>`.
TUNNEL_DAMAGED = rf"^(?:[\w.-]+ )?ver=\d+ serial=\w+ {_ADDR}:\d+->{_ADDR}:\d+(?:\s|$)"
TUNNEL_NAME_ALONE = r"^name=\S+\s*$"
TUNNEL_HEADER = rf"{TUNNEL_START}|{TUNNEL_DAMAGED}"
GATEWAY_START = r"^vd: \S+/\d+\s*$"
GATEWAY_NAME = r"^name: \S+\s*$"  # a gateway block copied without its `vd:` line
# `get vpn ipsec tunnel details`: a bare `gateway` line, its (indented) `name: '<tunnel>'`
# next, then `key: value` lines and the bare section words (the indent is a margin to text.py).
DETAILS_START = r"^gateway\s*$"
DETAILS_NAME = r"^\s*name: '[^']*'\s*$"
DETAILS_LINE = r"^\s*(?:[A-Za-z][\w/ ()-]*?:(?: .*)?|selectors|SA|inbound|outbound)\s*$"
# A summary pasted into a script or config as a comment keeps a `#` before each line
# (`#'mesh1-1' 100.100.103.2:0  selectors(total,up): 1/0 ...`).
SUMMARY_LINE = rf"^#?'[^']+'\s+(?:{_ADDR}:\d+\s+)?selectors\(total,up\):"
# A web copy (docs pages, PDFs turned to text) may collapse a whole block onto one line,
# after the sentence that introduced it: `... should return the following:vd: root/0 name:
# for_client_0 version: 1 interface: port1 15 addr: ...`, `...:list all ipsec tunnel in vd 0
# = = name=for_client_0 ver=1 serial=3 ...`. Such a line opens a block wherever the block's
# first words stand in it; :func:`unfold` cuts it back into the device's lines.
GATEWAY_COLLAPSED = r"(?:^|[\s:*`])vd: \S+/\d+ +(?:\*\*)?name: \S+ "
TUNNEL_COLLAPSED = r"[\s:]name=\S+ ver=\d+ serial=\w+ "
# A tunnel summary collapsed after its command (`Check the IPsec tunnel summary: # get vpn
# ipsec tunnel summary 'T2' 172.16.203.2:0 selectors(total,up): 1/1 ... 'T3' ...`): each
# tunnel's line starts at its quoted name.
SUMMARY_AT = rf"(?<=\s)(?='[^'\s]+' +(?:{_ADDR}:\d+ +)?selectors\(total,up\):)"
SUMMARY_COLLAPSED = rf"\s'[^'\s]+' +(?:{_ADDR}:\d+ +)?selectors\(total,up\):"
STARTS = (rf"{TUNNEL_HEADER}|{GATEWAY_START}|{SUMMARY_LINE}|{GATEWAY_COLLAPSED}|{TUNNEL_COLLAPSED}"
          rf"|{SUMMARY_COLLAPSED}")
# Echoed commands (no prompt before them) and the tunnel list's own header/separators.
COMMAND = r"^(?:(?:diag(?:nose)?|get|show)\s+)?vpn\s+(?:ike\s+gateway|tunnel|ipsec\s+tunnel)\b.*$"
# The CLI's pager (`config system console` / `set output more`) after each screenful: a
# `prompt` line (text.LINE_FORMS). In a session log the key pressed erases it with CR,
# blanks, CR, which leaves a line of blanks after it. Neither ends the block it cuts.
PAGER = r"^\s*--More--\s*$"
LIST_HEADER = r"list (?:all ipsec tunnel|ipsec tunnel by names?|all instance of tunnel \S+) in vd \d+"
BANNER = rf"^(?:{LIST_HEADER}|-{{4,}})\s*$"
# The header glued by a web copy to the sentence that introduced it (`... The system should
# return the following:list all ipsec tunnel in vd 0`), just above the separator or block.
BANNER_GLUED = rf"\S:\s*{LIST_HEADER}\s*$"

INTRODUCTION = r"^[A-Z][A-Za-z ,'()-]{0,60}:\s*$"

# Tunnel list: the words that begin a line the device printed (a section label or key).
TUNNEL_LINE_KEYS = frozenset({
    "name", "bound_if", "proxyid_num", "parent", "stat", "dpd", "natt", "fec", "proxyid", "src", "dst",
    "SA", "seqno", "life", "dec", "enc", "ah", "dec:pkts/bytes", "npu_flag", "run_tally",
    "encap-addr",  # GRE/VXLAN over IPsec (`encap=GRE/549`): `encap-addr: 100.1.1.2->200.1.1.2`
})
LABELS = frozenset({"stat", "dpd", "natt", "fec", "src", "dst", "SA", "life", "dec", "enc"})
# Every key FortiOS prints in a tunnel list (7.x and 5.6): a cut line is joined without a
# space when the two halves make one of these (`dp` + `d-link` → `dpd-link`).
TUNNEL_KEYS = TUNNEL_LINE_KEYS | frozenset({
    "ver", "serial", "tun_id", "tun_id6", "dst_mtu", "dpd-link", "weight", "lgwy", "tun", "mode", "encap",
    "run_state", "role", "accept_traffic", "overlay_id", "child_num", "refcnt", "ilast", "olast", "ad",
    "rxp", "txp", "rxb", "txb", "on", "status", "idle", "retry", "count", "draft", "interval", "remote_port",
    "egress", "ingress", "proto", "sa", "ref", "options", "type", "soft", "mtu", "expire", "replaywin",
    "esn", "replaywin_lastseq", "qat", "rekey", "hash_search_len", "itn", "bytes", "timeout", "spi", "esp",
    "key", "npu_rgwy", "npu_lgwy", "npu_selid", "dec_npuid", "enc_npuid", "index", "remote_location",
    "network-id", "link-cost",
})
GATEWAY_KEY = re.compile(r"^(?P<key>[A-Za-z0-9][\w/ ().-]*?):(?: (?P<value>.*))?$")
# `diagnose vpn ike config` and `diagnose vpn ike status` print blocks that open as a
# gateway list does (`vd: root/0`, `name: ...`): told apart by keys only they print (the
# configured phase 1: `status.admin`, `mode`, `phase2s`; the counters of `ike status`:
# `connection: 1/1687`), they are not the gateway's state and never replace its list. A
# `phase2s:` entry is one line per phase 2 (`  P2 proto 0 src 0.0.0.0/0.0.0.0:0 dst ...`).
OTHER_GATEWAY_OUTPUTS: list[tuple[str, frozenset[str]]] = [
    ("ike-config", frozenset({"status.admin", "status.operational", "phase2s", "type", "mode", "auth", "dhgrp",
                              "xauth", "xauth-group", "distance", "priority", "policies", "policy"})),
    ("ike-status", frozenset({"connection"})),
]
# `get vpn ike gateway`'s form of the counters' key (`IKE SA  created: 2/2 ...`).
SA_COUNTS_KEY = re.compile(r"^(?:IKE|IPsec) SA +created$")
GATEWAY_LIST_KEYS = frozenset({"addr", "created", "id/spi", "tun_id", "direction"})
PHASE2S_LINE = r"^\s*\S+ proto \d+ src \S+ dst \S+"
# Its parts: the phase 2, the protocol and the two selectors (`0.0.0.0/0.0.0.0:0`: address, port).
PHASE2S = re.compile(r"^(?P<name>\S+) proto (?P<proto>\d+) src (?P<src>\S+) dst (?P<dst>\S+)")
ADDR_PAIR = re.compile(rf"^(?P<src>{_ADDR}):(?P<sport>\d+)->(?P<dst>{_ADDR}):(?P<dport>\d+)$")
# (A web copy may drop a blank around the arrow: `addr: 172.20.120.123:4500 ->172.20.120.254:64916`.)
GW_ADDR = re.compile(rf"^(?P<src>{_ADDR}):(?P<sport>\d+) ?-> ?(?P<dst>{_ADDR}):(?P<dport>\d+)")
HEX = re.compile(r"^[0-9a-fA-F]+$")
KV = re.compile(r"^(?P<key>[^=\s]+)=(?P<value>.*)$")


def claim(form: np.ndarray, core: pa.Array, by_text: Texts, spaced: bool, among: np.ndarray) -> np.ndarray:
    """Name the lines of every snapshot block in ``form`` (in place). Returns, per line, the
    separator that joins a `continuation` piece to the logical line above it (`""`: cut
    mid-token; `" "`: cut between tokens), None elsewhere: text.py joins records with it.
    Only lines no other form took are claimed; the walk is Python, but it only starts at
    a block's first line. ``by_text``: the lines by their distinct texts (each text is
    tested once). ``spaced``: a double-spaced paste (a blank line after
    every line), whose blocks end at two blank lines or more, not at one. ``among``: the
    rows that may be free (those a sniffer run's shape did not name: a million-line run's
    few others are asked, not every row of the object column)."""
    sep = np.full(len(form), None, dtype=object)
    rows = among[form[among] == None]  # noqa: E711  (elementwise over the object array)
    if not len(rows):
        return sep
    sub = by_text.rows(rows)
    cmd = np.zeros(len(form), dtype=bool)
    cmd[rows] = sub.matches(COMMAND)
    form[cmd] = "prompt"
    start = np.zeros(len(form), dtype=bool)
    start[rows] = sub.matches(STARTS)
    details = np.zeros(len(form), dtype=bool)  # `tunnel details` opens on a bare word: asked apart
    details[rows] = sub.matches(DETAILS_START)
    if not (start.any() or details.any()):
        return sep
    lines = LazyLines(core)  # joined as we go, to judge where the next piece belongs
    n = len(lines)
    # Outside a block only a block's first line, a gateway's bare `name:` line or a tunnel
    # list banner changes anything: the walk jumps from one such line to the next (a loose
    # prefix test, a superset of GATEWAY_NAME and BANNER; a long debug is mostly skipped).
    worth = np.zeros(len(form), dtype=bool)
    worth[rows] = sub.matches(r"^(?:name: |list |-{4}|gateway\s*$)")
    worth = np.flatnonzero(worth | start)
    i = int(np.flatnonzero(start | details)[0])
    # The `list ... in vd N` header and `-----` separator just above the first block.
    while i > 0 and form[i - 1] is None and (re.match(BANNER, lines[i - 1]) or (
            re.match(TUNNEL_NAME_ALONE, lines[i - 1]) and re.match(TUNNEL_DAMAGED, lines[i]))):
        i -= 1  # (and a `name=` cut from the damaged header under it, the walk joins them)
    prompts = among[form[among] == "prompt"]
    pager = set(prompts[matches(core.take(pa.array(prompts)), PAGER)].tolist()) if len(prompts) else set()
    kind = None  # the output the current block belongs to: tunnel | gateway | summary
    head = -1  # row holding the logical line being built
    while i < n:
        if kind is None:
            k = int(np.searchsorted(worth, i))
            if k == len(worth):
                break
            i = int(worth[k])
        if i in pager:  # the block goes on after the pager and the blanks that erased it
            i += 1
            while i < n and form[i] == "blank":
                i += 1
            head = -1
            continue
        line = lines[i]
        f = form[i]
        if f == "blank":
            if spaced and kind is not None and i + 1 < n and form[i + 1] != "blank":
                i += 1  # the copy's blank after every line: the block goes on
                continue
            if kind is not None and not _block_goes_on(kind, lines, form, i):
                kind = None
            head = -1
            i += 1
            continue
        if f == "annotation" and kind is not None and re.match(ELISION, line):
            head = -1  # lines left out (`...`): the block goes on after them
            i += 1
            continue
        if f is not None:
            kind, head = None, -1
            i += 1
            continue
        details_line = kind == "details" and not start[i] and re.match(DETAILS_LINE, line)
        below = i + 2 if spaced and i + 2 < n and form[i + 1] == "blank" else i + 1  # the line under it
        if re.match(DETAILS_START, line) and below < n and form[below] is None \
                and re.match(DETAILS_NAME, lines[below]):
            kind = "details"
            form[i], head = "snapshot", i
            _introduction(lines, form, i)
        elif details_line:
            form[i], head = "snapshot", i
        elif start[i] or (kind is None and re.match(GATEWAY_NAME, line) and _gateway_follows(lines, form, i, spaced)):
            kind = ("tunnel" if re.match(TUNNEL_HEADER, line) else "summary" if line.startswith(("'", "#'"))
                    else "gateway")
            form[i], head = "snapshot", i
            if kind == "tunnel" and not line.startswith("name=") and i > 0 and form[i - 1] in (None, "snapshot") \
                    and re.match(TUNNEL_NAME_ALONE, lines[i - 1]) and not re.match(r"^\S+ ver=", line):
                # `name=to-hq` cut from its header (`ver=1 serial=2 ...` below it): one line again.
                head = i - 1
                lines[head] += " " + line
                form[head], form[i], sep[i] = "snapshot", "continuation", " "
            _introduction(lines, form, head)
            collapsed = _collapsed(line)
            if collapsed:
                # A whole block on one line: no terminal cut continues it (the next line
                # may go on with the block's further `key: value` lines).
                kind, head = collapsed, -1
        elif re.match(BANNER, line) and (kind is not None or _start_follows(start, form, i)):
            form[i], head = "banner", -1
            if i > 0 and form[i - 1] is None and re.search(BANNER_GLUED, lines[i - 1]):
                form[i - 1] = "banner"
            kind = kind or "tunnel"
        elif kind == "tunnel" and _tunnel_piece(line):
            head = _tunnel_line(lines, form, sep, i, head)
        elif kind in ("tunnel", "summary") and head >= 0 and form[i - 1] in ("snapshot", "continuation") \
                and lines.run(i - 1, form) >= WRAP_MIN and _token_rest(line):
            # The rest of a token a terminal cut at its width (`... options[0228]=npu f` /
            # `rag-rfc run_state=0 role=primary`, `... tx(pkt,err): 69` / `/2`; the terminal
            # line may be pieces a mail client broke it into).
            lines[head] += line
            form[i], sep[i] = "continuation", ""
        elif kind in ("tunnel", "summary") and head >= 0 and form[i - 1] in ("snapshot", "continuation") \
                and _ends_terminal_line(lines, form, i) and _token_rest(line):
            # A mail client's break inside a terminal line (`... encap=none/74408 ` / `options[122`
            # / `a8]=npu ...`): the piece that ends the terminal line, after the blank it broke at.
            lines[head] += " " + line
            form[i], sep[i] = "continuation", " "
        elif kind == "gateway" and line.strip():
            if GATEWAY_KEY.match(line) or re.match(PHASE2S_LINE, line):
                form[i], head = "snapshot", i
            elif head >= 0 and (lines.width(i - 1) >= WRAP_MIN or len(line.split()) == 1):
                lines[head] += line  # a terminal cut: the rest of the same token
                form[i], sep[i] = "continuation", ""
            else:  # a sentence typed under the block (`Is the above configuration correct? ...`)
                kind, head = None, -1
        else:
            kind, head = None, -1
        i += 1
    return sep


# How many physical lines up LazyLines.run looks for the start of a terminal line (a mail
# client wrapping at 20 columns or more breaks an 80-column line into at most 4 pieces).
RUN_PIECES = 8


class LazyLines:
    """The lines of ``core`` as Python strings, made one by one as the walk reads them (it
    reads few of a long input); the logical lines it joins are kept here."""

    def __init__(self, core: pa.Array):
        self.core, self.text = core, {}

    def __len__(self) -> int:
        return len(self.core)

    def __getitem__(self, i: int) -> str:
        if i < 0:
            i += len(self.core)
        line = self.text.get(i)
        if line is None:
            line = self.text[i] = self.core[i].as_py()
        return line

    def __setitem__(self, i: int, line: str) -> None:
        self.text[i] = line

    def width(self, i: int) -> int:
        """The length of physical line ``i`` (not of the logical line joined there)."""
        return len(self.core[i].as_py())

    def run(self, i: int, form: np.ndarray) -> int:
        """The length of the terminal line that physical line ``i`` ends, as far as it got:
        a paste wrapped twice (a terminal's cut at its width, then a mail client's word wrap)
        breaks a terminal line into pieces joined with a blank, the one the mail broke at
        (kept at a `format=flowed` break, dropped by other clients; not in ``width``): their
        widths and those blanks add up to the terminal's width. A terminal line starts at
        a logical line's first line, or after a line that ended one (at least WRAP_MIN);
        counted from at most RUN_PIECES lines up."""
        top = i
        while top > 0 and i - top < RUN_PIECES and form[top] == "continuation":
            top -= 1
        run = self.width(top)
        for k in range(top + 1, i + 1):
            run = run + 1 + self.width(k) if run < WRAP_MIN else self.width(k)
        return run


def _introduction(lines: list[str], form: np.ndarray, i: int) -> None:
    """A short sentence ending in a colon just above a block (`For example:`, as articles
    and tickets introduce the output) is a person's note about it."""
    j = i - 1
    while j >= 0 and form[j] == "blank":
        j -= 1
    if j >= 0 and form[j] is None and re.match(INTRODUCTION, lines[j]):
        form[j] = "annotation"


def _tunnel_piece(line: str) -> bool:
    """Could this line belong to a tunnel list block (key=value tokens, a label, hex)?"""
    first = line.split(None, 1)[0]
    return ("=" in first or first.rstrip(":") in LABELS or first.endswith(":") and first[:-1] in TUNNEL_KEYS
            or bool(HEX.match(first)))


def _ends_terminal_line(lines: LazyLines, form: np.ndarray, i: int) -> bool:
    """Is line ``i`` the last piece a mail client broke a terminal line into: the pieces
    above it fell short of a terminal's width and with it (and the blank between) reach
    it? Each piece is narrower than a terminal (a longer line is no mail wrap's)."""
    run, width = lines.run(i - 1, form), lines.width(i)
    return run < WRAP_MIN and width < WRAP_MIN and run + 1 + width >= WRAP_MIN


def _token_rest(line: str) -> bool:
    """Can ``line`` be the rest of a cut token and the line's further tokens: one short word,
    or words holding a `key=value` (a PDF page footer after a block is neither)."""
    words = line.split()
    return (len(words) == 1 and len(line) <= 16) or any("=" in w for w in words[1:])


def _tunnel_line(lines: list[str], form: np.ndarray, sep: np.ndarray, i: int, head: int) -> int:
    """Classify one physical tunnel-list line; return the row of the logical line it is in."""
    line = lines[i]
    first = line.split(None, 1)[0]
    key = first.split("=", 1)[0].rstrip(":")
    if head >= 0:
        last = lines[head].rsplit(None, 1)[-1]
        if last.count("[") > last.count("]") or last.endswith("=") and "=" not in first:
            lines[head] += line  # cut inside brackets or before a value: `options[122` + `a8]=npu`, `overlay_id=` + `0`
            form[i], sep[i] = "continuation", ""
            return head
        if "=" not in last and last.rstrip(":") not in LABELS and (last + key) in TUNNEL_KEYS:
            lines[head] += line  # cut mid-key: `dp` + `d-link=on`
            form[i], sep[i] = "continuation", ""
            return head
        if "=" in last and "=" not in first and first.isdigit() and last[-1].isdigit():
            lines[head] += line  # cut mid-value: `rxp=12` + `34 txp=0`
            form[i], sep[i] = "continuation", ""
            return head
        if last.rstrip(":") in LABELS and last.endswith(":") and "=" in first:
            lines[head] += " " + line  # the label's values went to the next line: `natt:` + `mode=none`
            form[i], sep[i] = "continuation", ""  # joined as pasted (`natt:mode=none`): parse() splits it
            return head
    if key in TUNNEL_LINE_KEYS or first.startswith("dec:pkts"):
        form[i] = "snapshot"
        return i
    if head < 0:
        form[i] = "snapshot"
        return i
    # A wrapped line of more tokens (`accept_traffic=1 overlay_id=0`).
    lines[head] += " " + line
    form[i], sep[i] = "continuation", " "
    return head


def _block_goes_on(kind: str, lines: list[str], form: np.ndarray, i: int) -> bool:
    """After a blank line, does the same block continue (gateway `id/spi:` paragraphs,
    the blank line 7.x prints inside a tunnel block)?"""
    j = i + 1
    while j < len(lines) and form[j] == "blank":
        j += 1
    if j >= len(lines) or form[j] is not None:
        return False
    nxt = lines[j]
    if kind == "gateway":
        m = GATEWAY_KEY.match(nxt)
        return bool(m) and m.group("key") in ("id/spi", "direction", "status", "name")
    if kind == "tunnel":
        first = nxt.split(None, 1)[0]
        return first.split("=", 1)[0].rstrip(":") in TUNNEL_LINE_KEYS - {"name"}
    if kind == "details":
        return bool(re.match(DETAILS_START, nxt))
    return bool(re.match(SUMMARY_LINE, nxt))


def _collapsed(line: str) -> str | None:
    """The output a collapsed block on ``line`` belongs to (tunnel | gateway | summary), or None."""
    if re.match(TUNNEL_HEADER, line) or re.match(GATEWAY_START, line):
        return None
    if re.search(TUNNEL_COLLAPSED, line):
        return "tunnel"
    if re.search(GATEWAY_COLLAPSED, line):
        return "gateway"
    if re.search(SUMMARY_COLLAPSED, line):
        return "summary"
    return None


def _gateway_follows(lines: list[str], form: np.ndarray, i: int, spaced: bool) -> bool:
    j = i + 2 if spaced and i + 2 < len(lines) and form[i + 1] == "blank" else i + 1  # the line under it
    return j < len(lines) and form[j] is None and lines[j].startswith(("version: ", "interface: "))


def _start_follows(start: np.ndarray, form: np.ndarray, i: int) -> bool:
    """A banner line belongs to a tunnel list only when a block starts within a few lines."""
    for j in range(i + 1, min(i + 4, len(form))):
        if start[j]:
            return True
        if form[j] not in (None, "blank"):
            return False
    return False


# ---------------------------------------------------------------------------------------
# Collapsed lines → the device's lines

# The keys a gateway list prints (5.6 to 7.6), one per line. A line holding two or more of
# them, each after a blank or markdown bold (`**`), is several lines a web copy joined.
GATEWAY_KEYS = (
    "vd", "name", "version", "interface", "addr", "tun_id", "remote_location", "network-id", "transport",
    "virtual-interface-addr", "created", "eap-user", "xauth-user", "2FA", "peer-id", "peer-id-auth",
    "FortiClient UID", "assigned IPv4 address", "nat", "pending-queue", "PPK", "IKE SA", "IPsec SA",
    "id/spi", "direction", "status", "proposal", "child", "SK_ei", "SK_er", "SK_ai", "SK_ar", "key",
    "message-id sent/recv", "QKD", "PQC-KEM (IKE)", "PQC-KEM (all IPsec)", "lifetime/rekey",
    "DPD sent/recv",
)
_GW_KEYS = "|".join(re.escape(k) for k in sorted(GATEWAY_KEYS, key=len, reverse=True))
GATEWAY_KEY_AT = re.compile(rf"(?:^|(?<=[\s:]))(?=(?:{_GW_KEYS}): )")
# Taking out the bold a copy put around some lines (`ago**eap-user: ipsec**`, text.BOLD)
# glues a key to the value before it: in a collapsed line a key of four or more letters is
# also cut after a letter or digit (`592s agoeap-user: ipsec`, `port1 3addr: ...`).
_GLUED_KEYS = "|".join(re.escape(k) for k in sorted(GATEWAY_KEYS, key=len, reverse=True) if len(k) >= 4)
GATEWAY_CUT = re.compile(rf"(?:^|(?<=[\s:]))(?=(?:{_GW_KEYS}): )|(?<=[A-Za-z0-9])(?=(?:{_GLUED_KEYS}): )")
# The words that begin a tunnel list line (and `ah=`, the second line of a key): a
# collapsed tunnel line is cut before each, after a blank.
TUNNEL_CUT = re.compile(
    r"(?<=\s)(?=name=\S+ (?:ver|serial)=|(?:bound_if|proxyid_num|parent|proxyid|ah|npu_flag|run_tally)="
    r"|dec:pkts/bytes=|(?:stat|dpd|natt|fec|src|dst|SA|life|dec|enc):\s)")


def unfold(idx: np.ndarray, sub: pa.Array, text: pa.Array) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """Snapshot lines a web copy collapsed (a block, or several of a gateway's `key: value`
    lines, on one line) become the device's lines, each an event with the line's number;
    the line is still counted once. What stood before the block's first key (the sentence
    that introduced it, `list all ipsec tunnel in vd 0`) and markdown bold are dropped."""
    pieces = [_unfold_line(line) for line in sub.to_pylist()]
    cut = [k for k, p in enumerate(pieces) if p]
    if not cut:
        return idx, sub, text
    return spread(idx, sub, text, np.array(cut, np.int64), [pieces[k] for k in cut])


def _unfold_line(line: str) -> list[str] | None:
    kind = _collapsed(line)
    if kind == "summary":
        # Each tunnel's line ends with its `tx(pkt,err): N/N`: prose after the last is dropped.
        pieces = re.split(SUMMARY_AT, line)
        if not re.match(SUMMARY_LINE, line):
            pieces = pieces[1:]  # the sentence and command before the first tunnel's line
        out = [re.sub(r"(tx\(pkt,err\): *\d+/\d+).*$", r"\1", p.strip()) for p in pieces]
        return [p for p in out if p] or None
    if kind == "tunnel":
        start = re.search(TUNNEL_COLLAPSED, line).start() + 1
        cut = TUNNEL_CUT
    elif kind == "gateway" or len(GATEWAY_KEY_AT.findall(line)) >= 2:
        m = re.search(GATEWAY_COLLAPSED, line)
        start = m.start() + (m.group(0)[0] != "v") if m else 0
        cut = GATEWAY_CUT
    else:
        return None
    out = [p.strip().strip("*").strip() for p in cut.split(line[start:])]
    # A tunnel header whose blank before `ver=` the copy lost (`name=for_clientver=1 serial=2`).
    out = [re.sub(r"^(name=\S+?)(ver=\d+ )", r"\1 \2", p) if kind == "tunnel" and " ver=" not in p else p
           for p in out]
    return [p for p in out if p] or None


# ---------------------------------------------------------------------------------------
# Logical lines → events


def parse(core: pa.Array) -> dict[str, object]:
    """Logical snapshot lines (in input order) → event columns, one row per line."""
    lines = core.to_pylist()
    n = len(lines)
    cols: dict[str, list] = {c: [None] * n for c in
                             ("tunnel", "vdom", "src", "sport", "dst", "dport", "esp_spi", "ispi", "rspi", "detail")}
    blocks = _blocks(lines)
    for b, (kind, rows) in enumerate(blocks):
        parser = {"tunnel": _tunnel_block, "gateway": _gateway_block, "summary": _summary_block,
                  "details": _details_block}[kind]
        facts, marks = parser([lines[r] for r in rows])
        name = facts.get("name")
        for k, r in enumerate(rows):
            mark = marks[k]
            detail = {"block": b, "at": mark.pop("at")}
            for key in ("p", "s"):
                if key in mark:
                    detail[key] = mark.pop(key)
            if k == 0:
                detail["facts"] = facts
            cols["detail"][r] = json.dumps(detail, separators=(",", ":"), sort_keys=True)
            cols["tunnel"][r] = name
            cols["vdom"][r] = facts.get("vdom")
            for c, v in mark.items():
                cols[c][r] = v
    out: dict[str, object] = {
        "kind": pa.array(["snapshot"] * n, pa.string()),
        # A mangled number too big for its column is null, not an error.
        "sport": int_array(cols.pop("sport"), pa.int32()),
        "dport": int_array(cols.pop("dport"), pa.int32()),
    }
    for c, v in cols.items():
        out[c] = pa.array(v, pa.string())
    return out


def _blocks(lines: list[str]) -> list[tuple[str, list[int]]]:
    out: list[tuple[str, list[int]]] = []
    for i, line in enumerate(lines):
        if re.match(TUNNEL_HEADER, line):
            out.append(("tunnel", [i]))
        elif re.match(SUMMARY_LINE, line):
            out.append(("summary", [i]))
        elif re.match(DETAILS_START, line):
            out.append(("details", [i]))
        elif out and out[-1][0] == "details":
            out[-1][1].append(i)  # its `name: '...'` lines are not a gateway list's
        elif re.match(GATEWAY_START, line) or (re.match(GATEWAY_NAME, line) and not (
                out and out[-1][0] == "gateway" and lines[out[-1][1][-1]].startswith("vd:"))):
            out.append(("gateway", [i]))
        elif out:
            out[-1][1].append(i)
        else:  # a stray piece with no block above it (cannot happen after claim)
            out.append(("gateway", [i]))
    return out


# Values FortiOS prints in hex (or as flag bytes): kept as text, never read as decimals.
HEX_VALUES = frozenset({"serial", "npu_flag", "options", "seqno", "replaywin_lastseq", "type", "npu_selid"})


def _num(v: str | None, key: str = "") -> int | str | None:
    if v is None:
        return None
    return _int(v) if v.isascii() and v.isdigit() and key not in HEX_VALUES else v


def _int(v: str, base: int = 10) -> int | None:
    """A counter or port as printed; None for a mangled one longer than any real counter
    (int() refuses thousands of digits, and no column holds them)."""
    return int(v, base) if len(v) <= 20 else None


def _tokens(text: str) -> tuple[dict, list[str]]:
    """`a=1 b=2 flag c=x` → ({a: 1, b: 2, c: 'x'}, ['flag'])."""
    kv: dict = {}
    bare: list[str] = []
    for tok in text.replace(",", " ").split():
        m = KV.match(tok)
        if m:
            kv[m.group("key")] = _num(m.group("value"), m.group("key"))
        else:
            bare.append(tok)
    return kv, bare


def _tunnel_block(lines: list[str]) -> tuple[dict, list[dict]]:
    facts: dict = {"list": "tunnel", "proxyids": []}
    marks: list[dict] = []
    p2: dict | None = None
    sa: dict | None = None
    last_key: str | None = None  # `ah=` follows the `dec:`/`enc:` it belongs to
    pieces: list[str] = []
    rows: list[int] = []  # the line each piece is of
    for k, line in enumerate(lines):
        for piece in _pieces(line):
            pieces.append(piece)
            rows.append(k)
    for k, line in enumerate(pieces):
        # A label joined to its values without a space where the copy broke the line.
        line = re.sub(r"^(stat|dpd|natt|fec|life|SA):(?=\S)", r"\1: ", line)
        first = line.split(None, 1)[0]
        label = first[:-1] if first.endswith(":") and "=" not in first else None
        body = line[len(first):].strip() if label else line
        mark: dict = {}
        if first.startswith("name=") or (k == 0 and re.match(TUNNEL_DAMAGED, line)):
            kv, bare = _tokens(line)
            if "name" in kv:  # (a damaged header's name is lost: no tunnel name)
                facts["name"] = str(kv.pop("name"))
            _header_options(facts, line)
            for tok in bare:
                m = ADDR_PAIR.match(tok)
                if m:
                    facts["local"], facts["remote"] = endpoint(m["src"], _int(m["sport"])), endpoint(m["dst"], _int(m["dport"]))
                    mark.update(src=m["src"], sport=_int(m["sport"]), dst=m["dst"], dport=_int(m["dport"]))
            facts.update({k: v for k, v in kv.items() if not k.startswith("options")})
            mark["at"] = "header"
        elif label in ("stat", "dpd", "natt", "fec"):
            facts[label], _ = _tokens(body)
            mark["at"] = label
        elif first.startswith("proxyid="):
            kv, bare = _tokens(line)
            p2 = {"name": str(kv.pop("proxyid")), **kv, "flags": bare, "src": [], "dst": [], "sas": []}
            facts["proxyids"].append(p2)
            sa = None
            mark["at"] = "proxyid"
            mark["p"] = len(facts["proxyids"]) - 1
        elif label in ("src", "dst"):
            p2 = p2 or _anonymous(facts)
            p2[label].append(body)
            mark.update(at="selector", p=len(facts["proxyids"]) - 1)
        elif label in ("SA", "life", "dec", "enc") or first.startswith(("seqno=", "ah=", "dec:pkts", "npu_flag=")):
            p2 = p2 or _anonymous(facts)
            if label == "SA" or sa is None:
                sa = {}
                p2["sas"].append(sa)
            mark.update(p=len(facts["proxyids"]) - 1, s=len(p2["sas"]) - 1)
            if label in ("dec", "enc") and not first.startswith("dec:pkts"):
                kv, bare = _tokens(body)
                sa[f"{label}_spi"] = str(kv.get("spi", "")).lower() or None
                sa[f"{label}_esp"] = kv.get("esp")
                mark.update(at=f"{label}-key", esp_spi=sa[f"{label}_spi"])
                last_key = label
            elif first.startswith("ah="):
                kv, _ = _tokens(line)
                sa[f"{last_key or 'dec'}_ah"] = kv.get("ah")
                mark["at"] = f"{last_key or 'dec'}-key"
            elif first.startswith("dec:pkts"):
                counters = re.findall(r"(dec|enc):pkts/bytes=(\d+)/(\d+)", line)
                for side, pkts, nbytes in counters:
                    sa[f"{side}_pkts"], sa[f"{side}_bytes"] = _int(pkts), _int(nbytes)
                mark["at"] = "counters"
            elif first.startswith("npu_flag="):
                kv, _ = _tokens(line)
                sa.update(kv)
                mark["at"] = "npu"
            elif label == "life":
                kv, _ = _tokens(body)
                sa["life"] = kv
                mark["at"] = "life"
            else:
                kv, _ = _tokens(body if label else line)
                sa.update(kv)
                mark["at"] = "sa"
        else:
            kv, bare = _tokens(line)
            facts.update({k: v for k, v in kv.items() if not k.startswith("options")})
            _header_options(facts, line)
            mark["at"] = "header"
        marks.append(mark)
    return facts, _merge_marks(marks, rows, len(lines))


# A section label inside a line, before one of its keys (`... seqno=21 natt: mode=none` or,
# joined, `natt:mode=none`): where a PDF copy moved the start of the next line. Not
# `dec:pkts/bytes=`, a key of its own.
_KEY_WORDS = "|".join(re.escape(k) for k in sorted(TUNNEL_KEYS, key=len, reverse=True))
INNER_LABEL = re.compile(rf"\s+(?=(?:stat|dpd|natt|fec|SA|life|dec|enc):\s*(?:{_KEY_WORDS})=)")


def _pieces(line: str) -> list[str]:
    """The device's lines in one logical line: cut before a section label inside it."""
    return INNER_LABEL.split(line) if ":" in line[1:] else [line]


def _merge_marks(marks: list[dict], rows: list[int], n: int) -> list[dict]:
    """One mark per line from the marks of its pieces: the first piece's, with what the
    others add (an SPI, addresses) where it has none."""
    out: list[dict | None] = [None] * n
    for k, mark in zip(rows, marks):
        if out[k] is None:
            out[k] = mark
        else:
            for key, value in mark.items():
                out[k].setdefault(key, value)
    return out


def _header_options(facts: dict, line: str) -> None:
    opts = _options(line)
    if opts:
        facts["options"] = opts
    facts["npu"] = facts.get("npu", False) or any(o.startswith("npu") for o in opts)


def _anonymous(facts: dict) -> dict:
    p2 = {"name": None, "flags": [], "src": [], "dst": [], "sas": []}
    facts["proxyids"].append(p2)
    return p2


def _options(line: str) -> list[str]:
    """`options[0228]=npu frag-rfc run_state=0` → ['npu', 'frag-rfc']: the value and the
    bare words after it."""
    m = re.search(r"options\[[0-9a-fA-F]+\]=(\S*)((?:\s+[^=\s]+(?=\s|$))*)", line)
    if not m:
        return []
    return [w for w in [m.group(1), *m.group(2).split()] if w and w != "-"]


def _gateway_block(lines: list[str]) -> tuple[dict, list[dict]]:
    facts: dict = {"list": "gateway", "ike_sas": []}
    marks: list[dict] = []
    keys: set[str] = set()
    sa: dict | None = None
    for line in lines:
        m = GATEWAY_KEY.match(line)
        key, value = (m.group("key").strip(), (m.group("value") or "").strip()) if m else ("", line.strip())
        mark: dict = {"at": "header"}
        if key == "id/spi":
            parts = value.split()
            sa = {"serial": _num(parts[0]) if parts else None}
            if len(parts) > 1 and "/" in parts[1]:
                ispi, rspi = parts[1].lower().split("/", 1)
                sa["ispi"], sa["rspi"] = ispi, rspi
                mark.update(ispi=ispi, rspi=rspi)
            facts["ike_sas"].append(sa)
            mark.update(at="ike-sa", s=len(facts["ike_sas"]) - 1)
        elif not key and (p2 := PHASE2S.match(value)):
            # A `phase2s:` line of `ike config`: its selectors as a tunnel list prints them
            # (`proto:address:port`, flowtrace.selector), for IKE214 where no tunnel list is.
            proto = p2["proto"]
            facts.setdefault("selectors", []).append(
                {"proxyid": p2["name"], "src": [f"{proto}:{p2['src']}"], "dst": [f"{proto}:{p2['dst']}"]})
            mark.update(at="selector", p=len(facts["selectors"]) - 1)
        elif sa is not None:
            mark.update(at=_gateway_sa_fact(sa, key, value), s=len(facts["ike_sas"]) - 1)
        elif key == "vd":
            facts["vdom"], _, idx = value.partition("/")
            facts["vdom_index"] = _num(idx)
        elif key == "addr":
            a = GW_ADDR.match(value)
            if a:
                facts["local"], facts["remote"] = endpoint(a["src"], _int(a["sport"])), endpoint(a["dst"], _int(a["dport"]))
                mark.update(src=a["src"], sport=_int(a["sport"]), dst=a["dst"], dport=_int(a["dport"]))
            mark["at"] = "addr"
        elif key in ("IKE SA", "IPsec SA") or SA_COUNTS_KEY.match(key):
            # `get vpn ike gateway` prints `IKE SA  created: 2/2  established: 2/2  time: ...`.
            counts = _counts(value if key in ("IKE SA", "IPsec SA") else f"created: {value}")
            facts["ike_sa_counts" if key.startswith("IKE") else "ipsec_sa_counts"] = counts
        elif key == "transport":
            facts["transport"] = value
            mark["at"] = "transport"
        elif key in ("status.admin", "status.operational"):  # `diagnose vpn ike config`'s
            facts[key] = value
            mark["at"] = key
        elif key:
            facts[key.replace(" ", "_").replace("-", "_").lower()] = value
        marks.append(mark)
        keys.add(key)
    if not keys & GATEWAY_LIST_KEYS:
        facts["list"] = next((name for name, only in OTHER_GATEWAY_OUTPUTS if keys & only), "gateway")
    return facts, marks


def _sa_key(key: str) -> str:
    """An SA line's key as a fact name: lower case, its blanks, `/` and `-` as `_`."""
    return key.replace(" ", "_").replace("/", "_").replace("-", "_").lower()


def _gateway_sa_fact(sa: dict, key: str, value: str) -> str:
    if key == "status":
        m = re.match(r"^(?P<status>[a-z]+)(?:, state (?P<state>\d+))?", value)
        if m:
            sa["status"] = m.group("status")
            if m.group("state"):
                sa["state"] = _int(m.group("state"))
        sa["status_text"] = value
        return "status"
    if key == "DPD sent/recv":
        sent, _, recv = value.partition("/")
        if HEX.match(sent or "-") and HEX.match(recv or "-"):
            sa["dpd_sent"], sa["dpd_recv"] = _int(sent, 16), _int(recv, 16)
        return "dpd"
    if key == "transport":
        sa["transport"] = value
        return "transport"
    if key and not key.startswith("SK_") and key != "key":  # session keys: never carried along
        sa[_sa_key(key)] = value
    return "ike-sa"


def _counts(value: str) -> dict:
    """`created 2/2  established 2/2  time 0/10500/21000 ms` (or with a colon after each
    word, as `get vpn ike gateway` prints them) → {created: '2/2', ...}."""
    return {k: v for k, v in re.findall(r"([a-z]+):? (\S+)", value)}


DETAILS_COUNTERS = re.compile(r"^(?P<dir>rx|tx) +packets: (?P<packets>\d+) +bytes: (?P<bytes>\d+) +errors: (?P<errors>\d+)")
# An `SA` paragraph of `tunnel details` prints its two halves under `inbound` and `outbound`,
# each with the SPI that ESP of that direction carries: the tunnel list's `dec:` and `enc:`
# SPIs, named as there. The `enc:`/`auth:` lines under them print the session keys: never
# carried along.
DETAILS_SA_HALVES = {"inbound": "dec", "outbound": "enc"}
DETAILS_SESSION_KEYS = frozenset({"enc", "auth"})
# `dpd: on-demand/negotiated  idle: 20000ms  retry: 3  count: 0` or `dpd: disabled`: the mode,
# whether the peer agreed to DPD, then `key: value` pairs.
DETAILS_DPD = re.compile(r"^(?P<mode>[\w-]+)(?:/(?P<negotiated>\w+))?(?P<rest>.*)$")


def _details_block(lines: list[str]) -> tuple[dict, list[dict]]:
    """`get vpn ipsec tunnel details`: the tunnel's keys, its counters, its DPD, and per phase 2
    (`selectors`) its name, selectors and one SA per `SA` paragraph (its keys and SPIs)."""
    facts: dict = {"list": "details", "selectors": []}
    marks: list[dict] = []
    sel: dict | None = None
    half: str | None = None  # `dec` under `inbound`, `enc` under `outbound` of the current SA
    for line in lines[1:]:
        text = line.strip()
        key, _, value = text.partition(": ")
        mark: dict = {"at": "header"}
        counters = DETAILS_COUNTERS.match(text)
        if text == "selectors":
            facts["in_selectors"] = True
        elif counters:
            facts[counters["dir"]] = {k: _int(counters[k]) for k in ("packets", "bytes", "errors")}
            mark["at"] = "counters"
        elif facts.get("in_selectors") and key == "name":
            sel, half = {"name": value.strip("'"), "sas": []}, None
            facts["selectors"].append(sel)
            mark.update(at="selector", p=len(facts["selectors"]) - 1)
        elif sel is not None and text == "SA":
            sel["sas"].append({})
            half = None
            mark.update(at="sa", p=len(facts["selectors"]) - 1, s=len(sel["sas"]) - 1)
        elif sel is not None and sel["sas"]:
            half = DETAILS_SA_HALVES.get(text, half)
            mark.update(at=_details_sa_fact(sel["sas"][-1], half, key, value), p=len(facts["selectors"]) - 1,
                        s=len(sel["sas"]) - 1)
            if mark["at"] == f"{half}-key":
                mark["esp_spi"] = sel["sas"][-1][f"{half}_spi"]
        elif sel is not None:
            if key in ("src", "dst"):
                sel[key] = value
            mark.update(at="selector", p=len(facts["selectors"]) - 1)
        elif key in ("local-gateway", "remote-gateway"):
            a = re.match(rf"^(?P<ip>{_ADDR}):(?P<port>\d+)", value)
            side = "local" if key == "local-gateway" else "remote"
            if a:
                facts[side] = endpoint(a["ip"], _int(a["port"]))
                mark.update({"src" if side == "local" else "dst": a["ip"],
                             "sport" if side == "local" else "dport": _int(a["port"])})
            mark["at"] = "addr"
        elif key == "name":
            facts["name"] = value.strip("'")
        elif key == "dpd":
            facts["dpd"] = _details_dpd(value)
            mark["at"] = "dpd"
        elif key:
            facts[key.replace("-", "_")] = value
        marks.append(mark)
    facts.pop("in_selectors", None)
    return facts, [{"at": "header"}] + marks


def _details_sa_fact(sa: dict, half: str | None, key: str, value: str) -> str:
    """One line of an `SA` paragraph into ``sa``; returns what the line shows."""
    if half and key == "spi" and HEX.match(value.strip()):
        sa[f"{half}_spi"] = value.strip().lower()
        return f"{half}-key"  # as the tunnel list's `dec: spi=...` line
    if key in DETAILS_SESSION_KEYS or not value:
        return "sa"  # `inbound`/`outbound`, or a session key
    sa[_sa_key(key)] = _num(value.strip())
    return "sa"


def _details_dpd(value: str) -> dict:
    """`on-demand/negotiated  idle: 20000ms  retry: 3  count: 0` → {mode: 'on-demand',
    negotiated: True, idle: '20000ms', retry: 3, count: 0}; `disabled` → {mode: 'disabled'}."""
    m = DETAILS_DPD.match(value.strip())
    if not m:
        return {"mode": value.strip()}
    out: dict = {"mode": m["mode"]}
    if m["negotiated"]:
        out["negotiated"] = m["negotiated"] == "negotiated"
    out.update({k: _num(v) for k, v in re.findall(r"(\w+): (\S+)", m["rest"])})
    return out


def _summary_block(lines: list[str]) -> tuple[dict, list[dict]]:
    m = re.match(rf"^#?'(?P<name>[^']+)'\s+(?:(?P<dst>{_ADDR}):(?P<dport>\d+)\s+)?(?P<rest>.*)$", lines[0])
    facts: dict = {"list": "summary", "name": m.group("name") if m else None}
    rest = m.group("rest") if m else lines[0]
    for key, a, b in re.findall(r"([a-z]+)\((?:[a-z]+,[a-z]+)\): *(\d+)/(\d+)", rest):
        facts[key] = [_int(a), _int(b)]
    marks = [{"at": "summary"} for _ in lines]
    if m and m.group("dst"):  # the remote gateway (port 0 where no NAT-T port is in use)
        facts["remote"] = endpoint(m.group("dst"), _int(m.group("dport")))
        marks[0].update(dst=m.group("dst"), dport=_int(m.group("dport")))
    return facts, marks


def inherit_times(frame) -> None:
    """A snapshot has no clock of its own: it happened between the timed lines around it
    in the paste. Give its rows the time of the last timed line above (or, at the top of a
    paste, the first one below), in place. Rows are in line order. A row the terminal
    client's stamp already timed keeps that time."""
    if not len(frame) or "origin" not in frame:
        return
    snap = (frame["origin"] == "snapshot").fillna(False).to_numpy()
    if not snap.any():
        return
    for col in ("time", "t"):
        need = snap & frame[col].isna().to_numpy()
        if not need.any():
            continue
        known = frame[col].where(~snap)
        filled = known.ffill().fillna(known.bfill())
        frame.loc[need, col] = filled[need]
