#!/usr/bin/env bash
# Disaster-recovery drill (issue 22): the master's host dies under load and
# a standby takes over from the Litestream replica. Network namespaces
# ("hosts") on a bridge, 10.78.0.0/24: master (.1), standby (.2), workers
# w1 (.11) and w2 (.12), client c1 (.101). The master service is one
# floating address (.100), on the master's eth0 first. Litestream runs
# beside ptmasterd (wal_autocheckpoint = 0: it alone checkpoints) and
# replicates to $dir/replica, standing for object storage. The standby has
# a copy of the master's keys, configuration and workers file, and runs
# nothing.
#
# From c1, ptbench trades on both workers, and TRADERS papertrader users,
# each with its saved session, buy and sell one share in a loop (every
# fourth order a limit buy far under the price, left open), logging what
# is acknowledged. After DURATION s and a random fraction the master host
# loses its cable, its processes get SIGKILL, and its namespace and disk
# go. The standby restores the replica, takes the floating address and
# starts ptmasterd and Litestream. Then each user reads its trades and
# orders with its saved session; the drill counts the acknowledged trades
# and open orders lost, the loss window (the kill less the acknowledgement
# of the earliest lost one), the time from the kill to the standby
# listening and to both workers linked, and runs ptctl audit there. It
# fails if the audit does, a session is refused, the workers do not link
# within RELINK_BOUND s, or nothing was acknowledged.
# Every namespace, link and process is removed on exit, also when
# interrupted.
#
#   sudo tests/bench/drill.sh                 (or: make drill)
#
# Environment: DURATION (20), TRADERS (4), CONNECTIONS (300), RELINK_BOUND
# (60), BIN (target/release), LITESTREAM (target/litestream/bin/litestream),
# KEEP. Needs root (ip netns), the release binaries, gpg and Litestream.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-20}
TRADERS=${TRADERS:-4}
CONNECTIONS=${CONNECTIONS:-300}
RELINK_BOUND=${RELINK_BOUND:-60}
BIN=$(cd "${BIN:-target/release}" && pwd)
LITESTREAM=$(realpath "${LITESTREAM:-target/litestream/bin/litestream}")
NET=10.78.0
FLOAT=$NET.100
BRIDGE=ptdrill0
TAG=ptd$$
SYMBOLS=(AAPL MSFT NVDA TSLA KO JPM XOM V)

say() { printf 'drill: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root for network namespaces"
for b in ptmasterd ptworkerd ptctl ptbench papertrader; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is missing: build first (make)"
done
[ -x "$LITESTREAM" ] || die "$LITESTREAM is missing: make target/litestream/bin/litestream"
command -v ip >/dev/null || die "ip (iproute2) is missing"
command -v gpg >/dev/null || die "gpg is missing: run 'make deps'"

dir=$(mktemp -d /tmp/pt-drill-XXXXXX)
chmod 755 "$dir"
mkdir -p "$dir/logs"
KEY_NOTE=drill
# shellcheck source=tests/bench/netns.sh
. tests/bench/netns.sh

now() { date +%s.%N; }
# wait_for FILE PATTERN: up to 10 s for a line matching PATTERN in FILE.
wait_for() { for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
# linked HOST: the number of workers linked to the master running there.
linked() {
	in_host "$1" "$BIN/ptctl" -c "$dir/$1/ptmasterd.conf" workers 2>/dev/null |
		awk 'NR > 1 && $3 != "-"' | wc -l
}

# announce HOST ADDRESS: a gratuitous ARP request and reply for ADDRESS from
# HOST's eth0 (what arping -U sends), so that the neighbours' entries for it
# move to HOST at once. (arp_notify = 1 and eth0 down and up: no ARP of it
# reached the other hosts, and the workers kept the dead host's address for
# a minute.)
announce() {
	in_host "$1" python3 - "$2" <<-'PY'
	import socket, struct, sys
	ip, bc = socket.inet_aton(sys.argv[1]), b"\xff" * 6
	s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
	s.bind(("eth0", 0))
	mac = s.getsockname()[4]
	for op, tha in ((1, b"\0" * 6), (2, bc)): s.send(bc + mac + b"\x08\x06" + struct.pack("!HHBBH6s4s6s4s", 1, 0x800, 6, 4, op, mac, ip, tha, ip))
	PY
}

# litestream_conf HOST REPLICA: Litestream's configuration on HOST, which
# replicates HOST's database to the directory REPLICA.
litestream_conf() {
	cat >"$dir/$1/litestream.yml" <<-YML
	dbs:
	  - path: $dir/$1/papertrader.db
	    replica:
	      type: file
	      path: $2
	      sync-interval: 1s
	YML
}

say "namespaces: master, standby, 2 workers, 1 client host on $NET.0/24; the master at $FLOAT"
bridge
host master 1
host standby 2
host w1 11
host w2 12
host c1 101
ip -n "$TAG-master" addr add "$FLOAT/24" dev eth0

say "keys and configuration under $dir"
mkdir -p "$dir/master"
master_fpr=$(make_key "$dir/master/gnupg" ptmasterd)
: >"$dir/master/workers.list"
for w in 1 2; do
	mkdir -p "$dir/w$w"
	fpr=$(make_key "$dir/w$w/gnupg" "w$w")
	trust "$dir/master/gnupg" "$master_fpr" "$dir/w$w/gnupg" "$fpr"
	uuid=$(cat /proc/sys/kernel/random/uuid)
	echo "w$w $uuid $fpr $NET.$((10 + w))" >>"$dir/master/workers.list"
	cat >"$dir/w$w/ptworkerd.conf" <<-CONF
	listen = $NET.$((10 + w)):2049
	master = $FLOAT:2048
	uuid = $uuid
	name = w$w
	state_dir = $dir/w$w
	gnupg_home = $dir/w$w/gnupg
	worker_key = $fpr
	master_key = $master_fpr
	max_clients_per_address = 20000
	CONF
done
# Cheap argon2 (users are set up in bulk), 1 s prices, checkpoints left
# to Litestream.
cat >"$dir/master/ptmasterd.conf" <<-CONF
listen = $FLOAT:2048
state_dir = $dir/master
gnupg_home = $dir/master/gnupg
master_key = $master_fpr
workers_file = $dir/master/workers.list
wal_autocheckpoint = 0
max_workers = 2
update_interval = 1s
argon2_memory_kib = 64
argon2_iterations = 1
register_limit = 100000
max_conns_per_address = 100000
CONF
litestream_conf master "$dir/replica"
# The standby starts with the same keys, configuration and workers file.
gpgconf --homedir "$dir/master/gnupg" --kill gpg-agent 2>/dev/null || true
mkdir -p "$dir/standby"
chmod 700 "$dir/standby"
cp -a "$dir/master/gnupg" "$dir/standby/gnupg"
rm -f "$dir/standby/gnupg"/S.*
sed "s|$dir/master|$dir/standby|g" "$dir/master/ptmasterd.conf" >"$dir/standby/ptmasterd.conf"
cp "$dir/master/workers.list" "$dir/standby/workers.list"

say "starting ptmasterd and Litestream on master, ptworkerd on w1 and w2"
in_host master "$BIN/ptmasterd" -f -c "$dir/master/ptmasterd.conf" >"$dir/logs/master.out" 2>"$dir/logs/master.err" &
master_pids=($!)
wait_for "$dir/logs/master.out" '^listening' || die "ptmasterd did not start; see $dir/logs (KEEP=1 keeps it)"
in_host master "$LITESTREAM" replicate -config "$dir/master/litestream.yml" >"$dir/logs/litestream.out" 2>&1 &
master_pids+=($!)
for w in 1 2; do
	in_host "w$w" "$BIN/ptworkerd" -f -c "$dir/w$w/ptworkerd.conf" >"$dir/logs/w$w.out" 2>"$dir/logs/w$w.err" &
done
for _ in $(seq 100); do [ "$(linked master)" -ge 2 ] && break; sleep 0.2; done
[ "$(linked master)" -ge 2 ] || die "the workers did not link; see $dir/logs (KEEP=1 keeps it)"
for _ in $(seq 100); do [ -n "$(find "$dir/replica" -type f 2>/dev/null | head -1)" ] && break; sleep 0.1; done
[ -n "$(find "$dir/replica" -type f 2>/dev/null | head -1)" ] || die "Litestream wrote no replica; see $dir/logs/litestream.out"
say "2 workers linked; Litestream replicates ($(find "$dir/replica" -type f | wc -l) files in the replica)"

# trader N HOME SYMBOL STOP: user dN buys and sells one share of SYMBOL
# with its saved session until the file STOP appears (10 minutes at most);
# every fourth order is a limit buy far under the price, left open. Each
# line of HOME/log: start, end, kind, exit status, the answer (JSON).
trader() {
	local u=$1 home=$2 sym=$3 stop=$4 i=0 kind rc out t0 args
	local end=$((SECONDS + 600))
	while [ ! -e "$stop" ] && [ "$SECONDS" -lt "$end" ]; do
		i=$((i + 1))
		case $((i % 4)) in
		0) kind=order args=(buy "$sym" 1 --limit "1.$(printf %04d $((i % 10000)))" --gtc) ;;
		2) kind=sell args=(sell "$sym" 1) ;;
		*) kind=buy args=(buy "$sym" 1) ;;
		esac
		t0=$(date +%s.%N)
		rc=0
		out=$(HOME=$home papertrader --json "${args[@]}" 2>>"$home/err") || rc=$?
		echo "$t0 $(date +%s.%N) $kind $rc $out" >>"$home/log"
		[ "$rc" = 0 ] || sleep 0.5
	done
}

say "$TRADERS recorded traders and ptbench ($CONNECTIONS connections) from c1 for ${DURATION}s"
trader_pids=()
for u in $(seq "$TRADERS"); do
	home=$dir/c1/d$u
	mkdir -p "$home"
	echo "drill-password-$u" >"$home/password"
	export PAPERTRADER_SERVER=$NET.$((11 + u % 2)):2049 # saved with the session
	in_host c1 env HOME="$home" "$BIN/papertrader" register "d$u" "d$u@example.com" \
		--password-file "$home/password" >/dev/null 2>>"$dir/logs/c1.err" || die "register d$u failed"
	in_host c1 env HOME="$home" "$BIN/papertrader" login "d$u" \
		--password-file "$home/password" >/dev/null 2>>"$dir/logs/c1.err" || die "login d$u failed"
	in_host c1 env PATH="$BIN:$PATH" bash -c "$(declare -f trader); trader \"\$@\"" _ \
		"$u" "$home" "${SYMBOLS[$(((u - 1) % ${#SYMBOLS[@]}))]}" "$dir/stop" &
	trader_pids+=($!)
done
unset PAPERTRADER_SERVER
in_host c1 "$BIN/ptbench" -s "$NET.11:2049" -s "$NET.12:2049" -c "$CONNECTIONS" --scenario trade \
	--traders 20 --trade-every 1 --rate 1000 --users 50 --user-prefix b -d $((DURATION + 10)) \
	--warmup 2 -t 1 --json --no-progress >"$dir/logs/ptbench.json" 2>"$dir/logs/ptbench.err" &
bench_pid=$!
sleep "$DURATION.$((RANDOM % 10))"

say "killing the master host"
kill_at=$(now)
# Its cable first (v${TAG}0: the master is the first host), as in a power
# cut: no FIN or RST leaves it, so a worker with nothing waiting on the link
# learns of the loss from its next ping (ptworkerd.conf ping_interval).
ip link del "v${TAG}0"
ip netns pids "$TAG-master" | xargs -r kill -9
wait "${master_pids[@]}" 2>/dev/null || true
for _ in $(seq 50); do [ -z "$(ip netns pids "$TAG-master")" ] && break; sleep 0.1; done
ip netns del "$TAG-master"
rm -rf "$dir/master"

say "failover: restoring the replica on the standby"
restore_at=$(now)
in_host standby "$LITESTREAM" restore -integrity-check quick \
	-o "$dir/standby/papertrader.db" "file://$dir/replica" \
	>"$dir/logs/restore.out" 2>&1 || die "litestream restore failed: $(tail -3 "$dir/logs/restore.out")"
restored_at=$(now)
chmod 600 "$dir/standby/papertrader.db"
ip -n "$TAG-standby" addr add "$FLOAT/24" dev eth0
standby_at=$(now)
in_host standby "$BIN/ptmasterd" -f -c "$dir/standby/ptmasterd.conf" >"$dir/logs/standby.out" 2>"$dir/logs/standby.err" &
wait_for "$dir/logs/standby.out" '^listening' || die "ptmasterd did not start on the standby; see $dir/logs (KEEP=1 keeps it)"
listening_at=$(now)
announce standby "$FLOAT"
litestream_conf standby "$dir/replica2"
in_host standby "$LITESTREAM" replicate -config "$dir/standby/litestream.yml" >"$dir/logs/litestream2.out" 2>&1 &
deadline=$((SECONDS + RELINK_BOUND))
for _ in $(seq $((RELINK_BOUND * 5))); do
	[ "$(linked standby)" -ge 2 ] || [ "$SECONDS" -ge "$deadline" ] && break
	sleep 0.2
done
relinked_at=$(now)
[ "$(linked standby)" -ge 2 ] ||
	die "only $(linked standby) of 2 workers linked to the standby within ${RELINK_BOUND}s; see $dir/logs (KEEP=1 keeps it)"
mac() { ip -n "$TAG-$1" -o link show eth0 | sed 's/.*link.ether \([^ ]*\).*/\1/'; }
say "both workers linked to the standby; w1 reaches $FLOAT at $(ip -n "$TAG-w1" neigh show "$FLOAT" |
	awk '{ print $5 }'), the standby's eth0 is $(mac standby)"
sleep 5 # the recorded traders go on against the standby
: >"$dir/stop"
for p in "${trader_pids[@]}"; do
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
done

say "each user reads its trades and orders with its saved session"
for u in $(seq "$TRADERS"); do
	home=$dir/c1/d$u
	for what in trades orders; do
		rc=0
		in_host c1 env HOME="$home" "$BIN/papertrader" --json "$what" >"$home/$what.json" \
			2>>"$home/err" || rc=$?
		echo "$rc" >"$home/$what.rc"
	done
done
audit_rc=0
audit=$(in_host standby "$BIN/ptctl" -c "$dir/standby/ptmasterd.conf" audit 2>&1) || audit_rc=$?
for _ in $(seq $((DURATION + 60))); do kill -0 "$bench_pid" 2>/dev/null || break; sleep 1; done

python3 - "$dir" "$TRADERS" "$kill_at" "$restore_at" "$restored_at" "$standby_at" "$listening_at" \
	"$relinked_at" "$audit_rc" "$audit" <<'PY'
import json, sys, time
d, n = sys.argv[1], int(sys.argv[2])
kill, restore, restored, standby, listening, relinked = map(float, sys.argv[3:9])
audit_rc, audit = int(sys.argv[9]), sys.argv[10]
def hms(t): return time.strftime("%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}"
acked, orders, lost, lost_orders, fails, after, after_lost, refused = 0, 0, [], [], {}, 0, 0, []
for u in range(1, n + 1):
    h = f"{d}/c1/d{u}"
    rcs = {w: int(open(f"{h}/{w}.rc").read()) for w in ("trades", "orders")}
    if any(rcs.values()):
        refused.append(f"d{u} (trades exit {rcs['trades']}, orders exit {rcs['orders']})")
        continue
    key = lambda t: (t["txid"], t["time"], t["side"], t["symbol"], t["price"])
    have = {key(t) for t in json.load(open(f"{h}/trades.json"))}
    okey = lambda o: (o["id"], o["symbol"], o["limit"])
    open_ids = {okey(o) for o in json.load(open(f"{h}/orders.json"))}
    for line in open(f"{h}/log"):
        start, end, kind, rc, out = line.split(" ", 4)
        end, rc = float(end), int(rc)
        phase = "before" if end < kill else "outage" if end < relinked else "after"
        if rc:
            fails[(phase, rc)] = fails.get((phase, rc), 0) + 1
            continue
        a = json.loads(out)
        if end >= standby:  # acknowledged by the standby's master
            after += 1
            after_lost += (okey(a) not in open_ids) if kind == "order" else (key(a) not in have)
        elif kind == "order":
            orders += 1
            if okey(a) not in open_ids:
                lost_orders.append(end)
        else:
            acked += 1
            if key(a) not in have:
                lost.append(end)
first = min(lost + lost_orders, default=None)
window = max(0.0, kill - first) if first else 0.0
print(f"recorded traders: {n} users; acknowledged before the kill: {acked} trades, {orders} open orders")
print("failed orders: " + (", ".join(f"{k[0]} exit {k[1]}: {v}" for k, v in sorted(fails.items())) or "none"))
print(f"after failover: {after} trades and orders acknowledged by the standby, {after_lost} of them missing")
print(f"failover: kill at {hms(kill)}; restore {restored - restore:.2f} s; standby listening "
      f"{listening - kill:.2f} s and both workers linked {relinked - kill:.2f} s after the kill")
try:
    b = json.load(open(f"{d}/logs/ptbench.json"))
    t = [b["ops"].get(k, {"count": 0, "failed": 0}) for k in ("buy", "sell")]
    print(f"ptbench: {b['running']} connections, {t[0]['count'] + t[1]['count']} trades answered, "
          f"{t[0]['failed'] + t[1]['failed']} failed ({', '.join(f'{k} {v}' for k, v in b['failures'].items()) or 'none'})")
except Exception as e:
    print(f"ptbench: no summary ({e})")
print(f"lost: {len(lost)} of {acked} acknowledged trades, {len(lost_orders)} of {orders} open orders")
print(f"loss window: {window:.3f} s" + (f" (the earliest lost acknowledged at {hms(first)})" if first else ""))
print(f"saved sessions: {n - len(refused)} of {n} work after failover" + ("; refused: " + ", ".join(refused) if refused else ""))
print("audit: " + (audit.strip().splitlines()[0] if audit.strip() else "no output") + f" (exit {audit_rc})")
bad = [m for m, c in [("audit failed", audit_rc), ("a saved session was refused", refused),
                      ("nothing acknowledged before the kill", acked == 0)] if c]
if bad:
    print("drill FAILED: " + "; ".join(bad))
    sys.exit(1)
print("drill passed")
PY
