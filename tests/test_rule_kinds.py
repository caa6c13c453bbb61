"""Rules in the kinds of evidence their fixtures did not cover: each case is one input (a
capture, sniffer text at another verbosity or clock, an IKE debug in another FortiOS
release's wording) with the codes a whole analysis must report (among its findings and
their symptoms), the codes it must not, and a number the expected finding's message must
carry (count, message ID, duration). Inputs: tests/data/rule_kinds/ (SOURCES.md there)
and, where a rule fixture already holds the input, that fixture's file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ikeanalyze import api

TESTS = Path(__file__).resolve().parent
KINDS = TESTS / "data" / "rule_kinds"

# (input, codes it must report, codes it must not, (code, text its message holds) or None)
CASES = [
    # IKE301 (dead peer detection): a capture, sniffer hex at verbosity 5, FortiOS 6.4 and 7.4 debug.
    ("ike301-dpd-unanswered.pcap", {"IKE301"}, set(), ("IKE301", "sent 5 times over 20 s")),
    ("ike301-dpd-answered-late.pcap", set(), {"IKE301", "IKE102"}, None),
    ("ike301-sniffer-v5-dpd-unanswered.txt", {"IKE301"}, set(),
     ("IKE301", "INFORMATIONAL request msg 7 to 198.51.100.2:4500 sent 5 times")),
    ("ike301-debug-64-dpd-unanswered.txt", {"IKE301"}, set(),
     ("IKE301", "INFORMATIONAL request msg 5 to 203.0.113.45:4500 sent 4 times")),
    ("ike301-debug-74-dpd-answered-late.txt", set(), {"IKE301"}, None),
    # IKE302 (rekey): an IKEv1 Quick Mode request in FortiOS 6.4's debug.
    ("ike302-debug-64-quick-mode-unanswered.txt", {"IKE302"}, {"IKE105"},
     ("IKE302", "Quick Mode msg 7c2e1a90 on IKE SA 3f6e9d2c1b0a4958 to 198.51.100.150:500 4 times")),
    # IKE105 (first message unanswered): sniffer hex at verbosity 6; IKEv1 Main Mode in 7.2's debug.
    ("ike105-sniffer-v6-sa-init-unanswered.txt", {"IKE105", "IKE304"}, set(),
     ("IKE105", "IKE_SA_INIT (initiator SPI a1b2c3d4e5f60718) 5 times")),
    ("ike105-sniffer-v6-sa-init-answered.txt", {"IKE304"}, {"IKE105"}, None),
    (TESTS / "rules/fixtures/IKE304/fires-ikev1-main-mode-constant-waits/input.txt", {"IKE105"}, {"IKE201", "IKE204"},
     ("IKE105", "IKEv1 Main Mode first message (initiator SPI 5c3e7a9102bd4f18) 4 times")),
    # IKE111 (NAT mapping changed) and IKE101's near miss in a capture.
    ("ike111-nat-port-moved.pcap", {"IKE111"}, set(), ("IKE111", "10 packets (08:00:07.500 (frame 16)")),
    ("ike111-nat-port-followed.pcap", set(), {"IKE111", "IKE102"}, None),
    ("ike101-keepalives-both-ways.pcap", set(), {"IKE101", "IKE102"}, None),
]


def _codes(d) -> list:
    return [f for top in d.findings for f in (top, *top.symptoms)]


@pytest.mark.parametrize(("name", "want", "never", "said"), CASES, ids=[Path(str(c[0])).name for c in CASES])
def test_rule_in_this_kind_of_evidence(name, want: set, never: set, said) -> None:
    path = name if isinstance(name, Path) else KINDS / name
    found = _codes(api.analyze([path]))
    codes = {f.code for f in found}
    assert want <= codes, f"missing {want - codes}: " + "; ".join(f"{f.code} {f.message}" for f in found)
    assert not codes & never, "; ".join(f"{f.code} {f.message}" for f in found if f.code in never)
    if said:
        code, text = said
        assert any(text in f.message for f in found if f.code == code), [f.message for f in found if f.code == code]


def test_the_timeout_of_an_unanswered_quick_mode_is_its_outcome():
    """ike302-debug-64: the Quick Mode sent 4 times, then `negotiation timeout, deleting` of
    the same negotiation (line 10). The timeout was a second root cause beside IKE302, the
    one story told as two problems ("Also: IKE210 …" in the headline)."""
    d = api.analyze([KINDS / "ike302-debug-64-quick-mode-unanswered.txt"])
    assert [f.code for f in d.findings] == ["IKE302"]
    assert [s.code for s in d.findings[0].symptoms] == ["IKE304", "IKE210"]
    assert "Also:" not in d.summary


def test_a_rekey_the_stalled_peer_never_answered_is_the_stalls_symptom():
    """IKE302's capture with the peer silent: the 5 packets IKE102 says this side kept sending
    are the CREATE_CHILD_SA retransmissions IKE302 tells. They were two root causes of one
    peer ("Also: IKE302 …"), and the timeline told the first request twice."""
    d = api.analyze([TESTS / "rules/fixtures/IKE302/fires-pcap-create-child-unanswered-peer-silent/input.pcap"])
    assert [f.code for f in d.findings] == ["IKE102"]
    assert {s.code for s in d.findings[0].symptoms} == {"IKE302", "IKE304"}
    assert "Also:" not in d.summary
    assert sum(m.ref == 11 for m in d.timeline) == 1


def test_a_timeout_of_another_ike_sa_hours_later_is_not_the_rekeys_outcome(tmp_path):
    """A rekey on dc1's IKE SA unanswered at 03:59, then hours later gateway dc2's new IKE SA
    to the same peer answered its SA_INIT and timed out in IKE_AUTH: another story, not the
    rekey's timeout. Grouped under IKE302, it left the headline (no "Also: IKE210")."""
    spi = "0a0b0c0d0e0f1011/1213141516171819"
    dc1 = "2024-05-07 03:59:{:02d}.000000 ike V=root:0:dc1:4242:dc1-p2:9: sent IKE msg ({}): 192.0.2.50:500->" \
          "198.51.100.60:500, len=496, vrf=0, id=" + spi + ":00000009, oif=5"
    dc2 = "2024-05-07 09:00:{} ike V=root:0:dc2:88: "
    lines = [f"2024-05-07 03:00:00.000000 ike V=root:0:dc1:4242: established IKE SA {spi}",
             *[dc1.format(s, kind) for s, kind in ((0, "CREATE_CHILD"), (2, "RETRANSMIT_CREATE_CHILD"),
                                                   (6, "RETRANSMIT_CREATE_CHILD"), (14, "RETRANSMIT_CREATE_CHILD"))],
             f"2024-05-07 03:59:30.000000 ike V=root:0:dc1:4242: {spi} retransmission timeout",
             dc2.format("00.000000") + "sent IKE msg (SA_INIT): 192.0.2.51:500->198.51.100.60:500, len=300, vrf=0, "
                                       "id=a1a2a3a4a5a6a7a8/0000000000000000",
             "2024-05-07 09:00:00.050000 ike V=root:0: comes 198.51.100.60:500->192.0.2.51:500,ifindex=5,vrf=0,len=300....",
             "2024-05-07 09:00:00.050000 ike V=root:0: IKEv2 exchange=SA_INIT_RESPONSE id=a1a2a3a4a5a6a7a8/"
             "b1b2b3b4b5b6b7b8 len=300",
             dc2.format("00.100000") + "sent IKE msg (AUTH): 192.0.2.51:500->198.51.100.60:500, len=400, vrf=0, "
                                       "id=a1a2a3a4a5a6a7a8/b1b2b3b4b5b6b7b8:00000001",
             dc2.format("30.000000") + "negotiation timeout, deleting"]
    paste = tmp_path / "debug.txt"
    paste.write_text("\n".join(lines) + "\n")
    d = api.analyze([paste])
    assert [f.code for f in d.findings] == ["IKE302", "IKE210"]
    assert [s.code for s in d.findings[0].symptoms] == ["IKE304"]
    assert d.findings[1].facts["ispis"] == ["a1a2a3a4a5a6a7a8"]
    assert "Also: IKE210" in d.summary


def test_a_rekey_refused_hours_before_the_peer_went_silent_is_not_the_stalls(tmp_path):
    """The rekey at 14:00 went unanswered while the peer still sent (its INFORMATIONALs came):
    not the path. The UDP path stalled at 16:00, two hours after it was over. Grouped under
    IKE102, the rekey failure was in no headline."""
    ids = "id=4c1d2e3f5a6b7c8d/9e8f7a6b5c4d3e2f"
    sent = ("2024-09-03 14:00:{:02d}.100000 ike V=root:0:to-br7:811: sent IKE msg ({}): 192.0.2.10:4500->"
            "198.51.100.77:4500, len=240, vrf=0, " + ids + ":00000012, oif=4")
    came = ["2024-09-03 14:00:{:02d}.500000 ike V=root:0: comes 198.51.100.77:4500->192.0.2.10:4500,ifindex=4,vrf=0,"
            "len=80....", "2024-09-03 14:00:{:02d}.500001 ike V=root:0: IKEv2 exchange=INFORMATIONAL " + ids
            + ":0000000{} len=80 vrf=0"]
    debug = [sent.format(0, "CREATE_CHILD"), sent.format(2, "RETRANSMIT_CREATE_CHILD"),
             came[0].format(3), came[1].format(3, 3), sent.format(6, "RETRANSMIT_CREATE_CHILD"),
             came[0].format(10), came[1].format(10, 4), sent.format(14, "RETRANSMIT_CREATE_CHILD"),
             sent.format(30, "RETRANSMIT_CREATE_CHILD")]
    sniffer = ["FGT-A # diagnose sniffer packet wan1 'host 198.51.100.77' 4 0 l", "interfaces=[wan1]",
               "filters=[host 198.51.100.77]",
               "2024-09-03 16:00:00.100000 wan1 in 198.51.100.77.4500 -> 192.0.2.10.4500: udp 116",
               "2024-09-03 16:00:00.100300 wan1 out 192.0.2.10.4500 -> 198.51.100.77.4500: udp 132",
               *[f"2024-09-03 16:0{s // 60}:{s % 60:02d}.100000 wan1 out 192.0.2.10.4500 -> 198.51.100.77.4500: udp 1"
                 for s in range(10, 80, 10)]]
    (tmp_path / "debug.txt").write_text("\n".join(debug) + "\n")
    (tmp_path / "sniffer.txt").write_text("\n".join(sniffer) + "\n")
    d = api.analyze([tmp_path / "debug.txt", tmp_path / "sniffer.txt"])
    tops = {f.code: f for f in d.findings}
    assert {"IKE102", "IKE302"} <= set(tops)
    assert tops["IKE302"].facts["peer_silent"] is False
    assert "IKE302" not in {s.code for s in tops["IKE102"].symptoms}


def _pcap(path: Path, packets: list[tuple[float, str, str, bytes]]) -> None:
    """A raw-IPv4 capture (link type 101) of UDP 4500 datagrams: (UTC time, from, to, payload)."""
    import struct

    def ip(a: str) -> bytes:
        return bytes(int(x) for x in a.split("."))

    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)]
    for ts, src, dst, payload in sorted(packets):
        udp = struct.pack("!HHHH", 4500, 4500, 8 + len(payload), 0) + payload
        frame = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0x4000, 64, 17, 0, ip(src), ip(dst)) + udp
        out.append(struct.pack("<IIII", int(ts), round(ts % 1 * 1e6), len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))


def test_a_capture_in_utc_and_a_debug_in_local_time_are_not_two_episodes(tmp_path):
    """The capture (UTC) shows the peer silent from 14:00:00; the FortiGate, five hours west
    of UTC, re-sent its rekey from 09:00:05 on its own clock: the same minute, seen by two
    clocks that differ by hours. The rekey failure is the stall's symptom; compared as if
    one clock, it was "over" five hours before the stall and headed the report on its own."""
    import datetime as dt

    sent = ("2024-09-03 09:00:{:02d}.100000 ike V=root:0:to-br7:811: sent IKE msg ({}): 192.0.2.10:4500->"
            "198.51.100.77:4500, len=240, vrf=0, id=4c1d2e3f5a6b7c8d/9e8f7a6b5c4d3e2f:00000012, oif=4")
    (tmp_path / "debug.txt").write_text("\n".join(
        sent.format(s, kind) for s, kind in ((5, "CREATE_CHILD"), (7, "RETRANSMIT_CREATE_CHILD"),
                                             (11, "RETRANSMIT_CREATE_CHILD"), (19, "RETRANSMIT_CREATE_CHILD"),
                                             (35, "RETRANSMIT_CREATE_CHILD"))) + "\n")
    t0 = dt.datetime(2024, 9, 3, 14, 0, 0, tzinfo=dt.timezone.utc).timestamp()

    def esp(n: int) -> bytes:
        return bytes.fromhex("0a0b0c0d") + n.to_bytes(4, "big") + bytes(100)

    here, silent, other = "192.0.2.10", "198.51.100.77", "198.51.100.88"
    packets = [(t0 + 0.1, silent, here, esp(1)), (t0 + 0.1003, here, silent, esp(2))]
    packets += [(t0 + s + 0.1, here, silent, esp(s)) for s in range(10, 80, 10)]
    # A second peer that keeps answering names this side of the capture.
    packets += [p for s in range(0, 80, 5) for p in ((t0 + s + 0.2, other, here, esp(s)),
                                                     (t0 + s + 0.3, here, other, esp(s)))]
    _pcap(tmp_path / "capture.pcap", packets)
    d = api.analyze([tmp_path / "debug.txt", tmp_path / "capture.pcap"])
    assert [f.code for f in d.findings] == ["IKE102"]
    assert [s.code for s in d.findings[0].symptoms] == ["IKE302", "IKE304"]
