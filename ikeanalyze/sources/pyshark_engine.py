"""The deep, slow path: the same event table from tshark's dissection (``--engine tshark``).

tshark (Wireshark) does the decoding; this module only maps its fields onto the event
schema. pyshark locates the tshark binary (honouring its config); the fields are read with
one ``tshark -T fields`` run, which is what pyshark does underneath, without its
per-packet XML cost. Every frame is accounted for: rows with IKE, ESP or a NAT keepalive
(and the ICMP errors the native reader keeps, :data:`pcap.ICMP_KEPT`) are events, every
other frame is ``other-traffic``.

Limits (Wireshark 4.0): no RFC 8229 decoder (IKE-over-TCP frames on ``--ike-tcp-port``
ports become ``tcp`` events only), exchange 43 (IKE_INTERMEDIATE) is named from our own
table, and no proposal summary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import numpy as np
import pandas as pd

from ikeanalyze import events as ev
from ikeanalyze.endpoints import endpoint
from ikeanalyze.errors import InputError
from ikeanalyze.ingest import InputReport
from ikeanalyze.sources.pcap import ICMP_KEPT, ICMP_NAMES, IPPROTO_ICMP, IPPROTO_ICMPV6
from ikeanalyze.wire import iana
from ikeanalyze.wire.ports import IKE_NATT_PORT, IKE_PORT, tcp_ike_ports

FIELDS = (
    "frame.number",
    "frame.time_epoch",
    "frame.interface_name",
    "ip.src",
    "ipv6.src",
    "ip.dst",
    "ipv6.dst",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.len",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.flags",
    "isakmp.version",
    "isakmp.exchangetype",
    "isakmp.ispi",
    "isakmp.rspi",
    "isakmp.messageid",
    "isakmp.flag_r",
    "isakmp.typepayload",
    "isakmp.nextpayload",
    "isakmp.notify.msgtype",
    "esp.spi",
    "esp.sequence",
    "udpencap.nat_keepalive",
    "isakmp.ike.nat_keepalive",
    "icmp.type",
    "icmpv6.type",
    "frame.protocols",
    "icmp.code",
    "icmpv6.code",
    "ip.len",
    "ip.hdr_len",
    "ipv6.plen",
)
TCP_WORDS = ((0x02, "syn"), (0x01, "fin"), (0x04, "rst"), (0x08, "psh"), (0x10, "ack"))


def tshark_path() -> str:
    try:
        from pyshark.tshark.tshark import get_process_path

        return get_process_path()
    except Exception:  # pyshark absent or unconfigured: fall back to PATH
        found = shutil.which("tshark")
        if not found:
            raise InputError("tshark", None, "the tshark engine needs tshark installed") from None
        return found


def _run(path: str) -> list[list[str]]:
    cmd = [
        tshark_path(),
        "-n",
        "-r",
        path,
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]
    for f in FIELDS:
        cmd += ["-e", f]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 and not proc.stdout:
        raise InputError(path, None, f"tshark failed: {proc.stderr.strip()[:200]}")
    return [line.split("\t") for line in proc.stdout.splitlines()]


def _first(v: str) -> str:
    return v.split(",", 1)[0] if v else ""


def _last(v: str) -> str:
    """The innermost occurrence (a tunnel's inner header follows its outer one)."""
    return v.rsplit(",", 1)[-1] if v else ""


def _icmp_row(f: dict[str, str], ts: float) -> dict | None:
    """The event of an ICMP error pcap.ICMP_KEPT keeps (a port unreachable about a UDP
    datagram to or from 500/4500), as the native reader makes it; None for other ICMP.
    tshark lists every IP header of the frame: the error's own is the last one before the
    `icmp`/`icmpv6` layer (a tunnel's come before it), the quoted datagram's the next."""
    proto, fam, name = ((IPPROTO_ICMP, "ip", "icmp") if f["icmp.type"] else (IPPROTO_ICMPV6, "ipv6", "icmpv6"))
    words = ICMP_KEPT.get((proto, _int(f[f"{name}.type"]), _int(f[f"{name}.code"])))
    layers = f["frame.protocols"].split(":")
    if words is None or name not in layers:
        return None
    at = layers[:layers.index(name)].count(fam) - 1  # the error's own header among the frame's
    src, dst = (f[f"{fam}.{k}"].split(",") for k in ("src", "dst"))
    ports = {_int(f["udp.srcport"], pick=_last), _int(f["udp.dstport"], pick=_last)}
    if at < 0 or len(dst) < at + 2 or "udp" not in layers[layers.index(name):] or not ports & {IKE_PORT, IKE_NATT_PORT}:
        return None
    if fam == "ip":
        length = int(f["ip.len"].split(",")[at]) - int(f["ip.hdr_len"].split(",")[at])
    else:
        length = int(f["ipv6.plen"].split(",")[at])
    detail = words.format(dst=dst[at + 1], dport=_int(f["udp.dstport"], pick=_last))
    return {"ref": int(f["frame.number"]), "ts": ts, "iface": f["frame.interface_name"] or None,
            "src": src[at], "dst": dst[at], "kind": "icmp", "proto": "icmp", "length": length, "detail": detail,
            "text": f"{src[at]} > {dst[at]}: {ICMP_NAMES[proto]} {detail}, length {length}"}


def _int(v: str, base: int = 10, pick=_first) -> int | None:
    v = pick(v)
    if not v:
        return None
    try:
        return int(v, 0) if base == 0 else int(v, base)
    except ValueError:
        return None


def parse(blob, report: InputReport, options) -> pd.DataFrame:
    report.clock = "utc"
    report.unit = "frame"
    report.formats.append("capture (tshark)")
    if blob.path is not None and blob.data is None:
        rows = _run(str(blob.path))
        report.size = os.path.getsize(blob.path)
    else:
        data = blob.read()
        report.size = len(data)
        with tempfile.NamedTemporaryFile(suffix=".pcapng") as tmp:
            tmp.write(data)
            tmp.flush()
            rows = _run(tmp.name)
    tcp_ports = tcp_ike_ports(options)
    events: list[dict] = []
    first_ts = None
    for r in rows:
        r += [""] * (len(FIELDS) - len(r))
        f = dict(zip(FIELDS, r))
        report.total += 1
        ts = float(f["frame.time_epoch"] or 0)
        if first_ts is None:
            first_ts = ts
        if f["icmp.type"] or f["icmpv6.type"]:
            # An ICMP error: the native reader's event for the few it keeps (pcap.ICMP_KEPT), else
            # other traffic; never the datagram it quotes, which tshark dissects as a packet.
            icmp = _icmp_row(f, ts)
            if icmp is None:
                report.count("other-traffic")
            else:
                report.count("event")
                events.append(icmp)
            continue
        # Inside a tunnel (GRE, ERSPAN, VXLAN, MPLS...) the packet between the peers is the
        # innermost one, as the native reader takes it.
        protocols = f["frame.protocols"].split(":")
        ips = [i for i, p in enumerate(protocols) if p in ("ip", "ipv6")]
        fam = protocols[ips[-1]] if ips else "ip"
        inner = protocols[ips[-1] + 1:] if ips else protocols
        src = _last(f[f"{fam}.src"]) or _last(f["ip.src"]) or _last(f["ipv6.src"])
        dst = _last(f[f"{fam}.dst"]) or _last(f["ip.dst"]) or _last(f["ipv6.dst"])
        sport = _int(f["udp.srcport"], pick=_last) or _int(f["tcp.srcport"], pick=_last)
        dport = _int(f["udp.dstport"], pick=_last) or _int(f["tcp.dstport"], pick=_last)
        base = {
            "ref": int(f["frame.number"]),
            "ts": ts,
            "iface": f["frame.interface_name"] or None,
            "src": src,
            "dst": dst,
        }
        row = None
        if f["udpencap.nat_keepalive"] or f["isakmp.ike.nat_keepalive"]:
            row = {
                **base,
                "kind": "nat-keepalive",
                "proto": "udp",
                "sport": sport,
                "dport": dport,
                "length": 1,
                "transport": "udp4500",
                "text": f"{endpoint(src, sport)} > {endpoint(dst, dport)} NAT-keepalive",
            }
        elif f["isakmp.version"]:
            ver = (_int(f["isakmp.version"], 16) or 0) >> 4
            exch = _int(f["isakmp.exchangetype"]) or 0
            types = [int(x) for x in f["isakmp.typepayload"].split(",") if x]
            if not types and f["isakmp.nextpayload"]:
                types = [int(_first(f["isakmp.nextpayload"]))]
            types = [t for t in types if t not in (2, 3)]
            notes = [iana.notify_name(ver, int(x)) for x in f["isakmp.notify.msgtype"].split(",") if x]
            on4500 = 4500 in (sport, dport)
            row = {
                **base,
                "kind": "ike",
                "proto": "udp",
                "sport": sport,
                "dport": dport,
                "length": (_int(f["udp.length"], pick=_last) or 8) - 8,
                "transport": "udp4500" if on4500 else "udp500",
                "ike_version": ver,
                "exchange": iana.exchange_name(ver, exch),
                "response": (f["isakmp.flag_r"] in ("1", "True")) if ver == 2 else None,
                "msg_id": _int(f["isakmp.messageid"], 0),
                "ispi": _first(f["isakmp.ispi"]) or None,
                "rspi": _first(f["isakmp.rspi"]) or None,
                "payloads": " ".join(iana.payload_name(ver, t) for t in types) or None,
                "notify": " ".join(notes) or None,
            }
            row["text"] = f"{endpoint(src, sport)} > {endpoint(dst, dport)} IKEv{ver} {row['exchange']} mid={row['msg_id']}"
        elif f["esp.spi"]:
            spi = _int(f["esp.spi"], 0) or 0
            udp = "udp" in inner  # ESP in UDP of its own, not an outer tunnel's UDP
            row = {
                **base,
                "kind": "esp",
                "proto": "udp" if udp else "esp",
                "sport": sport if udp else None,
                "dport": dport if udp else None,
                "transport": "udp4500" if udp else "esp",
                "esp_spi": f"{spi:08x}",
                "esp_seq": _int(f["esp.sequence"]),
                "text": f"{src} > {dst} ESP spi=0x{spi:08x} seq={_int(f['esp.sequence'])}",
            }
        elif f["tcp.srcport"] and ({sport, dport} & tcp_ports):
            flags = _int(f["tcp.flags"], 0) or 0
            words = " ".join(w for bit, w in TCP_WORDS if flags & bit)
            row = {
                **base,
                "kind": "tcp",
                "proto": "tcp",
                "sport": sport,
                "dport": dport,
                "length": _int(f["tcp.len"]),
                "tcp_flags": words,
                "tcp_seq": _int(f["tcp.seq_raw"]),
                "tcp_ack": _int(f["tcp.ack_raw"]),
                "transport": "tcp",
                "text": f"{endpoint(src, sport)} > {endpoint(dst, dport)} TCP [{words}]",
            }
        if row is None:
            report.count("other-traffic")
            continue
        report.count("event")
        events.append(row)
    n = len(events)
    cols = ev.columns(events)
    ts = np.array(cols.pop("ts", []), np.float64)
    cols["time"] = pd.to_datetime(ts, unit="s").as_unit("us").to_numpy() if n else []
    cols["t"] = ts - (first_ts or 0.0)
    cols["source"] = [blob.name] * n
    cols["origin"] = ["pcap"] * n
    cols["wire"] = np.ones(n, dtype=bool)  # every capture row is one packet (events.py, `wire`)
    return ev.frame(cols, n)
