"""What to collect next (analysis/nextsteps.py): the commands it gives name the right hosts."""

from __future__ import annotations

import re
from pathlib import Path

import ikeanalyze

DATA = Path(__file__).resolve().parents[1] / "data"


def _other_end_step(path: Path) -> tuple[str, str, str]:
    """(the peer the step asks to capture on, the host its command there filters on, the
    host of the command here) of the step that asks for the other end's view."""
    d = ikeanalyze.analyze([str(path)])
    [step] = [s for s in d.next_steps if s.startswith("Only this side's view")]
    on = re.search(r"collect the same on (\S+) \(or", step).group(1)
    there, here = re.findall(r"'host (.+?) and \(", step)
    return on, there, here


def test_the_capture_on_the_peer_filters_on_this_side_not_on_the_peer():
    """icmp-refused.txt: 192.0.2.1 refuses 198.51.100.7's IKE with ICMP. The flows take the
    refusing host for the local side, the findings for the peer: the command to run on
    192.0.2.1 filtered on `host 192.0.2.1`, its own address, instead of 198.51.100.7."""
    on, there, here = _other_end_step(DATA / "tcpdump_text" / "icmp-refused.txt")
    assert (on, there, here) == ("192.0.2.1", "198.51.100.7", "192.0.2.1")


def test_a_tunnel_list_without_packets_names_this_sides_address():
    """kb416613: a tunnel list only (`10.56.6.245:4500->10.10.88.246:4500`, DPD failed): the
    command for the peer said `host <this gateway>` though the list names this side."""
    on, there, here = _other_end_step(DATA / "text_public" / "kb416613_tunnel_list_dpd_fail_still_up.txt")
    assert (on, there, here) == ("10.10.88.246", "10.56.6.245", "10.10.88.246")


def test_a_peer_silent_on_an_up_tunnel_is_not_told_why_ike_failed() -> None:
    """A sniffer of an established tunnel whose peer stopped answering (IKE102, DPD off): no
    negotiation failed, so the debug step asks why the peer went silent, not why IKE failed."""
    d = ikeanalyze.analyze([str(DATA / "state" / "handmade_dpd_off_silent_peer.txt")])
    assert {f.code for f in d.all_findings()} >= {"IKE102"}
    assert not any("IKE failed" in s for s in d.next_steps), d.next_steps
    [step] = [s for s in d.next_steps if s.startswith("Packets alone")]
    assert step.startswith("Packets alone cannot show why the peer went silent or what IKE did about it")
    assert "rem-addr4 203.0.113.90" in step
