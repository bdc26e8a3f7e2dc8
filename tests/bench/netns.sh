# Hosts in network namespaces on one bridge, for the scripts that need
# several machines (scale.sh, drill.sh); sourced by them. The caller sets
# NET (the first three octets of its /24), BRIDGE, TAG (a prefix unique
# to the run), dir (its temporary directory) and KEY_NOTE (a word in the
# names of the keys it makes), and defines say and die. Everything made
# here (namespaces, links, processes in them, gpg agents, dir) is removed
# on exit, also when interrupted; KEEP=1 keeps dir.
# shellcheck shell=bash disable=SC2154 # the caller's variables

namespaces=()
cleanup() {
	set +e
	for ns in "${namespaces[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
	done
	sleep 1
	for ns in "${namespaces[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	ip link del "$BRIDGE" 2>/dev/null
	for h in "$dir"/*/gnupg; do gpgconf --homedir "$h" --kill gpg-agent 2>/dev/null; done
	if [ -n "${KEEP:-}" ]; then say "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bridge: the bridge every host is plugged into.
bridge() {
	ip link add "$BRIDGE" type bridge
	ip link set "$BRIDGE" up
}

# host NAME OCTET: a namespace with loopback and one veth on the bridge.
host() {
	local ns=$TAG-$1 octet=$2 n=${#namespaces[@]}
	ip netns add "$ns"
	namespaces+=("$ns")
	ip link add "v$TAG$n" type veth peer name eth0 netns "$ns"
	ip link set "v$TAG$n" master "$BRIDGE" up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$NET.$octet/24" dev eth0
	ip -n "$ns" link set eth0 up
}
in_host() { local ns=$TAG-$1; shift; ip netns exec "$ns" "$@"; }

# make_key HOME WHO: a new signing key in the GnuPG home HOME; prints its
# fingerprint.
make_key() {
	local home=$1 who=$2
	mkdir -p "$home"
	chmod 700 "$home"
	gpg --homedir "$home" --batch --quiet --pinentry-mode loopback --passphrase '' \
		--quick-gen-key "$who ($KEY_NOTE) <$who@localhost>" ed25519 sign never 2>/dev/null
	gpg --homedir "$home" --batch --with-colons --list-secret-keys 2>/dev/null |
		awk -F: '/^fpr/ { print $10; exit }'
}

# trust HOME_A FPR_A HOME_B FPR_B: each of two GnuPG homes imports the
# other's public key (a master and a worker that link).
trust() {
	gpg --homedir "$1" --batch --export "$2" | gpg --homedir "$3" --batch --quiet --import 2>/dev/null
	gpg --homedir "$3" --batch --export "$4" | gpg --homedir "$1" --batch --quiet --import 2>/dev/null
}
