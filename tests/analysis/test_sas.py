"""analysis/sas.py and analysis/nextsteps.py on real inputs (the rule fixtures, see their PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

import ikeanalyze
from ikeanalyze.analysis import nextsteps, sas
from ikeanalyze.analysis.context import Context
from ikeanalyze.sources import Blob, LoadOptions

FX = Path(__file__).resolve().parents[1] / "rules" / "fixtures"
# A sniffer's IKE_SA_INIT re-sent on UDP 500 with no reply, nothing else on the wire.
UDP500_NO_REPLY = FX / "IKE105/fires-sniffer-udp500-no-reply/input.txt"


def context(*paths: Path) -> Context:
    events, ingest = ikeanalyze.load([str(p) for p in paths])
    return Context(events, ingest)


def test_resent_first_message_from_a_new_port_is_one_send() -> None:
    # IKE_LOG_retrans.txt: the client's Aggressive Mode message 1 arrives from 49140 (line 7)
    # and again from 49204 (line 44); the gateway logs its reply once and re-sends it 3 times.
    m = sas.of(context(FX / "IKE111/fires-replies-to-stale-port/input.txt"))
    inbound = m[m["in"].astype(bool)]
    assert inbound["ref"].tolist() == [7, 44]
    assert inbound["send"].nunique() == 1 and inbound["attempt"].tolist() == [0, 1]
    out = m[~m["in"].astype(bool)]
    assert out["ref"].tolist() == [43, 49, 51, 56]
    assert out["retransmit"].tolist() == [False, True, True, True]
    assert out["named_retx"].tolist() == [False, True, True, True]
    assert out["rport"].astype(int).unique().tolist() == [49140]


def test_ike_fragments_are_not_retransmissions() -> None:
    # IKE_Log_cert_auth.txt: IKE_AUTH arrives as 7 RFC 7383 fragments with one message ID.
    m = sas.of(context(FX / "IKE304/quiet-ike-fragments/input.txt"))
    auth = m[(m["exch"] == "AUTH") & m["in"].astype(bool) & (m["msg_id"] == 1)]
    assert sorted(auth["frag"].tolist()) == [1, 2, 3, 4, 5, 6, 7]
    assert not auth["retransmit"].any()


def test_capture_duplicate_is_dropped_and_answers_are_matched() -> None:
    m = sas.of(context(FX / "IKE304/quiet-pcap-duplicated-frame/input.pcap"))
    assert len(m) == 2  # the request (frame 1; frame 2 is the same frame captured again) and the response
    assert m["ref"].tolist() == [1, 3]
    assert m["answered"].all() and not m["retransmit"].any()
    resent = sas.retransmitted_requests(sas.of(context(FX / "IKE304/fires-pcap-sa-init-resent/input.pcap")))
    assert len(resent) == 1 and resent[0].count == 3 and resent[0].answered
    assert resent[0].intervals == [1.0, 2.0]


def test_debug_sent_types_name_exchange_and_role() -> None:
    m = sas.of(context(FX / "IKE302/fires-create-child-unanswered/input.txt"))
    assert m["exch"].unique().tolist() == ["CREATE_CHILD_SA"]
    assert m["resp"].tolist() == [False] * 4
    assert m["attempt"].tolist() == [0, 1, 2, 3] and not m["answered"].any()


def test_backoff_shapes() -> None:
    assert sas.backoff([2.0, 4.0, 8.0, 16.0]) == "exponential"
    assert sas.backoff([20.0, 20.0, 20.0]) == "constant"
    assert sas.backoff([1.0, 5.0, 2.0]) == "irregular"
    assert sas.backoff([3.0]) == "unknown"
    assert sas.backoff([2.0, -2.0, 2.0, 1.0, 3.0]) == "unknown"  # out of time order: no timer to judge


def test_waits_that_go_back_say_the_lines_are_out_of_time_order() -> None:
    assert sas.intervals_text([2.0, 4.0]) == "2.0, 4.0 s"
    assert sas.intervals_text([2.0, -2.0, 2.0]) == "2.0, -2.0, 2.0 s; the times go back, so the lines are not in time order"


def test_next_steps_name_the_commands() -> None:
    # An untimed debug of an unanswered SA_INIT: timestamps, the peer's view, a sniffer.
    d = ikeanalyze.analyze([str(FX / "IKE105/fires-retransmit-sa-init/input.txt")])
    steps = " ".join(d.next_steps)
    assert "diagnose debug console timestamp enable" in steps
    assert "diagnose sniffer packet any 'host 2.2.2.254 and (udp port 500 or udp port 4500 or tcp port 5500 or esp)' 6 0 l" in steps
    # A capture alone: the IKE debug commands, filtered to the peer.
    d = ikeanalyze.analyze([str(FX / "IKE105/fires-pcap-sa-init-unanswered/input.pcap")])
    assert any("diagnose vpn ike log filter rem-addr4 198.51.100.2" in s for s in d.next_steps)
    # A sniffer filter that let only UDP 500 through.
    d = ikeanalyze.analyze([str(UDP500_NO_REPLY)])
    assert any("either its filter left them out or the negotiation never got that far" in s for s in d.next_steps)
    # ESP one way in sniffer text with no snapshot: say NP offload may hide the other direction.
    d = ikeanalyze.analyze([str(FX / "IKE108/fires-sniffer-esp-out-only/input.txt")])
    assert any("npu_flag" in s and "198.51.100.2" in s for s in d.next_steps)


def test_a_drop_before_encryption_does_not_ask_for_the_ike_debug() -> None:
    """Tunnel lists, a sniffer of SLA probes and flow traces dropping them (IKE214): the
    tunnels are up, so "packets alone cannot show why IKE failed" (with the probes' inner
    destination as the peer to filter on) is not a step to take."""
    d = ikeanalyze.analyze([str(FX / "IKE214/fires-sla-probes-outside-selectors/input.txt")])
    assert [f.code for f in d.findings][:2] == ["IKE214", "IKE214"]
    assert not any("IKE failed" in s or "rem-addr4 172.31.128.20" in s for s in d.next_steps), d.next_steps


def test_healthy_timed_input_needs_no_next_step() -> None:
    ctx = context(FX / "IKE301/quiet-healthy-keepalives-only/input.txt")
    assert nextsteps.suggest(ctx, []) == []


def test_local_option_turns_the_story_around() -> None:
    # Without --local the capture's gateway is the SA_INIT responder; with the initiator as
    # local, the same four frames are this side's requests that nothing answered.
    path = str(FX / "IKE105/fires-pcap-sa-init-unanswered/input.pcap")
    options = LoadOptions(local=("198.51.100.2",))
    events, ingest = ikeanalyze.load([path], options)
    m = sas.messages(events, Context(events, ingest, local=options.local).wire)
    assert m["direction"].tolist() == ["out"] * 4
    d = ikeanalyze.analyze([path], options, select=["IKE105"])
    (f,) = d.all_findings()
    assert f.message.startswith("198.51.100.2:500 sent the same IKE_SA_INIT") and "nothing came back" in f.message


PUBLIC = Path(__file__).resolve().parents[1] / "data" / "ikedebug_public"


def test_ikev1_main_mode_messages_are_not_retransmissions_of_each_other() -> None:
    # ikev1-main-psk-mismatch.txt: the peer's Main Mode messages 1, 3 (len=380) and 5
    # (len=108) (lines 1, 37, 49), the last two with the same SPIs and message ID 0.
    m = sas.of(context(PUBLIC / "ikev1-main-psk-mismatch.txt"))
    inbound = m[m["in"].astype(bool)]
    assert inbound["ref"].tolist() == [1, 37, 49]
    assert inbound["send"].nunique() == 3 and not inbound["retransmit"].any()
    assert not sas.retransmitted_requests(m)


def test_ikev1_sends_of_different_steps_are_different_messages(tmp_path: Path) -> None:
    # `sent IKE msg (ident_r1send)` and `(ident_r2send)` lines of ikev1-main-psk-mismatch.txt
    # (lines 36, 47) with their `len=` taken off: the step names the message. A named
    # retransmission of the second is still one.
    lines = (PUBLIC / "ikev1-main-psk-mismatch.txt").read_text(encoding="utf-8").splitlines()
    r1, r2 = (lines[k].replace(", len=192", "").replace(", len=380", "") for k in (35, 46))
    again = r2.replace("(ident_r2send)", "(P1_RETRANSMIT)")
    path = tmp_path / "steps.txt"
    path.write_text("\n".join([r1, r2, r2, again]) + "\n", encoding="utf-8")
    m = sas.of(context(path))
    assert m["ref"].tolist() == [1, 2, 3, 4]
    assert m["send"].tolist()[1:] == [m["send"].iloc[1]] * 3 and m["send"].iloc[0] != m["send"].iloc[1]
    assert m["retransmit"].tolist() == [False, False, True, True]


def test_a_sniffer_with_ike_on_udp_500_only_is_told_by_its_filter() -> None:
    """The step names what the run's filter left out when the paste shows the filter (the
    sniffer's `filters=[...]` line, else the echoed command, curly quotes and all), and says
    the negotiation never got further when the filter let everything through."""
    packets = UDP500_NO_REPLY.read_text(encoding="utf-8")

    def step(head: str) -> str:
        d = ikeanalyze.analyze([Blob("s.txt", data=(head + packets).encode())])
        (s,) = [s for s in d.next_steps if "UDP 500 only" in s]
        return s

    s = step("interfaces=[wan1]\nfilters=[host 198.51.100.9 and port 500]\n")
    assert ("its filter (`host 198.51.100.9 and port 500`) leaves out NAT-T (UDP 4500), IKE over TCP and ESP, "
            "where the rest of the story happens. Capture again with") in s
    s = step("FGT# diagnose sniffer packet wan1 “host 198.51.100.9 and (port 500 or port 4500)” 4\n")
    assert ("leaves out IKE over TCP and ESP, where the rest of the story happens (it lets NAT-T (UDP 4500) "
            "through: none came)") in s
    s = step("interfaces=[wan1]\nfilters=[host 198.51.100.9]\n")
    assert "though its filter (`host 198.51.100.9`) lets NAT-T, IKE over TCP and ESP through" in s
    assert "Capture again" not in s
    # What the filter leaves out is what it lets not through (`not port 22`, a bare `udp`),
    # not what it names; a filter not read is named, not judged.
    s = step("interfaces=[wan1]\nfilters=[host 198.51.100.9 and not port 22]\n")
    assert "lets NAT-T, IKE over TCP and ESP through" in s
    s = step("interfaces=[wan1]\nfilters=[host 198.51.100.9 and udp]\n")
    assert "leaves out IKE over TCP and ESP, where the rest of the story happens (it lets NAT-T (UDP 4500)" in s
    s = step("interfaces=[wan1]\nfilters=[port not 22]\n")
    assert "either its filter (`port not 22`) left them out or the negotiation never got that far" in s
    s = step("interfaces=[wan1]\nfilters=[]\n")
    assert "though it ran without a filter, which lets NAT-T, IKE over TCP and ESP through" in s


def test_a_paste_of_several_sniffer_runs_is_told_by_the_filters_its_packets_were_captured_with() -> None:
    """A run that let NAT-T, IKE over TCP and ESP through and still saw UDP 500 only settles
    it, first run or not; runs that each left something out are told together: what none
    of them let through."""
    packets = UDP500_NO_REPLY.read_text(encoding="utf-8")
    later = packets.replace("14:00:", "14:20:")

    def step(first: str, second: str) -> str:
        text = "".join(f"FGT # diagnose sniffer packet wan1 '{f}' 4 0 a\ninterfaces=[wan1]\nfilters=[{f}]\n{body}^C\n"
                       for f, body in ((first, packets), (second, later)))
        (s,) = [s for s in ikeanalyze.analyze([Blob("s.txt", data=text.encode())]).next_steps if "UDP 500 only" in s]
        return s

    for first, second, line in (("port 500", "host 198.51.100.9", 10), ("host 198.51.100.9", "port 500", 1)):
        s = step(first, second)
        assert (f"though its run from line {line} (`host 198.51.100.9`) lets NAT-T, IKE over TCP and ESP through: "
                f"the negotiation never got past UDP 500") in s
        assert "Capture again" not in s
    s = step("port 500", "host 198.51.100.9 and udp")
    assert ("its runs' filters (`port 500`, `host 198.51.100.9 and udp`) leave out IKE over TCP and ESP, where the "
            "rest of the story happens (they let NAT-T (UDP 4500) through: none came)") in s
