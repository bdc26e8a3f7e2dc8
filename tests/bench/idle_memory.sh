#!/usr/bin/env bash
# Memory of 10,000 idle client connections: ptworkerd against redis-server
# holding the same number, measured the same way (VmRSS of the server
# before and after the connections open), on the same machine in one run.
# Issue 4 target: at most 8 KiB per connection for ptworkerd.
#
#   tests/bench/idle_memory.sh [CONNECTIONS]     (default 10000)
#
# Needs the release binaries (make) and redis-server (installed with
# apt-get when run as root). Traffic stays on 127.0.0.1; every wait is
# bounded.
set -euo pipefail
cd "$(dirname "$0")/../.."

N=${1:-10000}
BIN=${BIN:-target/release}
ulimit -n 20000

[ -x "$BIN/ptworkerd" ] || { echo "idle_memory: build first (make)" >&2; exit 1; }
if ! command -v redis-server >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y -qq redis-server >/dev/null
	else
		echo "idle_memory: redis-server is missing (apt-get install redis-server)" >&2
		exit 1
	fi
fi

dir=$(mktemp -d /tmp/pt-idle-XXXXXX)
pids=()
cleanup() {
	kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

# Opens N connections to PORT, holds them until its stdin closes; prints
# "open" once all are connected.
hold() {
	python3 - "$1" "$N" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
deadline = time.time() + 120
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    socks.append(s)
    if time.time() > deadline:
        sys.exit("too slow")
print("open", flush=True)
sys.stdin.read()
PY
}

# measure NAME PID PORT: RSS before and after N idle connections.
measure() {
	local name=$1 pid=$2 port=$3 before after
	sleep 0.5
	before=$(rss_kib "$pid")
	exec 3> >(hold "$port" >"$dir/$name.hold")
	for _ in $(seq 1200); do grep -q open "$dir/$name.hold" 2>/dev/null && break; sleep 0.1; done
	grep -q open "$dir/$name.hold" || { echo "idle_memory: $name: connections did not open" >&2; exit 1; }
	sleep 2
	after=$(rss_kib "$pid")
	exec 3>&-
	awk -v n="$name" -v b="$before" -v a="$after" -v c="$N" 'BEGIN {
		printf "%-10s RSS %7d KiB idle, %7d KiB with %d connections: %.2f KiB per connection\n",
			n, b, a, c, (a - b) / c }'
}

wport=$(free_port)
cat >"$dir/w.conf" <<CONF
listen = 127.0.0.1:$wport
max_clients = 20000
max_clients_per_address = 20000
state_dir = $dir
CONF
# Builds from before the per-address cap do not know its key.
"$BIN/ptworkerd" -n -c "$dir/w.conf" >/dev/null 2>&1 ||
	sed -i '/^max_clients_per_address/d' "$dir/w.conf"
"$BIN/ptworkerd" -f -c "$dir/w.conf" >"$dir/w.out" 2>"$dir/w.log" &
pids+=($!)
for _ in $(seq 100); do grep -q '^listening' "$dir/w.out" && break; sleep 0.1; done
measure ptworkerd "${pids[-1]}" "$wport"

rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
	--maxclients 20000 --daemonize no --loglevel warning >"$dir/r.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
measure redis "${pids[-1]}" "$rport"
