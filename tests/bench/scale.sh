#!/usr/bin/env bash
# Scale-out test (issue 17): one ptmasterd and WORKERS ptworkerd, each in
# its own network namespace ("host"), joined by veth pairs to a bridge,
# with addresses this script assigns (10.77.0.0/24); CLIENT_HOSTS further
# namespaces each run one ptbench (the open-file limit is 20000 per
# process) so that CONNECTIONS client connections in all are spread over
# every worker the master lists. TRADERS percent of them buy and sell one
# share every 1 s price interval; the rest ask quotes and history in an
# open loop of READ_RATE requests per second in all.
#
# It records the master's CPU, each worker's CPU and RSS, quote and trade
# latency percentiles, every order answered or not, orders per batch and
# batch commit time (from the master's debug log), and runs ptctl audit.
# Every namespace, link and process is removed on exit, also when
# interrupted.
#
#   sudo tests/bench/scale.sh                 (or: make scale)
#
# Environment: WORKERS (8), CLIENT_HOSTS (4), CONNECTIONS (50000),
# TRADERS (10), READ_RATE (10000), DURATION (30), WARMUP (15), BIN
# (target/release). Needs root (ip netns), the release binaries and gpg.
set -euo pipefail
cd "$(dirname "$0")/../.."

WORKERS=${WORKERS:-8}
CLIENT_HOSTS=${CLIENT_HOSTS:-4}
CONNECTIONS=${CONNECTIONS:-50000}
TRADERS=${TRADERS:-10}
READ_RATE=${READ_RATE:-10000}
SECONDS_MEASURED=${DURATION:-30}
WARMUP=${WARMUP:-15}
BIN=$(cd "${BIN:-target/release}" && pwd)
NET=10.77.0
BRIDGE=ptscale0
TAG=pts$$

say() { printf 'scale: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root for network namespaces"
for b in ptmasterd ptworkerd ptctl ptbench; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is missing: build first (make)"
done
command -v ip >/dev/null || die "ip (iproute2) is missing"
command -v gpg >/dev/null || die "gpg is missing: run 'make deps'"

dir=$(mktemp -d /tmp/pt-scale-XXXXXX)
chmod 755 "$dir"
KEY_NOTE="scale test"
# shellcheck source=tests/bench/netns.sh
. tests/bench/netns.sh

say "namespaces: master, $WORKERS workers, $CLIENT_HOSTS client hosts on $NET.0/24"
bridge
host master 1
for w in $(seq "$WORKERS"); do host "w$w" $((10 + w)); done
for c in $(seq "$CLIENT_HOSTS"); do host "c$c" $((100 + c)); done

say "keys and configuration under $dir"
mkdir -p "$dir/master"
master_fpr=$(make_key "$dir/master/gnupg" ptmasterd)
: >"$dir/workers.list"
for w in $(seq "$WORKERS"); do
	mkdir -p "$dir/w$w"
	fpr=$(make_key "$dir/w$w/gnupg" "w$w")
	trust "$dir/master/gnupg" "$master_fpr" "$dir/w$w/gnupg" "$fpr"
	uuid=$(cat /proc/sys/kernel/random/uuid)
	echo "w$w $uuid $fpr $NET.$((10 + w))" >>"$dir/workers.list"
	cat >"$dir/w$w/ptworkerd.conf" <<-CONF
	listen = $NET.$((10 + w)):2049
	master = $NET.1:2048
	uuid = $uuid
	name = w$w
	state_dir = $dir/w$w
	gnupg_home = $dir/w$w/gnupg
	worker_key = $fpr
	master_key = $master_fpr
	max_clients = 20000
	max_clients_per_address = 20000
	max_in_flight = 4
	CONF
done
# Benchmark settings: cheap argon2 (users are set up in bulk), room for
# the test's registrations, 1 s prices, debug log for the batch lines.
cat >"$dir/master/ptmasterd.conf" <<-CONF
listen = $NET.1:2048
state_dir = $dir/master
gnupg_home = $dir/master/gnupg
master_key = $master_fpr
workers_file = $dir/workers.list
max_workers = $WORKERS
update_interval = 1s
argon2_memory_kib = 64
argon2_iterations = 1
register_limit = 100000
max_conns_per_address = 100000
log_file = $dir/master/ptmasterd.log
log_level = debug
log_memory_entries = 1
CONF

say "starting ptmasterd and $WORKERS ptworkerd"
in_host master "$BIN/ptmasterd" -f -c "$dir/master/ptmasterd.conf" >"$dir/master/out" 2>"$dir/master/err" &
for _ in $(seq 100); do grep -q '^listening' "$dir/master/out" 2>/dev/null && break; sleep 0.1; done
master_pid=$(ip netns pids "$TAG-master" | head -1)
for w in $(seq "$WORKERS"); do
	in_host "w$w" bash -c "ulimit -n 20000; exec $BIN/ptworkerd -f -c $dir/w$w/ptworkerd.conf" \
		>"$dir/w$w/out" 2>"$dir/w$w/err" &
done
for _ in $(seq 300); do
	linked=$(in_host master "$BIN/ptctl" -c "$dir/master/ptmasterd.conf" workers 2>/dev/null |
		awk 'NR > 1 && $3 != "-"' | wc -l)
	[ "$linked" -ge "$WORKERS" ] && break
	sleep 0.2
done
[ "$linked" -ge "$WORKERS" ] || die "only $linked of $WORKERS workers linked; see $dir (KEEP=1 keeps it)"
say "$linked workers linked"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
worker_pids=()
for w in $(seq "$WORKERS"); do worker_pids+=("$(ip netns pids "$TAG-w$w" | head -1)"); done

per_host=$((CONNECTIONS / CLIENT_HOSTS))
rate_per_host=$((READ_RATE / CLIENT_HOSTS))
say "$CLIENT_HOSTS ptbench x $per_host connections: $TRADERS% trading every 1 s, $READ_RATE reads/s; ${WARMUP}s warm-up, ${SECONDS_MEASURED}s measured"
bench_pids=()
for c in $(seq "$CLIENT_HOSTS"); do
	in_host "c$c" bash -c "ulimit -n 20000; exec $BIN/ptbench --master $NET.1:2048 -c $per_host \
		--scenario trade --traders $TRADERS --trade-every 1 --rate $rate_per_host \
		--users 100 --user-prefix c${c}u -d $SECONDS_MEASURED --warmup $WARMUP -t 1 --json" \
		>"$dir/c$c.json" 2>"$dir/c$c.err" &
	bench_pids+=($!)
done

# CPU and RSS samples, one a second, until every ptbench is done.
: >"$dir/samples"
while :; do
	running=0
	for p in "${bench_pids[@]}"; do kill -0 "$p" 2>/dev/null && running=1; done
	line="$(date +%s.%N) $(cpu_ticks "$master_pid")"
	for p in "${worker_pids[@]}"; do line="$line $(cpu_ticks "$p") $(rss_kib "$p")"; done
	echo "$line" >>"$dir/samples"
	[ "$running" = 1 ] || break
	sleep 1
done
for p in "${bench_pids[@]}"; do wait "$p" || true; done

kill -USR1 "$master_pid" 2>/dev/null || true # the log file catches up
sleep 1
say "audit"
audit=$(in_host master "$BIN/ptctl" -c "$dir/master/ptmasterd.conf" audit 2>&1 || true)

python3 - "$dir" "$WORKERS" "$CLIENT_HOSTS" "$SECONDS_MEASURED" "$CONNECTIONS" "$TRADERS" "$READ_RATE" "$audit" <<'PY'
import json, os, re, sys
d, workers, hosts, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
conns, traders, read_rate, audit = sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8]
hz = os.sysconf("SC_CLK_TCK")
rows = [list(map(float, l.split())) for l in open(f"{d}/samples") if l.strip()]
end = rows[-1][0]
window = [r for r in rows if r[0] >= end - secs - 1]
a, b = window[0], window[-1]
span = b[0] - a[0]
def cpu(i): return 100.0 * (b[i] - a[i]) / hz / span
print(f"window: {span:.0f} s at the end of the run")
print(f"master CPU: {cpu(1):.1f}% of one core")
for w in range(workers):
    i = 2 + 2 * w
    print(f"worker w{w+1}: CPU {cpu(i):5.1f}%  RSS {int(b[i+1]) // 1024} MiB")
ops, fails, broken, running = {}, {}, 0, 0
for c in range(1, hosts + 1):
    try:
        j = json.load(open(f"{d}/c{c}.json"))
    except Exception as e:
        print(f"client host c{c}: no summary ({e}): " + open(f"{d}/c{c}.err").read()[-300:])
        continue
    running += j["running"]; broken += j["broken_connections"]
    for k, v in j["ops"].items():
        o = ops.setdefault(k, {"count": 0, "failed": 0, "p50": [], "p99": []})
        o["count"] += v["count"]; o["failed"] += v["failed"]
        o["p50"].append(v["p50_us"]); o["p99"].append(v["p99_us"])
    for k, v in j["failures"].items(): fails[k] = fails.get(k, 0) + v
print(f"connections: {running} running of {conns}, {broken} broken")
for k, o in ops.items():
    print(f"{k:8} {o['count']:9d} answered ({o['count']/secs:8.0f}/s), {o['failed']} failed, "
          f"p50 {max(o['p50'])/1000:.2f} ms, p99 {max(o['p99'])/1000:.2f} ms (worst host)")
print("failures: " + (", ".join(f"{k} {v}" for k, v in fails.items()) or "none"))
batches = []
for line in open(f"{d}/master/ptmasterd.log", errors="replace"):
    m = re.search(r"trade batch: (\d+) orders, \d+ open orders changed, in ([\d.]+)(µs|us|ms|s)", line)
    if m:
        n, t, unit = int(m.group(1)), float(m.group(2)), m.group(3)
        ms = t / 1000 if unit in ("µs", "us") else t * 1000 if unit == "s" else t
        batches.append((n, ms))
tail = batches[-int(secs):] if batches else []
if tail:
    ns = sorted(n for n, _ in tail); ts = sorted(t for _, t in tail)
    print(f"batches (last {len(tail)}): orders per batch median {ns[len(ns)//2]}, max {ns[-1]}; "
          f"commit time median {ts[len(ts)//2]:.1f} ms, max {ts[-1]:.1f} ms")
print("audit: " + audit.strip().splitlines()[0] if audit.strip() else "audit: no output")
PY
