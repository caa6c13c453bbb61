"""FortiGate text → capture file: the API behind `ikeanalyze convert`.

Sniffer hex dumps (verbosity 2/3/5/6) become frames with their interface, direction and
time (:mod:`ikeanalyze.sources.hexdump`); with ``from_ike_debug`` the `in`/`out` hex of
`diagnose debug application ike -1` becomes UDP datagrams between the addresses of the
`comes` line before it or the `sent IKE msg` line after it. Frames are written by
:mod:`ikeanalyze.capture` (pcapng, or classic pcap for a ``.pcap`` output).

What fgt2eth.pl does differently (FORMATS.md §4): it needs Perl and text2pcap; it drops
the interface and direction (or writes one file per interface with ``-demux``), skips
`truncated-ip` packets, maps relative times to a fake 2005 date, takes the end of the hex
at the first run of two spaces (so a dump whose tabs were collapsed to single spaces
keeps its ASCII column as bytes), and prepends a fake Ethernet header to tunnel-interface
frames. Here the interface and direction stay in the pcapng, short and `truncated-ip`
dumps are kept and commented, relative times are anchored at ``start`` (the Unix epoch by
default) and said so, only hex groups are read, and tunnel frames are written as raw IP.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ikeanalyze import capture
from ikeanalyze.errors import InputError, UsageError
from ikeanalyze.ingest import InputReport
from ikeanalyze.sources import PCAP_MAGICS, Blob, expand, hexdump, unpacked
from ikeanalyze.sources.textclean import clean, decode, split_lines
from ikeanalyze.wire.natt import NON_ESP_MARKER
from ikeanalyze.wire.ports import IKE_NATT_PORT, IKE_PORT

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Bytes that make the text need cleaning before its lines are read (see textclean).
DEBRIS = (b"\r", b"\x1b", b"\x08", b"\x00")
# IKE debug: the hex of a message as received (`in`) or sent (`out`), and its wrapped lines.
DEBUG_HEX = re.compile(r"(?:^|\s)(?P<dir>in|out) (?P<hex>[0-9A-Fa-f]+)\s*$")
HEX_CONTINUATION = re.compile(r"^[0-9A-Fa-f]{8,}\s*$")
PAIR_WINDOW = 4  # debug events between a hex line and its `comes`/`sent IKE msg` line
IPPROTO_UDP = 17
NO_TIME_STEP_US = 1000  # debug lines without timestamps: frames 1 ms apart, in line order


@dataclass
class InputSummary:
    source: str
    lines: int = 0
    packets: int = 0  # frames written from this input
    headers: int = 0  # sniffer packet headers
    without_dump: int = 0  # headers with no bytes (verbosity 1/4): cannot be written
    dump_lines: int = 0
    orphan_lines: int = 0  # dump lines under no header, or after a lost line
    stray_lines: int = 0  # other text between packets (prompts, typed keys, banners)
    damaged: int = 0  # frames kept short or flagged
    normalised: int = 0  # frames whose FortiOS-internal link layer was rewritten
    debug_packets: int = 0  # frames from IKE debug hex
    debug_skipped: dict[str, int] = field(default_factory=dict)  # debug hex not written, by reason
    debug_lines_used: int = 0  # debug lines (hex and its wrapped lines) that became frames
    clock: str = ""


@dataclass
class ConvertResult:
    output: str
    fmt: str
    packets: int
    inputs: list[InputSummary]
    data: bytes = b""

    def summary(self) -> list[str]:
        """What was written and what was skipped, one line each (printed on stderr)."""
        out = [f"wrote {self.packets} packets to {self.output} ({self.fmt})"]
        for s in self.inputs:
            parts = [f"{s.packets} packets"]
            if s.without_dump:
                parts.append(f"{s.without_dump} headers without a hex dump (verbosity 1/4) skipped")
            if s.orphan_lines:
                parts.append(f"{s.orphan_lines} dump lines under no header skipped")
            if s.stray_lines:
                parts.append(f"{s.stray_lines} other lines (prompts, banners, typed text) skipped")
            if s.damaged:
                parts.append(f"{s.damaged} short or damaged dumps kept as far as they go (see packet comments)")
            if s.normalised:
                parts.append(f"{s.normalised} FortiOS-internal link headers normalised")
            if s.debug_packets:
                parts.append(f"{s.debug_packets} packets from IKE debug hex")
            for why, n in sorted(s.debug_skipped.items()):
                parts.append(f"{n} IKE debug hex lines skipped ({why})")
            if s.clock:
                parts.append(s.clock)
            out.append(f"{s.source}: {s.lines} lines: " + "; ".join(parts))
        return out


def parse_start(value: str | None) -> datetime:
    """`--start`: an ISO date-time; without a zone it is UTC."""
    if value is None:
        return EPOCH
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"--start expects a date-time like 2026-02-26T23:17:00, got '{value}'") from exc
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _us(t: datetime) -> int:
    return int((t - EPOCH).total_seconds()) * 1_000_000 + t.microsecond


def convert(
    inputs: list[str | Blob],
    output: Path | str | None,
    start: datetime | str | None = None,
    from_ike_debug: bool = False,
    fmt: str | None = None,
) -> ConvertResult:
    """Convert FortiGate text inputs into one capture; write it to ``output`` (``-`` or
    None: return the bytes only). ``fmt`` is `pcapng` or `pcap`; by default the output's
    suffix decides (`.pcap` → classic pcap, anything else pcapng)."""
    start_dt = start if isinstance(start, datetime) else parse_start(start)
    fmt = fmt or ("pcap" if output is not None and str(output).lower().endswith(".pcap") else "pcapng")
    if fmt not in ("pcap", "pcapng"):
        raise UsageError(f"unknown capture format '{fmt}' (pcapng or pcap)")
    blobs: list[Blob] = []
    for item in inputs:
        for blob in [item] if isinstance(item, Blob) else expand([str(item)]):
            blobs.extend(unpacked(blob))  # a .gz/.bz2/.xz, a ZIP's files: as `analyze` reads them
    parts, summaries, comments = [], [], []
    for blob in blobs:
        frames, summary, comment = frames_of(blob, start_dt, from_ike_debug)
        summaries.append(summary)
        if comment:
            comments.append(comment)
        if len(frames):
            parts.append(frames)
    if not parts:
        names = ", ".join(b.name for b in blobs)
        raise InputError(names, None, "no packet bytes to convert: no sniffer hex dump (verbosity 2/3/5/6)"
                         + ("" if from_ike_debug else "; for IKE debug in/out hex use --from-ike-debug"))
    frames = merge(parts)
    data = capture.pcap(frames) if fmt == "pcap" else capture.pcapng(frames, comment="\n".join(comments) or None)
    name = "-" if output is None or str(output) == "-" else str(output)
    if name != "-":
        try:
            Path(name).write_bytes(data)
        except OSError as exc:
            raise InputError(name, None, f"cannot write: {exc.strerror or exc}") from exc
    return ConvertResult(name, fmt, len(frames), summaries, data)


def _text_bytes(blob: Blob) -> bytes:
    """The input as lines separated by `\\n`, line for line what the text source numbers."""
    data = blob.read()
    if data[:4] in PCAP_MAGICS:
        raise InputError(blob.name, None, "already a capture; nothing to convert")
    if data.isascii() and not any(b in data for b in DEBRIS):
        return data
    text, _enc = decode(data)
    lines, _cut = split_lines(clean(text))
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def frames_of(blob: Blob, start: datetime, from_ike_debug: bool) -> tuple[capture.Frames, InputSummary, str]:
    """One input's frames (sniffer dumps, then IKE debug hex), its summary, and the note
    on its clock for the pcapng comment."""
    buf = _text_bytes(blob)
    d = hexdump.scan(buf)
    s = InputSummary(blob.name, lines=buf.count(b"\n") + (0 if buf.endswith(b"\n") or not buf else 1))
    s.headers, s.dump_lines, s.orphan_lines = d.headers, d.dump_lines, d.orphan_lines
    s.without_dump = d.headers - len(d)
    s.normalised = d.normalised
    s.damaged = sum(1 for n in d.notes if n)
    f = d.frames
    comment = ""
    if len(d):
        if d.relative:
            f.ts_us = f.ts_us + _us(start)
            s.clock = f"relative sniffer times anchored at {start.isoformat()}"
            comment = (f"{blob.name}: sniffer timestamps are relative (seconds since the sniffer started); "
                       f"anchored at {start.isoformat()} (--start)")
        else:
            s.clock = "absolute times as printed by the FortiGate (zone not in the text), written as UTC"
            comment = f"{blob.name}: {s.clock}"
        line_refs = [f"{blob.name} line {int(h) + 1}" for h in d.header_line]
        f.comment = [r if not n else f"{r}: {n}" for r, n in zip(line_refs, d.notes)]
    # Stray text counted per line that is neither header, dump nor blank.
    s.stray_lines = len(d.stray_lines)
    parts = [f] if len(d) else []
    if from_ike_debug:
        dbg, dbg_comment = _debug_frames(buf, blob.name, start, s)
        if len(dbg):
            parts.append(dbg)
            comment = "\n".join(x for x in (comment, dbg_comment) if x)
            # The debug lines were counted as stray text by the dump scan.
            s.stray_lines -= s.debug_lines_used
    frames = merge(parts) if parts else f
    s.packets = len(frames)
    return frames, s, comment


def merge(parts: list[capture.Frames]) -> capture.Frames:
    """Concatenate frame tables and order them by time (stable: equal times keep input order)."""
    f = capture.concat(parts)
    order = np.argsort(f.ts_us, kind="stable")
    if (order == np.arange(len(order))).all():
        return f
    return f.take(order)


# ---------------------------------------------------------------------------- IKE debug
def _debug_frames(buf: bytes, name: str, start: datetime, s: InputSummary) -> tuple[capture.Frames, str]:
    """`in`/`out` hex lines → UDP datagrams, addressed from the paired `comes`/`sent` line."""
    from ikeanalyze.sources import text

    lines = buf.decode("utf-8", "surrogateescape").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    report = InputReport(name)
    ev = text.parse_lines(lines, report)
    s.debug_lines_used = 0
    if not len(ev):
        return _empty(), ""
    ev = ev[ev["origin"] == "ikedebug"].reset_index(drop=True)
    kind = ev["kind"].astype(object).to_numpy()
    cols = {c: ev[c].astype(object).where(ev[c].notna(), None).to_numpy() for c in ("src", "sport", "dst", "dport", "length")}
    refs = ev["ref"].to_numpy(np.int64)
    skipped: dict[str, int] = {}
    frames, ts, dirs, comments = [], [], [], []
    timed = ev["time"].notna().to_numpy()
    # Microseconds straight from the arrow column: a Timestamp's `.value` is in ns and
    # overflows for far dates a mangled paste can carry (year 9999).
    micros = ev["time"].astype("int64[pyarrow]").to_numpy(dtype="int64", na_value=0)
    for i in np.flatnonzero(kind == "ike-hex"):
        line = lines[refs[i] - 1]
        m = DEBUG_HEX.search(line)
        if not m:  # `enc`/`dec`: the message before encryption or after decryption, not the wire
            skipped["enc/dec (not wire bytes)"] = skipped.get("enc/dec (not wire bytes)", 0) + 1
            continue
        hexs = [m.group("hex")]
        j = refs[i]
        while j < len(lines) and HEX_CONTINUATION.match(lines[j]):
            hexs.append(lines[j].strip())
            j += 1
        hx = "".join(hexs)
        if len(hx) % 2:
            skipped["odd number of hex digits"] = skipped.get("odd number of hex digits", 0) + 1
            continue
        payload = bytes.fromhex(hx)
        way = m.group("dir")
        pair = _pair(kind, cols, i, way, len(payload))
        if pair is None:
            why = f"no matching `{'comes' if way == 'in' else 'sent IKE msg'}` line"
            skipped[why] = skipped.get(why, 0) + 1
            continue
        src, sport, dst, dport = pair
        if IKE_PORT not in (sport, dport) and IKE_NATT_PORT not in (sport, dport):
            skipped["IKE over TCP (no TCP stream to rebuild)"] = skipped.get("IKE over TCP (no TCP stream to rebuild)", 0) + 1
            continue
        if IKE_NATT_PORT in (sport, dport) and payload[:4] != NON_ESP_MARKER:
            payload = NON_ESP_MARKER + payload  # RFC 3948: IKE on 4500 carries the marker
        try:
            frames.append(udp_packet(src, sport, dst, dport, payload))
        except ValueError:
            skipped["unusable addresses"] = skipped.get("unusable addresses", 0) + 1
            continue
        ts.append(int(micros[i]) if timed[i] else None)
        dirs.append(way)
        comments.append(f"{name} line {refs[i]}: IKE debug `{way}` hex")
        s.debug_lines_used += j - refs[i] + 1
    s.debug_skipped = skipped
    s.debug_packets = len(frames)
    if not frames:
        return _empty(), ""
    base = _us(start)
    known = [t for t in ts if t is not None]
    if known:
        # A hex line without its own stamp (typed keys before `ike`) takes the time of the
        # frame before it (or after it, at the start).
        filled, last = [], known[0]
        for t in ts:
            last = t if t is not None else last
            filled.append(last)
        ts_us = np.array(filled, np.int64)
        clock = ("the terminal client's time stamps (the debug prints none)" if report.clock == "client"
                 else "IKE debug console timestamps")
        note = f"{name}: {clock} as printed (zone not in the text), written as UTC"
        if len(known) < len(ts):
            note += f"; {len(ts) - len(known)} hex lines without a stamp take the time of the frame before"
    else:
        ts_us = base + np.arange(len(frames), dtype=np.int64) * NO_TIME_STEP_US
        note = (f"{name}: IKE debug lines have no timestamps; frames are in line order, "
                f"{NO_TIME_STEP_US} us apart from {start.isoformat()} (--start)")
    sizes = np.array([len(x) for x in frames], np.int64)
    f = capture.Frames(
        data=b"".join(frames),
        offsets=np.concatenate(([0], np.cumsum(sizes))).astype(np.int64),
        ts_us=ts_us,
        linktype=np.full(len(frames), capture.LINKTYPE_RAW, np.int64),
        iface=[None] * len(frames),
        direction=dirs,
        orig_len=sizes,
        comment=comments,
    )
    return f, note


def _empty() -> capture.Frames:
    z = np.zeros(0, np.int64)
    return capture.Frames(b"", np.zeros(1, np.int64), z, z, [], [], z, [])


def _pair(kind: np.ndarray, cols: dict[str, np.ndarray], i: int, way: str, size: int):
    """The `comes` line before an `in` hex (or the `sent IKE msg` after an `out` hex) whose
    length agrees (`len=` on 4500 counts the 4-byte non-ESP marker)."""
    want = "ike-received" if way == "in" else "ike-sent"
    if way == "in":
        rng = range(i - 1, max(i - PAIR_WINDOW - 1, -1), -1)
    else:
        rng = range(i + 1, min(i + PAIR_WINDOW + 1, len(kind)))
    for j in rng:
        if kind[j] == "ike-hex":
            break
        if kind[j] != want:
            continue
        src, sport, dst, dport, length = (cols[c][j] for c in ("src", "sport", "dst", "dport", "length"))
        if None in (src, sport, dst, dport):
            return None
        if length is not None and int(length) not in (size, size + len(NON_ESP_MARKER)):
            return None
        return str(src), int(sport), str(dst), int(dport)
    return None


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_packet(src: str, sport: int, dst: str, dport: int, payload: bytes) -> bytes:
    """An IPv4 or IPv6 UDP datagram (raw IP) with correct checksums."""
    a, b = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if a.version != b.version:
        raise ValueError("mixed address families")
    ulen = 8 + len(payload)
    if a.version == 4:
        pseudo = a.packed + b.packed + struct.pack("!BBH", 0, IPPROTO_UDP, ulen)
    else:
        pseudo = a.packed + b.packed + struct.pack("!IxxxB", ulen, IPPROTO_UDP)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    ck = _checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", ck) + udp[8:]
    if a.version == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0, 0x4000, 64, IPPROTO_UDP, 0, a.packed, b.packed)
        hdr = hdr[:10] + struct.pack("!H", _checksum(hdr)) + hdr[12:]
        return hdr + udp
    return struct.pack("!IHBB16s16s", 0x60000000, ulen, IPPROTO_UDP, 64, a.packed, b.packed) + udp
