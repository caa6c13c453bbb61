"""What the FortiGate was told: the phase-1 and phase-2 entries of a pasted configuration
(`config` events, sources/fgconfig.py), per tunnel, as rules ask of them.

Every answer carries the statement that proves it (`set dpd disable`, with its line), so a
finding quotes the configuration rather than paraphrase it (only the statements the paste
prints are quoted). `show` prints only what differs from FortiOS's defaults: a setting it
does not print has its default (:data:`DEFAULTS`). The latest entry of a name wins, as the
device keeps the last one it was given; entries of one name from two devices or VDOMs
answer nothing (:class:`Configured`).
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from ikeanalyze.analysis.snapshots import Note
from ikeanalyze.diagnosis import Evidence
from ikeanalyze.endpoints import host
from ikeanalyze.sources.fgconfig import PHASE1, PHASES

if TYPE_CHECKING:  # (the context builds this module's view)
    from ikeanalyze.analysis.context import Context

# FortiOS's defaults of the settings read here, which `show` leaves out (FortiOS 6.4-7.6
# CLI reference; `dpd` is `on-demand` on an interface-mode phase 1).
DEFAULTS = {
    "dpd": "on-demand",
    "passive-mode": "disable",
    "protocol": "0",
    "src-addr-type": "subnet",
    "dst-addr-type": "subnet",
    "src-subnet": "0.0.0.0 0.0.0.0",
    "dst-subnet": "0.0.0.0 0.0.0.0",
    "src-port": "0",
    "dst-port": "0",
}


@dataclass
class Entry:
    """One `edit` of a phase-1 or phase-2 table: its settings, each with its statement."""

    path: str
    name: str
    tunnel: str | None  # the phase 1 it belongs to (its own name, or a phase 2's `phase1name`)
    header: Evidence  # the `edit` line
    device: str | None = None
    vdom: str | None = None  # the `config vdom` entry of a multi-VDOM configuration
    settings: dict[str, tuple[str, Evidence]] = field(default_factory=dict)
    # The keys the paste only `append`s to, with no `set` before: the
    # list is FortiOS's default, which depends on the version (`proposal`) and the paste
    # does not print, then the words in ``settings``. Their value is not known.
    on_default: set[str] = field(default_factory=set)

    @property
    def phase(self) -> int:
        return 1 if self.path in PHASE1 else 2

    def get(self, key: str) -> str | None:
        """The value as configured, unquoted (`"wan1"` → `wan1`), or FortiOS's default; None
        when the paste appends to a default it does not know (:attr:`on_default`)."""
        if key in self.on_default:
            return None
        if key in self.settings:
            return " ".join(self.words(key))
        return DEFAULTS.get(key)

    def words(self, key: str) -> list[str]:
        """A value's words, each unquoted (`set proposal aes128-sha256 aes256-sha256`)."""
        value = self.settings[key][0] if key in self.settings else DEFAULTS.get(key, "")
        try:
            return shlex.split(value)
        except ValueError:  # an unclosed quote a cut paste left
            return value.split()

    def stated(self, key: str) -> bool:
        """Whether the paste prints the setting (else :meth:`get` gives the default)."""
        return key in self.settings

    def sets(self, key: str, *values: str) -> bool:
        """Whether the paste shows the setting, to one of ``values`` (a default is not shown)."""
        return self.stated(key) and self.get(key) in values

    def statement(self, key: str) -> str:
        """The setting as the device prints it (`set transport udp-fallback-tcp`), without
        what a person wrote beside it in the paste; `append <key> <words>` for a list the
        paste appends to a default it does not print (:attr:`on_default`)."""
        return f"{'append' if key in self.on_default else 'set'} {key} {self.settings[key][0]}"

    @property
    def remote(self) -> str | None:
        """The remote gateway's address: `remote-gw`, or an IPv6 phase 1's `remote-gw6`."""
        return self.get("remote-gw") or self.get("remote-gw6")

    def evidence(self, *keys: str) -> list[Evidence]:
        """The `edit` line and the statements of ``keys`` that the paste prints."""
        return [self.header] + [self.settings[k][1] for k in keys if k in self.settings]


@dataclass
class Configured:
    entries: list[Entry]

    # A finding names a tunnel or a peer, not the FortiGate or VDOM whose configuration it
    # is: where the paste holds entries of that name from two devices or VDOMs, the answers
    # below are none (quoting another FortiGate's `to-hq` would mislead).

    def phase1(self, tunnel: str | None) -> Entry | None:
        """The phase 1 named ``tunnel`` (the latest entry of that name); a dial-up instance's
        name (`DialUp_0`) finds its phase 1 (`DialUp`)."""
        for name in _names(tunnel):
            found = _latest(e for e in self.entries if e.phase == 1 and e.name == name)
            if found:
                return found[0] if len(found) == 1 else None
        return None

    def refused_phase2s(self, tunnel: str | None, children) -> list[Entry]:
        """The phase 2s of ``tunnel`` a debug names as refused (``children``: another phase
        2's settings are not what was refused); when it names none, the tunnel's first few."""
        p2s = self.phase2s(tunnel)
        return [e for e in p2s if e.name in children] if children else p2s[:3]

    def phase2s(self, tunnel: str | None) -> list[Entry]:
        """The phase 2s of the phase 1 ``tunnel`` (the latest entry of each name)."""
        for name in _names(tunnel):
            found = _latest(e for e in self.entries if e.phase == 2 and e.tunnel == name)
            if found:
                return found
        return []

    def for_peer(self, ip: str | None) -> list[Entry]:
        """The phase 1s whose remote gateway is ``ip`` (`1.2.3.4` or `1.2.3.4:500`)."""
        if not ip:
            return []
        ip = _address(host(ip))
        return _latest(e for e in self.entries if e.phase == 1 and _address(e.remote) == ip)


def _latest(entries: Iterable[Entry]) -> list[Entry]:
    """The latest entry of each name, in the order first seen; none when the entries are of
    two devices or two VDOMs (see :class:`Configured`)."""
    entries = list(entries)
    latest = {e.name: e for e in entries}
    owners = {(e.device, e.vdom) for e in entries}
    if len({d for d, _ in owners if d}) > 1 or len({v for _, v in owners if v}) > 1:
        return []
    return list(latest.values())


def _address(text: str | None) -> str | None:
    """An address as one spelling (`2001:0db8::1` and `2001:db8::1` alike); else the text."""
    try:
        return str(ipaddress.ip_address(text)) if text else text
    except ValueError:
        return text


# A dial-up tunnel's instances are named after their phase 1 with a counter (`DialUp_0`).
DIALUP_INSTANCE = re.compile(r"^(?P<base>.+)_\d+$")


def _names(tunnel: str | None) -> list[str]:
    """The phase-1 names a tunnel name may stand for: itself, then a dial-up instance's base."""
    if not tunnel:
        return []
    m = DIALUP_INSTANCE.match(tunnel)
    return [tunnel, m["base"]] if m else [tunnel]


def build(events: pd.DataFrame) -> Configured:
    """Gather the phase-1 and phase-2 entries of an event table's `config` rows."""
    # Only the phase tables' statements are read (a full configuration holds thousands of others).
    rows = events[(events["kind"] == "config").fillna(False).to_numpy()]
    rows = rows[rows["detail"].str.contains('"path":"vpn ipsec phase', regex=False).fillna(False).to_numpy()]
    entries: dict[tuple[str, int], Entry] = {}  # by (source, the `edit` line's ref)
    current: dict[str, Entry] = {}  # per source: the entry being read
    for r in rows.itertuples(index=False):  # configuration statements: a few per setting
        d = json.loads(r.detail) if isinstance(r.detail, str) else {}
        source = str(r.source)
        path = str(d.get("path", ""))
        if path not in PHASES or "entry" not in d:
            if path.split("/", 1)[0] not in PHASES:  # (a sub-table's rows leave its entry open)
                current.pop(source, None)
            continue
        ev = Evidence(source, int(r.ref), str(r.text).strip(), None)
        e = current.get(source)
        if e is None or (e.path, e.name) != (path, d["entry"]) or ev.text.startswith("edit"):
            e = current[source] = entries.setdefault((source, int(r.ref)), Entry(
                path, d["entry"], r.tunnel if isinstance(r.tunnel, str) else None, ev,
                r.device if isinstance(r.device, str) else None, r.vdom if isinstance(r.vdom, str) else None))
        key = d.get("key")
        if key is None:
            continue
        verb = d.get("verb")
        if verb == "unset":
            e.settings.pop(key, None)
            e.on_default.discard(key)
        elif verb in (None, "append") and "value" in d:
            value = d["value"]
            if verb is None:
                e.on_default.discard(key)
            elif key in e.settings:
                value = f"{e.settings[key][0]} {value}"
            else:  # (not the appended words alone: the list starts with a default not printed)
                e.on_default.add(key)
            e.settings[key] = (value, ev)
    return Configured(list(entries.values()))


# -- the questions rules ask


def selectors(entry: Entry) -> tuple[list[str], list[str]] | None:
    """A phase 2's selectors in the tunnel list's form (`0:10.1.0.0/255.255.255.0:0`, see
    flowtrace.selector), source side then destination side; None when a side is an address
    object (`src-addr-type name`), which the paste cannot resolve."""
    proto = entry.get("protocol") or "0"
    sides = []
    for side in ("src", "dst"):
        kind = entry.get(f"{side}-addr-type") or "subnet"
        port = entry.get(f"{side}-port") or "0"
        six = "6" if kind.endswith("6") else ""
        if kind.startswith("subnet"):
            words = entry.words(f"{side}-subnet{six}") or (["::/0"] if six else ["0.0.0.0", "0.0.0.0"])
            addr = "/".join(words[:2])
        elif kind.startswith("ip"):
            addr = entry.get(f"{side}-start-ip{six}") or ""
        elif kind.startswith("range"):
            start, end = entry.get(f"{side}-start-ip{six}"), entry.get(f"{side}-end-ip{six}")
            if not (start and end):
                return None  # (a range the paste cut: not a selector to compare with)
            addr = f"{start}-{end}"
        else:
            return None
        sides.append([f"{proto}:{addr}:{port}"])
    return sides[0], sides[1]


SELECTOR_KEYS = ("src-addr-type", "src-subnet", "src-subnet6", "src-start-ip", "src-end-ip", "src-start-ip6",
                 "src-end-ip6", "src-name", "src-name6", "src-port", "dst-addr-type", "dst-subnet", "dst-subnet6",
                 "dst-start-ip", "dst-end-ip", "dst-start-ip6", "dst-end-ip6", "dst-name", "dst-name6", "dst-port",
                 "protocol")


def dpd_off_note(ctx: Context, peer_ip: str | None) -> Note | None:
    """Why a tunnel to a silent peer stayed up: `set dpd disable` on its phase 1 (the
    configuration's counterpart of snapshots.dpd_off_note, for a paste without a tunnel list)."""
    for e in ctx.configured.for_peer(peer_ip):
        if e.sets("dpd", "disable"):
            where = e.settings["dpd"][1]
            text = (f"DPD is off on tunnel {e.name} in its configuration (`set dpd disable`, {where.source} line "
                    f"{where.ref}), so nothing detects the dead peer: the tunnel stays up until its SAs expire.")
            return Note(e.name, text, e.evidence("dpd"), {"dpd_off": True, "dpd_tunnel": e.name,
                                                          "sa_seconds_left": None})
    return None


def states(ctx: Context, tunnel: str | None, key: str, value: str) -> Entry | None:
    """Phase 1 ``tunnel``, if the paste shows it setting ``key`` to ``value``."""
    e = ctx.configured.phase1(tunnel)
    return e if e and e.sets(key, value) else None


# `set transport` of a phase 1 that lets a client move to IKE over TCP (7.4: `udp-fallback-tcp`;
# 7.6 names it `auto`).
FALLBACK_TRANSPORTS = ("udp-fallback-tcp", "auto")


def fallback_transport(ctx: Context, tunnel: str | None) -> Entry | None:
    """The phase 1 configured to let clients fall back to TCP: the one named ``tunnel`` (a
    dial-up instance's, `FCT_0`: its phase 1's), or else the only one the input's
    configuration has."""
    def allows(e: Entry | None) -> bool:
        return e is not None and e.sets("transport", *FALLBACK_TRANSPORTS)

    if tunnel:
        e = ctx.configured.phase1(tunnel)
        return e if allows(e) else None
    found = [e for e in {e.name: e for e in ctx.configured.entries if e.phase == 1}.values() if allows(e)]
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class Said:
    """A sentence quoting configured statements, and the statements as evidence."""

    text: str
    evidence: list[Evidence]


# The settings a finding of each kind quotes, when the paste shows them.
PHASE1_PROPOSAL = ("ike-version", "mode", "proposal", "dhgrp", "authmethod")
PHASE2_PROPOSAL = ("proposal", "pfs", "dhgrp")
PEER_IDENTITY = ("peertype", "peerid", "peer", "usrgrp", "localid")


def said(entries: list[Entry | None], keys: tuple[str, ...]) -> Said | None:
    """`Its configuration has phase 1 to-dc: `set proposal aes256-sha256`, `set dhgrp 14`
    (cfg.txt lines 7, 8).` for the ``keys`` the entries state; None when they state none."""
    parts, ev = [], []
    for e in entries:
        stated = [k for k in keys if e is not None and e.stated(k)]
        if not stated:
            continue
        refs = ", ".join(str(e.settings[k][1].ref) for k in stated)
        parts.append(f"phase {e.phase} {e.name}: " + ", ".join(f"`{e.statement(k)}`" + (
                         " (after FortiOS's default list, which the paste does not show)" if k in e.on_default else "")
                         for k in stated)
                     + f" ({e.header.source} line{'s' if len(stated) > 1 else ''} {refs})")
        ev += e.evidence(*stated)
    return Said("Its configuration has " + "; ".join(parts) + ".", ev) if parts else None
