#!/usr/bin/env python3
"""The race: `ikeanalyze analyze` against fixed baselines on one generated workload.

Usage (from the repository root):

    python benchmarks/bench.py                       # 1M packets, 3 repetitions (~15 min on 2 cores)
    python benchmarks/bench.py --packets 100000 --tunnels 5 --reps 1 --no-flat   # about a minute
    python benchmarks/bench.py --packets 2000 --tunnels 2 --reps 1 --no-tshark --no-flat \
        --ikedebug-lines 3000                                   # smoke (tests/test_bench.py)

Workload (written to benchmarks/work/, gitignored; make_capture.py is deterministic):
  * ``make_capture.py --packets N`` → a classic pcap and the same day as sniffer text
    (verbosity 4; ``--verbosity6`` adds a verbosity-6 file with hex dumps);
  * the IKE debug corpus logs (tests/data/ikedebug/*.txt) concatenated and repeated to at
    least ``--ikedebug-lines`` lines.

Every command runs as a child process; wall time comes from a monotonic clock, CPU time and
peak RSS from ``os.wait4`` (that child's own rusage). Repetitions are interleaved (every
task once per round, the order rotated each round) and the medians are compared, so the
ratios come from one run on one machine under one load, which is what the targets are
about. Memory flatness: one more analyze of a 3N-packet pcap, whose peak RSS is compared
with the N-packet one.

Not a unit test: nothing here asserts. The output says which targets were met.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASE = HERE / "baselines"
# The workload generator: the unchanged copy the tests use (see benchmarks/baselines/README.md).
GENERATOR = HERE.parent / "tests" / "data" / "make_capture.py"
CORPUS = ROOT / "tests" / "data" / "ikedebug"
FILTER = "udp port 500 or udp port 4500 or ip proto 50 or tcp port 5500"
MIB = 1024 * 1024


@dataclass
class Task:
    name: str
    group: str
    cmd: list[str]
    runs: list[tuple[float, float, int]] = field(default_factory=list)  # (wall s, cpu s, peak RSS bytes)
    failed: str | None = None  # why the command failed (it is not run again)

    def median(self, i: int) -> float:
        return statistics.median(r[i] for r in self.runs)

    @property
    def wall(self) -> float:
        return self.median(0)

    @property
    def cpu(self) -> float:
        return self.median(1)

    @property
    def rss(self) -> int:
        return max(r[2] for r in self.runs)


def ikeanalyze_cmd() -> list[str]:
    """The installed console script beside this interpreter (no pyenv shim in the way)."""
    script = Path(sys.executable).with_name("ikeanalyze")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ikeanalyze"]


def run(cmd: list[str], log: Path) -> tuple[float, float, int]:
    """Run one child to completion: (wall seconds, user+sys CPU seconds, peak RSS bytes)."""
    with open(log, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        _pid, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise Failed(f"{' '.join(cmd)} exited {proc.returncode}: {tail.strip()}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024  # ru_maxrss is KiB on Linux


def precompile() -> None:
    """Compile ikeanalyze's bytecode before the race, as `pip install` does for a regular
    install: an editable install under PYTHONDONTWRITEBYTECODE (set on some CI and sandbox
    machines) would otherwise compile every module on every run (~0.15 s), which the
    baselines, installed with their bytecode, never pay."""
    spec = importlib.util.find_spec("ikeanalyze")
    if spec and spec.submodule_search_locations:
        for where in spec.submodule_search_locations:
            compileall.compile_dir(where, quiet=1)


class Failed(Exception):
    """A raced command exited non-zero: its figures are left out and the failure reported."""


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- workload
def make_capture(work: Path, packets: int, verbosity6: bool, tunnels: int | None = None) -> dict[str, Path]:
    tag = f"{packets}" if tunnels is None else f"{packets}_t{tunnels}"
    files = {
        "pcap": work / f"cap_{tag}.pcap",
        "sniffer": work / f"sniffer_{tag}_v4.txt",
    }
    if verbosity6:
        files["sniffer6"] = work / f"sniffer_{tag}_v6.txt"
    gen = [sys.executable, str(GENERATOR), "--packets", str(packets)]
    if tunnels is not None:  # the tunnels' own traffic alone is ~140k packets with the default 50
        gen += ["--tunnels", str(tunnels)]
    if not (files["pcap"].exists() and files["sniffer"].exists()):
        say(f"generating {packets} packets (pcap + sniffer v4) ...")
        tmp_p, tmp_s = files["pcap"].with_suffix(".part"), files["sniffer"].with_suffix(".part")
        subprocess.run(gen + ["--pcap", str(tmp_p), "--sniffer", str(tmp_s)], check=True)
        tmp_p.rename(files["pcap"])
        tmp_s.rename(files["sniffer"])
    if verbosity6 and not files["sniffer6"].exists():
        say(f"generating {packets} packets (sniffer v6) ...")
        tmp = files["sniffer6"].with_suffix(".part")
        subprocess.run(gen + ["--sniffer", str(tmp), "--verbosity", "6"], check=True)
        tmp.rename(files["sniffer6"])
    return files


def make_ikedebug(work: Path, min_lines: int) -> Path:
    """The corpus logs, concatenated in name order and repeated to at least ``min_lines``."""
    out = work / f"ikedebug_{min_lines}.txt"
    if out.exists():
        return out
    logs = [p.read_bytes() for p in sorted(CORPUS.glob("*.txt"))]
    one = b"".join(d if d.endswith(b"\n") else d + b"\n" for d in logs)
    per = one.count(b"\n")
    reps = -(-min_lines // per)
    tmp = out.with_suffix(".part")
    with open(tmp, "wb") as f:
        for _ in range(reps):
            f.write(one)
    tmp.rename(out)
    return out


def lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b""))


# ----------------------------------------------------------------------------- machine
def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass

    def version(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return "absent"
        return (out.stdout or out.stderr).splitlines()[0].strip() if (out.stdout or out.stderr) else "?"

    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "tshark": version(["tshark", "--version"]),
        "tcpdump": version(["tcpdump", "--version"]),
    }


# ----------------------------------------------------------------------------- race
def tasks_for(files: dict[str, Path], ikedebug: Path, args) -> list[Task]:
    ia = ikeanalyze_cmd()
    py = sys.executable

    def analyze(path: Path) -> list[str]:
        return ia + ["analyze", str(path), "--format", "json", "-o", os.devnull]

    pcap = files["pcap"]
    t = [
        Task("analyze pcap", "pcap", analyze(pcap)),
        # The default uses a read-ahead worker on 2+ CPUs (ikeanalyze/readahead.py): the
        # one-process figure, for comparison.
        Task("analyze pcap --jobs 1", "pcap", analyze(pcap) + ["--jobs", "1"]),
        Task("dpkt loop", "pcap", [py, str(BASE / "baseline_dpkt.py"), str(pcap)]),
        Task("tcpdump", "pcap", ["tcpdump", "-r", str(pcap), "-w", os.devnull, FILTER]),
        Task("analyze sniffer v4", "sniffer", analyze(files["sniffer"])),
        Task("sniffer regex", "sniffer", [py, str(BASE / "baseline_sniffer_regex.py"), str(files["sniffer"])]),
        Task("analyze ikedebug", "ikedebug", analyze(ikedebug)),
        Task("ikedebug regex", "ikedebug", [py, str(BASE / "baseline_ikedebug_regex.py"), str(ikedebug)]),
        Task("ikeanalyze --help", "startup", ia + ["--help"]),
    ]
    if not args.no_tshark:
        t.insert(1, Task("tshark", "pcap", ["sh", str(BASE / "baseline_tshark.sh"), str(pcap)]))
    if "sniffer6" in files:
        t += [
            Task("analyze sniffer v6", "sniffer6", analyze(files["sniffer6"])),
            Task("sniffer regex v6", "sniffer6",
                 [py, str(BASE / "baseline_sniffer_regex.py"), str(files["sniffer6"])]),
        ]
    if args.only:
        t = [x for x in t if x.group in args.only]
    return t


def race(tasks: list[Task], reps: int, work: Path) -> list[float]:
    loads = [os.getloadavg()[0]]
    log = work / "last-stderr.log"
    for rep in range(reps):
        order = tasks[rep % len(tasks):] + tasks[: rep % len(tasks)]
        for task in order:
            if task.failed:
                continue
            try:
                r = run(task.cmd, log)
            except Failed as exc:
                task.failed = str(exc)[-600:]
                say(f"  round {rep + 1}/{reps}  {task.name:<20} FAILED: {task.failed}")
                continue
            task.runs.append(r)
            say(f"  round {rep + 1}/{reps}  {task.name:<20} {r[0]:8.2f} s wall {r[1]:8.2f} s cpu "
                f"{r[2] / MIB:7.0f} MiB")
        loads.append(os.getloadavg()[0])
    return loads


# ----------------------------------------------------------------------------- report
@dataclass
class Target:
    what: str
    value: float | None
    limit: float
    unit: str = "×"

    @property
    def met(self) -> bool | None:
        return None if self.value is None else self.value <= self.limit

    def row(self) -> str:
        if self.value is None:
            return f"| {self.what} | not measured | ≤ {self.limit:g}{self.unit} | – |"
        v = f"{self.value:.3f}" if self.unit == "×" else f"{self.value:.0f}" if self.unit == " MiB" else f"{self.value:.2f}"
        return f"| {self.what} | {v}{self.unit} | ≤ {self.limit:g}{self.unit} | {'yes' if self.met else 'NO'} |"


def targets(by: dict[str, Task], flat: float | None) -> list[Target]:
    def ratio(a: str, b: str) -> float | None:
        if a in by and b in by and by[a].runs and by[b].runs:
            return by[a].wall / by[b].wall
        return None

    def rss(a: str) -> float | None:
        return by[a].rss / MIB if a in by and by[a].runs else None

    out = [
        Target("pcap: analyze / tshark", ratio("analyze pcap", "tshark"), 0.10),
        Target("pcap: analyze / dpkt loop", ratio("analyze pcap", "dpkt loop"), 0.20),
        Target("pcap: analyze / tcpdump", ratio("analyze pcap", "tcpdump"), 5.0),
        Target("pcap: analyze peak RSS", rss("analyze pcap"), 400, " MiB"),
        Target("pcap: peak RSS 3N / N packets", flat, 1.3),
        Target("sniffer v4: analyze / regex split", ratio("analyze sniffer v4", "sniffer regex"), 1.0),
        Target("sniffer v4: analyze peak RSS", rss("analyze sniffer v4"), 600, " MiB"),
    ]
    if "analyze sniffer v6" in by:
        out += [
            Target("sniffer v6: analyze / regex split", ratio("analyze sniffer v6", "sniffer regex v6"), 1.0),
            Target("sniffer v6: analyze peak RSS", rss("analyze sniffer v6"), 600, " MiB"),
        ]
    out += [
        Target("ikedebug: analyze / regex split", ratio("analyze ikedebug", "ikedebug regex"), 1.5),
        Target("start-up: ikeanalyze --help", by["ikeanalyze --help"].wall if "ikeanalyze --help" in by else None,
               0.3, " s"),
    ]
    return out


def markdown(tasks: list[Task], tg: list[Target], meta: dict) -> str:
    m = meta["machine"]
    lines_ = [
        f"Run {meta['date']}: {meta['packets']:,} packets ({meta['sizes']['pcap'] / MIB:.0f} MiB pcap, "
        f"{meta['lines']['sniffer']:,} sniffer lines{meta['tunnels']}), IKE debug {meta['lines']['ikedebug']:,} lines; "
        f"{meta['reps']} interleaved rounds, medians.",
        "",
        f"Machine: {m['cpu']}, {m['nproc']} cores, {m['memory']} RAM; Python {m['python']}; "
        f"{m['tshark']}; {m['tcpdump']}. Load average (1 min) during the run: "
        f"{min(meta['load']):.1f}–{max(meta['load']):.1f}.",
        "",
        "| task | wall (median) | CPU user+sys (median) | peak RSS |",
        "|---|---:|---:|---:|",
    ]
    for t in tasks:
        if t.failed:
            lines_.append(f"| {t.name} | failed: {t.failed.splitlines()[-1][:200]} | | |")
        elif t.runs:
            lines_.append(f"| {t.name} | {t.wall:.2f} s | {t.cpu:.2f} s | {t.rss / MIB:.0f} MiB |")
    if meta.get("flat"):
        f = meta["flat"]
        lines_.append(f"| analyze pcap, {3 * meta['packets']:,} packets (once) | {f['wall3']:.2f} s | "
                      f"{f['cpu3']:.2f} s | {f['rss3'] / MIB:.0f} MiB |")
    lines_ += ["", "| target | measured | limit | met |", "|---|---:|---:|:---:|"]
    lines_ += [t.row() for t in tg]
    return "\n".join(lines_) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=1_000_000, help="packets in the generated capture")
    ap.add_argument("--reps", type=int, default=3, help="interleaved rounds (medians are reported)")
    ap.add_argument("--tunnels", type=int, help="dial-up tunnels in the workload (make_capture's default: 50, "
                    "about 140k packets of their own; use a few for a quick run)")
    ap.add_argument("--ikedebug-lines", type=int, default=500_000, help="minimum lines of IKE debug text")
    ap.add_argument("--no-tshark", action="store_true", help="leave tshark out (it is the slowest)")
    ap.add_argument("--no-flat", action="store_true", help="skip the 3N-packet memory-flatness run")
    ap.add_argument("--verbosity6", action="store_true", help="also race a verbosity-6 sniffer file")
    ap.add_argument("--only", action="append", choices=["pcap", "sniffer", "sniffer6", "ikedebug", "startup"],
                    help="race only these groups (repeatable)")
    ap.add_argument("--work", type=Path, default=HERE / "work", help="where the workload is written")
    ap.add_argument("--keep", action="store_true", help="keep the generated files for the next run")
    ap.add_argument("--json", type=Path, help="write the raw figures here")
    ap.add_argument("--markdown", type=Path, help="write the figures as Markdown here")
    args = ap.parse_args(argv)

    args.work.mkdir(parents=True, exist_ok=True)
    for tool in ["tcpdump"] + ([] if args.no_tshark else ["tshark"]):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} is not installed (use --no-tshark to leave tshark out)")
    free = shutil.disk_usage(args.work).free
    need = args.packets * 630 * (4 if args.no_flat else 9)  # pcap + text, then the 3N pcap
    if free < need:
        raise SystemExit(f"bench: {free / MIB:.0f} MiB free in {args.work}, about {need / MIB:.0f} MiB needed")

    files = make_capture(args.work, args.packets, args.verbosity6, args.tunnels)
    ikedebug = make_ikedebug(args.work, args.ikedebug_lines)
    tasks = tasks_for(files, ikedebug, args)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "packets": args.packets,
        "tunnels": "" if args.tunnels is None else f", {args.tunnels} tunnels",
        "reps": args.reps,
        "machine": machine(),
        "sizes": {k: p.stat().st_size for k, p in {**files, "ikedebug": ikedebug}.items()},
        "lines": {"sniffer": lines(files["sniffer"]), "ikedebug": lines(ikedebug)},
    }
    precompile()
    say(f"racing {len(tasks)} tasks × {args.reps} rounds (load {os.getloadavg()[0]:.1f}) ...")
    meta["load"] = race(tasks, args.reps, args.work)
    by = {t.name: t for t in tasks}

    flat = None
    if not args.no_flat and "analyze pcap" in by:
        big = make_capture(args.work, 3 * args.packets, False, args.tunnels)
        say("memory flatness: analyze N then 3N packets ...")
        cmd3 = by["analyze pcap"].cmd[:]
        cmd3[cmd3.index(str(files["pcap"]))] = str(big["pcap"])
        try:
            small = run(by["analyze pcap"].cmd, args.work / "last-stderr.log")
            w3, c3, r3 = run(cmd3, args.work / "last-stderr.log")
        except Failed as exc:
            say(f"memory flatness run FAILED: {exc}")
        else:
            meta["flat"] = {"rss1": small[2], "rss3": r3, "wall3": w3, "cpu3": c3}
            flat = r3 / small[2]
        meta["load"].append(os.getloadavg()[0])
        if not args.keep:
            for p in big.values():
                p.unlink(missing_ok=True)

    tg = targets(by, flat)
    md = markdown(tasks, tg, meta)
    print(md)
    if args.markdown:
        args.markdown.write_text(md, encoding="utf-8")
    if args.json:
        raw = {**meta, "tasks": [{"name": t.name, "group": t.group, "cmd": t.cmd, "runs": t.runs, "failed": t.failed}
                                 for t in tasks],
               "targets": [{"what": t.what, "value": t.value, "limit": t.limit, "met": t.met} for t in tg]}
        args.json.write_text(json.dumps(raw, indent=2), encoding="utf-8")
    if not args.keep:
        for p in [*files.values(), ikedebug]:
            p.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
