"""Text with no clock (sniffer text with relative stamps, tcpdump's time of day): findings
and the timeline cite each line's stamp as the paste prints it, not seconds since the
input's first stamp, so that a search of the paste finds it."""

from __future__ import annotations

import json

from ikeanalyze import api
from ikeanalyze.diagnosis import printed_stamp, row_stamp
from ikeanalyze.report import html, terminal
from ikeanalyze.report import json as json_report
from ikeanalyze.sources import Blob

# Hand-written `diagnose sniffer packet wan1 'udp port 4500'` at verbosity 1 (relative
# stamps, the run already 3 s old at its first line): ESP both ways, then only 1-byte
# datagrams from 192.0.2.10 for 57 s. RFC 5737 addresses.
V1 = "\n".join(
    ["FGT # diagnose sniffer packet wan1 'udp port 4500'", "interfaces=[wan1]", "filters=[udp port 4500]"]
    + [f"{s + 0.117204:.6f} 192.0.2.10.4500 -> 198.51.100.7.4500: udp 132\n"
       f"{s + 0.148204:.6f} 198.51.100.7.4500 -> 192.0.2.10.4500: udp 132" for s in range(3, 15, 2)]
    + [f"{s:.6f} 192.0.2.10.4500 -> 198.51.100.7.4500: udp 1" for s in range(20, 80, 10)]) + "\n"


def _diagnosis():
    return api.analyze([Blob("v1.txt", data=V1.encode())], select=["IKE102"])


def test_finding_cites_the_relative_stamp_as_printed() -> None:
    d = _diagnosis()
    [f] = d.all_findings()
    # line 15 is `13.148204 198.51.100.7.4500 -> …`, 10.031 s after the first stamp (3.117204)
    assert "stopped sending at 13.148204 (line 15)" in f.message
    assert "+10.031 s" not in f.message


def test_timeline_cites_the_relative_stamp_in_every_report() -> None:
    d = _diagnosis()
    assert [(m.stamp, m.ref) for m in d.timeline] == [("13.148204", 15), ("70.000000", 21)]
    rows = [line for line in terminal.render(d, width=120).splitlines() if line.endswith(("line 15", "line 21"))]
    assert [r.split()[0] for r in rows] == ["13.148204", "70.000000"]
    doc = json.loads(json_report.render(d))
    assert [(m["stamp"], m["t"]) for m in doc["timeline"]] == [("13.148204", 10.031), ("70.000000", 66.882796)]
    page = html.render(d)
    assert '<span class="when mono">13.148204</span>' in page
    assert "<dd>13.148204 – 70.000000 (57 s)</dd>" in page
    assert [(f["stamp_start"], f["stamp_end"]) for f in doc["findings"]] == [("13.148204", "70.000000")]


def test_printed_stamp_forms() -> None:
    assert printed_stamp("10.031234 port1 in 192.0.2.1.500 -> 198.51.100.2.500: udp 300") == "10.031234"
    assert printed_stamp("08:00:05.123456 IP 192.0.2.1.500 > 198.51.100.2.500: isakmp") == "08:00:05.123456"
    # an absolute stamp has its clock (no stamp needed); a debug line has none
    assert printed_stamp("2026-02-26 23:34:42.766087 port2 in 10.3.2.150.59641 -> …") is None
    assert printed_stamp("ike 0:vpn1:12: sent IKE msg (SA_INIT): 192.0.2.1:500->198.51.100.2:500") is None
    assert printed_stamp(None) is None


def test_row_stamp_only_when_the_row_has_no_clock() -> None:
    """Rules (rules.base.stamp) and analyses (iketcp's first_stamp) share this one helper."""
    import pandas as pd

    from ikeanalyze.rules.base import stamp

    line = "10.031234 port1 in 192.0.2.1.500 -> 198.51.100.2.500: udp 300"
    assert stamp is row_stamp
    assert row_stamp(pd.Series({"time": pd.NaT, "text": line})) == "10.031234"
    assert row_stamp(pd.Series({"time": pd.Timestamp("2026-02-26 23:34:42"), "text": line})) is None


# The same story over a reconnect: ESP-in-UDP both ways, the client silent while NAT
# keepalives go on, then its new IKE over TCP 5500 (6-byte first segment: the IKETCP prefix).
TCP = "\n".join(
    ["FGT # diagnose sniffer packet port2 'port 4500 or port 5500' 4", "interfaces=[port2]",
     "filters=[port 4500 or port 5500]"]
    + [f"{s:.6f} port2 in 198.51.100.7.61001 -> 192.0.2.1.4500: udp 116\n"
       f"{s + 0.0001:.6f} port2 out 192.0.2.1.4500 -> 198.51.100.7.61001: udp 132" for s in (3.5, 5.5, 7.5)]
    + [f"{s + 0.5:.6f} port2 out 192.0.2.1.4500 -> 198.51.100.7.61001: udp 1" for s in range(17, 78, 10)]
    + ["90.100000 port2 in 198.51.100.7.62002 -> 192.0.2.1.5500: syn 309505874",
       "90.100100 port2 out 192.0.2.1.5500 -> 198.51.100.7.62002: syn 3060518285 ack 309505875",
       "90.101000 port2 in 198.51.100.7.62002 -> 192.0.2.1.5500: ack 3060518286",
       "90.102000 port2 in 198.51.100.7.62002 -> 192.0.2.1.5500: psh 309505875 ack 3060518286",
       "90.102100 port2 out 192.0.2.1.5500 -> 198.51.100.7.62002: ack 309505881",
       "90.103000 port2 in 198.51.100.7.62002 -> 192.0.2.1.5500: psh 309505881 ack 3060518286"]) + "\n"


def test_tcp_findings_window_cites_the_stamps_their_messages_cite() -> None:
    """IKE103 and IKE104 take their window from the TCP connection's first packet (and IKE104
    from the UDP peer's last): their stamp_start/stamp_end were null, and the HTML window
    said `+4.000 s – +86.600 s` beside a message citing 7.500000 and 90.100000."""
    d = api.analyze([Blob("tcp.txt", data=TCP.encode())], select=["IKE103", "IKE104"])
    got = {f.code: f for f in d.all_findings()}
    assert "at 90.100000 (line 17)" in got["IKE103"].message
    assert (got["IKE103"].stamp_start, got["IKE103"].stamp_end) == ("90.100000", None)
    assert "died at 7.500000 (line 8)" in got["IKE104"].message
    assert (got["IKE104"].stamp_start, got["IKE104"].stamp_end) == ("7.500000", "90.100000")
    assert "<dd>7.500000 – 90.100000 (1 min 23 s)</dd>" in html.render(d)
