"""sniffer.fast_shape: the byte tests name exactly the lines FAST_LINE matches, and the
fields read by position are the ones the patterns extract (sniffer.parse), on lines made
to sit near every edge of the pattern."""

from __future__ import annotations

import random
import re

import numpy as np
import pyarrow as pa

from ikeanalyze.sources import sniffer
from ikeanalyze.sources.regex import matches


def _pick(rnd: random.Random, valid: list, invalid: list, p: float = 0.04):
    return rnd.choice(invalid if rnd.random() < p else valid)


def _endpoint(rnd: random.Random) -> str:
    groups = [str(rnd.choice([0, 1, 10, 172, 255, 999, rnd.randint(0, 300)])) for _ in range(4)]
    if rnd.random() < 0.05:
        groups[rnd.randrange(4)] = rnd.choice(["", "0001", "01", "1234", "a"])
    port = str(rnd.choice([500, 4500, 53, 443, 0, 65535, 99999, rnd.randint(0, 70000)]))
    if rnd.random() < 0.05:
        port = rnd.choice(["", "0500", "123456", "500x"])
    text = ".".join(groups) + ("." + port if rnd.random() > 0.01 else "")
    return text if rnd.random() > 0.01 else text.replace(".", ":", 1)


def _l4(rnd: random.Random) -> str:
    num = lambda: str(rnd.choice([0, 1, 4294967295, 9999999999, 12345678901, rnd.randint(0, 10**10)]))  # noqa: E731
    flags = "".join(rnd.choice(["syn ", "fin ", "rst ", "psh ", "urg ", "ack ", "syn  "]) for _ in range(rnd.choice([0, 0, 1, 2, 3])))
    return _pick(rnd, [f"udp {num()}", f"{flags}{num()}", f"{flags}{num()} ack {num()}", f"{flags}ack {num()}"],
                 [f"udp {num()} x", "udp ", f"{flags}{num()}ack {num()}", f"{flags}", "ip-proto-50 92", f"{flags}{num()} "], 0.1)


def _lines(seed: int, n: int = 4000) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        stamp = _pick(rnd, ["2026-02-26 23:20:00.002257"],
                      ["2026-02-26 23:20:00.00225", "2026-02-26 23:20:00.0022577", "2026-0x-26 23:20:00.002257", "0.002257"])
        iface = _pick(rnd, ["port2", "wan1", "a", "_-x9", "internal-vlan10"], ["internal-vlan100", "port2.1", "", "p\u00e9"])
        direction = _pick(rnd, ["in", "out", "--"], ["inn", "", "in "])
        sep = _pick(rnd, [" -> "], [" ->  ", " > "])
        colon = _pick(rnd, [": "], [":  ", " : "])
        line = f"{stamp} {iface} {direction} {_endpoint(rnd)}{sep}{_endpoint(rnd)}{colon}{_l4(rnd)}"
        out.append(line if rnd.random() > 0.01 else line[: rnd.randrange(len(line) + 1)])
    return out


def test_fast_shape_is_fast_line():
    lines = _lines(1)
    core = pa.array(lines, pa.large_string())
    fast, shape = sniffer.fast_shape(core)
    want = matches(core, sniffer.FAST_LINE)
    assert (fast == want).all(), [lines[i] for i in np.flatnonzero(fast != want)[:5]]
    assert 0.8 * want.sum() < shape.proved.sum() and not (shape.proved & ~want).any()  # most without RE2


def test_fast_shape_is_fast_line_on_other_stamped_lines():
    """Lines with a sniffer stamp and no interface and direction after it (IKE debug with
    time stamps, names just under and over the tested width) are decided as RE2 decides."""
    stamp = "2026-02-26 23:20:00.002257 "
    tails = ["ike 0:gw:1: comes 1.2.3.4:500->5.6.7.8:500,ifindex=7....", "ike 0: in 1.2.3.4.500 -> 5.6.7.8.500: udp 1",
             "port2 inn 1.2.3.4.500 -> 5.6.7.8.500: udp 1", "", " ", "-- in 1.2.3.4.500 -> 5.6.7.8.500: udp 1",
             "a" * 15 + " in 1.2.3.4.500 -> 5.6.7.8.500: udp 1", "a" * 16 + " in 1.2.3.4.500 -> 5.6.7.8.500: udp 1",
             "a" * 16 + " x", "p.2 in 1.2.3.4.500 -> 5.6.7.8.500: udp 1", "port2", "port2 ", "port2 in", "port2 in "]
    lines = [stamp + t for t in tails] + [stamp + t for t in reversed(tails)] + _lines(4, 200)
    core = pa.array(lines, pa.large_string())
    fast, _ = sniffer.fast_shape(core)
    want = matches(core, sniffer.FAST_LINE)
    assert (fast == want).all(), [lines[i] for i in np.flatnonzero(fast != want)[:5]]


def test_fields_by_position_are_the_parsed_ones():
    lines = _lines(2)
    core = pa.array(lines, pa.large_string())
    _, shape = sniffer.fast_shape(core)
    rows = np.flatnonzero(shape.proved)
    got = sniffer.parse_rows(core, rows, shape, np.ones(len(rows), bool))
    want = sniffer.parse(core.take(pa.array(rows)))
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k].cast(v.type).to_pylist() == v.to_pylist(), k
    # and mixed: every other line by the patterns
    lane = np.arange(len(rows)) % 2 == 0
    mixed = sniffer.parse_rows(core, rows, shape, lane)
    for k, v in want.items():
        assert mixed[k].cast(v.type).to_pylist() == v.to_pylist(), k


def test_interfaces_decided_by_key_as_byte_by_byte(monkeypatch):
    """The rows decided by a seen interface-and-direction key are the ones the byte tests
    decide, with the same fields."""
    core = pa.array(_lines(3), pa.large_string())
    fast, shape = sniffer.fast_shape(core)
    monkeypatch.setattr(sniffer, "_KEYS", 0)
    fast0, shape0 = sniffer.fast_shape(core)
    assert (fast == fast0).all() and (shape.proved == shape0.proved).all()
    for k in sniffer._SHAPE_FIELDS:
        a, b = getattr(shape, k)[shape.proved], getattr(shape0, k)[shape.proved]
        assert ((a == b) | ((a != a) & (b != b))).all(), k


def test_early_decision_on_edge_lines_is_the_parsed_one():
    """Other traffic decided from the fields by position is what the decision on parsed
    rows (sniffer.ipsec_rows) drops, on the edge lines and on streams whose client sent 6
    bytes (`IKETCP`), by either lane."""
    from ikeanalyze.ingest import InputReport
    from ikeanalyze.sources.text import parse_lines

    stamp = "2026-02-26 23:20:00.002257 port2 in "
    streams = []
    for k, (c, srv) in enumerate([("10.0.0.1.40000", "10.9.9.9.5500"), ("10.0.0.01.40001", "10.9.9.9.0443"),
                                  ("10.0.0.2.40002", "10.9.9.9.443")]):
        first = "" if k != 1 else "0.5 "  # one stream by the patterns' lane
        streams += [f"{first or stamp}{c} -> {srv}: psh 1000 ack 7", f"{stamp}{srv} -> {c}: psh 7 ack 1006",
                    f"{stamp}{c} -> {srv}: psh 1006 ack 7"]
    # Lines of the common shape, ports without leading zeros: on others (`udp ` without a
    # length, `.0500`) the two decisions have always differed (the early one reads the
    # text, the other the parsed numbers).
    edge = [line for line in _lines(4) if re.match(sniffer.FAST_LINE, line) and not re.search(r"\.0\d+[ :]", line[27:])]
    lines = edge + streams + [f"{stamp}10.0.0.3.4 -> 10.9.9.9.8443: syn 5"]
    everything = parse_lines(lines, InputReport("t"), other_traffic=True)
    pkt = everything[everything["origin"] == "sniffer"]
    cols = {c: pa.array(pkt[c]) for c in ("kind", "proto", "src", "sport", "dst", "dport", "tcp_seq", "tcp_ack")}
    want = set(pkt["ref"].to_numpy()[sniffer.ipsec_rows(cols)])
    kept = parse_lines(lines, InputReport("t"))
    got = set(kept.loc[kept["origin"] == "sniffer", "ref"])
    assert got == want
    n = len(lines) - len(streams) - 1
    assert {n + 1, n + 4, n + 7} <= got and len(lines) not in got  # 5500, 0443 and 443 by the prefix; no prefix


def test_lines_at_the_ends_of_the_data():
    """The byte tests read past a short line (each token where the last ended): the first
    and last lines of the data read zeros there, in any block."""
    stamp = "2026-02-26 23:20:00.002257 "
    for line in [stamp, stamp + "x", stamp + "a" * 40, stamp + "a in " + "1" * 30, stamp + "p in 1.2.3.4.5 -> 1.2.3.4.6: 1"]:
        for n in (1, 5, 40000):
            for lines in (["x"] * (n - 1) + [line], [line] + ["x"] * (n - 1)):
                core = pa.array(lines, pa.large_string())
                fast, _ = sniffer.fast_shape(core)
                assert (fast == matches(core, sniffer.FAST_LINE)).all(), line
