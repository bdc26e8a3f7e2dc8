#!/usr/bin/env bash
# Before/after figures for a change: the cached-quote round-trip benchmark
# (benches/quote_rate.rs) and the idle-connection memory script, each run
# against two builds' daemons in one run, alternating, driven by the same
# client (this tree's benchmark binary; PT_BIN_DIR picks the daemons).
#
#   tests/bench/compare_builds.sh OLD_BIN_DIR [NEW_BIN_DIR] [ROUNDS]
#
# NEW_BIN_DIR defaults to target/release, ROUNDS to 2. Build both first
# (cargo build --release --workspace --bins in each tree). Loopback only;
# every run is bounded by the benchmark's own request count.
set -euo pipefail
cd "$(dirname "$0")/../.."

old=$(realpath "${1:?usage: compare_builds.sh OLD_BIN_DIR [NEW_BIN_DIR] [ROUNDS]}")
new=$(realpath "${2:-target/release}")
rounds=${3:-2}

bench=$(cargo bench --bench quote_rate --no-run --message-format=json 2>/dev/null |
	python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="quote_rate" and m.get("executable"):
        print(m["executable"])')
[ -x "$bench" ] || { echo "compare_builds: cannot build benches/quote_rate.rs" >&2; exit 1; }

for r in $(seq "$rounds"); do
	for side in old new; do
		dir=$old; [ "$side" = new ] && dir=$new
		echo "== round $r, $side build ($dir)"
		PT_BIN_DIR=$dir "$bench" --bench | grep 'ptworkerd:'
		BIN=$dir tests/bench/idle_memory.sh 10000 | grep -E 'ptworkerd|redis'
	done
done
