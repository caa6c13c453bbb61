"""FortiGate text (sniffer, IKE debug, auth daemons, prompts) → events, line by line.

The format is decided per line, not per file: engineers paste both debugs from one
console. Each line is named by the first row of :data:`LINE_FORMS` that matches it (whole
column at once), then the sniffer and debug lines are handed to their parsers. Lines that
match no form are continuations when the record above them was wrapped, and otherwise
honestly `unrecognised`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze import events as ev
from ikeanalyze.errors import InputError
from ikeanalyze.ingest import CaptureRun, InputReport
from ikeanalyze.sources import (
    clockoffset,
    eventlog,
    fgconfig,
    flow,
    hexdump,
    ikedebug,
    sniffer,
    spans,
    tcpdump,
)
from ikeanalyze.sources import snapshot as state_snapshot
from ikeanalyze.sources.regex import (
    Texts,
    concatenated,
    distinct,
    fraction_us,
    groups,
    matches,
    matches_at,
    scatter,
    spread,
    take_joined,
)
from ikeanalyze.sources.textclean import ELISION, WRAP_MIN, clean_utf8, html_unescaped, not_text
from ikeanalyze.wire.ports import given_tcp_ports
from ikeanalyze.words import counted

# Annotations people add to pastes: `<-- Select this option.`, `<< Oneway traffic`, `← 卡在這`
# (the arrow character, as CJK and other blogs write it). A note
# runs to the end of its line, or to the next record when a web copy collapsed several
# records onto one line (`... <Public IP> <----- Sophos public IP. ... ike 0: in D4A1...`):
# the record is kept (the replacement puts back group 1, the blank and record start).
ANNOTATION = (rf"\s+(?:(?:<-+|<<)(?:\s.*?)?|[←⟵].*?)(\s(?:{ikedebug.RECORD_ANYWHERE}|{ikedebug.AUTHD_ANYWHERE}"
              rf"|{sniffer.RECORD_ANYWHERE}|{tcpdump.RECORD_ANYWHERE})|$)")
ANNOTATION_ONLY = r"^\s*(?:<-+|<<|[←⟵])"
# The markers of a quoted line in a mail or forum reply (`> `, `>> `).
QUOTE_MARKS = r"^(?:>[ \t]?)+"
ARROW_LEAD = "←".encode()[0]
# Markdown emphasis a web copy wrapped around a record (`*12.650762 wan1 out ... udp 716*`)
# or around a value in it (`**name: EDGE_INET1_1**`, `name=**EDGE_INET1_1** ver=2`,
# `FGT#**diagnose sniffer packet ...**`): the markers go, the text stays. Bold (`**x**`) is
# taken anywhere, italics (`*x*`) only around a whole line; the text inside must begin and
# end with a character that is neither a blank nor a `*`, so a rule of stars
# (`**** AuthnRequest URL ****`) or a lone `*` in a message is left alone.
BOLD = r"\*\*([^*\s](?:[^*]*[^*\s])?)\*\*"
ITALIC_LINE = r"^\*{1,3}([^*\s](?:.*[^*\s])?)\*{1,3}$"

# (name, pattern) in order. `sniffer`, `tcpdump`, `ikedebug`, `authd`, `flow`, `eventlog`, `snapshot` are record formats;
# the rest are accounting reasons (see ingest.REASONS).
# The FortiGate prompt, `FGT-BJ # cmd` or glued `FGT-BJ# cmd` / `WEST-DC1 (Interim)# get ...`:
# the hostname, an optional VDOM or mode in parentheses, `#` (`$`: read-only admin, always
# after a blank), then a blank or the end. With no blank after the `#` either
# (`FGT#diagnose ...`, a web copy's markup taken out, see BOLD) only before a command word:
# a wrapped URL (`xmlenc#sha256"/>...`) is not a prompt. A page that cut the hostname off
# keeps `#diagnose debug flow trace start 5` / `# diagnose sniffer ...`: a `#` and a command.
# Prompts of several devices aligned in a paste (`FGT-3 (Primary)   # get ...` under
# `FGT-2 (Secondary) # get ...`) have blanks before the `#`: after a parenthesis, before a command.
CLI_COMMAND = r"(?:dia\w*|get|show|conf\w*|exe\w*|fnsysctl)\b"
HOSTNAME = r"[A-Za-z0-9][\w.-]*"
PROMPT = (rf"^(?:{HOSTNAME}(?: \([^)]*\))?(?: ?#(?:\s.*)?|#{CLI_COMMAND}.*| \$(?: .*)?)"
          rf"|{HOSTNAME} \([^)]*\) +# +{CLI_COMMAND}.*|# ?{CLI_COMMAND}.*)$")
# The device a prompt names: its hostname (`FGT-2` of `FGT-2 (Secondary) # get ...`).
PROMPT_HOST = rf"^(?P<host>{HOSTNAME})(?: \([^)]*\))? *[#$]"
# `diagnose` in any abbreviation the CLI takes (`di`, `dia`, `diag`, ...), `get`, `show`, `execute`,
# each followed by a branch of the CLI that troubleshooting uses.
BARE_COMMAND = (r"^\s*(?:di(?:a(?:g(?:n(?:o(?:se?)?)?)?)?)?\s+(?:vpn|deb\w*|sni\w*|sys\w*|netlink|firewall|hardware|test|ip)"
                r"|get\s+(?:vpn|router|system|hardware)|show\s+(?:vpn|full-configuration|system|firewall|router)"
                r"|exe(?:c(?:u(?:te?)?)?)?\s+(?:log|ping\S*|traceroute\S*|vpn))\b.*$")
# A record glued after a prompt, typed keys or prose (see parse_lines).
GLUED = f"(?:{ikedebug.RECORD_ANYWHERE}|{ikedebug.AUTHD_ANYWHERE}|{eventlog.RECORD_ANYWHERE}|{flow.RECORD_ANYWHERE})"
LINE_FORMS: list[tuple[str, str]] = [
    ("blank", r"^\s*$"),
    # Before the sniffer: its legacy `\S+ > \S+:` form would take tcpdump's `-tt -e` lines
    # (`1700000000.1 aa:bb:.. > cc:dd:.., ethertype IPv4 ...`); tcpdump's never take a sniffer's.
    ("tcpdump", tcpdump.HEADER_START),
    ("sniffer", sniffer.HEADER_START),
    ("hexdump", r"^0x[0-9a-fA-F]{4}[\t ]+[0-9a-fA-F]{2,4}(?: [0-9a-fA-F]{2,4})*"),
    ("ikedebug", ikedebug.RECORD_START),
    ("authd", ikedebug.AUTHD_START),
    ("flow", flow.START),
    ("eventlog", eventlog.RECORD_START),
    (
        "banner",
        r"^(?:interfaces=\[.*\]|filters=\[.*\]|Using (?:Original|New) Sniffing Mode\.?"
        r"|pcap_snapshot: .*|pcap_lookupnet: .*|\d+ packets? (?:received by filter|dropped by (?:kernel|interface))"
        r"|[1-6]: print .*|Type Ctrl-C to stop\S*.*"
        # tcpdump's own (4.9-4.99): the decode note, what it reads, the count at the end, and
        # the terminal's echo of the Ctrl-C that stopped it.
        r"|tcpdump: (?:verbose output suppressed|listening on|data link type)\b.*"
        r"|(?:listening on|reading from file) \S+, link-type .*|\d+ packets? captured|\^C)\s*$",
    ),
    # What `diagnose debug app X -1` / `diagnose debug info` / `edit <vdom>` print around a
    # debug session, and the header/trailer a `script(1)` terminal log writes, and the line
    # PuTTY (KiTTY) writes at the top of a session log (`=~=~=~=...= PuTTY log 2024.05.02 ...`).
    (
        "banner",
        r"^(?:Debug messages will be on for \d+ minutes\.|Current debug duration is \w+\.?"
        r"|\S+ debugging (?:status:|level is \w+)|timestamp (?:enabled|disabled)|current vf=\S+"
        r"|<verbose>|Script (?:started|done) on .*|=~=(?:~=)+ ?(?:PuTTY|KiTTY) log .*"
        # The GUI's CLI console opens with `Connected`; an SSH or console session's login
        # (PuTTY's own lines, the FortiGate's `login:` and `Password:`, `Last login:`).
        r"|Connected|Disconnected|Connection (?:closed|lost)\.?|[\w.-]+ login: ?\S*|Password: ?|Last login: .*"
        r"|Using username \".*\"\.|Access granted\. Press Return to begin session\."
        r"|(?:Pre-authentication banner|End of banner) message from server:?"
        # The CLI's answers to a command it refused (`vpn ike gateway list name` typed
        # without its name): `Required arguments missing.`, `Command fail. Return code -61`.
        r"|Command fail\. Return code -?\d+|Required arguments missing\.|(?:command|value) parse error before '.*'"
        r"|Unknown action \d+|entry not found in datasource|node_check_object fail!.*|Attribute '[^']+' MUST be set\.)\s*$",
    ),
    # `get system status`, pasted beside a debug because support asks for it: the device's
    # version, databases, serial, modes and clock; no IPsec evidence. (Its keys are
    # capitalised; the gateway and tunnel lists' are not.)
    (
        "banner",
        r"^(?:Version: Forti\S+ v\d.*|(?:Firmware Signature|Virus-DB|Extended DB|Extreme DB|AV AI/ML Model|IPS-DB"
        r"|IPS-ETDB|APP-DB|FMWP-DB|INDUSTRIAL-DB|IPS Malicious URL Database|IoT-Detect|OT-Detect-DB|OT-Patch-DB"
        r"|OT-Threat-DB|Serial-Number|License Status|License Expiration Date|VM Resources|BIOS version"
        r"|System Part-Number|Log hard disk|Hostname|Private Encryption|Operation Mode|Current virtual domain"
        r"|Max number of virtual domains|Virtual domains status|Virtual domain configuration|FIPS-CC mode"
        r"|Current HA mode|Cluster uptime|Cluster state change time|Branch point|Release Version Information"
        r"|FortiOS x86-64|System time|Last reboot reason): .*)$",
    ),
    # `get router info routing-table all|database|details` beside a debug (is the route to
    # the peer or into the tunnel there?): its legend, its VRF header and its routes, an ECMP
    # route's further next hops on lines of their own. No IPsec evidence.
    (
        "banner",
        r"^(?:Codes: [A-Z] - \w.*|(?:[A-Za-z0-9*>]{1,3} - [A-Za-z][\w /-]*(?:, |$))+|Routing table for VRF=\d+"
        r"|[A-Za-z*> ]{1,6}\s+[0-9A-Fa-f.:]+/\d+ (?:\[\d+/\d+\] via \S+|is directly connected,).*"
        r"|\s*\[\d+/\d+\] via \S+.*)$",
    ),
    # The OpenSSH client's own messages in a session log: its host-key warning box and
    # notes (sshconnect.c), the first-connection question, the goodbye line.
    (
        "banner",
        r"^(?:@{20,}|@ +WARNING: [A-Z ]+! +@|IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!"
        r"|Someone could be eavesdropping on you right now \(man-in-the-middle attack\)!"
        r"|It is also possible that a (?:host key|\S+ host key) has just been changed\."
        r"|The fingerprint for the \S+ key sent by the remote host is"
        # (An old client's bare `xx:..:xx` fingerprint, sixteen bytes, is one only under its
        # heading: see _ssh_fingerprint.)
        r"|(?:SHA256:[A-Za-z0-9+/]{43}|MD5:(?:[0-9a-f]{2}:){15}[0-9a-f]{2})\.?"
        r"|Please contact your system administrator\.|Add correct host key in \S+ to get rid of this message\."
        r"|Offending \S+ key in \S+|\S+ host key for \S+ has changed and you have requested strict checking\."
        r"|(?:Password|Keyboard-interactive) authentication is disabled to avoid man-in-the-middle attacks\."
        r"|Host key verification failed\.|The authenticity of host .* can't be established\."
        r"|\S+ key fingerprint is \S+\.?|Are you sure you want to continue connecting .*"
        r"|Warning: Permanently added .* to the list of known hosts\.|Connection to \S+ closed(?: by remote host)?\.)\s*$",
    ),
    # The tunnel list's own header (`list all ipsec tunnel in vd 0`) is FortiOS's wherever it
    # stands: the snapshot walk names it only above a block, so one with no block under it
    # (an empty list, or a page cut right after it) matched no form. (Its `-----` separator
    # stays the walk's to judge: a bare rule is markdown too.)
    ("banner", rf"^{state_snapshot.LIST_HEADER}\s*$"),
    ("prompt", PROMPT),
    # bash's reverse history search, echoed into a session log.
    ("prompt", r"^\(reverse-i-search"),
    # The CLI's pager after a screenful of a paged command (`tunnel list`, `show`).
    ("prompt", state_snapshot.PAGER),
    # A shell prompt of the engineer's own machine (`oho@chaos:~/dir$ exit`).
    ("prompt", r"^[\w.-]+@[\w.-]+:\S*[#$](?: .*)?$"),
    # Keys typed blind into a running debug (`de di`, `di de di`: `diagnose debug disable`).
    ("prompt", r"^\s*(?:(?:di|de|dia|diag|diagnose|deb|debug|dis|disable|en|enable)\s*)+$"),
    # A CLI command shown without the prompt before it, as Fortinet's articles print them
    # (`dia vpn tunnel list`, `get router info routing-table database`): an echoed command.
    ("prompt", BARE_COMMAND),
    ("annotation", ANNOTATION_ONLY),
    # Lines left out by the person who pasted (ELISION).
    ("annotation", ELISION),
    # A comment a person typed or pasted in (`# psk mismatch`, `# 4. Error: ...`).
    ("annotation", r"^#(?:\s|$)"),
    # The code fence around a paste in a web page or chat (```, ```text, ~~~). Markdown lets
    # a fence be longer than three, and a closing one longer than its opening (a blog closed
    # its ``` with ````), so any run of three or more. A site generator's fence may carry
    # attributes after the language: mkdocs' ``` title="diagnose sniffer packet ..." ```,
    # ```console title="..."```, Pandoc's ```{.bash}``` (the title is the author's caption,
    # not an echo: the sniffer's own `filters=[...]` line is read below it).
    ("annotation", r"^\s*(?:`{3,}|~{3,})[\w+-]*(?:\s*\{[^{}]*\}|\s+[\w-]+=(?:\"[^\"]*\"|'[^']*'|[^\s\"'`]+))*\s*$"),
]
# LINE_FORMS' names by row, then None (no form).
_FORM_NAMES = np.array([name for name, _ in LINE_FORMS] + [None], dtype=object)
RECORD_FORMATS = ("sniffer", "tcpdump", "ikedebug", "authd", "flow", "snapshot", "eventlog", "config")
# Forms of device output (and of the command that printed it): a cut-off last line after
# one of these (blank lines between) is a piece of a record.
CUT_AFTER = (*RECORD_FORMATS, "continuation", "hexdump", "prompt", "banner")

# Two `key=value` pairs in a row, or a quoted value's tail and one quoted field to the end
# (`policy" peer_notif="NOT-APPLICABLE"`): a piece of an event-log record, not a sentence
# that quotes a setting (`set psk=newsecret`, `The fix: vpntunnel="HUB-2" had ...`).
LOG_FIELDS = r"(?:^|\s)[a-z][a-z_]*=\S*\s+[a-z][a-z_]*=|^[^\"=]*\"\s+[a-z][a-z_]*=\"[^\"]*\"\s*$"
# A record that opens a quoted value and does not close it (`data = 'VER=1`).
OPEN_QUOTE = r"= '[^']*$"
# Time stamps a terminal client writes before every line of its session log (SecureCRT's
# and KiTTY's custom log data, MobaXterm, Tera Term's "Timestamp", ZOC, moreutils `ts`):
# not device output, and every line behind one would match no form. Each row is one
# client's shape; a line that starts with one is read without it (clean_stamps). The
# device's own stamps (`2026-02-26 23:34:42.208180 port2 ...`, `2016-05-26 07:49:06 ike
# ...`) have none of these shapes: no brackets, no `T`, no month name first.
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_HMS = r"\d{1,2}:\d\d:\d\d(?:[.,]\d{1,9})?"
CLIENT_STAMPS: list[tuple[str, str]] = [
    ("[date time]", rf"\[\d{{4}}[-/.]\d\d[-/.]\d\d[ T_]{_HMS}(?: ?(?:Z|[+-]\d\d:?\d\d))?\]"),
    ("[d/m/y time]", rf"\[\d{{1,2}}[-/.]\d{{1,2}}[-/.]\d{{2,4}}[ ,]+{_HMS}(?: ?[AaPp][Mm])?\]"),
    ("[time]", rf"\[{_HMS}(?: ?[AaPp][Mm])?\]"),
    ("[weekday month day time year]", rf"\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) {_MONTH} [ \d]\d {_HMS} \d{{4}}\]"),
    ("ISO 8601", rf"\d{{4}}-\d\d-\d\dT{_HMS}(?:Z|[+-]\d\d:?\d\d)?"),
    ("month day time", rf"{_MONTH} [ \d]\d {_HMS}"),
]
CLIENT_STAMP = "^(?:" + "|".join(f"(?:{p})" for _, p in CLIENT_STAMPS) + r")(?:[ \t]|$)"
# The client stamps that carry a whole date, read as times: the clock of an input whose
# device lines print none (an IKE debug without `diagnose debug console timestamp enable`).
# Each row: the pattern, with groups y, mon (digits or an English month), d, hms, frac. A
# stamp of day and month in either order, or of no date, tells no time.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CLIENT_TIMES: list[tuple[str, str]] = [
    ("[date time], ISO 8601", r"^\[?(?P<y>\d{4})[-/.](?P<mon>\d\d)[-/.](?P<d>\d\d)[ T_]"
                              r"(?P<hms>\d{1,2}:\d\d:\d\d)(?:[.,](?P<frac>\d{1,9}))?"),
    ("[weekday month day time year]", rf"^\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?P<mon>{_MONTH}) (?P<d>[ \d]\d) "
                                      r"(?P<hms>\d{1,2}:\d\d:\d\d)(?:[.,](?P<frac>\d{1,9}))? (?P<y>\d{4})\]"),
]

# A hex line wrapped out of an `in/out/enc/dec HEX` record.
HEX_CONTINUATION = r"^[0-9A-Fa-f]{8,}\s*$"


def parse(blob, report: InputReport, options) -> pd.DataFrame:
    data = blob.read()
    report.size = len(data)
    why = not_text(data)
    if why:
        raise InputError(blob.name, None, f"not a capture or FortiGate text ({why})")
    # The lines are all that is kept: each earlier form of the input goes as soon as the
    # next exists (the bytes, the cleaned UTF-8 for arrow).
    data, escaped = html_unescaped(data)
    if escaped:
        report.warn("the text was HTML-escaped (`-&gt;`, `&quot;`, `&lt;`): read with its entities undone")
    utf8 = clean_utf8(data)
    del data
    blob.release()
    lines, cut = _split(utf8)
    del utf8
    return parse_lines(lines, report, cut_off=cut, tcp_ports=tuple(given_tcp_ports(options)))


# A code block copied with its line numbers (`  12  ike 0: ...`, `12 | ike 0: ...`): a number,
# then blanks or a bar, before every line (a blank line's number may stand alone).
LINE_NUMBER = r"^(?P<num>[ \t]*\d{1,7})(?P<sep>[ \t]*\|[ \t]?|[ \t]+|$)"
# How many lines are asked first: a paste whose first lines are not numbered is not.
NUMBERED_PROBE = 50


def clean_line_numbers(raw: pa.Array, report: InputReport) -> pa.Array:
    """The lines without the numbers a code view put before each (counting up by one down
    the paste, on nine lines in ten or more), said in the input's warnings. The text starts
    in one column on every line (the fewest characters any line's number and separator take
    that has text after them) unless a line's own number reaches further: a line indented
    under the number keeps its indent. Device output never numbers its lines so (`execute
    log display`'s `1: date=...` has a colon, left alone), and a sniffer's or debug's time
    stamp is no number followed by a blank: the first lines decide, in Python, at no cost."""
    n = len(raw)
    if n < 2 or not _numbered(raw.slice(0, NUMBERED_PROBE).to_pylist()):
        return raw
    g = groups(raw, LINE_NUMBER)
    num = g["num"]
    if num.null_count > n // 10:
        return raw
    value = pc.cast(pc.utf8_trim_whitespace(num), pa.int64()).to_numpy(zero_copy_only=False)
    if np.count_nonzero(np.diff(value) == 1) < 0.9 * (n - 1):
        return raw
    num_len = pc.utf8_length(num).to_numpy(zero_copy_only=False)
    sep_len = pc.utf8_length(g["sep"]).to_numpy(zero_copy_only=False)
    has_text = pc.utf8_length(raw).to_numpy(zero_copy_only=False) > num_len + sep_len
    if not has_text.any():
        return raw
    numbered = ~np.isnan(value)
    column = int((num_len + sep_len)[numbered & has_text].min())
    # Aligned numbers put the text in one column; unaligned ones a separator's width after
    # the number. Never past the line's own separator: an indent under the number stays.
    cut = np.maximum(column, num_len + sep_len[numbered & has_text].min())
    cut = np.where(numbered, np.minimum(cut, num_len + sep_len), 0).astype(np.int64)
    report.warn(f"{counted(int(numbered.sum()), 'line begins', 'lines begin')} with a line number (a code view's, or tcpdump -#); "
                "read without them")
    return _slice_each(raw, cut)


def _numbered(lines: list[str]) -> bool:
    """Whether the first lines count up by one from their first number."""
    found = [re.match(LINE_NUMBER, line) for line in lines]
    values = [int(m.group("num")) for m in found if m]
    steps = [b == a + 1 for a, b in zip(values, values[1:])]
    return len(values) >= 0.9 * len(lines) and len(steps) > 0 and sum(steps) >= 0.9 * len(steps)


def _slice_each(raw: pa.Array, starts: np.ndarray) -> pa.Array:
    """Each line from its own start (in code units), one slice per distinct start (a code
    view's few widths)."""
    out = raw
    for k in np.unique(starts[starts > 0]).tolist():
        rows = np.flatnonzero(starts == k)
        out = scatter(out, rows, pc.utf8_slice_codeunits(raw.take(pa.array(rows)), int(k)))
    return out


def clean_stamps(raw: pa.Array, report: InputReport) -> tuple[pa.Array, pa.Array | None]:
    """The lines without the time stamp a terminal client wrote before each (CLIENT_STAMPS),
    said once in the input's warnings, and the times those stamps tell (:func:`client_times`;
    None when no line has one). Only lines whose first bytes may start one are matched (a
    `[`; a digit with `T` ten bytes on; a capital with a blank four bytes on); a stamp
    without brackets is taken only when most lines have one (a wrapped XML line may begin
    with `2025-01-25T19:14:33Z`)."""
    if not len(raw):
        return raw, None
    b = spans.Bytes(raw)
    head = b.words(b.start)
    first = head & np.uint64(0xFF)
    fourth = (head >> np.uint64(24)) & np.uint64(0xFF)
    eleventh = (b.words(b.start + 8) >> np.uint64(16)) & np.uint64(0xFF)
    digit = (first >= ord("0")) & (first <= ord("9"))
    capital = (first >= ord("A")) & (first <= ord("Z"))
    bracket = first == ord("[")
    rows = np.flatnonzero(bracket | (digit & (eleventh == ord("T"))) | (capital & (fourth == ord(" "))))
    if not len(rows):
        return raw, None
    sub = raw.take(pa.array(rows))
    # A syslog header before an event-log record (`Jul  1 07:03:38 10.255.252.1 date=...`) is
    # the collector's, part of the record as forwarded: the record tells its own time.
    hit = matches(sub, CLIENT_STAMP) & ~matches(sub, eventlog.RECORD_START)
    bare = hit & ~bracket[rows]
    if bare.sum() * 2 < len(raw):
        hit &= ~bare
    if not hit.any():
        return raw, None
    rows, sub = rows[hit], sub.filter(pa.array(hit))
    example = sub[0].as_py()[:40]
    report.warn(f"{counted(len(rows), 'line begins', 'lines begin')} with a time stamp added by the terminal client "
                f"(line {rows[0] + 1}: {example!r}); read without it")
    times = pa.nulls(len(raw), pa.timestamp("us"))
    told = client_times(sub)
    if told.null_count < len(told):
        times = scatter(times, rows, told)
    return scatter(raw, rows, pc.replace_substring_regex(sub, CLIENT_STAMP, "", max_replacements=1)), times


def client_times(stamped: pa.Array) -> pa.Array:
    """The time each line's client stamp tells (CLIENT_TIMES), null where it tells none: as
    printed, in the zone of the engineer's computer (not said)."""
    out = pa.nulls(len(stamped), pa.timestamp("us"))
    for _, pattern in CLIENT_TIMES:
        rows = np.flatnonzero(matches(stamped, pattern))
        if not len(rows):
            continue
        g = {k: v.cast(pa.string()) for k, v in groups(stamped.take(pa.array(rows)), pattern).items()}
        mon = g["mon"]
        named = pc.index_in(mon, pa.array(_MONTHS))
        if named.null_count < len(named):  # an English month: its number
            mon = pc.utf8_lpad(pc.cast(pc.add(named, 1), pa.string()), 2, "0")
        day = pc.replace_substring(g["d"], " ", "0")
        text = pc.binary_join_element_wise(g["y"], mon, day, pc.utf8_lpad(g["hms"], 8, "0"), "")
        base = pc.strptime(text, format="%Y%m%d%H:%M:%S", unit="us", error_is_null=True)
        told = pc.cast(pc.add(pc.cast(base, pa.int64()), fraction_us(g["frac"])), pa.timestamp("us"))
        out = scatter(out, rows, told)  # the rows' patterns exclude each other
    return out


def clean_margins(raw: pa.Array) -> pa.Array:
    """The lines without the blanks a document put before or after every one of them (a
    code block indented by 4 blanks or a tab, markdown's two blanks for a line break): when
    every line that is not blank starts (ends) with blanks, the fewest any of them has go
    from each. The rest of a line a terminal wrapped then joins as the device printed it
    (`... vrf` + `=0, id=...`, not `vrf    =0`). Decided from the lines' first and last
    bytes: a paste with one line at the margin costs nothing more."""
    if not len(raw):
        return raw
    b = spans.Bytes(raw)
    some = b.end > b.start
    if not some.any():
        return raw
    head = b.words(b.start[some]) & np.uint64(0xFF)
    tail = b.words(b.end[some] - 1) & np.uint64(0xFF)
    lead = bool(np.all((head == ord(" ")) | (head == ord("\t"))))
    trail = bool(np.all((tail == ord(" ")) | (tail == ord("\t"))))
    if not (lead or trail):
        return raw
    lens = pc.utf8_length(raw).to_numpy(zero_copy_only=False)
    body = pc.utf8_length(pc.utf8_trim(raw, characters=" \t")).to_numpy(zero_copy_only=False)
    text = body > 0  # not blank
    if not text.any():
        return raw
    if lead:
        left = _leading_blanks(raw, lens)
        k = int(left[text].min())
        raw = pc.utf8_slice_codeunits(raw, k) if k else raw
        lens = lens - np.minimum(lens, k)
    if trail:
        right = lens - pc.utf8_length(pc.utf8_rtrim(raw, characters=" \t")).to_numpy(zero_copy_only=False)
        k = int(right[text].min())
        raw = pc.utf8_slice_codeunits(raw, 0, -k) if k else raw
    return raw


def _core(raw: pa.Array) -> pa.Array:
    """The lines without quote markers, annotations, markdown emphasis and blanks at their
    ends. Only the lines that may have any are changed (a `>` first; a `<-`, `<<`, note
    arrow or `*`; a space or tab first; a control, space or non-ASCII byte last, which may
    be Unicode whitespace), in one copy of the text; the others stay as they are (the
    patterns and the trims leave such a line unchanged)."""
    b = spans.Bytes(raw)
    some = b.end > b.start
    head = b.words(b.start) & np.uint64(0xFF)
    tail = b.words(b.end - 1) & np.uint64(0xFF)
    quoted = some & (head == ord(">"))  # a mail or forum quote (`> 10:22:21.858680 IP ...`)
    trim = some & ((head == ord(" ")) | (head == ord("\t")) | (tail <= ord(" ")) | (tail >= 0x80)) | quoted
    lt = _note_rows(b)
    trim[lt] = True
    text = b.data[b.start[0] : b.end[-1]]
    star = np.searchsorted(b.end, spans.positions(text, ord("*")) + b.start[0], side="right")
    trim[star] = True
    rows = np.flatnonzero(trim)
    if not len(rows):
        return raw
    sub = raw.take(pa.array(rows))
    if quoted.any():  # (no device output starts with `>`: the markers go, the line is read)
        sub = pc.replace_substring_regex(sub, QUOTE_MARKS, "")
    if len(lt):
        sub = pc.replace_substring_regex(sub, ANNOTATION, r"\1")
    trimmed = pc.utf8_ltrim(pc.utf8_rtrim_whitespace(sub), characters=" \t")
    if len(star):
        trimmed = pc.replace_substring_regex(pc.replace_substring_regex(trimmed, BOLD, r"\1"), ITALIC_LINE, r"\1")
    return scatter(raw, rows, trimmed)


def _note_rows(b: spans.Bytes) -> np.ndarray:
    """The lines (of a column, ``b``: its bytes) that may hold an annotation (ANNOTATION
    needs a `<-`, a `<<` or a note arrow), found from where those bytes are: no pattern is
    run on the others, and a `<` of markup (`<saml:Assertion`) leaves its line alone."""
    if not len(b.start):
        return np.zeros(0, np.int64)
    text = b.data[b.start[0] : b.end[-1]]
    lt = spans.positions(text, ord("<"))
    lt = lt[lt + 1 < len(text)]
    after = text[lt + 1]
    lt = lt[(after == ord("-")) | (after == ord("<"))]
    # (the note arrows, `←` E2 86 90 and `⟵` E2 9F B5, found from their lead byte: two
    # scans of one byte each are ten times faster than one scan for either; other U+2xxx
    # characters, `…` or `—`, share the lead byte and are left out by the next two)
    lead = spans.positions(text, ARROW_LEAD)
    lead = lead[lead + 2 < len(text)]
    second, third = text[lead + 1], text[lead + 2]
    arrows = lead[((second == 0x86) & (third == 0x90)) | ((second == 0x9F) & (third == 0xB5))]
    return np.unique(np.searchsorted(b.end, np.concatenate([lt, arrows]) + b.start[0], side="right"))


def _split(utf8: bytes) -> tuple[pa.Array, bool]:
    """Lines of cleaned UTF-8 text as one arrow array (no Python object per line; the same
    cuts as textclean.split_lines), and whether the text ended without a newline (a
    cut-off paste?). One copy of the bytes: the text without its newlines."""
    if not utf8:
        return pa.array([], pa.large_string()), False
    # Newline offsets by numpy and the text without its newlines by one bytes.replace: a
    # third of the time of arrow's split_pattern on the same text.
    nl = spans.positions(np.frombuffer(utf8, np.uint8), 10)
    cut = utf8[-1:] != b"\n"
    n = len(nl) + cut
    offsets = np.empty(n + 1, np.int64)
    offsets[0] = 0
    offsets[1 : len(nl) + 1] = nl - np.arange(len(nl))  # each earlier newline is one byte fewer
    offsets[-1] = len(utf8) - len(nl)
    body = utf8.replace(b"\n", b"")
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(body)), bool(cut)


def parse_lines(lines: list[str] | pa.Array, report: InputReport, cut_off: bool = False,
                tcp_ports: tuple[int, ...] = (), other_traffic: bool = False) -> pd.DataFrame:
    """Lines → events. Sniffer lines of traffic that cannot be IPsec are counted as
    `other-traffic` and not kept (:func:`sniffer.ipsec_rows`), unless ``other_traffic``."""
    n = len(lines)
    report.total = n
    if n == 0:
        return ev.empty()
    raw = lines.cast(pa.large_string()) if isinstance(lines, pa.Array) else pa.array(lines, pa.large_string())
    del lines  # one copy of the input: the arrow one
    raw = clean_line_numbers(raw, report)
    raw, told = clean_stamps(raw, report)
    raw = clean_margins(raw)
    core = _core(raw)

    form = np.full(n, None, dtype=object)
    # Most lines of a sniffer run have one shape (sniffer.FAST_LINE, a narrower
    # HEADER_START that no blank line matches): named first, the forms are tried on the rest.
    fast, shape = sniffer.fast_shape(core)
    form[fast] = "sniffer"
    rest = np.flatnonzero(~fast)
    # A paste repeats its lines (a debug without stamps, a scroll-back copied twice): each
    # distinct line is named once. The lines of no form (wrapped hex, dumps: long) leave
    # after one pass of all forms.
    texts, which = distinct(core if len(rest) * 2 > n else core.take(pa.array(rest)))
    if len(which) > len(rest):
        which = which[rest]
    named = np.full(len(texts), len(LINE_FORMS))  # LINE_FORMS' rows, then none
    todo = np.flatnonzero(matches(texts, "|".join(f"(?:{pattern})" for _, pattern in LINE_FORMS)))
    for k, (_, pattern) in enumerate(LINE_FORMS):
        if not len(todo):
            break
        m = matches_at(texts, todo, pattern)
        named[todo[m]] = k
        todo = todo[~m]
    form[rest] = _FORM_NAMES[named[which]]
    line_text = np.full(n, -1)  # each line's among ``texts`` (-1: a sniffer line named by shape)
    line_text[rest] = which
    # The lines by their distinct texts, for the tests of lines of no form below (every such
    # line is among ``rest``; a line freed of a glued prompt below has a form).
    by_text = Texts(texts, line_text)
    # A copy's blank line after every line (the blank lines are named now, and stay so).
    step = _line_step(form)
    # `diagnose vpn tunnel list` / `ike gateway list` blocks and a pasted configuration
    # (`config ... end`): named by context, not per line, among the lines the sniffer shape
    # did not name. ``claimed_sep``: how the pieces the claims named join the line above.
    claimed_sep = state_snapshot.claim(form, core, by_text, step == 2, rest)
    # (A glued record or a bare debug message is named below, after the claim: a block cut
    # before its `end` must not take one as a cut statement's rest.)
    fgconfig.claim(form, core, raw, by_text, step == 2, claimed_sep, rest, foreign=f"{GLUED}|{ikedebug.BARE_BODY}")
    _echoed_keys(form, by_text, rest)
    _ssh_fingerprint(form, by_text, rest)

    # A prompt, typed keys or a cut-off dump glued before a record (`FG1 # ike 0: comes ...`,
    # `dike V=root:0: comes ...`, ` de2025-01-20 14:31:38 [730] __rad_conn...`, `FG1 # id=20085
    # trace_id=2 func=...`): the record starts mid-line (a trace record after the blank its
    # pattern starts with).
    patched = _Patched(core)
    junk = rest[_among(form[rest], (None, "prompt"))]  # (the lines the sniffer shape named are neither)
    if len(junk):  # most are continuations: split only the lines a record starts in (one fast match a text)
        junk = junk[by_text.rows(junk).matches(GLUED)]
    if len(junk):
        sub = core.take(pa.array(junk))
        g = groups(sub, rf"^(?P<junk>.*?)(?P<rec>{GLUED}.*)$")
        rec = np.asarray(g["rec"].to_pylist(), dtype=object)
        hit = rec != None  # noqa: E711
        if hit.any():
            idx = junk[hit]
            glued = pc.utf8_ltrim_whitespace(pa.array(list(rec[hit]), pa.large_string()))
            patched = patched.patch(idx, glued)
            form[idx] = np.select([matches(glued, ikedebug.RECORD_START), matches(glued, "^" + eventlog.RECORD_ANYWHERE),
                                   matches(glued, flow.START)], ["ikedebug", "eventlog", "flow"], "authd")

    _bare_debug(form, by_text, rest, report, step)
    quotes = _quoted_datagrams(form, patched, raw, step, rest)
    sep, bridged = _continuations(form, patched, raw, by_text, step, rest)
    # Pieces joined with a blank (an event-log field, the rest of a debug record a copy
    # broke): the event's text shows them. (A snapshot's pieces are its parser's.)
    # (Pieces are among the lines the sniffer shape did not name: only those are compared.)
    spaced = np.zeros(n, dtype=bool)
    spaced[rest] = sep[rest] == " "
    quoted = _quote_lines(quotes, sep, step)
    claimed = rest[claimed_sep[rest] != None]  # noqa: E711
    sep[claimed] = claimed_sep[claimed]

    # Each line's text as a number, for the questions of repeated lines: from the distinct
    # texts the forms were named by (when every line's is among them), not from the lines.
    _duplicates(form, patched, report, told, None if fast.any() else _line_table(texts, line_text, patched))
    # A header cut before its addresses end is a record only when its rest follows.
    if cut_off and form[n - 1] == "sniffer" and matches(patched.take(np.array([n - 1])), sniffer.HEADER_CUT)[0]:
        form[n - 1] = None
    # The forms are final: from here on they are read as integer codes (one pass over the
    # Python strings instead of one per question).
    forms = _Forms(form, fast)
    # Accounting: every line once.
    for reason in ("blank", "hexdump", "banner", "prompt", "annotation", "continuation", "duplicate"):
        report.count(reason, forms.count(reason))
    trailers = _capture_trailers(forms.mask("banner"), raw, report)
    utc: list[int] = []  # the lines of the runs' commands that stamp in UTC (_utc_commands)
    typed = raw
    if forms.count("sniffer"):
        typed = _typed(raw, forms, sep)  # (read once, for the runs, their clocks and counts)
        report.capture_runs = _capture_runs(forms, typed)
        utc = _utc_commands(forms, typed) if report.capture_runs else []
    unrec = np.flatnonzero(forms.mask(None))
    # A paste cut mid-line inside device output (`2025-01-15 0`, `vd: `, `0x03d0`) ends in a
    # piece of a record, not in a line of an unknown form.
    if cut_off and len(unrec) and unrec[-1] == n - 1 and _after_device_output(form, raw, n - 1):
        unrec, cut_off = unrec[:-1], False
        report.count("truncated")
        report.warn(f"line {n}: truncated record at the end of the input: {raw[n - 1].as_py()[:100].strip()!r}")
    for i, line in zip(unrec, raw.take(pa.array(unrec)).to_pylist()):
        report.unrecognised(int(i) + 1, line)
    report.count("event", sum(forms.count(f) for f in RECORD_FORMATS))

    devices = _Devices(core, forms.mask("prompt"))
    is_cont, is_hex = forms.mask("continuation"), forms.mask("hexdump")
    heads, head_core, head_shown = _join_records(is_cont, sep, patched, raw, forms.mask("eventlog"), bridged, spaced,
                                                 quoted)
    records, shown = patched.patch(heads, head_core), _Patched(raw).patch(heads, head_shown)
    # The sniffer reads the whole column (rows by index).
    joined = records.whole() if forms.count("sniffer") else None
    parts = []
    dropped: list[dict] = []  # stamps of lines counted as other traffic: `t` still counts from the first line
    several: list[np.ndarray] = []  # a line for each packet record beyond a line's first (a web copy's)
    for fmt, parser in FORMAT_PARSERS.items():
        if not forms.count(fmt):
            continue
        idx = np.flatnonzero(forms.mask(fmt))
        report.formats.append(fmt)
        if fmt == "sniffer":
            idx, collapsed = _collapsed_sniffer(idx, fast, joined, shown, tcp_ports, report, other_traffic, several)
            if collapsed is not None:
                parts.append(collapsed)
            # A record's joined text is its line's unless continuation lines were joined to it
            # (the records _join_records joined: in a double-spaced paste they are not the next line).
            same = fast.copy()
            same[heads] = False
            if not other_traffic:
                # (the lines a dump's search passes over: the record's pieces, and in a
                # double-spaced paste the copy's blank lines)
                passed = is_cont | (forms.mask("blank") if step == 2 else False)
                idx = _skip_other_traffic(idx, joined, is_hex, passed, tcp_ports, report, dropped, same[idx], shape)
                if not len(idx):
                    continue
        sub_text = shown.take(idx)
        if fmt == "sniffer":
            cols = sniffer.parse_rows(joined, idx, shape, same[idx] & shape.proved[idx])
        else:
            sub_core = records.take(idx)
            if fmt == "ikedebug":
                idx, sub_core, sub_text = _split_collapsed(idx, sub_core, sub_text)
            elif fmt == "eventlog":
                idx, sub_core, sub_text = _split_log_records(idx, sub_core, sub_text)
            elif fmt == "tcpdump":
                idx, sub_core, sub_text = _split_tcpdump_records(idx, sub_core, sub_text, report)
                several.append(idx[1:][np.diff(idx) == 0])
            elif fmt == "snapshot":
                idx, sub_core, sub_text = state_snapshot.unfold(idx, sub_core, sub_text)
            elif fmt == "config":
                idx, sub_core, sub_text = fgconfig.unfold(idx, sub_core, sub_text)
            cols = parser(sub_core)
            for note in cols.pop("warnings", ()):  # what a parser read from the whole input and had to guess
                report.warn(note)
        if fmt in OTHER_TRAFFIC and not other_traffic:
            idx, cols, sub_text = _drop_other_traffic(idx, cols, sub_text, is_hex, is_cont, tcp_ports, report, dropped,
                                                      OTHER_TRAFFIC[fmt])
        cols["ref"] = pa.array(idx + 1, pa.int64())
        if devices:  # the record's own name for its device (an event log's `devname`) first
            cols["device"] = (pc.coalesce(cols["device"], devices.at(idx)) if "device" in cols
                              else devices.at(idx))
        # Without the blanks a line ends in (a screen copy pads every line to the window's
        # width): the views search this text with patterns anchored at its end.
        cols["text"] = pc.utf8_rtrim_whitespace(sub_text).cast(pa.string())
        cols["origin"] = pa.repeat(pa.scalar(fmt, pa.string()), len(idx))
        parts.append(cols)

    del core, patched, records, joined  # the parsed lines' text: not kept while the table is built
    if trailers:
        _left_out(trailers, forms, typed, np.concatenate(several) if several else np.zeros(0, np.int64), report)
    frame = _sniffer_repeats(_assemble(parts, report, dropped, told), report)
    if utc:
        _utc_beside_local(frame, forms, utc, report)
    kept = None
    if is_hex.any() and step == 2:  # a double-spaced paste: its dumps without the blank lines
        kept = np.flatnonzero(form != "blank")
    lines = _unquoted(raw if kept is None else raw.take(pa.array(kept))).to_pylist() if is_hex.any() else []
    frame = hexdump.attach(frame, lines, form if kept is None else form[kept], report, kept)  # decoded like a capture
    state_snapshot.inherit_times(frame)
    _truncation(frame, report, raw, cut_off)
    return frame


# An IKE debug line's time stamp (`diagnose debug console timestamp enable`): microseconds
# in 7.x, seconds in older builds.
DEBUG_STAMP = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{6})? "
# A line that opens as a record does: a whole date and time (a debug's or a sniffer's stamp),
# or a tcpdump packet's stamp and network layer (`09:02:05.890652 eth0  Out IP host`; a time
# of day alone could be any note's).
OPENS_RECORD = rf"{DEBUG_STAMP}|^(?:{tcpdump.RECORD_ANYWHERE})"


# A key or three the terminal echoed on a line of their own between two commands typed at
# the prompt (`FGT # config sys glo` / `s` / `FGT (global) # sh`): typed, not device output.
ECHOED_KEYS = r"^\s*\S{1,3}\s*$"


def _echoed_keys(form: np.ndarray, by_text: Texts, among: np.ndarray) -> None:
    """Name `prompt` the short lines of no form right between two prompt lines, among the
    rows ``among``. (Under a command with no prompt after it, such a line may be its output:
    `up`, a count.)"""
    free = among[(form[among] == None) & (among > 0) & (among < len(form) - 1)]  # noqa: E711
    if not len(free):
        return
    free = free[(form[free - 1] == "prompt") & (form[free + 1] == "prompt")]
    if len(free):
        form[free[by_text.rows(free).matches(ECHOED_KEYS)]] = "prompt"


# An OpenSSH client's host-key fingerprint as clients before 6.8 print it (MD5 without its
# `MD5:`), and the heading of its warning box it stands under; anywhere else sixteen hex
# bytes are no SSH session's (key material, a MAC, someone's notes).
SSH_FINGERPRINT = r"^(?:[0-9a-f]{2}:){15}[0-9a-f]{2}\.?\s*$"
SSH_FINGERPRINT_HEAD = r"^The fingerprint for the \S+ key sent by the remote host is\s*$"


def _ssh_fingerprint(form: np.ndarray, by_text: Texts, among: np.ndarray) -> None:
    """Name `banner` the lines of no form, among the rows ``among``, that hold a bare
    fingerprint right under OpenSSH's `The fingerprint for the RSA key sent by the remote
    host is` (blank lines between, as a double-spaced copy puts them)."""
    free = among[form[among] == None]  # noqa: E711
    if not len(free):
        return
    free = free[by_text.rows(free).matches(SSH_FINGERPRINT)]
    if not len(free):
        return
    # The nearest line above each that is not blank.
    above = np.maximum.accumulate(np.where(form != "blank", np.arange(len(form)), -1))
    head = above[np.maximum(free - 1, 0)]
    free, head = free[(free > 0) & (head >= 0)], head[(free > 0) & (head >= 0)]
    ok = form[head] == "banner"
    if ok.any():
        ok[ok] = by_text.rows(head[ok]).matches(SSH_FINGERPRINT_HEAD)
        form[free[ok]] = "banner"


def _among(form: np.ndarray, names) -> np.ndarray:
    """Which lines of ``form`` (form names, None for none: an object array) are named one of
    ``names``: one set lookup per line, where numpy's isin compares the column with each
    name in turn (2-3 times slower on the few names of a form column)."""
    names = frozenset(names)
    return np.fromiter(map(names.__contains__, form), bool, len(form))


def _line_table(texts: pa.Array, line_text: np.ndarray, lines: _Patched) -> tuple[np.ndarray, pa.Array]:
    """Each of ``lines`` as a number (equal texts, equal numbers) and the texts the numbers
    stand for: ``texts`` (distinct; ``line_text``, each line's among them), then the new
    texts of the lines the column patched."""
    if not len(lines.rows):
        return line_text, texts
    table = pa.concat_arrays([texts.cast(pa.large_string()), lines.values]).dictionary_encode()
    at = table.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    codes = at[line_text]  # (``texts`` are distinct and first: each is its own number)
    codes[lines.rows] = at[len(texts):]
    return codes, table.dictionary


def _duplicates(form: np.ndarray, core: _Patched, report: InputReport, told: pa.Array | None = None,
                lines: tuple[np.ndarray, pa.Array] | None = None) -> None:
    """Name `duplicate` the IKE debug lines that repeat an earlier line word for word, its
    time stamp included, when the stamps went back in time between the two: a paste
    put together from overlapping copies of one scroll-back. Read twice, every message in
    the overlap looked retransmitted (IKE304). A line repeated with no step back in time
    (the same line printed twice in one second or microsecond) is kept. A debug that
    prints no stamp is compared with the terminal client's (``told``, per line), if any.
    ``lines``: each line's text as a number and the texts (:func:`_line_table`), when
    known: the questions are then asked of each distinct text once."""
    rows = np.flatnonzero(form == "ikedebug")
    if len(rows) < 2:
        return
    if lines is None:
        text, table = core.take(rows), None
        mine = np.arange(len(rows))
    else:
        text, table = None, lines[1]
        mine = lines[0][rows]
    asked = _distinct_codes(mine, len(table) if table is not None else len(rows))
    on_table = np.zeros(len(table) if table is not None else len(rows), dtype=bool)
    on_table[asked] = matches(text if table is None else table.take(pa.array(asked)), DEBUG_STAMP)
    stamped = on_table[mine]
    whose = "time stamps"
    if stamped.sum() >= 2:
        rows, mine = rows[stamped], mine[stamped]
        asked = _distinct_codes(mine, len(on_table))
        sub = text.filter(pa.array(stamped)) if table is None else table.take(pa.array(asked))
        # `YYYY-MM-DD HH:MM:SS` and the microseconds (000000 for a stamp in seconds):
        # compared as text, a stamp in seconds is not taken for a step back.
        fraction = pc.if_else(pc.equal(pc.utf8_slice_codeunits(sub, 19, 20), "."),
                              pc.utf8_slice_codeunits(sub, 20, 26), pa.scalar("000000", pa.large_string()))
        stamps = pc.binary_join_element_wise(pc.utf8_slice_codeunits(sub, 0, 19), fraction,
                                             pa.scalar("", pa.large_string()))
        stamps = stamps.to_numpy(zero_copy_only=False).astype("S25")
        if table is None:
            codes = _line_codes(sub)  # the stamp is in the text
        else:  # each line's stamp from its text's; the texts numbered as _line_codes numbers them
            stamps = stamps[np.searchsorted(asked, mine)]
            codes = pd.factorize(mine)[0]
    elif table is not None:  # (read as lines: a debug without stamps is seldom this long)
        _duplicates(form, core, report, told)
        return
    elif told is not None and told.null_count < len(told):
        when = told.take(pa.array(rows))
        ok = pc.is_valid(when).to_numpy(zero_copy_only=False)
        if ok.sum() < 2:
            return
        rows, text = rows[ok], text.filter(pa.array(ok))
        stamps = pc.cast(when.filter(pa.array(ok)), pa.int64()).to_numpy()
        words = _line_codes(text)
        _, codes = np.unique(np.stack([words, stamps], axis=1), axis=0, return_inverse=True)
        codes = codes.ravel()
        whose = "the terminal client's time stamps"
    else:
        _pasted_twice(rows, text, form, report)
        return
    dup = _repeated_after_step_back(stamps, codes)
    stepped = stamps[1:] < stamps[:-1]
    if whose == "time stamps" and stepped.any():
        _authd_repeats(form, core, report, rows[1:][stepped], None if lines is None else lines[0])
    if dup is None:
        return
    lines = rows[dup] + 1
    form[rows[dup]] = "duplicate"
    report.warn(f"{_repeating('IKE debug', lines[0], lines[-1], len(lines))} word for "
                f"word, {whose} included, after the time went back (overlapping pastes?): {_once(len(lines))}")


def _distinct_codes(codes: np.ndarray, size: int) -> np.ndarray:
    """np.unique of ``codes`` (integers in ``[0, size)``) by a mask: no sort of every line."""
    present = np.zeros(size, dtype=bool)
    present[codes] = True
    return np.flatnonzero(present)


def _equal_run(a: np.ndarray, b: np.ndarray) -> int:
    """How many of the first items of ``a`` and ``b`` (of one length) are equal, compared
    in blocks that double in size: a repeat that ends early is not compared to its end."""
    done, size = 0, 64
    while done < len(a):
        eq = a[done:done + size] == b[done:done + size]
        if not eq.all():
            return done + int(np.argmin(eq))
        done, size = done + len(eq), size * 2
    return len(a)


def _authd_repeats(form: np.ndarray, core: _Patched, report: InputReport, steps: np.ndarray,
                   codes: np.ndarray | None = None) -> None:
    """The daemons' lines (fnbamd `2025-01-15 08:48:43 [594] ...`) of a second copy: around
    each line where the debug's stamps went back (``steps``), the lines that repeat the
    first copy word for word at the same distance. Read twice, a login's failure was cited
    at its copy. (fnbamd stamps whole seconds and prints the same line many times a second:
    a line's repeat alone would not tell a copy from the daemon's own.)"""
    authd = form == "authd"
    if not authd.any():
        return
    n = len(form)
    if codes is None:  # (``codes``: each line's text as a number, when known)
        codes = _line_codes(core.whole())
    # Each line's text numbered anew in order of first appearance: the place where the
    # running highest number first reaches a number is that text's first line (a pass of
    # a hash table, not a sort of every line).
    labels = pd.factorize(codes)[0]
    first_at = np.flatnonzero(np.diff(np.maximum.accumulate(labels), prepend=-1) > 0)
    copy = np.zeros(n, dtype=bool)
    for p in steps.tolist():
        q = int(first_at[labels[p]])
        if q >= p:
            continue
        ahead = min(p - q, n - p)
        fwd = _equal_run(codes[p:p + ahead], codes[q:q + ahead])
        behind = min(q, p - q - fwd) if fwd < p - q else 0
        back = _equal_run(codes[p - behind:p][::-1], codes[q - behind:q][::-1])
        copy[p - back:p + fwd] = True
    dup = np.flatnonzero(copy & authd)
    if not len(dup):
        return
    form[dup] = "duplicate"
    report.warn(f"{_repeating('authentication daemon', dup[0] + 1, dup[-1] + 1, len(dup), 'of an earlier copy')} "
                f"word for word, time stamps included (overlapping pastes?): {_once(len(dup))}")


def _repeating(what: str, first: int, last: int, n: int, of: str = "") -> str:
    """The head of a warning of repeated lines, its count agreeing: `3 sniffer lines from
    line 28 to 39 repeat earlier lines`, `1 sniffer line (line 28) repeats an earlier line`;
    ``of`` names what they repeat (`of an earlier copy`)."""
    if n == 1:
        return f"1 {what} line (line {first}) repeats " + (f"the line {of}" if of else "an earlier line")
    return f"{n} {what} lines from line {first} to {last} repeat " + (f"the lines {of}" if of else "earlier lines")


def _once(n: int) -> str:
    """How often repeated lines are read: `read once` (one line), `each read once`."""
    return "read once" if n == 1 else "each read once"


def _repeated_after_step_back(stamps: np.ndarray, codes: np.ndarray) -> np.ndarray | None:
    """Which rows repeat an earlier row (equal ``codes``) with a step back in ``stamps``
    between the two: the second copy of an overlap. None when nothing is repeated so."""
    back = np.zeros(len(stamps), np.int64)
    back[1:] = stamps[1:] < stamps[:-1]
    if not back.any():
        return None
    steps = np.cumsum(back)  # steps back in time up to each row
    _, first = np.unique(codes, return_index=True)
    dup = steps > steps[first[codes]]
    return dup if dup.any() else None


def _sniffer_repeats(frame: pd.DataFrame, report: InputReport) -> pd.DataFrame:
    """The events without the sniffer lines that repeat an earlier one word for word, time
    stamp included, after the stamps went back: two overlapping scroll-backs of one run
    pasted together. Read twice, every packet of the overlap looked sent twice (a
    retransmitted SA_INIT, ESP counted double). A second run of the sniffer restarts its
    relative clock too, but prints other packets: its lines are kept.

    Asked of the parsed table, where `t` is already a number: a paste with no step back
    (nearly every one) costs one comparison of neighbours."""
    sniff = np.flatnonzero((frame["origin"] == "sniffer").to_numpy(dtype=bool, na_value=False))
    t = frame["t"].to_numpy(dtype=float, na_value=np.nan)[sniff]
    sniff, t = sniff[~np.isnan(t)], t[~np.isnan(t)]
    if len(t) < 2 or not (np.diff(t) < 0).any():
        return frame
    text = pa.array(frame["text"].array).take(pa.array(sniff))
    dup = _repeated_after_step_back(t, _line_codes(text))
    if dup is None:
        return frame
    ref = frame["ref"].to_numpy(dtype=np.int64)
    # A line is a duplicate when every event read from it is (records run together on one line).
    lines = np.setdiff1d(ref[sniff[dup]], ref[sniff[~dup]])
    if not len(lines):
        return frame
    report.count("event", -len(lines))
    report.count("duplicate", len(lines))
    report.warn(f"{_repeating('sniffer', lines[0], lines[-1], len(lines))} word for "
                f"word, time stamps included, after the time went back (overlapping pastes?): {_once(len(lines))}")
    return frame[~np.isin(ref, lines)].reset_index(drop=True)


# A line FortiOS prints once per IKE SA (its SPIs are random 64-bit numbers): seen twice
# in a debug with no stamps, the text around it was pasted twice.
ONCE_PER_SA = r"\bestablished IKE SA [0-9a-fA-F]{16}/[0-9a-fA-F]{16}\s*$"
PASTED_TWICE_MIN = 8  # lines a repeated block must run to be taken for a second copy


def _pasted_twice(rows: np.ndarray, text: pa.Array, form: np.ndarray, report: InputReport) -> None:
    """Name `duplicate` the IKE debug lines of a second copy of the same text, in a debug
    that prints no stamps: around each line printed once per IKE SA that appears again,
    the lines that repeat the first copy word for word at the same distance (at least
    PASTED_TWICE_MIN of them). Read twice, the copy's messages looked retransmitted and its
    addresses changed (IKE304, IKE111)."""
    anchor = np.flatnonzero(matches(text, ONCE_PER_SA))
    if len(anchor) < 2:
        return
    codes = _line_codes(text)
    seen: dict[int, int] = {}
    dup = np.zeros(len(rows), bool)
    for a in anchor:
        first = seen.setdefault(int(codes[a]), int(a))
        if first == a or dup[a]:
            continue
        d = a - first
        lo, hi = a, a
        while lo - 1 - d >= 0 and lo - 1 > first and codes[lo - 1] == codes[lo - 1 - d]:
            lo -= 1
        while hi + 1 < len(rows) and codes[hi + 1] == codes[hi + 1 - d]:
            hi += 1
        if hi - lo + 1 >= PASTED_TWICE_MIN:
            dup[lo : hi + 1] = True
    if not dup.any():
        return
    lines = rows[dup] + 1
    form[rows[dup]] = "duplicate"
    report.warn(f"{_repeating('IKE debug', lines[0], lines[-1], len(lines))} word for "
                f"word, with an IKE SA established twice under the same SPIs (the same text pasted twice?): "
                f"{_once(len(lines))}")


def _line_codes(text: pa.Array) -> np.ndarray:
    """One integer per distinct line (equal lines, equal codes), from arrow's hash table:
    no Python string per line (a missing line is -1, as pandas.factorize gives)."""
    return text.dictionary_encode().indices.fill_null(-1).to_numpy(zero_copy_only=False)


# The counts a sniffer or tcpdump prints when it stops: tcpdump's `12 packets captured`
# (the packets it printed) first, then both tools' `12 packets received by filter` and
# `0 packets dropped by kernel` (or `by interface`).
TRAILER = r"^\s*(?P<n>\d+) packets? (?P<what>captured|received by filter|dropped by (?P<by>kernel|interface))\s*$"


def _capture_trailers(banner: np.ndarray, raw: pa.Array, report: InputReport) -> list[tuple[int, str, int]]:
    """The count lines sniffer and tcpdump runs end with, as (line, `captured` | `received`
    | `dropped`, count), the line 0-based. The packets a run says it dropped are told at
    once: the capture is not the whole wire."""
    idx = np.flatnonzero(banner)
    if not len(idx):
        return []
    found = pc.extract_regex(raw.take(pa.array(idx)), TRAILER)
    out = []
    for i, hit in zip(idx.tolist(), found.to_pylist()):
        if hit is None:
            continue
        n = int(hit["n"])
        if hit["by"]:
            report.lose(n, f"line {i + 1}: {counted(n, 'packet')} dropped by {hit['by']}")
        out.append((i, hit["what"].split()[0], n))
    return out


# The sniffer's own line for its filter, and the command that started it (any abbreviation,
# the filter quoted, straight or curly quotes as a web page prints them).
SNIFFER_FILTERS = r"^\s*filters=\[(?P<f>.*)\]\s*$"
SNIFFER_COMMAND = r"\bsni\w*\s+pa\w*\s+\S+\s+['\"“”‘’](?P<f>[^'\"“”‘’]*)['\"“”‘’]"
# A quoted argument (the filter), in any of those quotes.
QUOTED = r"['\"“”‘’][^'\"“”‘’]*['\"“”‘’]"


def _typed(raw: pa.Array, forms: _Forms, sep: np.ndarray) -> pa.Array:
    """The lines, with each command typed at a prompt that a wrap broke (its rest the
    `continuation` lines under it) whole again: the sniffer's command is read for its
    filter and its stamp format (`... 'udp port 500' 6 0` / ` a`)."""
    prompt, cont = forms.mask("prompt"), forms.mask("continuation")
    heads = np.flatnonzero(prompt[:-1] & cont[1:])
    if not len(heads):
        return raw
    texts = []
    for h in heads.tolist():  # (few: the typed commands a wrap broke)
        text, k = _unquoted_line(raw, h), h + 1
        while k < len(raw) and cont[k]:
            piece = _unquoted_line(raw, k)
            text += piece if sep[k] == "" else sep[k] + piece.strip()
            k += 1
        texts.append(text)
    return scatter(raw, heads, pa.array(texts, raw.type))


def _capture_runs(forms: _Forms, raw: pa.Array) -> list[CaptureRun]:
    """The sniffer runs the paste shows, each with its filter (see InputReport.capture_runs).

    A run starts at its echoed command or, without one, at the sniffer's `filters=[...]`
    line; the `filters=` line printed under a command is that run's (the sniffer's own
    reading of it wins). A run ends above the next prompt (the sniffer was stopped and
    something else typed) or the next run: a paste of two runs judges each packet by the
    filter it was captured with, not by the first one's."""
    hits: list[tuple[int, str, bool]] = []  # (line, filter, from the sniffer's own `filters=` line)
    for name, pattern, own in (("banner", SNIFFER_FILTERS, True), ("prompt", SNIFFER_COMMAND, False)):
        idx = np.flatnonzero(forms.mask(name))
        if len(idx):
            found = pc.extract_regex(raw.take(pa.array(idx)), pattern).to_pylist()
            hits += [(int(i), h["f"].strip(), own) for i, h in zip(idx, found) if h is not None]
    prompts = np.flatnonzero(forms.mask("prompt"))
    starts: list[list] = []  # [first line, filter, told by a `filters=` line]
    for i, filt, own in sorted(hits):
        last = starts[-1] if starts else None
        if own and last is not None and not last[2] and not ((prompts > last[0]) & (prompts < i)).any():
            last[1:] = [filt, True]
        else:
            starts.append([i, filt, own])
    runs = []
    for k, (first, filt, _) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(raw)
        later = prompts[prompts > first]
        end = min(end, int(later[0])) if len(later) else end
        runs.append(CaptureRun(first + 1, end, filt))  # (`end` is 0-based exclusive: the 1-based last line)
    return runs


# The command's arguments after the filter (quoted, or one word: `none` is typed bare as
# often as not): verbosity, count, and the stamp format, `a` for absolute UTC (FORMATS.md
# §1.2); `l` prints the FortiGate's local time, as the debug does.
SNIFFER_ARGS = (rf"\bsni\w*\s+pa\w*\s+\S+\s+(?:{QUOTED}|[^\s'\"“”‘’]\S*)"
                r"\s+\d\s+(?P<count>\d+)")
SNIFFER_UTC = SNIFFER_ARGS + r"\s+a(?:\s|$)"


def _utc_commands(forms: _Forms, raw: pa.Array) -> list[int]:
    """The lines (1-based) of the sniffer commands typed at a prompt that stamp in UTC
    (SNIFFER_UTC; ``raw``: the lines with each wrapped typed command whole, _typed)."""
    idx = np.flatnonzero(forms.mask("prompt"))
    if not len(idx):
        return []
    return [int(i) + 1 for i, hit in zip(idx, matches(raw.take(pa.array(idx)), SNIFFER_UTC)) if hit]


def _utc_beside_local(frame: pd.DataFrame, forms: _Forms, utc: list[int], report: InputReport) -> None:
    """The sniffer runs whose commands (on the lines ``utc``, _utc_commands) stamp their
    packets in UTC (`... 4 0 a`) beside the same paste's IKE debug in the FortiGate's local
    time: unless the FortiGate runs on UTC the two clocks are hours apart, and one packet
    told by both reads as two events hours apart. When the messages both tell agree on the
    offset (clockoffset.utc_offset), the run's times are put on the debug's clock (in
    place); otherwise the paste is warned of."""
    if frame.empty:
        return
    idx = np.flatnonzero(forms.mask("prompt"))
    timed = frame["time"].notna().to_numpy()
    origin = frame["origin"].to_numpy()
    if not (timed & (origin == "sniffer")).any():
        return
    if not (timed & (origin == "ikedebug")).any():
        # Another input's debug may tell the same messages (sources.load lines them up).
        report.utc_runs = [run for run in (_run_of(report.capture_runs, line, idx + 1) for line in utc) if run]
        return
    ref = frame["ref"].to_numpy(dtype=np.int64)
    sniffed = origin == "sniffer"
    unshifted, moves = [], []
    # (clockoffset.line_up's loop for another input's debug is alike but not merged: there
    # the offset is sought in both inputs joined, and a zero offset or none agreed is not
    # told, as that debug may be another FortiGate's; here both are. They share the parts.)
    for line in utc:
        run = _run_of(report.capture_runs, line, idx + 1)
        rows = sniffed & (ref >= run.first) & (ref <= run.last) if run is not None else None
        found = clockoffset.utc_offset(frame, rows) if rows is not None and rows.any() else None
        if found is None:
            unshifted.append(line)
            continue
        offset, agreed = found
        if not offset:  # the FortiGate's clock is UTC: the two agree
            report.warn(f"line {line}: the sniffer run prints UTC (`a`), the IKE debug the FortiGate's local time: "
                        f"{agreed} IKE messages told by both show the same time (the FortiGate's time zone is UTC)")
            continue
        moves.append((rows, offset))
        report.warn(clockoffset.shifted(line, run, agreed, offset))
    if moves:
        clockoffset.shift(frame, moves)  # (once: `t` is counted again when every run has moved)
    if unshifted:
        report.warn(f"line {unshifted[0]}: the sniffer run prints UTC (`a`), the IKE debug the FortiGate's local "
                    f"time: unless its time zone is UTC the two clocks are hours apart (one packet told by both reads "
                    f"as two events, and the timeline's order across them is wrong); run the sniffer with `l` for "
                    f"local time")


def _run_of(runs: list[CaptureRun], line: int, prompts: np.ndarray) -> CaptureRun | None:
    """The capture run the command on ``line`` (1-based) started: the first run from it on
    with no other prompt (``prompts``, 1-based) before it begins."""
    for run in runs:
        if run.first >= line:
            return run if not ((prompts > line) & (prompts < run.first)).any() else None
    return None


# The lines that open a capture run, its packets under them, by form: the sniffer's own
# header and tcpdump's, and either command typed at a prompt. (The count lines close one.)
RUN_OPENS: dict[str, str] = {
    "banner": r"^\s*(?:(?P<sniffer>interfaces=\[|filters=\[)|tcpdump: (?:verbose output suppressed|listening on)\b"
              r"|(?:listening on|reading from file) \S+, link-type )",
    "prompt": r"(?P<sniffer>\bsni\w*\s+pa\w*\s)|\btcpdump\b",
}
# A typed command whose packets are not printed here: tcpdump writing them to a file (`-w`),
# either tool's output piped or redirected (`| grep 192.0.2.9`, `> out.txt`). Read with the
# quoted filter taken out (its `||` and `len > 1400` are the filter's).
PRINTS_ELSEWHERE = r"(?:\btcpdump\b|\bsni\w*\s+pa\w*\s).*?(?:[|>]|\s-[A-Za-z]*w)"
# The line forms a packet printed by a run is read as: the sniffer's and tcpdump's header
# lines, and None, a line of no form (which may be one).
RUN_LINES = ("sniffer", "tcpdump", None)


def _left_out(trailers: list[tuple[int, str, int]], forms: _Forms, typed: pa.Array, several: np.ndarray,
              report: InputReport) -> None:
    """Warn of each capture run whose count line (``trailers``, :func:`_capture_trailers`)
    says it printed more packets than the paste holds (the terminal's scroll-back lost the
    first ones, or the middle was cut out): a packet missing from the paste may have been
    printed all the same. The short runs go to ``report.left_out`` (the rules' caveat).

    A run is the lines from the last line that opens one (RUN_OPENS) after the previous
    count lines up to its own; what it printed is tcpdump's `captured`, else the sniffer's
    `received by filter`, or the count its command asked for when that is smaller (the
    sniffer stops there, though its filter may have passed more). A run held in the paste
    with more packet lines than that (two runs with one count, a run pasted twice), with
    no count line (a cut-off paste), or typed to print its packets elsewhere
    (PRINTS_ELSEWHERE) is not judged. ``typed``: the lines, typed commands
    whole (_typed); ``several``: a line for each record beyond the first of a line that
    holds several (a web copy)."""
    if all(what == "dropped" for _, what, _ in trailers):
        return
    opens = _run_opens(forms, typed)
    at = np.array([o[0] for o in opens], np.int64)
    blocks: list[dict[str, tuple[int, int]]] = []  # a run's count lines: what -> (line, count)
    for line, what, n in trailers:
        last = max(v[0] for v in blocks[-1].values()) if blocks else -1
        if (blocks and what not in blocks[-1] and not ((at > last) & (at < line)).any()
                and not sum(forms.count_in(RUN_LINES, last + 1, line))):
            blocks[-1][what] = (line, n)
        else:
            blocks.append({what: (line, n)})
    end = 0  # where the lines after the previous count lines begin
    for block in blocks:
        lines = sorted(v[0] for v in block.values())
        close, prev_end, end = lines[0], end, lines[-1] + 1
        mine = [o for o in opens if prev_end <= o[0] < close]
        start = mine[-1][0] + 1 if mine else prev_end
        sniffed, dumped, unread = forms.count_in(RUN_LINES, start, close)  # (sniffer, tcpdump, no form)
        if "captured" in block:
            tool, (told_at, printed) = "tcpdump", block["captured"]
        elif "received" in block and not (dumped or (mine and mine[-1][1] == "tcpdump")):
            tool, (told_at, printed) = "sniffer", block["received"]
        else:  # (tcpdump's `received by filter` counts packets it had not printed yet when stopped)
            continue
        # The run's header: the opening lines right above its first packet.
        head = [o for o in mine if not sum(forms.count_in(RUN_LINES, o[0], start))]
        if any(o[3] for o in head):  # (its count lines count packets printed to a file or a pipe)
            continue
        told = f"(line {told_at + 1})"
        command = next((o for o in reversed(head) if o[2]), None)
        # A sniffer stopped by hand counts the packets its filter passed, and a few of them
        # may still have been waiting to be printed: "up to"; stopped by its own count, it
        # printed that many.
        stopped = tool == "sniffer"
        if stopped and command is not None and 0 < command[2] <= printed:
            told = (f"(the count its command asked for, line {command[0] + 1}; {printed} received by filter, "
                    f"line {told_at + 1})") if command[2] < printed else told
            printed, stopped = command[2], False
        held = sniffed + dumped + int(np.count_nonzero((several >= start) & (several < close)))
        left = printed - held - unread
        if left <= 0:
            continue
        first = head[0][0] + 1 if head else start + 1
        # (`close` is 0-based: the 1-based line above the count lines)
        where = f"lines {first}-{close}" if first < close else f"line {min(first, close + 1)}"
        holds = f"{held or 'none'} of them" + (f" and {counted(unread, 'line')} not read" if unread else "")
        report.left_out.append((first, close + 1, left))
        # (lines not read may be packets: "at least"; both bounds at once: "about")
        did = "counted" if stopped else "printed"
        how_many = {(True, False): "up to ", (False, True): "at least ", (True, True): "about "}.get((stopped, bool(unread)), "")
        report.warn(f"{where}: the {tool} run {did} {counted(printed, 'packet')} {told}, the paste holds {holds}: "
                    f"{how_many}{counted(left, 'packet was', 'packets were')} left out of the paste"
                    f"{' (a few may not have been printed before it was stopped)' if stopped else ''}, "
                    f"so a packet missing from it may still have crossed the wire")


def _run_opens(forms: _Forms, typed: pa.Array) -> list[tuple[int, str, int, bool]]:
    """The lines that open a capture run (RUN_OPENS), in order, each as (line 0-based,
    `sniffer` | `tcpdump`, the count a typed sniffer command asked for, else 0, whether a
    typed command prints its packets elsewhere: PRINTS_ELSEWHERE)."""
    opens = []
    for name, pattern in RUN_OPENS.items():
        idx = np.flatnonzero(forms.mask(name))
        if not len(idx):
            continue
        lines = typed.take(pa.array(idx))
        found = pc.extract_regex(lines, pattern).to_pylist()
        typed_here = name == "prompt"
        asked = pc.extract_regex(lines, SNIFFER_ARGS).to_pylist() if typed_here else [None] * len(idx)
        away = (pc.match_substring_regex(pc.replace_substring_regex(lines, QUOTED, ""), PRINTS_ELSEWHERE)
                .to_pylist() if typed_here else [False] * len(idx))
        for i, f, a, w in zip(idx.tolist(), found, asked, away):
            if f is None:
                continue
            count = int(a["count"]) if a is not None else 0
            opens.append((i, "sniffer" if f["sniffer"] else "tcpdump", count, bool(w)))
    return sorted(opens)


def _bare_debug(form: np.ndarray, by_text: Texts, rest: np.ndarray, report: InputReport, step: int) -> None:
    """IKE debug messages pasted without their `ike 0:gw:123:` context (a forum poster
    strips it: `comes 198.51.100.7:500->203.0.113.5:500,ifindex=7...`, `no SA proposal
    chosen`) are `ikedebug` records (ikedebug.BARE_BODY), their tunnel and VDOM unknown,
    when their block says whose they are: the run of debug lines and lines of no form
    around them (a blank line or a line of another form ends it) holds a prefixed IKE debug
    line or a message only the daemon words so (ikedebug.BARE_STRONG), and more of its
    lines are the daemon's (prefixed or bare) than not. A paragraph of prose that quotes a
    message or says a phrase the daemon shares with people (`NAT detected on both sides,
    so …`) stays lines of no form; so do the daemon's messages no table names (`responder
    received AUTH msg`). In a double-spaced paste (``step`` 2: a web page's copy puts a
    blank line after every line) a blank line ends no block; it counts for neither side."""
    unknown = rest[form[rest] == None]  # noqa: E711 (an object array)
    if not len(unknown):
        return
    bare = unknown[by_text.rows(unknown).matches(ikedebug.BARE_BODY)]
    if not len(bare):
        return
    strong = bare[by_text.rows(bare).matches(ikedebug.BARE_STRONG)]
    # Blocks: runs of debug lines and lines of no form; any other line ends one.
    debug = form == "ikedebug"
    prefixed = np.flatnonzero(debug)  # (before the bare lines join it below)
    member = debug | (form == None)  # noqa: E711
    block = np.cumsum(~(member | ((form == "blank") if step == 2 else False)))
    anchor = debug.copy()
    anchor[strong] = True
    debug[bare] = True
    size = int(block[-1]) + 1
    held = np.bincount(block, weights=anchor, minlength=size) > 0
    held &= 2 * np.bincount(block, weights=debug, minlength=size) > np.bincount(block, weights=member, minlength=size)
    taken = bare[held[block[bare]]]
    if not len(taken):
        return
    # ikedebug._bare_messages gives each the context of the nearest prefixed line above it
    heirs = np.count_nonzero(taken > prefixed[0]) if len(prefixed) else 0
    form[taken] = "ikedebug"
    one = len(taken) == 1
    context = ("with no tunnel or VDOM known" if not heirs else
               f"in the context (VDOM, tunnel) of the prefixed line above {'it' if one else 'them'}"
               + ("" if heirs == len(taken) else " where there is one, else with none known"))
    report.warn(f"{counted(len(taken), 'IKE debug line')} without the `ike` prefix (line {int(taken[0]) + 1}"
                f"{'' if one else ' first'}) read as the daemon's {'message' if one else 'messages'}, {context}")


def _after_device_output(form: np.ndarray, raw: pa.Array, i: int) -> bool:
    """Is line ``i`` a piece of device output: right after a line of a CUT_AFTER form, or
    after blank lines below one (between two sniffer packets) when it starts as records
    do (a time, `ike`, a dump offset), not as a person's closing note does?"""
    j = i - 1
    while j >= 0 and form[j] == "blank":
        j -= 1
    if j < 0 or form[j] not in CUT_AFTER:
        return False
    return j == i - 1 or re.match(r"\s*(?:\d|ike\b|0x)", raw[i].as_py()) is not None


class _Devices:
    """The device each line was printed by, where the paste's prompts name one: the hostname
    of the last prompt above it (`FGT-2` of `FGT-2 (Secondary) # get ...`). A prompt without
    a hostname (`# diagnose ...`), a shell prompt or the pager leave it as it was."""

    def __init__(self, core: pa.Array, prompt: np.ndarray) -> None:
        self.rows, self.hosts = np.zeros(0, np.int64), np.zeros(0, dtype=object)
        rows = np.flatnonzero(prompt)
        if not len(rows):
            return
        hosts = np.asarray(groups(core.take(pa.array(rows)), PROMPT_HOST)["host"].to_pylist(), dtype=object)
        named = hosts != None  # noqa: E711  (elementwise over the object array)
        self.rows, self.hosts = rows[named], hosts[named]

    def __bool__(self) -> bool:
        return bool(len(self.rows))

    def at(self, idx: np.ndarray) -> pa.Array:
        """The device of lines ``idx`` (null above the first named prompt)."""
        k = np.searchsorted(self.rows, idx, side="right") - 1
        # One arrow take of the few hostnames: a Python string per line costs ~0.1 s on a
        # million-line sniffer run under one prompt.
        return pa.array(self.hosts, pa.string()).take(pa.array(k, pa.int64(), mask=k < 0))


class _Forms:
    """Line forms (names, None for none) as integer codes, for whole-column questions."""

    def __init__(self, form: np.ndarray, sniffer_lines: np.ndarray) -> None:
        """``sniffer_lines``: lines known to be `sniffer` (most of a busy run; no later
        step renames a named line): only the others are read."""
        rest = np.flatnonzero(~sniffer_lines)
        codes, names = pd.factorize(np.append(form[rest], "sniffer"))  # None -> -1
        self.code = np.full(len(form), codes[-1], codes.dtype)
        self.code[rest] = codes[:-1]
        self.names = {name: k for k, name in enumerate(names)}
        self.counts = np.bincount(self.code + 1, minlength=len(names) + 1)

    def _code(self, name: str | None) -> int | None:
        return -1 if name is None else self.names.get(name)

    def count(self, name: str | None) -> int:
        k = self._code(name)
        return 0 if k is None else int(self.counts[k + 1])

    def count_in(self, names: tuple[str | None, ...], start: int, stop: int) -> list[int]:
        """How many of the lines ``start`` to ``stop`` (exclusive, 0-based) are of each form
        of ``names`` (one pass over them)."""
        tally = np.bincount(self.code[start:stop] + 1, minlength=len(self.counts)) if stop > start else self.counts * 0
        return [0 if k is None else int(tally[k + 1]) for k in map(self._code, names)]

    def mask(self, name: str | None) -> np.ndarray:
        k = self._code(name)
        return np.zeros(len(self.code), bool) if k is None else self.code == k


def _has_dump(idx: np.ndarray, is_hex: np.ndarray, is_cont: np.ndarray) -> np.ndarray:
    """Header lines (at ``idx``) followed by a hex dump (after the continuation lines of a
    header the terminal wrapped): their bytes decide what they are."""
    n = len(is_hex)
    # The first line at or after each line that is not a continuation.
    nxt = np.minimum.accumulate(np.where(is_cont, n, np.arange(n))[::-1])[::-1]
    after = nxt[np.minimum(idx + 1, n - 1)]
    return (idx + 1 < n) & (after < n) & is_hex[np.minimum(after, n - 1)]


def _skip_other_traffic(idx: np.ndarray, joined: pa.Array, is_hex: np.ndarray, is_cont: np.ndarray,
                        tcp_ports: tuple[int, ...], report: InputReport, dropped: list[dict], fast: np.ndarray,
                        shape: sniffer.FastShape) -> np.ndarray:
    """The sniffer header lines (``idx``) left for parsing: the ones that are certainly
    other traffic are counted before any field is read (:func:`sniffer.other_traffic`),
    and only the first one's stamp is read, for `t`'s origin. ``fast``: which of them
    may use ``shape`` (sniffer.fast_shape of the lines before joining)."""
    skip = sniffer.other_traffic(joined, tcp_ports, rows=idx, fast=fast, shape=shape)
    if is_hex.any():
        skip &= ~_has_dump(idx, is_hex, is_cont)
    n = int(np.count_nonzero(skip))
    if not n:
        return idx
    report.count("event", -n)
    report.count("other-traffic", n)
    head = groups(joined.take(pa.array(idx[np.flatnonzero(skip)[:1]])), sniffer.HEADER)
    dropped.append({k: head[k].cast(pa.string()) for k in ("ts_abs", "ts_rel")})
    return idx[~skip]


def _drop_other_traffic(idx: np.ndarray, cols: dict, text: pa.Array, is_hex: np.ndarray, is_cont: np.ndarray,
                        tcp_ports: tuple[int, ...], report: InputReport, dropped: list[dict],
                        ipsec_rows: Callable[[dict, tuple[int, ...]], np.ndarray] = sniffer.ipsec_rows,
                        ) -> tuple[np.ndarray, dict, pa.Array]:
    """Keep the packet rows that can be IPsec evidence (``ipsec_rows``, the format's own
    test); count the others as other traffic (their time stamps go to ``dropped``). A
    packet with a hex dump stays: its bytes decide (hexdump.attach), not its header."""
    keep = ipsec_rows(cols, tcp_ports)
    keep |= _has_dump(idx, is_hex, is_cont)
    n = int(np.count_nonzero(~keep))
    if not n:
        return idx, cols, text
    # Lines, not rows: a line of several records (a web copy) is other traffic only when all are.
    gone = n if len(idx) < 2 or (np.diff(idx) > 0).all() else len(np.setdiff1d(idx[~keep], idx[keep]))
    report.count("event", -gone)
    report.count("other-traffic", gone)
    gone = pa.array(~keep)
    dropped.append({k: cols[k].filter(gone).cast(pa.string()) for k in ("ts_abs", "ts_rel")})
    mask = pa.array(keep)
    return idx[keep], {k: v.filter(mask) for k, v in cols.items()}, text.filter(mask)


def _collapsed_sniffer(idx: np.ndarray, fast: np.ndarray, joined: pa.Array, shown: _Patched,
                       tcp_ports: tuple[int, ...], report: InputReport,
                       other_traffic: bool, several: list[np.ndarray]) -> tuple[np.ndarray, dict | None]:
    """Sniffer lines holding several packet records run together (a web copy that lost its
    line breaks): each record is an event of that line, read by the patterns (not the
    byte tests, which prove one record per line). Returns the other lines, and the
    collapsed ones' columns (and, to ``several``, the line of each record beyond a line's
    first). A line stays one line in the books: `other-traffic` only
    when every record on it is. Lines the byte tests proved (``fast``) hold one record
    each: only the others are looked at."""
    rest = idx[~fast[idx]]
    if not len(rest):
        return idx, None
    lines = rest[_run_together(joined.take(pa.array(rest)), sniffer.RECORD_ANYWHERE, b" -> ")]
    if not len(lines):
        return idx, None
    owner, core, text = _replace_by_pieces(lines, joined.take(pa.array(lines)), shown.take(lines),
                                           np.arange(len(lines)), re.compile(sniffer.RECORD_ANYWHERE),
                                           head_is_record=True)
    report.warn(f"{counted(len(lines), 'sniffer line holds', 'sniffer lines hold')} several packet records run together (a web copy?), "
                f"{len(owner)} records in all, the first on line {lines[0] + 1}: each is read as an event of its line")
    several.append(owner[1:][np.diff(owner) == 0])  # (before other traffic goes: each record was printed)
    cols = sniffer.parse(core)
    for note in cols.pop("warnings", ()):
        report.warn(note)
    if not other_traffic:
        keep = sniffer.ipsec_rows(cols, tcp_ports)
        gone = len(lines) - len(np.unique(owner[keep]))  # lines with no record kept
        report.count("event", -gone)
        report.count("other-traffic", gone)
        mask = pa.array(keep)
        owner, text, cols = owner[keep], text.filter(mask), {k: v.filter(mask) for k, v in cols.items()}
    cols["ref"] = pa.array(owner + 1, pa.int64())
    cols["text"] = pc.utf8_rtrim_whitespace(text).cast(pa.string())
    cols["origin"] = pa.repeat(pa.scalar("sniffer", pa.string()), len(owner))
    return np.setdiff1d(idx, lines, assume_unique=True), cols


def _run_together(sub: pa.Array, anywhere: str, hint: bytes | None = None) -> np.ndarray:
    """The rows of ``sub`` where ``anywhere`` (a record's start) matches twice or more:
    records a web copy ran together. With ``hint``, only the rows holding those bytes
    twice are matched (most lines hold one record)."""
    rows = None
    if hint is not None:
        rows = np.flatnonzero(spans.occurrences(spans.Bytes(sub), hint) >= 2)
        if not len(rows):
            return rows
        sub = sub.take(pa.array(rows))
    many = np.flatnonzero(pc.count_substring_regex(sub, anywhere).to_numpy(zero_copy_only=False) >= 2)
    return many if rows is None else rows[many]


def _split_tcpdump_records(idx: np.ndarray, sub: pa.Array, text: pa.Array,
                           report: InputReport) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """Several stamped tcpdump packet lines run together on one line (a web copy) become
    several events of that line; they are parsed with the others, so the stamp form is
    decided over all of them."""
    multi = _run_together(sub, tcpdump.RECORD_ANYWHERE, b"IP")
    if not len(multi):
        return idx, sub, text
    out = _replace_by_pieces(idx, sub, text, multi, re.compile(tcpdump.RECORD_ANYWHERE), head_is_record=True)
    report.warn(f"{counted(len(multi), 'tcpdump line holds', 'tcpdump lines hold')} several packet lines run together (a web copy?), "
                f"{len(out[0]) - len(idx) + len(multi)} in all, the first on line {idx[multi[0]] + 1}: "
                f"each is read as an event of its line")
    return out


def _split_log_records(idx: np.ndarray, sub: pa.Array, text: pa.Array) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """Several event-log records collapsed onto one line become several events of that line."""
    multi = _run_together(sub, eventlog.RECORD_ANYWHERE)
    if not len(multi):
        return idx, sub, text
    # The line is a record from its first character (a syslog header or `Message meets Alert
    # condition` before `date=` is the first record's): the first cut is at 0.
    return _replace_by_pieces(idx, sub, text, multi, re.compile(eventlog.RECORD_ANYWHERE), head_is_record=True)


def _split_collapsed(idx: np.ndarray, sub: pa.Array, text: pa.Array) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """Several debug records collapsed onto one line (web copies) become several events with
    the same line number; the line is still counted once. (Records a debug repeats are
    counted once per text: ikedebug.repeated.)"""
    once = ikedebug.repeated(sub)
    counts = _debug_records(sub) if once is None else _debug_records(once[0])[once[1]]
    multi = np.flatnonzero(counts > 1)
    if not len(multi):
        return idx, sub, text
    return _replace_by_pieces(idx, sub, text, multi, re.compile(ikedebug.RECORD_ANYWHERE))


def _debug_records(sub: pa.Array) -> np.ndarray:
    """How many debug records each line holds (0 where it is not asked: one at most)."""
    anywhere = ikedebug.RECORD_ANYWHERE
    at_start = matches(sub, "^" + anywhere)
    # Records are counted only on the lines that may hold two: `ike ` twice, or once in a
    # line that does not start with a record (every record has its own `ike `).
    words = spans.occurrences(spans.Bytes(sub), b"ike ")
    maybe = np.flatnonzero((words >= 2) | (~at_start & (words >= 1)))
    counts = np.zeros(len(sub), np.int64)
    counts[maybe] = pc.count_substring_regex(sub.take(pa.array(maybe)), anywhere).to_numpy(zero_copy_only=False)
    # `ike Negotiate ISAKMP SA Error: ike 0:...: no SA proposal chosen`: one full record
    # after a daemon-level one that has no context of its own.
    return counts + (~at_start & (counts > 0))


def _replace_by_pieces(idx: np.ndarray, sub: pa.Array, text: pa.Array, multi: np.ndarray,
                       start: re.Pattern, head_is_record: bool = False) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """The lines ``multi`` of ``sub`` cut before each match of ``start`` (but the first
    character; with ``head_is_record``, but the first match), each piece an event of its line."""
    pieces: list[list[str]] = []
    for line in sub.take(pa.array(multi)).to_pylist():  # only the collapsed lines
        cuts = [m.start() for m in start.finditer(line)][1 if head_is_record else 0:]
        # A timestamped record's `ike` is found after its timestamp: cut before the stamp.
        bounds = [0] + [b for b in cuts if b > 0] + [len(line)]
        pieces.append([p for p in (line[a:b].strip() for a, b in zip(bounds, bounds[1:])) if p])
    # Every other line stays as it is; a collapsed one is replaced by its pieces, in place.
    return spread(idx, sub, text, multi, pieces)


def _quoted_datagrams(form: np.ndarray, core: _Patched, raw: pa.Array, step: int, among: np.ndarray) -> np.ndarray:
    """Un-name the `IP (tos ...)` lines that open the datagram a `tcpdump -v` ICMP error quotes
    (tcpdump.QUOTED_HEAD, indented, right under the ICMP line: tcpdump.ICMP_ERROR), so that
    the continuation walk joins them and the summary under them to the ICMP packet, as it
    joins the `-v` detail lines under any packet (counted `continuation`). Named by their
    shape, they were packets of their own: a NAT keepalive, ESP or IKE message that drew an
    ICMP error was counted twice, once sent and once quoted (and an IKE request re-sent
    looked sent twice as often). Returns those lines. ``among``: the lines the sniffer shape
    did not name (a tcpdump line is among them)."""
    if not (form[among] == "tcpdump").any():
        return np.zeros(0, np.int64)
    # (With `-e` the quote's first line, `(tos ...)` without `IP`, is of no form already: it
    # is asked too, so that the evidence shows the quote with and without `-e` alike.)
    open_ = (form == "tcpdump") | (form == None)  # noqa: E711
    # (``step``: 2 in a double-spaced paste, where the line above is the one before the blank)
    heads = np.flatnonzero(open_[step:] & open_[:-step]) + step
    heads = heads[_starts_blank(raw)[heads]]  # (a quote is indented: most packet lines go by their first byte)
    if len(heads):
        heads = heads[matches(raw.take(pa.array(heads)), tcpdump.QUOTED_HEAD)]
    if not len(heads):
        return heads
    # The line above is the ICMP line itself: tcpdump prints the quote right after the ICMP
    # summary (which `-v` puts under the outer `IP (tos ...)` line).
    heads = heads[matches(core.take(heads - step), tcpdump.ICMP_ERROR)]
    form[heads] = None
    return heads


def _quote_lines(heads: np.ndarray, sep: np.ndarray, step: int) -> np.ndarray:
    """The lines the evidence shows of the quoted datagrams that open at ``heads``
    (_quoted_datagrams): each head and the line under it, its addresses and summary, when
    it was joined on. (The payload detail lines under that, a quoted IKE message's `(sa: ...`
    with `-v`, stay out of the text, as a packet's own do.)"""
    quoted = np.zeros(len(sep), dtype=bool)
    quoted[heads] = True
    under = heads[heads + step < len(sep)] + step
    quoted[under[sep[under] != None]] = True  # noqa: E711
    return quoted


def _continuations(form: np.ndarray, core: _Patched, raw: pa.Array, by_text: Texts, step: int,
                   among: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Name the lines that continue the record above them, and say how each joins it.

    A line of no known form continues the record (or continuation) above it when:
    * it is hex and the record above is an `in/out/enc/dec HEX` dump (joined as is);
    * the line above was cut by the terminal: it is as long as the paste's terminal width
      (the line length at which records are repeatedly followed by such lines; with no
      repeated width, any record line of at least WRAP_MIN characters), and is not a
      `debug flow` line that closed its quoted message, and the line has no less margin
      than the record (a page indents a block's lines alike; joined as is);
    * the record above opened a quoted value it did not close (`data = 'VER=1`), or opened
      a dump block (samld `func [N]:` with nothing after it, `SP Login Response Msg Body`):
      joined with a newline, up to the next blank line or line of a known form;
    * it is indented under a tcpdump packet: with `-v`, the addresses and summary under an
      IPv4 `IP (tos ...)` line (joined as is), then the lines of payload detail (joined
      with a newline);
    * it starts with a `key=` under an event-log record (a copy that broke the record at
      each field: `log_id=0101037124 ` / `type=event ` / `rem_ip=xxx`; joined with a blank);
    * it is the rest of an IKE debug record a web copy broke at a blank (ikedebug.RESTS:
      the addresses and fields under `sent IKE msg (AUTH):`, the `id=` under `IKEv2
      exchange=AUTH_RESPONSE`, the digits of a message id cut short; flow.RESTS: a trace
      record's quoted message under its `msg=`), or hex under a dump whose bytes it continues; such a piece may also come after up to BLANKS_WITHIN blank
      lines (a copy that put one at every break): the blanks stay `blank` lines of the
      record (``bridged``).

    A snapshot block's lines are not asked: the block's walk (snapshot.claim, which named
    them and their `continuation` pieces) already took every line that belongs to it, so
    the line after one (a PDF page footer) is not a wrap of it.

    Returns the join separator per line (None for lines that are not continuations), and
    which blank lines are bridged. ``by_text``: the lines of no form by their distinct texts
    (each is tested once). ``among``: the lines the sniffer shape did not name
    (only they may be of no form).
    """
    n = len(form)
    sep = np.full(n, None, dtype=object)
    bridged = np.zeros(n, dtype=bool)
    # A copy's blank line after every line: the blank above a piece snapshot.claim joined on
    # is the record's, as the walk below makes it for the pieces it joins.
    if step == 2:
        above = np.flatnonzero(form == "continuation") - 1
        bridged[above[(above >= 0) & (form[np.maximum(above, 0)] == "blank")]] = True
    unknown = among[form[among] == None]  # noqa: E711
    if not len(unknown):
        return sep, bridged
    claimed = np.zeros(n, dtype=bool)  # (only the claims named continuations yet)
    claimed[among] = _among(form[among], ("snapshot", "config", "continuation"))
    lens = pc.utf8_length(raw).to_numpy(zero_copy_only=False)
    # Taken once: the tests below read these lines.
    unknown_text = by_text.rows(unknown)
    is_hex = np.zeros(n, dtype=bool)
    is_hex[unknown] = unknown_text.matches(HEX_CONTINUATION)
    rests = _rests(form, raw, unknown, unknown_text, is_hex)
    # (In a double-spaced paste, the line above a piece is the one before the blank.)
    # A chain of continuations starts at a record line followed by a line of no known
    # form (or by blank lines and the rest of the record): only those records are asked
    # how they end.
    heads = unknown[unknown >= step] - step
    if rests:  # (a mask, not np.union1d: that sorts every head)
        more = np.zeros(n, dtype=bool)
        more[heads] = True
        more[[j for j, _ in rests.values()]] = True
        heads = np.flatnonzero(more)
    heads = heads[_among(form[heads], (*RECORD_FORMATS, "prompt")) & ~claimed[heads]]
    head_text = core.take(heads)
    hex_record = np.zeros(n, dtype=bool)
    hex_record[heads] = matches(head_text, ikedebug.HEX_RECORD)
    hex_open = np.zeros(n, dtype=bool)
    bare = np.flatnonzero(~hex_record[heads])  # (most heads followed by hex are dumps with bytes)
    hex_open[heads[bare]] = matches(head_text.take(pa.array(bare)), ikedebug.HEX_OPEN)
    # A dump's first bytes under its word: joined with a blank unless the word's line ends in
    # one. The separator of a piece joined as is onto each line: that blank, else none.
    opened = np.flatnonzero(hex_open)
    gap = np.full(n, "", dtype=object)
    gap[opened[~_ends_blank(raw, opened)]] = " "
    opens_block = np.zeros(n, dtype=bool)
    opens_block[heads] = matches(head_text, ikedebug.BLOCK_OPEN)
    open_quote = np.zeros(n, dtype=bool)
    open_quote[heads] = matches(head_text, OPEN_QUOTE)
    # A quote may open in the wrapped piece of a record (`... FCC request len =` / ` 205,
    # data = 'VER=1`): the dump block then follows that piece.
    opens_in_piece = np.zeros(n, dtype=bool)
    opens_in_piece[unknown] = unknown_text.matches(OPEN_QUOTE)
    # A soft break is its own proof (a blank at the end, the next word too long for the line):
    # neither the margin test nor the event log's field test below is asked of it.
    soft = np.zeros(n, dtype=bool)
    soft[_soft_breaks(raw, lens, unknown, unknown_text)] = True
    # A mail client that drops the blank it broke at: only breaks whose piece can only be
    # a record's rest, joined with the blank they lost.
    dropped = np.zeros(n, dtype=bool)
    dropped[_dropped_blank_breaks(raw, lens, unknown, unknown_text, soft)] = True
    soft |= dropped
    # A paste wrapped twice (a terminal's cut, then a mail client's word wrap): a terminal
    # line is the run of pieces the mail broke it into, as long as they are together.
    units, unit_head = _terminal_lines(lens + dropped, soft)
    widths = _wrap_widths(form, units, unknown, claimed, step, unit_head)
    # Cut at the paste's terminal width (none when no width repeats): a packet's indented
    # line cut there goes on in the next line, which a cut at a blank indents too.
    at_width = np.isin(units, list(widths)) if widths else np.zeros(n, dtype=bool)
    cut = at_width.copy()
    wrapped = at_width if widths else lens >= WRAP_MIN  # (changed below: cut is a copy already)
    if not widths:  # a command typed at the prompt is cut only at a width the records show
        wrapped[heads[form[heads] == "prompt"]] = False
    # An event-log record is long by nature: with no terminal width to go by, only a piece
    # that holds a `key=value` of the record is its wrapped rest, not the prose after it.
    guessed = np.zeros(n, dtype=bool)
    if not widths:
        guessed[heads[form[heads] == "eventlog"]] = True
    has_field = np.zeros(n, dtype=bool)
    if guessed.any():  # (only then is a piece asked whether it holds fields)
        has_field[unknown] = unknown_text.matches(LOG_FIELDS)
    # A trace line that closed its quoted message ended where the device ended it.
    traces = heads[form[heads] == "flow"]
    wrapped[traces[matches(core.take(traces), flow.COMPLETE)]] = False

    packets = heads[form[heads] == "tcpdump"]
    in_tcpdump = np.zeros(n, dtype=bool)
    in_tcpdump[packets] = True
    v_head = np.zeros(n, dtype=bool)
    packet_text = core.take(packets)  # (taken once: both tests below read these lines)
    v_head[packets] = matches(packet_text, tcpdump.V_LINE)
    # A `-v` first line a wrap broke inside its parentheses: the parentheses it leaves open,
    # closed by the line(s) under it (tcpdump.V_OPEN).
    broken = packets[matches(packet_text, tcpdump.V_OPEN)] if len(packets) else packets
    del packet_text
    v_open = {j: _unquoted_line(raw, j) for j in broken.tolist()}
    v_left = {j: text.count("(") - text.count(")") for j, text in v_open.items()}
    indented = np.zeros(n, dtype=bool)
    starts_blank = _starts_blank(raw)
    # (Under a reply's quote markers: `>     10.3.2.150.59641 > ...` is indented under its packet.)
    indented[unknown] = starts_blank[unknown]
    raw_bytes = spans.Bytes(raw)
    quoted = unknown[spans.byte_is(raw_bytes, raw_bytes.start[unknown], raw_bytes.end[unknown], ord(">"))]
    if len(quoted):  # (only a quoted line is copied to be read without its markers)
        indented[quoted] = _starts_blank(_unquoted(raw.take(pa.array(quoted))))
    margin = _margins(raw, unknown, starts_blank, step)
    field_line = np.zeros(n, dtype=bool)
    field_line[unknown] = unknown_text.matches(eventlog.FIELD_LINE)
    # A line that opens as a record does (OPENS_RECORD) is a record of its own that no form
    # read (cut off mid-line: a scroll-back's or the paste's end), not a wrapped piece:
    # joined on, it became the record's tail (`udp 1` read `udp 12026`; a tcpdump packet cut
    # after its source host, the long packet line above's `other` tail).
    dated = np.zeros(n, dtype=bool)
    dated[unknown] = unknown_text.matches(OPENS_RECORD)
    del unknown_text
    in_log = form == "eventlog"
    wrapped &= ~np.roll(dated, -step)
    wraps = wrapped | soft
    in_hex, in_block, quotes, log_guess = hex_record | hex_open, opens_block | open_quote, open_quote, guessed
    # A piece takes its record's margin (below): the margins are carried down the chains.
    edge = margin
    # The pieces the walk below would join first thing under their record, with no state
    # but the record's: joined here as whole columns (most pieces), the walk takes the others.
    walked, lined = (np.zeros(len(unknown), bool),) * 2 if len(broken) else _plain_runs(
        form, unknown, claimed, is_hex, in_hex, in_tcpdump, indented, in_log, wraps, soft, margin, has_field, guessed,
        in_block, open_quote, opens_in_piece, step)
    if walked.any():
        runs, block = unknown[walked], lined[walked]
        chained = np.zeros(n, dtype=bool)
        chained[runs] = True
        head = np.maximum.accumulate(np.where(chained, -1, np.arange(n)))[runs]  # the record above each run
        first = runs - 1 == head
        dump = in_hex[head]
        # (a wrapped piece under a break that dropped its blank: joined with that blank)
        sep[runs] = np.where(block, "\n", np.where(~dump & dropped[runs - 1], " ", np.where(first, gap[head], "")))
        form[runs] = "continuation"
        edge, in_hex = edge.copy(), in_hex.copy()
        edge[runs] = edge[head]
        in_hex[runs] = dump  # (a dump's hex; a wrapped piece of a record that is no dump: not in one)
        # A wrapped piece carries its record's guess and block on, and opens a block with a quote.
        wrap, wrap_head = runs[~dump], head[~dump]
        log_guess, quotes, in_block = log_guess.copy(), quotes.copy(), in_block.copy()
        log_guess[wrap] = log_guess[wrap_head]
        quotes[wrap] |= opens_in_piece[wrap]
        quoted = np.cumsum(opens_in_piece[wrap])  # quotes opened so far down the chain
        opened = first[~dump]
        before = (quoted - opens_in_piece[wrap])[opened][np.cumsum(opened) - 1]
        in_block[wrap] = in_block[wrap_head] | (quoted > before)  # (a block's line: in it, no quote opened)
        # (a block's line keeps its own guess and quote: none, as a line of no form starts)
        log_guess[runs[block]] = guessed[runs[block]]
        quotes[runs[block]] = open_quote[runs[block]]
        unknown = unknown[~walked]

    # State carried down a record's continuation lines, read as Python lists: the walk
    # goes line by line (each line's state is that of the line above). Only the lines the
    # walk reads are listed (the lines it asks, those above them, the rests' records):
    # ``at`` gives each line's place among them.
    owners = np.array([j for j, _ in rests.values()], np.int64)
    read = np.zeros(n, dtype=bool)
    read[unknown] = True
    read[unknown[unknown >= 1] - 1] = True
    if step == 2:
        read[unknown[unknown >= 2] - 2] = True
    read[owners] = True
    lines = np.flatnonzero(read)
    at = np.cumsum(read) - 1

    def listed(values: np.ndarray) -> list:
        return values[lines].tolist()

    fields, in_log = listed(field_line), listed(in_log)
    log_guess, field_piece = listed(log_guess), listed(has_field)
    in_hex, in_block = listed(in_hex), listed(in_block)
    in_packet, v_heads, indents = listed(in_tcpdump), listed(v_head), listed(indented)
    hexes, wraps, quotes = listed(is_hex), listed(wraps), listed(quotes)
    softs, drops, cut = listed(soft), listed(dropped), listed(cut)
    piece_quotes = listed(opens_in_piece)
    # A document indents every line of a code block alike, a terminal's wrapped rest of a
    # line included: a line with less margin than the record above it (a chain's record, for
    # the pieces after the first, which may start with the blank the wrap fell on) is the
    # page's prose after the block (`  • On the cloud FortiGate-VM, run ...` under a packet
    # line indented 4), not the record's rest.
    edge = listed(edge)
    joins = set(RECORD_FORMATS) | {"continuation", "prompt"}  # (a typed command's rest: only a wrap's)
    names, taken, gaps = listed(form), listed(claimed), listed(gap)
    rest_at = {i: int(at[j]) for i, (j, _) in rests.items()}
    conts, seps = [], []  # written to the arrays at once
    # (each line, its place, and the places of the lines one and two above it; -1 for none)
    mine = at[unknown]
    above = np.where(unknown >= 1, at[np.maximum(unknown - 1, 0)], -1)
    above2 = np.where(unknown >= 2, at[np.maximum(unknown - 2, 0)], -1) if step == 2 else above
    for i, a, b, b2 in zip(unknown.tolist(), mine.tolist(), above.tolist(), above2.tolist()):  # few: lines of no known form
        j = i - 1
        spaced = step == 2 and j > 0 and names[b] == "blank"
        if spaced:
            j, b = j - 1, b2
        if j < 0 or names[b] not in joins or taken[b]:
            # After blank lines: only the rest of a record (found by shape) or a dump's hex.
            if i not in rests:
                continue
            j, rest = rests[i]
            b = rest_at[i]
            if names[b] not in joins or taken[b] or not (rest is not None or (hexes[a] and in_hex[b])):
                continue
            seps.append(gaps[b] if rest is None else rest)
            in_hex[a] = rest is None
            bridged[j + 1:i] = True
        elif v_left.get(j, 0) > 0:  # the rest of a broken `-v` first line, up to its `)`
            piece = _unquoted_line(raw, i)  # (as printed: a blank at either side of the break counts)
            seps.append(tcpdump.v_rest_separator(v_open[j], piece))
            v_open[i], v_left[i] = piece, v_left[j] + piece.count("(") - piece.count(")")
            in_packet[a], v_heads[a] = True, v_left[i] <= 0
        elif in_packet[b] and indents[a]:
            seps.append("" if v_heads[b] or cut[b] else "\n")
            in_packet[a] = True
        elif hexes[a] and in_hex[b]:
            seps.append(gaps[b])
            in_hex[a] = True
        elif fields[a] and in_log[b]:
            seps.append(" ")
            in_log[a] = True
            log_guess[a] = log_guess[b]
        elif wraps[b] and (softs[b] or edge[a] >= edge[b] and (field_piece[a] or not log_guess[b])):
            seps.append(" " if drops[b] else gaps[b])
            log_guess[a] = log_guess[b]  # (the record's next piece is asked the same)
            in_hex[a] = in_hex[b] and hexes[a]
            in_block[a] = in_block[b] or piece_quotes[a]
            quotes[a] = quotes[a] or piece_quotes[a]
        elif in_block[b]:
            seps.append("\n")
            in_block[a] = not (quotes[b] and "'" in core.line(i))
        elif i in rests and rests[i][0] == j and rests[i][1] is not None:
            seps.append(rests[i][1])
        else:
            continue
        conts.append(i)
        names[a] = "continuation"
        edge[a] = edge[b]
        if spaced:
            bridged[j + 1] = True
    form[conts] = "continuation"
    sep[conts] = seps
    return sep, bridged


def _plain_runs(form: np.ndarray, unknown: np.ndarray, claimed: np.ndarray, is_hex: np.ndarray, in_hex: np.ndarray,
                in_packet: np.ndarray, indented: np.ndarray, in_log: np.ndarray, wraps: np.ndarray, soft: np.ndarray,
                margin: np.ndarray, field_piece: np.ndarray, log_guess: np.ndarray, in_block: np.ndarray,
                open_quote: np.ndarray, piece_quotes: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Which of the lines ``unknown`` (sorted: the lines of no known form) the walk of
    :func:`_continuations` joins with nothing to ask but the record above their run (of
    consecutive such lines): in a run under a dump's record (``in_hex``), its hex lines
    up to the first that is not; under another record, its pieces up to the first that
    does not go on a line cut at the wrap (the walk's wrap test, the record's margin and
    guess carried down), or, under a record that opened a block (``in_block``) with no
    quote open (``open_quote``, ``piece_quotes``: none yet), every line, a line of the
    block where it is no wrapped piece. Such a line's state is the record's, whole column
    at once; the walk takes the others (a tcpdump packet's or an event log's pieces, which
    carry more; a block's lines after a quote). None in a double-spaced paste, whose
    pieces sit between blank lines. The arrays are per line, as the walk starts. Returns
    those lines, and which of them are a block's lines (joined with a newline)."""
    if step != 1 or not len(unknown):
        return np.zeros(len(unknown), bool), np.zeros(len(unknown), bool)
    opens = np.ones(len(unknown), bool)  # where a run of consecutive such lines opens
    opens[1:] = np.diff(unknown) != 1
    run = np.cumsum(opens) - 1
    first = unknown[opens]
    head = np.maximum(first - 1, 0)
    # (the walk's questions of the line above, in its order: a record, a typed command or a
    # piece not claimed by a block, not a tcpdump packet whose indented lines go on; a dump,
    # or a record that is no event log, whose fields go on)
    ok = (first >= 1) & _among(form[head], (*RECORD_FORMATS, "continuation", "prompt")) & ~claimed[head]
    ok &= ~(in_packet[head] & indented[first]) & (in_hex[head] | ~in_log[head])
    above, root = np.maximum(unknown - 1, 0), head[run]
    wrap = wraps[above] & (soft[above] | (margin[unknown] >= margin[root]) & (field_piece[unknown] | ~log_guess[root]))
    # (no quote opened in the run up to each line, the line included)
    quoted = np.cumsum(piece_quotes[unknown])
    unquoted = quoted == (quoted - piece_quotes[unknown])[opens][run]
    block = ~in_hex[root] & in_block[root] & ~open_quote[root] & unquoted & ~wrap
    joined = np.where(in_hex[root], is_hex[unknown], wrap | block)
    # A line is joined while no line of its run before it failed.
    failed = np.cumsum(~joined)
    walked = ok[run] & (failed == (failed - ~joined)[opens][run])
    return walked, walked & block


# How many blank lines a web copy may have put between a record and its rest.
BLANKS_WITHIN = 2


# The ASCII bytes arrow's utf8_rtrim_whitespace takes for whitespace.
ASCII_BLANKS = np.zeros(256, dtype=bool)
ASCII_BLANKS[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True


def _ends_blank(lines: pa.Array, rows: np.ndarray | None = None) -> np.ndarray:
    """Whether each line (of ``rows``, default all) ends in a blank, as utf8_rtrim_whitespace
    would trim it: told by its last byte (no copy of the lines, which may be long wrapped
    hex), and only a line ending in a non-ASCII character (Unicode whitespace, `\u3000`?)
    asked of arrow."""
    b = spans.Bytes(lines)
    start, end = (b.start, b.end) if rows is None else (b.start[rows], b.end[rows])
    some = end > start
    last = (b.words(end - 1) & np.uint64(0xFF)).astype(np.uint8)
    out = some & ASCII_BLANKS[last]
    wide = np.flatnonzero(some & (last >= 0x80))
    if len(wide):
        picked = lines.take(pa.array(wide if rows is None else rows[wide], pa.int64()))
        out[wide] = pc.utf8_length(picked).to_numpy(zero_copy_only=False) > pc.utf8_length(
            pc.utf8_rtrim_whitespace(picked)).to_numpy(zero_copy_only=False)
    return out


def _rests(form: np.ndarray, raw: pa.Array, unknown: np.ndarray, unknown_text: Texts,
           is_hex: np.ndarray) -> dict[int, tuple[int, str | None]]:
    """Lines of no known form that may be the rest of the record above them, right below
    it or after up to BLANKS_WITHIN blank lines: per such line, the line it would join
    (the first above it that is not blank) and the separator of the ikedebug.RESTS (or
    flow.RESTS) row whose shapes the two lines have ("" where that line ends in a blank already), or
    None for hex after blank lines (joined if that line is in a dump).

    Only lines after a blank line, or of a message id's last digits (ikedebug.RESTS' last
    row), are asked: most lines of no known form (wrapped hex, dumps) are neither."""
    later = unknown > 0
    after_blank = unknown[later][form[unknown[later] - 1] == "blank"]
    size = unknown_text.lengths()
    short = np.flatnonzero(later & (size > 0) & (size < ikedebug.MSG_ID_DIGITS))
    short = unknown[short[matches(unknown_text.take(short), ikedebug.RESTS[-1][1])]]
    cand = np.union1d(after_blank, short)
    if not len(cand):
        return {}
    # The line each would join: blank lines above it walked past (a few; the cheap case first).
    owner = cand - 1
    for _ in range(BLANKS_WITHIN):
        up = (owner > 0) & (form[owner] == "blank")
        owner = np.where(up, owner - 1, owner)
    keep = form[owner] != "blank"
    cand, owner = cand[keep], owner[keep]
    if not len(cand):  # (more blank lines above each than a copy puts at a break)
        return {}
    # (Not taken from ``core``: a take from the patched column costs as much as the column.
    # The owners' own lines cleaned as ``core`` is; their glued prompts, if any, are not
    # at the end the patterns read.)
    piece_text = unknown_text.take(np.searchsorted(unknown, cand))
    owner_raw = raw.take(pa.array(owner))
    owner_text = _core(owner_raw)
    ends_blank = dict(zip(owner.tolist(), _ends_blank(owner_raw).tolist()))
    found: dict[int, tuple[int, str | None]] = {}
    hexed = is_hex[cand] & (cand - 1 != owner)  # a dump's hex after blank lines (right below: the walk's own test)
    for i, j in zip(cand[hexed].tolist(), owner[hexed].tolist()):
        found[i] = (j, None)
    for end, start, joiner in (*ikedebug.RESTS, *flow.RESTS):
        hit = matches(owner_text, end) & matches(piece_text, start)
        if end == ikedebug.RESTS[-1][0] and hit.any():  # a message id's two parts make its digits
            rows = np.flatnonzero(hit)
            cut = pc.utf8_length(pc.extract_regex(owner_text.take(pa.array(rows)), r":(?P<d>[0-9A-Fa-f]+)\s*$")
                                 .field("d")).to_numpy(zero_copy_only=False)
            rest = pc.utf8_length(pc.utf8_trim_whitespace(piece_text.take(pa.array(rows)))).to_numpy(zero_copy_only=False)
            hit[rows[cut + rest != ikedebug.MSG_ID_DIGITS]] = False
        for i, j in zip(cand[hit].tolist(), owner[hit].tolist()):
            found.setdefault(i, (j, "" if joiner == " " and ends_blank[j] else joiner))
    return found


# A paste is double-spaced (a web copy that put a blank line after every line) when nine
# lines of text in ten are followed by a blank line (the paste's own blank lines become
# runs of three).
DOUBLE_SPACED = 0.9


def _line_step(form: np.ndarray) -> int:
    """2 for a double-spaced paste (DOUBLE_SPACED), else 1: how far above a line its line
    above is."""
    n = len(form)
    if n < 6:
        return 1
    blank = form == "blank"
    text = np.flatnonzero(~blank[:-1])  # (lines of text but the last line)
    if len(text) < 3:
        return 1
    return 2 if blank[text + 1].sum() >= DOUBLE_SPACED * len(text) else 1


def _starts_blank(raw: pa.Array) -> np.ndarray:
    """Which lines start with a blank (a space or a tab), read from their first bytes."""
    b = spans.Bytes(raw)
    first = b.words(b.start) & np.uint64(0xFF)
    return (b.end > b.start) & ((first == ord(" ")) | (first == ord("\t")))


def _margins(raw: pa.Array, unknown: np.ndarray, starts_blank: np.ndarray, step: int) -> np.ndarray:
    """The number of blanks each of the lines ``unknown``, and each line ``step`` above one,
    starts with (0 for the other lines: only those are asked; and for a line that does not
    start with one, ``starts_blank``: only the others are measured)."""
    asked = np.zeros(len(raw), dtype=bool)
    asked[unknown] = True
    asked[unknown[unknown >= step] - step] = True
    rows = np.flatnonzero(asked & starts_blank)
    out = np.zeros(len(raw), np.int64)
    out[rows] = _leading_blanks(raw.take(pa.array(rows)))
    return out


def _leading_blanks(lines: pa.Array, lens: np.ndarray | None = None) -> np.ndarray:
    """How many blanks (spaces, tabs) each line starts with (``lens``: their lengths, if known)."""
    if lens is None:
        lens = pc.utf8_length(lines).to_numpy(zero_copy_only=False)
    return lens - pc.utf8_length(pc.utf8_ltrim(lines, characters=" \t")).to_numpy(zero_copy_only=False)


def _soft_breaks(raw: pa.Array, lens: np.ndarray, unknown: np.ndarray, unknown_text: Texts) -> np.ndarray:
    """The lines a mail or forum word-wrapped (RFC 3676 `format=flowed`: a soft break is a
    blank at the end of the line): those that end in a blank and are followed by a line of
    no known form whose first word would not have fitted after them within the paste's
    widest line (a greedy wrap, the only kind such editors do, moves a word down only then).
    Asked only of the lines above a line of no known form; two such breaks make a paste
    word-wrapped (one may be chance)."""
    below = unknown[unknown > 0]
    above = below - 1
    ends_blank = np.flatnonzero(_ends_blank(raw, above))
    if len(ends_blank) < 2:
        return np.zeros(0, np.int64)
    below, above = below[ends_blank], above[ends_blank]
    # (A reply's quote markers are no word: the marker was put before the line the wrap left.)
    text = pc.utf8_ltrim_whitespace(_unquoted(unknown_text.take(np.searchsorted(unknown, below))))
    first_word = pc.utf8_length(pc.extract_regex(text, r"^(?P<w>\S*)").field("w")).to_numpy(zero_copy_only=False)
    reach = np.where(first_word > 0, lens[above] + first_word, 0)  # where the next word would have ended
    return _past_width(raw, lens, above, reach)


def _past_width(raw: pa.Array, lens: np.ndarray, above: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """Those of the lines ``above`` whose next word would have ended past the paste's
    width (at ``reach``; 0: no word), if two are (one may be chance). The width: the
    widest line without its blanks at the end (a soft break's blank may run past the
    width). Lines shorter than every reach cannot decide any break: not measured."""
    if np.count_nonzero(reach) < 2:
        return np.zeros(0, np.int64)
    width = _wrap_width(raw, np.flatnonzero(lens >= reach[reach > 0].min()))
    soft = reach > width
    return above[soft] if soft.sum() >= 2 else np.zeros(0, np.int64)


# A line that ends where no record ends (an arrow or a comma before the rest of its
# addresses or fields), or a piece that starts where no line starts: a break inside a record.
# (A mail client breaks at a blank: a piece starts after one, as an arrow does, and the
# address the arrow leads to follows it; an engineer's note under a line, `-> no answer`,
# starts with an arrow too, but with a word.)
OPEN_END = r"(?:->|,)\s*$"
OPEN_START = r"^->\s*(?:$|\d{1,3}(?:\.|\s*$)|[0-9A-Fa-f]{0,4}:|[xXyYzZ]{1,3}\.)"


def _dropped_blank_breaks(raw: pa.Array, lens: np.ndarray, unknown: np.ndarray, unknown_text: Texts,
                          soft: np.ndarray) -> np.ndarray:
    """The lines a mail client word-wrapped without keeping the blank it broke at (no
    `format=flowed`): nothing marks the break, and a line of prose under a record is as
    much a line of no form as the record's rest, so only a break that can only be one is
    taken: the line ends or the piece under it starts where no record does (OPEN_END,
    OPEN_START), or the line ends as a record that a rest follows (ikedebug.RESTS,
    flow.RESTS, joined with a blank). As with _soft_breaks, the piece's first word must
    not have fitted after the line and its lost blank, and two such breaks be in the paste."""
    below = unknown[unknown > 0]
    above = below - 1
    # A line that kept its blank is _soft_breaks'; one as wide as a terminal may be its cut
    # (`...:500->` / `198.51.100.7:500`: no blank was lost), and a mail wrap is narrower.
    keep = ~soft[above] & ~_ends_blank(raw, above) & (lens[above] < WRAP_MIN)
    below, above = below[keep], above[keep]
    if len(below) < 2:
        return np.zeros(0, np.int64)
    piece = pc.utf8_ltrim_whitespace(_unquoted(unknown_text.take(np.searchsorted(unknown, below))))
    line = _core(raw.take(pa.array(above)))
    shaped = matches(line, OPEN_END) | matches(piece, OPEN_START)
    for end, _start, joiner in (*ikedebug.RESTS, *flow.RESTS):
        if joiner == " ":  # (the piece's shape not asked: a terminal may have cut it, `id=7c3e19a04b5d2f81`)
            shaped |= matches(line, end)
    below, above, piece = below[shaped], above[shaped], piece.filter(pa.array(shaped))
    if len(below) < 2:
        return np.zeros(0, np.int64)
    first_word = pc.utf8_length(pc.extract_regex(piece, r"^(?P<w>\S*)").field("w")).to_numpy(zero_copy_only=False)
    return _past_width(raw, lens, above, np.where(first_word > 0, lens[above] + 1 + first_word, 0))


def _wrap_width(raw: pa.Array, rows: np.ndarray) -> int:
    """The width a word wrap kept ``rows`` within: the widest of them without its blanks at
    the end. A line of one word (a hex run, a URL; indented or not) is left out: a wrap that
    does not break words (most mail clients) leaves it as long as it is, past the width."""
    if not len(rows):
        return 0
    text = pc.utf8_rtrim_whitespace(raw.take(pa.array(rows)))
    words = pc.match_substring_regex(pc.utf8_ltrim_whitespace(_unquoted(text)), r"\s")  # (a quote marker is no word)
    return pc.max(pc.filter(pc.utf8_length(text), words)).as_py() or 0


def _terminal_lines(lens: np.ndarray, soft: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per line, the length of the terminal line it ends and the row that line starts at:
    the line's own, or, after the soft breaks of a mail wrap above it, those of the run of
    pieces from the first (each piece as long as the wrap left it: a `format=flowed` break
    keeps its blank). A terminal cut at its width, then a mail client wrapped each piece:
    the run, not its last line, is as long as the terminal's width."""
    pos = np.arange(len(lens))
    after_soft = np.zeros(len(lens), dtype=bool)
    after_soft[1:] = soft[:-1]
    head = np.maximum.accumulate(np.where(after_soft, 0, pos))
    total = np.cumsum(lens)
    return total - total[head] + lens[head], head


def _wrap_widths(form: np.ndarray, lens: np.ndarray, unknown: np.ndarray, claimed: np.ndarray,
                 step: int, head: np.ndarray | None = None) -> set[int]:
    """The terminal width(s) of a paste: the lengths (at least WRAP_MIN) of record lines
    that are followed, at least twice, by a line of no known form. A terminal wraps at one
    width, so a long line of any other length ended where the device ended it. A width W
    also admits W-1 (a wide or dropped character at the wrap point). Lines of a snapshot
    block (``claimed``) do not count: what follows them is not theirs. ``head``: where each
    line's terminal line starts (_terminal_lines; ``lens`` are then those lines' lengths):
    the form asked is the first piece's."""
    prev = unknown[unknown >= step] - step
    first = prev if head is None else head[prev]
    keep = _among(form[first], (*RECORD_FORMATS, "continuation")) & ~claimed[first]
    prev = prev[keep]
    cand = lens[prev]
    cand = cand[cand >= WRAP_MIN]
    if not len(cand):
        return set()
    values, counts = np.unique(cand, return_counts=True)
    widths = {int(v) for v, c in zip(values, counts) if c >= 2}
    return widths | {w - 1 for w in widths}


def _join_records(is_cont: np.ndarray, sep: np.ndarray, core: _Patched, raw: pa.Array, whole: np.ndarray,
                  bridged: np.ndarray, shown: np.ndarray, quoted: np.ndarray) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """The records that continuation lines (``is_cont``) follow, with those lines joined
    on, whole column at once: (the records' line numbers, what the parsers read, what the
    event's `text` shows), to patch the lines with (:class:`_Patched`). The ``bridged``
    blank lines between a record and its rest are in neither.

    The parsers get dump blocks too (joined with newlines); `text` gets only the
    terminal-wrapped pieces and the ``shown`` ones, so an evidence line reads as the
    device printed it without a page of XML under it; records of ``whole`` (event-log
    lines, whose fields a copy may have broken onto lines of their own) show every piece.
    The ``quoted`` lines (the datagram a tcpdump ICMP error quotes) are shown after a blank,
    on the record's one line: the evidence says which datagram drew the error, while the
    parsers, reading up to the first newline, take the ICMP packet's own summary alone."""
    n = len(is_cont)
    nothing = pa.scalar("", pa.large_string())
    if not is_cont.any():
        none = pa.array([], pa.large_string())
        return np.zeros(0, np.int64), none, none
    pos = np.arange(n)
    owner = np.maximum.accumulate(np.where(is_cont | bridged, 0, pos))
    has_cont = np.zeros(n, dtype=bool)
    has_cont[owner[is_cont]] = True
    member = has_cont[owner] & ~bridged  # lines of a record that has continuations: runs, but for bridged blanks
    lines = np.flatnonzero(member)
    heads = np.flatnonzero(member & ~is_cont)
    head_raw = raw.take(pa.array(heads))
    # The record line keeps its trailing blanks: a terminal may wrap right after a space.
    tail = groups(head_raw, r"(?P<ws>\s+)$")["ws"]
    head_text = pc.binary_join_element_wise(core.take(heads), pc.fill_null(tail, nothing), nothing)
    conts = np.flatnonzero(is_cont)
    cont_sep = sep[conts]
    cont_raw = raw.take(pa.array(conts))
    # A wrapped piece is joined as the terminal printed it, blanks and all, but without the
    # markers a mail or forum reply put before it (`> `): they are not the record's bytes.
    cont_raw = _unquoted(cont_raw)
    # The other pieces (a dump block's lines, an event-log field: most pieces are wrapped)
    # are joined trimmed, after their separator: only they are rebuilt, in one copy each.
    spaced = np.flatnonzero(cont_sep != "")
    piece = pc.binary_join_element_wise(pa.array(cont_sep[spaced].tolist(), pa.large_string()),
                                        pc.utf8_trim_whitespace(cont_raw.take(pa.array(spaced))), nothing)
    body = scatter(cont_raw, spaced, piece)
    body_shown = scatter(cont_raw, spaced, pc.if_else(pa.array(whole[owner[conts[spaced]]] | shown[conts[spaced]]),
                                                      piece, nothing))
    quote = np.flatnonzero(quoted[conts])
    if len(quote):
        body_shown = scatter(body_shown, quote, pc.binary_join_element_wise(
            pa.scalar(" ", pa.large_string()), pc.utf8_trim_whitespace(cont_raw.take(pa.array(quote))), nothing))
    where = np.full(n, -1, dtype=np.int64)
    where[heads] = np.arange(len(heads))
    where[conts] = len(heads) + np.arange(len(conts))
    order = where[lines]
    offsets = np.append(np.flatnonzero(~is_cont[lines]), len(lines))

    def join(head_values: pa.Array, cont_values: pa.Array) -> pa.Array:
        values = take_joined([head_values.cast(pa.large_string()), cont_values.cast(pa.large_string())], order)
        return pc.utf8_rtrim_whitespace(concatenated(values, offsets))

    records = join(head_text, body)
    # A note the terminal wrapped onto a continuation line (`... 5500: syn 30` / `9505874
    # <-- First Sync packet.`): taken out of the joined record as out of a line (_core).
    noted = _note_rows(spans.Bytes(records))
    if len(noted):
        records = scatter(records, noted, pc.replace_substring_regex(records.take(pa.array(noted)), ANNOTATION, r"\1"))
    return heads, records, join(head_raw, body_shown)


def _unquoted_line(raw: pa.Array, i: int) -> str:
    """Line ``i`` as printed, without a reply's quote markers."""
    return re.sub(QUOTE_MARKS, "", raw[i].as_py())


def _unquoted(lines: pa.Array) -> pa.Array:
    """The lines as printed, only without a mail or forum reply's quote markers (`> `)."""
    quoted = np.flatnonzero(pc.starts_with(lines, ">").to_numpy(zero_copy_only=False))
    if not len(quoted):
        return lines
    return scatter(lines, quoted, pc.replace_substring_regex(lines.take(pa.array(quoted)), QUOTE_MARKS, ""))


# A take of patched lines is read as views of the column's and the replacements' bytes
# when one line in this many or more is replaced (measured: below, a take from the column
# and a replace of the few costs less).
VIEWS_FROM = 32


class _Patched:
    """A column of lines with some rows replaced (a record freed of the prompt glued before
    it, a record with its continuation lines joined on). Rows are taken from the column
    and the replacements at once: the column is never copied whole to patch a few rows."""

    def __init__(self, base: pa.Array, rows: np.ndarray | None = None, values: pa.Array | None = None) -> None:
        self.base = base.cast(pa.large_string())
        self.rows = np.zeros(0, np.int64) if rows is None else rows  # sorted
        self.values = values

    def patch(self, rows: np.ndarray, values: pa.Array) -> _Patched:
        """These lines, the ``rows`` (sorted) replaced by ``values`` (over any earlier patch)."""
        if not len(rows):
            return self
        values = values.cast(pa.large_string())
        if not len(self.rows):
            return _Patched(self.base, rows, values)
        kept = np.flatnonzero(~np.isin(self.rows, rows))
        merged = np.concatenate([self.rows[kept], rows])
        order = np.argsort(merged, kind="stable")
        pick = np.concatenate([kept, len(self.values) + np.arange(len(rows))])[order]
        return _Patched(self.base, merged[order], take_joined([self.values, values], pick))

    def take(self, idx: np.ndarray) -> pa.Array:
        """The lines ``idx`` as a new column: taken from the column, then the replaced ones
        put in. (A take from the column and the replacements together, as one chunked
        column, would first copy the whole column into one: arrow takes strings so.)"""
        idx = np.asarray(idx, np.int64)
        if not len(self.rows):
            return self.base.take(pa.array(idx))
        at = np.searchsorted(self.rows, idx)
        hit = at < len(self.rows)
        hit[hit] = self.rows[at[hit]] == idx[hit]
        if not hit.any():
            return self.base.take(pa.array(idx))
        base, values = spans.Bytes(self.base), spans.Bytes(self.values)
        if (np.count_nonzero(hit) * VIEWS_FROM < len(idx) or self.base.null_count or self.values.null_count
                or max(len(base.data), len(values.data)) >= 2**31):  # (a string view's offset is 32-bit)
            return pc.replace_with_mask(self.base.take(pa.array(idx)), pa.array(hit), self.values.take(pa.array(at[hit])))
        # Each line's bytes where they are, in the column or among the replacements: one copy
        # (a take, then a replace, copied the lines twice).
        start, end = base.start[idx], base.end[idx]
        start[hit], end[hit] = values.start[at[hit]], values.end[at[hit]]
        return spans.texts_of([base, values], hit, start, end)

    def whole(self) -> pa.Array:
        return scatter(self.base, self.rows, self.values) if len(self.rows) else self.base

    def line(self, i: int) -> str:
        at = int(np.searchsorted(self.rows, i))
        if at < len(self.rows) and self.rows[at] == i:
            return self.values[at].as_py()
        return self.base[i].as_py()


STAMP = r"^(?P<sec>\S+ \d\d:\d\d:\d\d)(?:\.(?P<frac>\d+))?$"
# The common case of STAMP, whose groups sit at fixed places (sec: 0-19, frac: 20-26).
STAMP_FIXED = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$"


LAST_REL_S = 1e12  # seconds since a sniffer run started


def _times(ts_abs: pa.Array | None, ts_rel: pa.Array | None, n: int) -> tuple[pa.Array, np.ndarray]:
    """Parse absolute (`YYYY-MM-DD HH:MM:SS[.ffffff]`) and relative (`S.ffffff`) stamps."""
    time = pa.nulls(n, pa.timestamp("us"))
    rel = np.full(n, np.nan)
    if ts_abs is not None and ts_abs.null_count < n:
        ts_abs = ts_abs.cast(pa.string())
        # The stamps of a sniffer run have one width: cut by position (what the pattern
        # would find there), the pattern only for the others.
        fixed = matches(ts_abs, STAMP_FIXED)
        parts = {"sec": pc.utf8_slice_codeunits(ts_abs, 0, 19), "frac": pc.utf8_slice_codeunits(ts_abs, 20, 26)}
        rest = np.flatnonzero(~fixed & pc.is_valid(ts_abs).to_numpy(zero_copy_only=False))  # a null stays null
        if len(rest):
            found = groups(ts_abs.take(pa.array(rest)), STAMP)
            parts = {k: scatter(v, rest, found[k]) for k, v in parts.items()}
        base = pc.strptime(parts["sec"], format="%Y-%m-%d %H:%M:%S", unit="us", error_is_null=True)
        time = pc.cast(pc.add(pc.cast(base, pa.int64()), fraction_us(parts["frac"])), pa.timestamp("us"))
    if ts_rel is not None and ts_rel.null_count < n:
        rel = pc.cast(ts_rel, pa.float64()).to_numpy(zero_copy_only=False)
        # A mangled stamp of hundreds of digits reads as inf; as hexdump's reader does, more
        # than 12 digits of seconds (31,000 years since the run started) is no stamp.
        rel = np.where(rel < LAST_REL_S, rel, np.nan)
    return time, rel


def _within_range(time: pa.Array, ref: np.ndarray | None = None, report: InputReport | None = None) -> pa.Array:
    """``time`` without the stamps the event table cannot hold (ev.TIME_MIN_US/MAX_US: a
    year like 3000 or 0201 is a mangled line); said once in ``report`` with the first line."""
    us = pc.cast(time, pa.int64())
    far = pc.fill_null(pc.or_(pc.less(us, ev.TIME_MIN_US), pc.greater(us, ev.TIME_MAX_US)), False)
    n_far = pc.sum(far).as_py() or 0
    if not n_far:
        return time
    if report is not None:
        first = int(ref[np.flatnonzero(far.to_numpy(zero_copy_only=False))[0]])
        report.warn(f"{counted(n_far, 'line')} stamped outside 1677-2262 (line {first}: a mangled stamp), read with no time")
    return pc.if_else(far, pa.scalar(None, pa.timestamp("us")), time)


def _assemble(parts: list[dict], report: InputReport, dropped: list[dict] = (),
              told: pa.Array | None = None) -> pd.DataFrame:
    """The parsers' columns as one event table in line order, with `time` and `t` from the
    device's stamps, or from the terminal client's (``told``, per line) when the device's
    lines print none."""
    if not parts:
        return ev.empty()
    # The earliest stamp of the lines not kept: `t` counts from the input's first line.
    floor_abs, floor_rel = None, None
    for d in dropped:
        k = len(d["ts_abs"])
        d_time, d_rel = _times(d["ts_abs"], d["ts_rel"], k)
        d_time = _within_range(d_time)
        if pc.count(d_time).as_py():
            low = pc.min(pc.cast(d_time, pa.int64())).as_py()
            floor_abs = low if floor_abs is None else min(floor_abs, low)
        if (~np.isnan(d_rel)).any():
            low = float(np.nanmin(d_rel))
            floor_rel = low if floor_rel is None else min(floor_rel, low)
    # Columns the event table does not hold (the debug message, its hex) are not merged:
    # only the stamps, which become `time` and `t`.
    names = {name for name in set().union(*parts) if name in ev.SCHEMA or name in ("ts_abs", "ts_rel")}
    ref = np.concatenate([p["ref"].to_numpy(zero_copy_only=False) for p in parts])
    n = len(ref)
    # One format, or formats that did not interleave, are in line order already.
    order = pa.array(np.argsort(ref, kind="stable")) if (np.diff(ref) < 0).any() else None
    sizes = [len(p["ref"]) for p in parts]
    merged: dict[str, pa.Array] = {}
    for name in names:
        arrays = []
        for p, k in zip(parts, sizes):
            a = p.pop(name, None)  # a part's column goes once merged (the text: the size of the input)
            if a is None:
                a = pa.nulls(k, ev.SCHEMA.get(name, pa.string()))
            elif name in ev.SCHEMA and a.type != ev.SCHEMA[name]:
                a = a.cast(ev.SCHEMA[name])
            elif name not in ev.SCHEMA and a.type != pa.string():
                a = a.cast(pa.string())
            arrays.append(a)
        if order is None:
            merged[name] = arrays[0] if len(arrays) == 1 else pa.concat_arrays(arrays)
        else:  # taken from the parts as they are: no concatenated copy first
            merged[name] = take_joined(arrays, order)
    if order is not None:
        ref = ref[order.to_numpy()]  # the merged rows' lines, for what is looked up by line below

    time, rel = _times(merged.get("ts_abs"), merged.get("ts_rel"), n)
    time = _within_range(time, ref, report)
    has_abs = pc.is_valid(time).to_numpy(zero_copy_only=False)
    t = np.full(n, np.nan)
    if has_abs.any():
        report.clock = "device"
        tn = pc.cast(time, pa.int64()).to_numpy(zero_copy_only=False)
        first = tn[has_abs].min() if floor_abs is None else min(tn[has_abs].min(), floor_abs)
        t[has_abs] = (tn[has_abs] - first) / 1e6
    has_rel = ~np.isnan(rel)
    if has_rel.any():
        t[has_rel] = rel[has_rel] - (rel[has_rel].min() if floor_rel is None else min(rel[has_rel].min(), floor_rel))
    if not (has_abs.any() or has_rel.any() or floor_abs is not None or floor_rel is not None):
        time, t = _client_clock(told, ref, report, t)
    merged["time"] = time
    merged["t"] = pa.array(t, pa.float64(), from_pandas=True)

    merged["wire"] = pa.array(_wire(merged), pa.bool_())
    return ev.frame(merged, n)


def _client_clock(told: pa.Array | None, ref: np.ndarray, report: InputReport,
                  t: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """`time` and `t` of an input with no device time from its client's stamps: better than
    none for waits and order (a debug without console timestamps in a SecureCRT log), but
    when lines reached the terminal, often only to the second. Said in the warnings."""
    time = pa.nulls(len(ref), pa.timestamp("us"))
    if told is None or told.null_count == len(told):
        return time, t
    time = _within_range(told.take(pa.array(ref - 1)), ref, report)
    us = pc.cast(time, pa.int64()).to_numpy(zero_copy_only=False)
    has = pc.is_valid(time).to_numpy(zero_copy_only=False)
    if not has.any():
        return time, t
    t = t.copy()
    t[has] = (us[has] - us[has].min()) / 1e6
    report.clock = "client"
    report.warn(f"the lines print no device time: times are the terminal client's stamps "
                f"({counted(int(has.sum()), 'event')}), when each line reached the screen")
    return time, t


def _wire(cols: dict[str, pa.Array]) -> np.ndarray:
    """Which rows are one packet each (see events.py)."""
    def mask(arr: pa.Array) -> np.ndarray:
        return pc.fill_null(arr, False).to_numpy(zero_copy_only=False)

    kind, origin = cols["kind"], cols["origin"]
    wire = mask(pc.is_in(origin, pa.array(list(OTHER_TRAFFIC)))) | mask(pc.is_in(kind, pa.array(["ike-received", "ike-sent",
                                                                           "nat-keepalive-sent"])))
    # `sent IKE msg (keepalive)` right after the `NAT keep-alive` notice is the same packet.
    sent = mask(pc.equal(kind, "nat-keepalive-sent"))
    echo = sent & mask(pc.equal(cols["detail"], "keepalive"))
    notice = sent & ~echo
    if not echo.any():
        return wire

    def at(name: str, j: int):
        return cols[name][j].as_py() if name in cols else None

    for i in np.flatnonzero(echo):  # few: only the echoes, each against the 3 rows above it
        for j in range(i - 1, max(i - 4, -1), -1):
            if notice[j] and at("dst", j) == at("dst", i) and at("dport", j) == at("dport", i):
                wire[i] = False
                break
            if at("origin", j) != "ikedebug":
                break
    return wire


# How far below a `sent IKE msg` broken after a comma its rest may be: a published copy
# puts a blank line or an author's note between the halves.
REST_WITHIN = 3
# A `sent IKE msg` whose fields end as they should: its `id=` with two whole SPIs. The
# others (no `id=`, SPIs cut short, a line ending in a comma) are looked at one by one.
WHOLE_SENT = r"\bid=[0-9a-fA-F]{16}/[0-9a-fA-F]{16}(?:[^0-9a-fA-F]|$)"
CUT_SPIS = re.compile(r"\bid=(?![0-9a-fA-F]{16}/[0-9a-fA-F]{16}(?![0-9a-fA-F]))")


def _truncation(frame: pd.DataFrame, report: InputReport, lines: pa.Array, cut_off: bool) -> None:
    """Warn about records the paste cut off: a `sent IKE msg` without its `len=`/`id=` (a
    line ending in a comma whose rest is not just below it), or whose SPIs stop short, and
    the last line of a paste with no final newline."""
    if not len(frame):
        return
    sent = np.flatnonzero(frame["kind"].isin(["ike-sent", "nat-keepalive-sent"]).fillna(False).to_numpy())
    texts = pa.array(frame["text"].array).take(pa.array(sent))
    # Only the sent-message rows that may be cut become Python strings.
    odd = sent[~matches(texts, WHOLE_SENT) | matches(texts, r",\s*$")]
    for ref, text in zip(frame["ref"].to_numpy()[odd], frame["text"].take(odd).tolist()):
        line = str(text).rstrip()
        if "sent IKE msg" not in line:
            continue
        if line.endswith(",") or " id=" not in line:
            below = [lines[k].as_py().lstrip() for k in range(int(ref), min(int(ref) + REST_WITHIN, len(lines)))]
            if any(x.startswith(("vrf=", "id=", "len=")) for x in below):
                continue  # its rest is just below (lines[ref] is the line after line `ref`)
            report.warn(f"line {ref}: truncated record: {line[:100].strip()}")
        elif CUT_SPIS.search(line):
            report.warn(f"line {ref}: truncated record (its SPIs stop short): {line[-60:].strip()}")
    if cut_off:
        report.warn(f"line {len(lines)}: the input ends mid-line (no final newline); the last record may be cut off")


# Packet formats whose lines of traffic that cannot be IPsec are counted, not kept: each
# with its own test of which rows to keep.
OTHER_TRAFFIC: dict[str, Callable[[dict, tuple[int, ...]], np.ndarray]] = {
    "sniffer": sniffer.ipsec_rows,
    "tcpdump": tcpdump.ipsec_rows,
}

FORMAT_PARSERS: dict[str, Callable[[pa.Array], dict]] = {
    "sniffer": sniffer.parse,
    "tcpdump": tcpdump.parse,
    "ikedebug": ikedebug.parse,
    "authd": ikedebug.parse_authd,
    "flow": flow.parse,
    "snapshot": state_snapshot.parse,
    "eventlog": eventlog.parse,
    "config": fgconfig.parse,
}
