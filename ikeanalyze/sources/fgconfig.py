"""FortiOS configuration pasted beside the debugs → `config` events.

A ticket or a forum post often quotes the tunnel's configuration as `show` prints it
(`show vpn ipsec phase1-interface to-hq`, `show full-configuration`)::

    config vpn ipsec phase1-interface
        edit "to-hq"
            set interface "wan1"
            set remote-gw 198.51.100.7
            set dpd disable
        next
    end

Each statement is one line: `config <path>` opens a table or an object (inside an `edit`,
one of the entry's sub-tables), `edit <name>` an entry, `set|unset|append|select|unselect
<key> [value]` a setting, `next` closes the entry and `end` the `config`. `show` prints
only what differs from the defaults, `show full-configuration` everything, under its
`#config-version=...` header lines (`banner`). A quoted value may run over several lines
(a certificate, a script, a message): those lines are `continuation`s of its setting.

:func:`claim` names a block's lines by context: a `config <path>` line whose next line is a
statement, then statements (the pager and blank lines between them allowed) until the
`end` that closes it; a line a terminal cut off a long statement is its `continuation`.
:func:`parse` makes each statement a `config` event: `tunnel` is the phase-1 name of a
`vpn ipsec phase1`/`phase1-interface` entry's rows (of a `phase2` entry's: its
`phase1name`), `vdom` the `config vdom` entry a multi-VDOM configuration puts it in, and
`detail` a JSON object: `{"path": "vpn ipsec phase1-interface", "entry": "to-hq", "key":
"remote-gw", "value": "198.51.100.7"}` (`verb` when not `set`; a sub-table's path is its
parent's, `/`, its own). analysis/configured.py gathers them per tunnel.

Typed at the prompt (`FGT (to-hq) # set dpd disable`, or bare under a typed `# config ...`)
the same statements are `prompt` lines: what someone typed, not what the device printed it
holds. A block a web copy collapsed onto one line is one `config` line that :func:`unfold`
cuts back into its statements.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa

from ikeanalyze.sources.regex import Texts, matches, spread
from ikeanalyze.sources.snapshot import PAGER, LazyLines
from ikeanalyze.sources.textclean import WRAP_MIN

# A configuration path: lowercase words (`vpn ipsec phase1-interface`, `system global`).
_PATH = r"[a-z0-9][\w.-]*(?: +[a-z0-9][\w.-]*)*"
# A quoted value or name: blanks and escaped quotes inside.
_QUOTED_TEXT = r'"(?:[^"\\]|\\.)*"'
# An entry's name: quoted, or one word (`edit 1`).
_NAME = rf"{_QUOTED_TEXT}|\S+"
# The verbs of a setting's statement.
VERBS = ("set", "unset", "append", "select", "unselect")
# The statements, by the word that opens them: (name, pattern with the groups parse reads).
# A sub-table of a named object has the name quoted after its path (`show router bgp`:
# `config redistribute "connected"`).
STATEMENTS: list[tuple[str, str]] = [
    ("config", rf'^\s*config +(?P<path>{_PATH})(?: +(?P<object>"(?:[^"\\]|\\.)*"))?\s*$'),
    ("edit", rf"^\s*edit +(?P<name>{_NAME})\s*$"),
    ("set", rf"^\s*(?P<verb>{'|'.join(VERBS)}) +(?P<key>[\w.-]+)(?: +(?P<value>.*?))?\s*$"),
    # (capitalised by a forum's editor, or by a poster who typed the block out: `End`)
    ("next", r"^\s*[nN]ext\s*$"),
    ("end", r"^\s*[eE]nd\s*$"),
]
STATEMENT = "|".join(f"(?:{p})" for _, p in STATEMENTS)
_COMPILED = [(name, re.compile(p, re.S)) for name, p in STATEMENTS]  # (a value may hold newlines)
_STATEMENT = re.compile(STATEMENT)
START = STATEMENTS[0][1]
# A web copy (a knowledge-base page, a PDF) may collapse a whole block onto one line, after
# the sentence that introduced it: `Fortigate_A Phase1: config vpn ipsec phase1-interface edit
# "ipsec" set interface "port1" ... next end`. Such a line holds `config <path>`, then `edit` or
# `set`, another `set`, and an `end` (a sentence rarely holds all three); :func:`unfold` cuts it
# back into the statements.
KEYWORDS = ("config", "edit", *VERBS, "next", "end")
COLLAPSED = r"(?:^|[\s:`>])config +[a-z0-9][\w.-]*(?: +[a-z0-9][\w.-]*)*? +(?:edit|set) +\S.*? set +\S.*?\s[eE]nd\b"
# The lines that may hold one, asked of arrow (RE2) before Python's COLLAPSED is: every line
# COLLAPSED matches holds `config ` and, after it, ` set `, spelt out in it. Only those plain
# characters are asked (RE2's `\s`, `\w` and `\b` are ASCII, Python's Unicode: COLLAPSED itself
# in RE2 would miss a block after a no-break space that Python cuts), so no such line is missed.
MAYBE_COLLAPSED = r"(?s)config .* set "
# `show full-configuration`'s header: the version, build and VDOM mode of the file.
HEADER = r"^#(?:config-version|conf_file_ver|buildno|global_vdom)=\S*\s*$"
# A `config` typed at the prompt (`FGT # config vpn ipsec phase1-interface`, `# config ...`), as
# a how-to or a forum answer prints it, the statements typed after it shown bare (`edit 1`,
# `set localid-type address`, `end`): those are typed too, not what the device holds.
TYPED = rf"#\s*config +{_PATH}\s*$"
# The phase-1 and phase-2 tables (interface mode and policy mode), by what they hold.
PHASE1 = frozenset({"vpn ipsec phase1-interface", "vpn ipsec phase1"})
PHASE2 = frozenset({"vpn ipsec phase2-interface", "vpn ipsec phase2"})
PHASES = PHASE1 | PHASE2
# A multi-VDOM configuration's tables sit under `config vdom` / `edit <vdom>`.
VDOM = "vdom"
# Single-word paths that only the top level holds (a multi-VDOM configuration's sections).
TOP = frozenset({VDOM, "global"})


def claim(form: np.ndarray, core: pa.Array, raw: pa.Array, by_text: Texts, spaced: bool, sep: np.ndarray,
          among: np.ndarray, foreign: str) -> None:
    """Name the lines of every configuration block in ``form`` (in place): `config`, their
    `continuation` pieces, the header lines `banner`. Writes to ``sep`` the separator that
    joins a piece to the statement above it (`""`: a terminal cut it; a newline: a quoted
    value that runs over lines). Only lines no other form took are claimed, among the rows
    ``among`` (those a sniffer run's shape did not name).
    ``spaced``: a double-spaced paste (its one blank after every line never ends a block).
    ``raw``: the lines as pasted, whose widths tell a terminal's cut (``core`` lost their indent).
    ``foreign``: a pattern (Python's `re`, searched) of lines another form reads after this
    claim (a record glued after typed keys, a debug message without its `ike` prefix): such
    a line is not configuration, so a block cut before its `end` stops there, and neither a
    long statement's cut rest nor a quoted value's next line runs into it.
    Only the `config` lines are found over the whole column; a block's other lines are asked
    one by one as its walk reads them (a debug with a short configuration in it is mostly
    never read here)."""
    rows = among[form[among] == None]  # noqa: E711  (elementwise over the object array)
    if not len(rows):
        return
    sub = by_text.rows(rows)
    hit = rows[sub.matches(f"(?:{START})|(?:{MAYBE_COLLAPSED})")]  # (one pass over every line of no form)
    is_start = matches(core.take(pa.array(hit)), START) if len(hit) else np.zeros(0, dtype=bool)
    starts, collapsed = hit[is_start], hit[~is_start]
    # A whole block on its line (unfold() cuts it), unless its words are a sentence's. (Parsed
    # again there, not kept from here: unfold reads the record as joined, this line with the
    # pieces a terminal cut off it, which are named only after this; here the line is all there is.)
    form[collapsed[[_unfold_line(core[i].as_py()) is not None for i in collapsed.tolist()]]] = "config"
    prompts = among[form[among] == "prompt"]
    typed = prompts[matches(core.take(pa.array(prompts)), TYPED)] if len(prompts) else prompts
    if not len(starts) and not len(typed):
        return
    lines = _Lines(core, raw, foreign)
    for t in typed.tolist():
        _typed(form, lines, t)
    done = -1
    for s in starts.tolist():
        if s <= done or form[s] is not None:
            continue
        first = _next_line(form, s + 1, lines)
        while first is not None and form[first] == "annotation":  # the table's first rows cut (`[...]`)
            first = _next_line(form, first + 1, lines)
        if first is None or form[first] is not None or not lines.statement(first):
            continue  # a sentence that begins with the word `config`
        k = s - 1
        # (A header line is taken for a prompt by its `#` and a word: named here whatever it was.)
        while k >= 0 and form[k] in (None, "prompt") and re.match(HEADER, lines[k]):
            form[k] = "banner"
            k -= 1
        done = _walk(form, sep, lines, s, spaced)


class _Lines(LazyLines):
    """The lines as Python strings, made as the walks read them (snapshot's), their widths
    as pasted, and whether each is a statement."""

    def __init__(self, core: pa.Array, raw: pa.Array, foreign: str) -> None:
        super().__init__(core)
        self.raw = raw
        self._foreign = re.compile(foreign)

    def width(self, i: int) -> int:
        """The length of line ``i`` as pasted, its indent included."""
        return len(self.raw[i].as_py())

    def statement(self, i: int) -> bool:
        return _STATEMENT.match(self[i]) is not None

    def foreign(self, i: int) -> bool:
        """Whether line ``i`` is another form's (claim's ``foreign``): asked only of the lines
        a block would take as the rest of a statement, never of every line."""
        return self._foreign.search(self[i]) is not None


def _typed(form: np.ndarray, lines: _Lines, i: int) -> None:
    """Name `prompt` the bare statements under the `config` typed at prompt line ``i``, to
    the `end` that closes it (a blank line between them allowed)."""
    depth, i = 1, i + 1
    while i < len(form) and depth > 0:
        if form[i] == "blank" and i + 1 < len(form) and form[i + 1] is None and lines.statement(i + 1):
            i += 1
            continue
        if form[i] is not None or not lines.statement(i):
            return
        form[i] = "prompt"
        word = lines[i].split(None, 1)[0].lower()
        depth += 1 if word == "config" else -1 if word == "end" else 0
        i += 1


def _next_line(form: np.ndarray, i: int, lines: _Lines) -> int | None:
    """The first line from ``i`` on that is neither blank nor the pager's prompt."""
    while i < len(form) and (form[i] == "blank" or form[i] == "prompt" and re.match(PAGER, lines[i])):
        i += 1
    return i if i < len(form) else None


def _walk(form: np.ndarray, sep: np.ndarray, lines: _Lines, i: int, spaced: bool) -> int:
    """Claim one block from its `config` line ``i``; return its last line."""
    n = len(form)
    depth, last, quote, opened = 0, -1, False, -1
    while True:
        while i < n:
            f = form[i]
            if f in ("blank", "prompt"):
                if f == "prompt" and not re.match(PAGER, lines[i]):
                    break  # the next command: the output ended (cut before its `end`)
                j = _next_line(form, i, lines)
                blanks = j - i if j is not None else 0
                if j is None or (f == "blank" and blanks > (2 if spaced else 1)) or form[j] is not None \
                        or not (quote or lines.statement(j)):
                    break
                i = j
                continue
            if f == "annotation" and not quote and last >= 0:
                # A statement commented out (`#   set tcp-mss-sender 1350`, a script's comment) or
                # an elision (`...`) between two statements: a note in the block, not its end.
                j = _next_line(form, i + 1, lines)
                while j is not None and form[j] == "annotation":  # (several: a block of comments)
                    j = _next_line(form, j + 1, lines)
                if j is None or form[j] is not None or not lines.statement(j):
                    break
                i = j
                continue
            if f is not None:
                break
            line = lines[i]
            if quote:  # the lines of a quoted value, up to the one that closes it (or a terminal's cut)
                if lines.foreign(i):
                    break  # the paste goes on with other output: the value (and the block) was cut
                form[i], sep[i] = "continuation", "" if lines.width(i - 1) >= WRAP_MIN else "\n"
                quote = _quotes(line) % 2 == 0
                i += 1
                continue
            if not lines.statement(i):
                if last >= 0 and form[i - 1] in ("config", "continuation") and lines.width(i - 1) >= WRAP_MIN \
                        and not lines.foreign(i):
                    form[i], sep[i] = "continuation", ""  # the rest of a statement a terminal cut
                    i += 1
                    continue
                break
            form[i], last = "config", i
            word = line.split(None, 1)[0].lower()
            if word == "config":
                depth += 1
            elif word == "end":
                depth -= 1
                if depth <= 0:
                    return i
            elif word != "edit" and word != "next":
                quote, opened = _quotes(line) % 2 == 1, i
            i += 1
        if not (quote and _unclosed(form, sep, lines, opened, i)):
            return max(last, i - 1)
        i, quote = opened + 1, False  # the statements after the stray quote, read again as statements


def _unclosed(form: np.ndarray, sep: np.ndarray, lines: _Lines, opened: int, stop: int) -> bool:
    """Whether the quote opened on line ``opened`` and still open at ``stop`` was never meant
    to run over lines (a comment typed with one quote, a value the poster cut): the lines it
    took hold statements (a certificate's or a cut script's do not). Un-names them if so."""
    pieces = [k for k in range(opened + 1, stop) if form[k] == "continuation"]
    if not any(lines.statement(k) for k in pieces):
        return False
    form[pieces], sep[pieces] = None, None
    return True


def _quotes(line: str) -> int:
    """The quotes in ``line`` that open or close a value (not the escaped ones)."""
    return line.count('"') - line.count('\\"')


def unfold(idx: np.ndarray, sub: pa.Array, text: pa.Array) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """Statements a web copy collapsed onto one line (:data:`COLLAPSED`) become the
    statements the device printed, each an event with the line's number (the line is still
    counted once). What stands before the block's `config` (the sentence that introduced it)
    and after its last `end` is dropped. Python's patterns read only the lines
    :data:`MAYBE_COLLAPSED` finds (a whole configuration's statements are not read twice)."""
    # (claim() parsed each such line on its own to name it; ``sub`` holds the joined records.)
    maybe = np.flatnonzero(matches(sub, MAYBE_COLLAPSED))
    lines = sub.take(pa.array(maybe)).to_pylist() if len(maybe) else []
    pieces = [None if re.match(START, line) else _unfold_line(line) for line in lines]
    cut = [k for k, p in enumerate(pieces) if p]
    if not cut:
        return idx, sub, text
    return spread(idx, sub, text, maybe[cut], [pieces[k] for k in cut])


# A token of a collapsed line: a quoted value (blanks inside) or a word.
_QUOTED = re.compile(_QUOTED_TEXT)
_TOKEN = re.compile(_NAME)


# Words a sentence holds and a collapsed block's unquoted names and values do not (prose
# that mentions `config … set … end`: "edit HQ and set dpd on-idle then …").
PROSE = frozenset({"and", "then", "the", "to", "of", "was", "were", "is", "are", "with", "for", "we", "it", "but",
                   "this", "that", "if", "when", "so", "you", "should", "will", "can"})


def _unfold_line(line: str) -> list[str] | None:
    """The statements of the collapsed block(s) on ``line``: a new statement at each keyword
    outside a quoted value (a `set`'s key is the word after it, never a keyword), to the
    `end` that closes the outermost `config`; None when a statement holds a sentence's words."""
    # (searched with the quoted values blanked: `set comments "moved: config … set … end"` is one
    # value, not a block; the positions are the line's)
    m = re.search(COLLAPSED, _QUOTED.sub(lambda q: '"' + "_" * (len(q.group()) - 2) + '"', line))
    if not m:
        return None
    out: list[list[str]] = []
    depth = 0
    for tok in _TOKEN.findall(line[line.index("config", m.start()):]):
        word = tok.lower() if tok in ("End", "Next") else tok
        after_set = bool(out) and out[-1][0] in VERBS and len(out[-1]) == 1
        if word in KEYWORDS and not after_set and (depth > 0 or word == "config"):
            out.append([word])
            depth += 1 if word == "config" else -1 if word == "end" else 0
            continue
        if depth > 0 and out:
            if tok.lower() in PROSE:
                return None
            out[-1].append(tok)
    return [" ".join(s) for s in out] or None


def parse(core: pa.Array) -> dict[str, object]:
    """Statements (in input order) → event columns, one `config` row each."""
    lines = core.to_pylist()
    n = len(lines)
    vdom: list[str | None] = [None] * n
    detail: list[str | None] = [None] * n
    owner = np.full(n, -1)  # the phase-1 or phase-2 entry (in ``entries``) that holds the row
    entries: list[dict] = []  # path, name, and a phase 2's phase1name
    stack: list[_Level] = []
    for i, line in enumerate(lines):
        word, m = _statement(line)
        if word == "config":
            path = m["path"]
            if " " in path or path in TOP:
                # A table of the top level (`config vpn ipsec phase2-interface`): the block
                # before it ended, or was cut before its `end`; inside a VDOM, it stays there.
                vdom_open = stack and stack[0].path == VDOM and stack[0].entry >= 0 and path not in TOP
                del stack[1 if vdom_open else 0:]
            # (the object's name, as printed, is part of the sub-table's path; not a word of it)
            stack.append(_Level(f"{path} {m['object']}" if m["object"] else path, stack))
        elif word == "edit" and stack:
            entries.append({"path": stack[-1].chain, "name": _unquoted(m["name"])})
            stack[-1].entry = len(entries) - 1
        d: dict = {}
        if stack:
            if stack[-1].chain:
                d["path"] = stack[-1].chain
            if stack[-1].entry >= 0:
                d["entry"] = entries[stack[-1].entry]["name"]
            if stack[0].path == VDOM and stack[0].entry >= 0 and len(stack) > 1:
                vdom[i] = entries[stack[0].entry]["name"]
            owner[i] = next((lv.entry for lv in reversed(stack) if lv.entry >= 0
                             and entries[lv.entry]["path"] in PHASES), -1)
        if word == "set":
            d["key"] = m["key"]
            if m["value"] is not None:
                d["value"] = m["value"]
                if m["key"] == "phase1name" and owner[i] >= 0 and stack[-1].entry == owner[i]:
                    entries[owner[i]]["phase1name"] = _unquoted(m["value"])
            if m["verb"] != "set":
                d["verb"] = m["verb"]
        elif word == "next" and stack:
            stack[-1].entry = -1
        elif word == "end" and stack:
            stack.pop()
        detail[i] = _json(d)
    names = [e["name"] if e["path"] in PHASE1 else e.get("phase1name") for e in entries]
    tunnel = [names[k] if k >= 0 else None for k in owner.tolist()]
    return {
        "kind": pa.array(["config"] * n, pa.string()),
        "tunnel": pa.array(tunnel, pa.string()),
        "vdom": pa.array(vdom, pa.string()),
        "detail": pa.array(detail, pa.string()),
    }


class _Level:
    """One open `config`: its path, its chain (its parents' paths and its own, `/` between;
    a VDOM's `config vdom` is no part of it) and the entry being edited in it (-1: none)."""

    __slots__ = ("path", "chain", "entry")

    def __init__(self, path: str, parents: list[_Level]) -> None:
        self.path, self.entry = path, -1
        above = [lv.path for k, lv in enumerate(parents) if not (k == 0 and lv.path == VDOM)]
        self.chain = "/".join([*above, path]) if not (not parents and path == VDOM) else ""


# The `detail` of a statement: compact, keys sorted (one encoder for the whole paste).
_json = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


def _statement(line: str) -> tuple[str | None, re.Match | None]:
    for word, pattern in _COMPILED:
        m = pattern.match(line)
        if m:
            return word, m
    return None, None


def _unquoted(value: str) -> str:
    """A name or value as FortiOS prints it, without its quotes (`"to hq"` → `to hq`)."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value
