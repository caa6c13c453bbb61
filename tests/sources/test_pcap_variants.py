"""Metamorphic checks of the capture reader: the same packets in another framing (link layer,
container, duplicated frames, a shorter snapshot) give the same events as the capture in the
project they were built from."""

from __future__ import annotations

import struct
from pathlib import Path

import pandas as pd

from ikeanalyze.sources import load
from tests.sources import pcapbuild as pb
from tests.sources.test_pcap import read

DATA = Path(__file__).resolve().parent.parent / "data" / "pcap"
# Every column the reader fills from the packet itself (not the frame's container).
COLS = ["ref", "time", "kind", "src", "dst", "sport", "dport", "proto", "transport", "length", "exchange",
        "response", "msg_id", "ispi", "rspi", "esp_spi", "esp_seq", "payloads", "notify", "detail", "text"]
LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 = 113, 276
ARPHRD_ETHER = 1


def rows(events: pd.DataFrame) -> list[tuple]:
    return list(events[COLS].astype(object).where(events[COLS].notna(), None).itertuples(index=False, name=None))


def sll_tagged(frame: bytes) -> bytes:
    """An Ethernet frame as libpcap writes it in a Linux cooked (v1) capture on `any` when the
    kernel took its VLAN tag off: the tag put back at the protocol field (pcap-linux.c)."""
    macs, tags, etype, payload = pb.eth_split(frame)
    inner = b"".join(tags)[2:] + struct.pack("!H", etype) + payload if tags else payload
    proto = tags[0][:2] if tags else struct.pack("!H", etype)
    return struct.pack("!HHH", 0, ARPHRD_ETHER, 6) + macs[6:] + b"\0\0" + proto + inner


def sll2_tagged(frame: bytes) -> bytes:
    """The same in a Linux cooked v2 header (protocol first, then interface, type and address)."""
    macs, tags, etype, payload = pb.eth_split(frame)
    inner = b"".join(tags)[2:] + struct.pack("!H", etype) + payload if tags else payload
    proto = tags[0][:2] if tags else struct.pack("!H", etype)
    return proto + struct.pack("!HIHBB", 0, 2, ARPHRD_ETHER, 0, 6) + macs[6:] + b"\0\0" + inner


def test_linux_cooked_frames_with_vlan_tags_read_as_on_ethernet():
    """synth_vlan_stacks (one to four stacked tags) as a Linux cooked capture writes it: the
    SLL protocol is the first tag's TPID and the tags precede the packet."""
    original, ingest = load([DATA / "synth_vlan_stacks.pcap"])
    assert ingest.inputs[0].accounting == {"event": 24}
    _, recs = pb.records((DATA / "synth_vlan_stacks.pcap").read_bytes())
    for linktype, cook in ((LINKTYPE_LINUX_SLL, sll_tagged), (LINKTYPE_LINUX_SLL2, sll2_tagged)):
        cooked = [(s, f, o + len(cook(fr)) - len(fr), cook(fr)) for s, f, o, fr in recs]
        events, rep = read(pb.pcap_records(linktype, cooked))
        assert rep.accounting == {"event": 24} and rep.balanced, linktype
        assert rows(events) == rows(original), linktype
        assert list(events["kind"]) == ["ike", "nat-keepalive", "esp", "esp", "ike", "esp"] * 4
