#!/usr/bin/env bash
# make run: one ptmasterd and one ptworkerd on loopback, on their built-in
# defaults, with state under $RUN_DIR (default ./var). On the first run it
# makes throwaway GnuPG keys for both and registers the worker, and a local
# CA with a certificate for 127.0.0.1 so that clients can use TLS
# (client_tls = optional), so a fresh machine needs nothing else. Ctrl-C
# (SIGINT) stops both.
#
# The worker also serves the web app on PT_WEB_LISTEN (default
# 127.0.0.1:8080; "off" turns it off).
#
# Environment: RUN_DIR, BIN (where the binaries are, default target/release),
# PT_ASSETS (an asset list for the master's assets_file, as etc/assets.list
# shows), PT_MASTER_EXTRA and PT_WORKER_EXTRA (config lines added to the
# daemons' configurations, as "price_source = yahoo" or a feed's key; one
# per line), PT_WEB_LISTEN, and PT_MASTER_LISTEN and PT_WORKER_LISTEN (to
# move the ports, for tests; the web app is then off unless PT_WEB_LISTEN
# says where).
set -euo pipefail

RUN_DIR=${RUN_DIR:-var}
BIN=${BIN:-target/release}
umask 077
mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)
BIN=$(cd "$BIN" && pwd)
MASTER_HOME=$RUN_DIR/master/gnupg
WORKER_HOME=$RUN_DIR/worker/gnupg

say() { printf 'make run: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

for b in ptmasterd ptworkerd ptctl; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is missing: build with 'make' first"
done
command -v gpg >/dev/null || die "gpg is missing: run 'make deps' as root"

# Makes a passphrase-less ed25519 signing key in a GnuPG home, prints its
# fingerprint.
make_key() {
	local home=$1 who=$2
	mkdir -p "$home"
	chmod 700 "$home"
	gpg --homedir "$home" --batch --quiet --pinentry-mode loopback --passphrase '' \
		--quick-gen-key "$who (make run) <$who@localhost>" ed25519 sign never 2>/dev/null
	gpg --homedir "$home" --batch --with-colons --list-secret-keys 2>/dev/null |
		awk -F: '/^fpr/ { print $10; exit }'
}

first_run() {
	say "first run: making throwaway GnuPG keys under $RUN_DIR"
	local master_fpr worker_fpr uuid
	master_fpr=$(make_key "$MASTER_HOME" ptmasterd)
	worker_fpr=$(make_key "$WORKER_HOME" ptworkerd)
	gpg --homedir "$MASTER_HOME" --batch --export "$master_fpr" |
		gpg --homedir "$WORKER_HOME" --batch --quiet --import 2>/dev/null
	gpg --homedir "$WORKER_HOME" --batch --export "$worker_fpr" |
		gpg --homedir "$MASTER_HOME" --batch --quiet --import 2>/dev/null
	uuid=$(cat /proc/sys/kernel/random/uuid)
	cat >"$RUN_DIR/workers.list" <<-LIST
	# NAME UUID FINGERPRINT ADDRESSES (written by make run)
	local $uuid $worker_fpr 127.0.0.1
	LIST
	# Everything else stays on the daemons' built-in defaults, but for a
	# 2 s price interval so that a new user sees prices move at once.
	cat >"$RUN_DIR/ptmasterd.conf" <<-CONF
	# written by make run
	update_interval = 2s
	state_dir = $RUN_DIR/master
	pid_file = $RUN_DIR/master/ptmasterd.pid
	gnupg_home = $MASTER_HOME
	master_key = $master_fpr
	workers_file = $RUN_DIR/workers.list
	CONF
	cat >"$RUN_DIR/ptworkerd.conf" <<-CONF
	# written by make run
	state_dir = $RUN_DIR/worker
	pid_file = $RUN_DIR/worker/ptworkerd.pid
	gnupg_home = $WORKER_HOME
	uuid = $uuid
	name = local
	worker_key = $worker_fpr
	master_key = $master_fpr
	CONF
	: >"$RUN_DIR/.keys-made"
}

# A throwaway CA ($RUN_DIR/tls/ca.pem, what clients trust with --ca) and a
# certificate for 127.0.0.1 and localhost that it signs, written as certbot
# writes them (fullchain.pem, privkey.pem); the worker takes TLS and plain
# clients on its one port.
make_tls() {
	command -v openssl >/dev/null || { say "openssl is missing: no TLS for clients"; return 0; }
	say "making a local CA and a TLS certificate for 127.0.0.1 under $RUN_DIR/tls"
	local d=$RUN_DIR/tls
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
		-subj "/CN=PaperTrader local CA (make run)" -keyout "$d/ca-key.pem" -out "$d/ca.pem" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$d/privkey.pem" -out "$d/worker.csr" 2>/dev/null
	printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'basicConstraints=CA:FALSE' \
		'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' >"$d/ext.cnf"
	openssl x509 -req -in "$d/worker.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" \
		-CAcreateserial -days 825 -extfile "$d/ext.cnf" -out "$d/cert.pem" 2>/dev/null
	cat "$d/cert.pem" "$d/ca.pem" >"$d/fullchain.pem"
	rm -f "$d/worker.csr" "$d/ext.cnf"
	cat >>"$RUN_DIR/ptworkerd.conf" <<-CONF
	# TLS for clients (make run): papertrader -s tls://127.0.0.1:2049 --ca $d/ca.pem
	client_tls = optional
	tls_cert = $d/fullchain.pem
	tls_key = $d/privkey.pem
	CONF
	: >"$d/.made"
}

[ -f "$RUN_DIR/.keys-made" ] || first_run
[ -f "$RUN_DIR/tls/.made" ] || make_tls

# The web app (papertrader-web(7)), set here rather than in the file so
# that run directories made before it get it too.
web_listen=${PT_WEB_LISTEN:-127.0.0.1:8080}

# Adds the lines of $2 to the configuration $1, each replacing the line
# of its key there (a key set twice is an error).
override() {
	local file=$1 extra=$2 line key
	while IFS= read -r line; do
		key=${line%%=*}
		key=${key%%[[:space:]]*}
		case $key in '' | '#'*) continue ;; esac
		grep -v "^$key[[:space:]]*=" "$file" >"$file.tmp" || true
		mv "$file.tmp" "$file"
	done <<<"$extra"
	printf '%s\n' "$extra" >>"$file"
}

# The configurations this run uses: the files of the first run, with
# this run's variables on top (the files themselves stay as they were).
master_conf=$RUN_DIR/ptmasterd.conf
worker_conf=$RUN_DIR/ptworkerd.conf
if [ -n "${PT_MASTER_LISTEN:-}" ] || [ -n "${PT_WORKER_LISTEN:-}" ] ||
	[ -n "${PT_MASTER_EXTRA:-}" ] || [ -n "${PT_WORKER_EXTRA:-}" ] ||
	[ -n "${PT_ASSETS:-}" ]; then
	cp "$RUN_DIR/ptmasterd.conf" "$RUN_DIR/ptmasterd.this.conf"
	cp "$RUN_DIR/ptworkerd.conf" "$RUN_DIR/ptworkerd.this.conf"
	# Tests move the ports; a user gets the defaults.
	if [ -n "${PT_MASTER_LISTEN:-}" ] || [ -n "${PT_WORKER_LISTEN:-}" ]; then
		master_listen=${PT_MASTER_LISTEN:-127.0.0.1:2048}
		grep -v '^listen\|^master =' "$RUN_DIR/ptmasterd.conf" >"$RUN_DIR/ptmasterd.this.conf"
		echo "listen = $master_listen" >>"$RUN_DIR/ptmasterd.this.conf"
		grep -v '^listen\|^master =' "$RUN_DIR/ptworkerd.conf" >"$RUN_DIR/ptworkerd.this.conf"
		printf 'listen = %s\nmaster = %s\n' "${PT_WORKER_LISTEN:-127.0.0.1:2049}" "$master_listen" \
			>>"$RUN_DIR/ptworkerd.this.conf"
		web_listen=${PT_WEB_LISTEN:-off}
	fi
	if [ -n "${PT_ASSETS:-}" ]; then
		[ -r "$PT_ASSETS" ] || die "PT_ASSETS=$PT_ASSETS cannot be read"
		override "$RUN_DIR/ptmasterd.this.conf" \
			"assets_file = $(cd "$(dirname "$PT_ASSETS")" && pwd)/$(basename "$PT_ASSETS")"
	fi
	override "$RUN_DIR/ptmasterd.this.conf" "${PT_MASTER_EXTRA:-}"
	override "$RUN_DIR/ptworkerd.this.conf" "${PT_WORKER_EXTRA:-}"
	master_conf=$RUN_DIR/ptmasterd.this.conf
	worker_conf=$RUN_DIR/ptworkerd.this.conf
	"$BIN/ptmasterd" -n -c "$master_conf" >/dev/null || die "the master's configuration has errors (above)"
fi

pids=()
stop() {
	trap - INT TERM
	say "stopping"
	kill -TERM "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	gpgconf --homedir "$MASTER_HOME" --kill gpg-agent 2>/dev/null || true
	gpgconf --homedir "$WORKER_HOME" --kill gpg-agent 2>/dev/null || true
	say "stopped"
	exit 0
}
trap stop INT TERM

# Starts a daemon in the foreground, in this shell (not a subshell, so
# that stop() and wait see it), logging to a file.
launch() {
	local name=$1 conf=$2
	: >"$RUN_DIR/$name.out"
	"$BIN/$name" -f -c "$conf" >"$RUN_DIR/$name.out" 2>"$RUN_DIR/$name.log" &
	pids+=($!)
}

# Prints the address from a daemon's "listening on" line once it is there.
address_of() {
	local name=$1 pid=$2 i
	for i in $(seq 100); do
		if grep -q '^listening on ' "$RUN_DIR/$name.out"; then
			sed -n 's/^listening on //p' "$RUN_DIR/$name.out"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	die "$name did not start; see $RUN_DIR/$name.log"
}

grep -v '^web_listen' "$worker_conf" >"$RUN_DIR/ptworkerd.run.conf"
echo "web_listen = $web_listen" >>"$RUN_DIR/ptworkerd.run.conf"
worker_conf=$RUN_DIR/ptworkerd.run.conf

launch ptmasterd "$master_conf"
master_addr=$(address_of ptmasterd "${pids[0]}")
launch ptworkerd "$worker_conf"
worker_addr=$(address_of ptworkerd "${pids[1]}")
for i in $(seq 100); do
	"$BIN/ptctl" -c "$master_conf" workers 2>/dev/null | grep -q "^local .* $worker_addr " && break
	[ "$i" = 100 ] && die "the worker did not link; see $RUN_DIR/ptworkerd.log"
	sleep 0.1
done
tls_hint=
[ -f "$RUN_DIR/tls/.made" ] && tls_hint=" (or tls://$worker_addr with --ca $RUN_DIR/tls/ca.pem)"
say "PaperTrader is up: clients connect to $worker_addr$tls_hint (master $master_addr); logs in $RUN_DIR; Ctrl-C stops"
if [ "$web_listen" != off ]; then
	web_hint=
	[ -f "$RUN_DIR/tls/.made" ] && web_hint=" (or https://$web_listen/ with the CA $RUN_DIR/tls/ca.pem)"
	say "web app at http://$web_listen/$web_hint"
fi
wait
