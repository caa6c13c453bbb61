"""Write the terminal-log variants in this folder from pastes the tests already hold.

Each variant is a clean paste as a terminal client or a copy from a screen delivers it
(SOURCES.md beside this file says which damage each shows and which paste it comes from).
Only the damage named is added; the device's text is not changed otherwise.

Usage: python tests/data/terminal_logs/make_variants.py   (rewrites the files; deterministic)
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent
SEED = DATA / "seed" / "forticlient-udp-fallback-tcp.paste.txt"
PASSIVE = DATA / "ikedebug" / "IKE_LOG_passive_mode.txt"
LISTS = DATA / "state" / "handbook_gateway_and_tunnel_list_ports.txt"
BENCH_V6 = DATA.parent.parent / "samples" / "bench-dialup-udp-stall-v6.txt"
LDAP = DATA / "ikedebug" / "IKE_LOG_V1_ldap_working.txt"
RADIUS_DNS = DATA / "ikedebug" / "IKE_LOG_V1_radius_DNS_Issues.txt"
LOCAL_PWD = DATA / "ikedebug" / "IKE_LOG_V1_local_pwd_non_working_2.txt"
SNIFFER_V6 = DATA / "sniffer" / "30_sniffer_v6_abs_terminal_noise.txt"
TUNNEL_LIST = DATA / "state" / "35_tunnel_list_dpd_disabled.txt"
RETRANS = DATA / "ikedebug" / "IKE_LOG_retrans.txt"
MIX = HERE / "ipsec-mix.txt"  # written by hand for this folder (SOURCES.md)

DEVICE_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)")
DAYS = {"2026-02-26": "Thu"}


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def stamped(text_lines: list[str], form: str, start: str = "2026-02-26 23:17:20") -> list[str]:
    """Each line behind the time its client logged it: the device's own time where the
    line has one (the client's clock to the second), else the last one seen."""
    day, clock = start.split()
    out = []
    for line in text_lines:
        m = DEVICE_STAMP.match(line)
        if m:
            day, clock = m.group(1), m.group(2)
        if form == "securecrt":  # SecureCRT custom log data "[%Y-%M-%D %h:%m:%s] "
            out.append(f"[{day} {clock}] {line}")
        else:  # Tera Term "Timestamp" log option
            y, mo, d = day.split("-")
            month = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()[int(mo) - 1]
            out.append(f"[{DAYS[day]} {month} {d} {clock}.000 {y}] {line}")
    return out


def ticking(text_lines: list[str], start: str = "2026-03-04 09:12:00") -> list[str]:
    """Each line behind MobaXterm's `[YYYY-MM-DD HH:MM:SS] ` stamp, for a log that prints no
    time of its own: an invented clock, one second later at every message received or sent."""
    clock = datetime.fromisoformat(start)
    out = []
    for line in text_lines:
        if re.search(r"\bcomes |sent IKE msg", line):
            clock += timedelta(seconds=1)
        out.append(f"[{clock:%Y-%m-%d %H:%M:%S}] {line}")
    return out


def wrapped(text_lines: list[str], width: int) -> list[str]:
    """As copied from a terminal window ``width`` columns wide that breaks long lines."""
    out = []
    for line in text_lines:
        while len(line) > width:
            out.append(line[:width])
            line = line[width:]
        out.append(line)
    return out


def mailed(text_lines: list[str], width: int, keep_blank: bool = True) -> list[str]:
    """As a mail client word-wraps each line at ``width``: greedy, at blanks only, a word
    longer than the width left whole on a line of its own; the blank at each break kept at
    the end of its line (``keep_blank``: `format=flowed`, RFC 3676) or dropped."""
    out = []
    for line in text_lines:
        cur = ""
        for word in re.findall(r"\s*\S+\s*|\s+", line):
            if cur and len(cur) + len(word.rstrip()) > width:
                out.append(cur if keep_blank else cur.rstrip())
                cur = ""
                word = word if keep_blank else word.lstrip()
            cur += word
        out.append(cur)
    return out


def paged(text_lines: list[str], height: int = 24) -> list[str]:
    """As a session log records output the CLI paged (`config system console` / `set output
    more`): after each screenful `--More-- `, and once a key is pressed the prompt erased
    with CR, blanks, CR before the next line."""
    out = []
    for k, line in enumerate(text_lines):
        if k and k % (height - 1) == 0:
            line = "--More-- \r         \r" + line
        out.append(line)
    return out


def write(name: str, text_lines: list[str], eol: str = "\n", encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes((eol.join(text_lines) + eol).encode(encoding))


def main() -> None:
    # The engineer's note, typed in a Windows editor (Windows-1252) above the UTF-8 paste.
    note = "# Kunde Büro Zürich: Tunnel fällt um 23:35 aus – erst “Connect” hilft\n".encode("cp1252")
    (HERE / "seed.cp1252-note.txt").write_bytes(note + SEED.read_bytes())
    write("seed.wrap80.txt", wrapped(lines(SEED), 80))
    dedented = [line[3:] if line.startswith("   ") else line.strip() for line in lines(LISTS)]
    write("lists.putty-paged.txt", paged(dedented), "\r\n")
    write("lists.wrap80.txt", wrapped(dedented, 80))
    fcc = lines(LDAP)[470:488]  # lines 471-488: the FortiClient FCC request and reply, unwrapped
    write("ldap-fcc.excerpt.txt", fcc)
    write("ldap-fcc.wrap80.txt", wrapped(fcc, 80))
    # The first 24 packets of the v6 sample, sniffed on a VLAN interface with a longer name:
    # its headers are 86-89 characters, and an 80-column window breaks them.
    v6 = [line.replace(" port2 ", " wan1_vlan2048 ") for line in lines(BENCH_V6)[:598]]
    write("bench-v6.excerpt.txt", v6)
    write("bench-v6.wrap80.txt", wrapped(v6, 80))
    # Two copies out of one scroll-back that overlap (lines 1-120, then 51 to the end).
    ldap = lines(LDAP)
    write("ldap.overlapping-copies.txt", ldap[:120] + ldap[50:])
    # A debug a terminal wrapped at its width, then pasted into a document: every line of a
    # markdown code block indented by a tab, or ending in markdown's two-blank line break.
    radius = lines(RADIUS_DNS)
    write("radius-dns.tab-indented.txt", ["\t" + line if line else line for line in radius])
    write("radius-dns.markdown-breaks.txt", [line + "  " if line else line for line in radius])
    # Copied while still being written (or a scroll-back that ran out): cut mid-line.
    data = LOCAL_PWD.read_bytes()
    (HERE / "local-pwd.cut-mid-stamp.txt").write_bytes(data[: len(data) // 2])
    data = SNIFFER_V6.read_bytes()
    (HERE / "sniffer-v6.cut-mid-header.txt").write_bytes(data[: len(data) * 9 // 10])
    # A copy from a Windows console window: every line padded with blanks to its width.
    write("passive-mode.padded132.txt", [line.ljust(132) for line in wrapped(lines(PASSIVE), 132)], "\r\n")
    write("seed.securecrt-stamps.txt", stamped(lines(SEED), "securecrt"), "\r\n")
    write("tunnel-list.teraterm-stamps.txt", stamped(lines(TUNNEL_LIST), "teraterm"), "\r\n")
    write("retrans.mobaxterm-stamps.txt", ticking(lines(RETRANS)), "\r\n")
    # The same session log copied twice out of its scroll-back, overlapping: its lines 1-50,
    # then 30 to the end (lines 30-50, with the NAT-T float and the first re-sends, twice).
    moba = ticking(lines(RETRANS))
    write("retrans.mobaxterm-overlapping-copies.txt", moba[:50] + moba[29:], "\r\n")
    # The seed copied twice out of one scroll-back, overlapping: lines 1-27, then 16 to the
    # end (the UDP 4500 answers and the first one-way keepalives, twice).
    seed = lines(SEED)
    write("seed.overlapping-copies.txt", seed[:27] + seed[15:])
    # Copied from an 80-column terminal, then sent by a mail client that wraps at 72 or 76
    # (`format=flowed`), or at 72 dropping the blank at each break (with and without the
    # terminal's cut before it).
    mix = lines(MIX)
    write("ipsec-mix.wrap80.txt", wrapped(mix, 80))
    write("ipsec-mix.wrap80-mail72.txt", mailed(wrapped(mix, 80), 72))
    write("ipsec-mix.wrap80-mail76.txt", mailed(wrapped(mix, 80), 76))
    write("ipsec-mix.mail72-no-blank.txt", mailed(mix, 72, keep_blank=False))
    write("ipsec-mix.wrap80-mail72-no-blank.txt", mailed(wrapped(mix, 80), 72, keep_blank=False))


if __name__ == "__main__":
    main()
