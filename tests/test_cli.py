"""The real CLI, one block per command: exit codes, one-line errors, every input form."""

from __future__ import annotations

import json

import pandas as pd

from tests.conftest import SAMPLES, run_cli

SEED = "samples/forticlient-udp-fallback-tcp.txt"


def test_analyze_terminal_tells_the_seed_story():
    p = run_cli("analyze", SEED)
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    for text in ("IKE101", "IKE102", "IKE103", "IKE104", "10.3.2.150:59641", "23:34:42.766",
                 "5 min 39 s", "reconnected", "Timeline", "38"):
        assert text in out, text
    assert "Traceback" not in out + p.stderr.decode()


def test_terminal_timeline_counts_frames_of_a_capture():
    # A capture's refs are frame numbers, as the HTML and Markdown reports say; the terminal said "line".
    p = run_cli("analyze", "tests/rules/fixtures/IKE108/fires-pcap-esp-no-ike/input.pcap")
    out = p.stdout.decode()
    timeline = out.split("Timeline", 1)[1].split("Inputs", 1)[0]
    assert "frame 1" in timeline and "frame 11" in timeline and "line" not in timeline, timeline


def test_analyze_reads_stdin():
    data = (SAMPLES / "forticlient-udp-fallback-tcp.txt").read_bytes()
    p = run_cli("analyze", "-", "--format", "json", stdin=data)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["inputs"][0]["source"] == "<stdin>"
    assert {"IKE101", "IKE102", "IKE103", "IKE104"} <= {f["code"] for f in doc["findings"]}


def test_directory_and_glob_inputs(tmp_path):
    (tmp_path / "a.txt").write_bytes((SAMPLES / "forticlient-udp-fallback-tcp.txt").read_bytes())
    (tmp_path / "b.txt").write_text("ike V=root:0: comes 1.1.1.254:500->2.2.2.254:500,ifindex=4,vrf=0,len=641....\n")
    for arg in (str(tmp_path), str(tmp_path / "*.txt")):
        p = run_cli("analyze", arg, "--format", "json")
        assert p.returncode == 0, p.stderr
        assert len(json.loads(p.stdout)["inputs"]) == 2


def test_json_schema_keys_and_accounting():
    p = run_cli("analyze", SEED, "--format", "json")
    doc = json.loads(p.stdout)
    assert doc["schema"] == 1 and isinstance(doc["ikeanalyze"], str)
    (inp,) = doc["inputs"]
    assert inp["unit"] == "line" and inp["formats"] == ["sniffer", "ikedebug"]
    assert sum(inp["accounting"].values()) == inp["total"] == 42
    assert inp["warnings"] and inp["warnings"][0].startswith("line 15: truncated record")
    for f in doc["findings"]:
        assert {"code", "name", "severity", "title", "message", "start", "end", "tunnel", "peer",
                "evidence", "fix", "t_start", "t_end"} <= set(f)
        assert f["severity"] in ("info", "warning", "error", "critical")
        for e in f["evidence"]:
            assert {"source", "ref", "text"} <= set(e)
    assert doc["timeline"] and all({"time", "text"} <= set(m) for m in doc["timeline"])
    times = [m["time"] for m in doc["timeline"] if m["time"]]
    assert times == sorted(times)


def test_missing_file_is_one_line_exit_2():
    p = run_cli("analyze", "no-such-file.pcap")
    assert p.returncode == 2
    err = p.stderr.decode()
    assert err.strip() == "ikeanalyze: no-such-file.pcap: no such file"


def test_an_output_folder_that_does_not_exist_is_one_line_exit_2(tmp_path):
    """The user's mistake, said as one: not an "internal error"."""
    for cmd in (("analyze", SEED, "-f", "json"), ("events", SEED)):
        p = run_cli(*cmd, "-o", str(tmp_path / "missing" / "out.txt"))
        err = p.stderr.decode()
        assert p.returncode == 2 and err.count("\n") == 1, err
        assert "missing/out.txt: No such file or directory" in err and "internal" not in err


def test_format_names_engineers_type_first():
    """`--format text` and `md` are the terminal and Markdown reports."""
    assert run_cli("analyze", SEED, "-f", "text").stdout == run_cli("analyze", SEED, "-f", "terminal").stdout
    md = run_cli("analyze", SEED, "-f", "md")
    assert md.returncode == 0 and md.stdout == run_cli("analyze", SEED, "-f", "markdown").stdout
    assert md.stdout.startswith(b"# IPsec incident")


def test_binary_garbage_is_one_line_exit_2(tmp_path):
    junk = tmp_path / "image.png"
    junk.write_bytes(bytes(range(256)) * 40)
    p = run_cli("analyze", str(junk))
    assert p.returncode == 2
    assert p.stderr.decode().count("\n") == 1 and str(junk) in p.stderr.decode()
    assert "Traceback" not in p.stderr.decode()


def test_unknown_selector_and_bad_threshold_exit_2():
    p = run_cli("analyze", SEED, "--select", "IKE1O1")
    assert p.returncode == 2 and "unknown rule selector 'IKE1O1'" in p.stderr.decode()
    p = run_cli("analyze", SEED, "--threshold", "IKE102.nothing=3")
    assert p.returncode == 2 and "has no threshold 'nothing'" in p.stderr.decode()


def test_select_ignore_and_threshold_change_the_result():
    doc = json.loads(run_cli("analyze", SEED, "--format", "json", "--select", "IKE1", "--ignore", "IKE103").stdout)
    assert {f["code"] for f in doc["findings"]} == {"IKE101", "IKE102", "IKE104"}
    # 330 s of silence: a 400 s threshold makes the stall (and the fallback built on it) disappear
    doc = json.loads(run_cli("analyze", SEED, "--format", "json", "--select", "IKE102",
                             "--threshold", "IKE102.silence=400s").stdout)
    assert doc["findings"] == []


def test_threshold_from_ikeanalyze_toml(tmp_path):
    (tmp_path / "ikeanalyze.toml").write_text('[thresholds]\n"IKE101.min_keepalives" = 9\n')
    seed = str((SAMPLES / "forticlient-udp-fallback-tcp.txt").resolve())
    doc = json.loads(run_cli("analyze", seed, "--format", "json", "--select", "IKE101", cwd=tmp_path).stdout)
    assert doc["findings"] == []  # 8 keepalives < 9


def test_fail_on():
    assert run_cli("analyze", SEED, "--fail-on", "error").returncode == 1
    assert run_cli("analyze", SEED, "--fail-on", "critical").returncode == 0


def test_peer_and_tunnel_focus():
    doc = json.loads(run_cli("analyze", SEED, "--format", "json", "--peer", "10.9.9.9").stdout)
    assert not [f for f in doc["findings"] if f["code"].startswith("IKE10")]
    doc = json.loads(run_cli("analyze", SEED, "--format", "json", "--peer", "10.3.2.150").stdout)
    assert {"IKE101", "IKE102", "IKE104"} <= {f["code"] for f in doc["findings"]}


def test_events_csv_jsonl_parquet(tmp_path):
    p = run_cli("events", SEED, "--format", "csv")
    assert p.returncode == 0
    header = p.stdout.decode().splitlines()[0].split(",")
    assert header[:6] == ["time", "t", "source", "ref", "origin", "kind"]
    assert len(p.stdout.decode().splitlines()) == 1 + 38
    p = run_cli("events", SEED, "--format", "jsonl")
    rows = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert len(rows) == 38 and rows[0]["ref"] == 5 and rows[0]["src"] == "10.3.2.150"
    out = tmp_path / "e.parquet"
    assert run_cli("events", SEED, "--format", "parquet", "-o", str(out)).returncode == 0
    assert len(pd.read_parquet(out)) == 38


def test_rules_and_explain():
    p = run_cli("rules")
    assert p.returncode == 0 and "IKE101" in p.stdout.decode() and "oneway-nat-keepalive" in p.stdout.decode()
    p = run_cli("explain", "IKE104")
    text = p.stdout.decode()
    for section in ("What it detects", "Why it matters", "Evidence", "Fix", "min_gap"):
        assert section in text
    assert run_cli("explain", "IKE999").returncode == 2


def test_version_and_help():
    assert run_cli("--version").stdout.decode().startswith("ikeanalyze ")
    p = run_cli("--help")
    assert p.returncode == 0 and "analyze" in p.stdout.decode()


def test_progress_status_only_on_a_terminal(tmp_path):
    """A big input shows what is being done on a terminal's stderr, and nothing when stderr
    is a pipe; the report itself is the same."""
    import os
    import pty
    import select
    import subprocess
    import sys

    from tests.conftest import ROOT

    path, out = tmp_path / "day.txt", tmp_path / "r.json"
    subprocess.run([sys.executable, str(ROOT / "tests" / "data" / "make_capture.py"), "--packets", "200000",
                    "--tunnels", "3", "--sniffer", str(path)], check=True, capture_output=True, timeout=300)
    assert path.stat().st_size >= 16 * 1024 * 1024  # cli.PROGRESS_MIN_BYTES
    leader, follower = pty.openpty()
    p = subprocess.run([sys.executable, "-m", "ikeanalyze", "analyze", str(path), "--format", "json", "-o", str(out)],
                       stderr=follower, stdout=subprocess.PIPE, cwd=ROOT, timeout=300)
    os.close(follower)
    seen = b""
    while select.select([leader], [], [], 1)[0]:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's other end is closed and drained
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert p.returncode == 0
    screen = seen.decode(errors="replace")
    assert "ikeanalyze: reading day.txt" in screen and "analysing" in screen and "events" in screen
    assert "IKE102" in {f["code"] for f in json.loads(out.read_text())["findings"]}
    piped = run_cli("analyze", str(path), "--format", "json", "-o", str(out))
    assert piped.returncode == 0 and piped.stderr == b""


def test_glibc_is_told_to_reuse_freed_blocks(monkeypatch):
    """On glibc, main() raises malloc's mmap threshold to its top and keeps freed memory at
    the heap's top (mallopt); a C library without the call, or none found, is left alone."""
    import ctypes

    from ikeanalyze import cli

    calls = []

    class Libc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: Libc())
    monkeypatch.setattr(cli.os, "confstr", lambda name: "glibc 2.36")
    cli._reuse_freed_memory()
    assert calls == [(-3, 32 << 20), (-1, 1 << 30)]
    calls.clear()
    monkeypatch.setattr(cli.os, "confstr", lambda name: None)  # musl: no GNU libc version
    cli._reuse_freed_memory()

    def missing(name):
        raise OSError(name)

    monkeypatch.setattr(ctypes, "CDLL", missing)
    monkeypatch.setattr(cli.os, "confstr", lambda name: "glibc 2.36")
    cli._reuse_freed_memory()
    assert calls == []
