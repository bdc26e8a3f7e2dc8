#!/usr/bin/env bash
# The HTTP API (papertrader-api(7)) against the binary protocol, both
# driven by the same client, ptbench, in the same run, against the same
# daemons, closed loop at 50 keep-alive connections (issue 24's goal: the
# HTTP side at least 0.5x the protocol's rate):
#
#   account  GET /v2/account          vs getUserInfo, getUserPortfolio,
#                                        getOrders, getEquityHistory sent
#                                        together (what the call reads)
#   orders   POST /v2/orders of a limit far under the market, then its
#            DELETE                   vs placeOrder, then cancelOrder
#
#   tests/bench/api_compare.sh [SECONDS] [ROUNDS]     (default 5 3)
#
# Rounds alternate the two sides; the table gives the median of each
# column and of the per-round ratios. The worker runs with
# api_rate_limit = 0 (the default 200 a minute would be the limit
# measured). Needs the release binaries (make); traffic stays on
# 127.0.0.1 and every run is bounded by SECONDS. Order placement writes
# to SQLite with synchronous=FULL: disk syncs here are far cheaper than on
# real hardware, so the orders rates are higher than a real disk allows.
set -euo pipefail
cd "$(dirname "$0")/../.."

SECS=${1:-5}
ROUNDS=${2:-3}
CONNS=${CONNS:-50}
BIN=${BIN:-target/release}
ulimit -n 20000

for b in ptmasterd ptworkerd ptbench; do
	[ -x "$BIN/$b" ] || { echo "api_compare: $BIN/$b is missing: build first (make)" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/pt-api-XXXXXX)
pids=()
cleanup() {
	kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

mport=$(free_port)
wport=$(free_port)
hport=$(free_port)
RUN_DIR=$dir/run BIN=$BIN PT_MASTER_LISTEN=127.0.0.1:$mport PT_WORKER_LISTEN=127.0.0.1:$wport \
	PT_WEB_LISTEN=127.0.0.1:$hport PT_MASTER_EXTRA="register_limit = 0" \
	PT_WORKER_EXTRA="api_rate_limit = 0
max_clients_per_address = 2000" \
	etc/run-local.sh >"$dir/run.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do grep -q 'PaperTrader is up' "$dir/run.log" && break; sleep 0.1; done
grep -q 'PaperTrader is up' "$dir/run.log" || { cat "$dir/run.log" >&2; exit 1; }
# Registration and login happen once, before the timed runs: one user per
# connection, so that the orders a run ends with (placed, not yet
# cancelled) stay far below max_open_orders of each account.
"$BIN/ptbench" -s "127.0.0.1:$wport" -c "$CONNS" --users "$CONNS" -d 0.5 --warmup 0 \
	--no-progress >/dev/null || true
sleep 2

rate() { # ops/s p50 p99 failures of the named op of one ptbench --json run
	python3 -c 'import json,sys; d=json.load(sys.stdin); o=d["ops"][sys.argv[1]]; print(round(o["per_second"]), o["p50_us"], o["p99_us"], sum(v["failed"] for v in d["ops"].values()))' "$1"
}
bench() { # bench SCENARIO OP
	"$BIN/ptbench" -s "127.0.0.1:$wport" --web "127.0.0.1:$hport" --scenario "$1" \
		-c "$CONNS" --users "$CONNS" -d "$SECS" --warmup 1 --json --no-progress | rate "$2"
}

echo "api_compare: $CONNS connections, $ROUNDS rounds of $SECS s, $(nproc) CPUs, $(date -u +%F)"
printf '%-8s %6s %10s %8s %8s %10s %8s %8s %7s\n' pair rounds binary/s p50_us p99_us http/s p50_us p99_us ratio
for pair in "account account http-account account" "orders place http-orders place"; do
	read -r name op http_scenario http_op <<<"$pair"
	scenario=$name
	: >"$dir/rounds"
	for r in $(seq "$ROUNDS"); do
		b=$(bench "$scenario" "$op")
		h=$(bench "$http_scenario" "$http_op")
		read -r bs b50 b99 bf <<<"$b"
		read -r hs h50 h99 hf <<<"$h"
		[ "$bf" = 0 ] && [ "$hf" = 0 ] || echo "api_compare: failures: binary $bf, http $hf" >&2
		echo "$bs $b50 $b99 $hs $h50 $h99" >>"$dir/rounds"
	done
	python3 - "$name" "$dir/rounds" <<'PY'
import statistics as st, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
med = [st.median(col) for col in zip(*rows)]
ratio = st.median(r[3] / r[0] for r in rows)
print("%-8s %6d %10d %8d %8d %10d %8d %8d %7.2f" % (sys.argv[1], len(rows), *med, ratio))
PY
done
