#!/bin/sh
# Run every atheris target for a fixed budget each (not part of pytest or CI's time).
#   fuzz/run_fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      default: 120 s, all targets
# Working corpora grow in fuzz/corpus/<target>/ (seeded from tests/data); crashes are saved
# as fuzz/crashes/<target>-crash-<sha1>. Copy each into tests/robustness/crashers/ (named
# for what broke), fix the bug, and tests/robustness/test_crashers.py replays it forever.
set -u
cd "$(dirname "$0")"
BUDGET=${1:-120}
[ $# -gt 0 ] && shift
TARGETS=${*:-"text pcap ike tcpencap gzip convert"}
mkdir -p crashes
seeds() {
    case $1 in
        text|convert) echo ../tests/data/sniffer ../tests/data/ikedebug ../tests/data/hexdump ../tests/data/state ../samples ../tests/robustness/crashers ;;
        pcap|ike)     echo ../tests/data/pcap ;;
        *)            echo ;;
    esac
}
# Small inputs run fast (a text input is a whole pandas pass); seeds longer are cut to this.
max_len() {
    case $1 in
        text|convert) echo 8192 ;;
        *)            echo 65536 ;;
    esac
}
status=0
for t in $TARGETS; do
    mkdir -p "corpus/$t"
    echo "== fuzz_$t for ${BUDGET}s"
    # -timeout: one input taking this long is a hang worth keeping; -rss_limit_mb bounds memory.
    python3 "fuzz_$t.py" -max_total_time="$BUDGET" -timeout=60 -rss_limit_mb=3072 -max_len="$(max_len "$t")" \
        -print_final_stats=1 -artifact_prefix="crashes/$t-" "corpus/$t" $(seeds "$t") || status=1
done
ls -l crashes
exit $status
