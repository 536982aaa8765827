# utarget — one entry point.
#   make            build build/utarget
#   make run        build and serve the embedded default on 127.0.0.1:3260
#   make test       every test: unit, seam check, conformance
#   make conformance  the libiscsi iscsi-test-cu run
#   make deps       install build and test dependencies (apt-get when root)

CC ?= cc
BUILD ?= build
CFLAGS_BASE := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow \
	-Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes \
	-fno-strict-aliasing -D_GNU_SOURCE -Itarget
CFLAGS += $(CFLAGS_BASE) $(EXTRA_CFLAGS)
LDFLAGS += $(EXTRA_LDFLAGS)
URING_LIBS := $(shell pkg-config --libs liburing 2>/dev/null || echo -luring)
# ISA-L's CRC32C for data digests (env_real/crc_isal.c), Debian libisal-dev
URING_LIBS += -lisal

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CFLAGS += -DUT_VERSION=\"$(VERSION)\"

TCMU_SYMS := target/env_real/tcmu.syms

# target/ core: everything but the real world and the daemon's main.
CORE_SRC := $(sort $(shell find target -name '*.c' -not -path 'target/env_real/*' \
	-not -path 'target/test/*' -not -name main.c))
REAL_SRC := $(sort $(wildcard target/env_real/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
REAL_OBJ := $(REAL_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(sort $(wildcard target/test/test_*.c))
TEST_BIN := $(TEST_SRC:target/test/%.c=$(BUILD)/test/%)
TEST_SUPPORT := $(filter-out $(TEST_SRC),$(wildcard target/test/*.c))

.PHONY: install man-check deb-test control-test many-sessions
.PHONY: all run test unit unit-asan scenarios-asan seam-check conformance daemon-test shutdown-io-asan valgrind deps clean format format-check assert-count
all: $(BUILD)/utarget $(BUILD)/utargetctl

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libutarget.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libutarget_real.a: $(REAL_OBJ)
	@rm -f $@
	ar rcs $@ $^

# tcmu-runner handler plugins (disk_tcmu.c) resolve the libtcmu entry
# points against the executable: export those (tcmu.syms), and only those.
# The plugins live where Debian's tcmu-runner puts them.
TCMU_DIR ?= /usr/lib/$(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/tcmu-runner
$(BUILD)/obj/target/env_real/disk_tcmu.o: CFLAGS += -DUT_TCMU_DIR=\"$(TCMU_DIR)\"
$(BUILD)/utarget: $(BUILD)/obj/target/main.o $(BUILD)/libutarget_real.a $(BUILD)/libutarget.a $(TCMU_SYMS) | seam-check
	$(CC) $(LDFLAGS) -Wl,--dynamic-list=$(TCMU_SYMS) -o $@ \
		$(filter %.o %.a,$^) $(URING_LIBS) -lpthread

# A test binary is compiled and linked in one step from several sources,
# for which -MMD writes only the last one's headers: TEST_DEPS writes the
# headers of every source (the test's rig headers above all) to $@.d,
# included below, so that changing a header rebuilds the tests using it.
TEST_DEPS = $(CC) $(CFLAGS) $(1) -MM -MP -MT $@ $(2) > $@.d
$(BUILD)/test/%: target/test/%.c $(TEST_SUPPORT) $(BUILD)/libutarget.a
	@mkdir -p $(dir $@)
	@$(call TEST_DEPS,,$< $(TEST_SUPPORT))
	$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $< $(TEST_SUPPORT) $(BUILD)/libutarget.a -lcmocka

# The real environment's tests link the real world (sockets, io_uring),
# and export the libtcmu entry points (--dynamic-list, as build/utarget)
# to the fake tcmu-runner plugin test_env_real_disk loads.
$(BUILD)/test/tcmu/handler_fake.so: target/test/tcmu/handler_fake.c target/test/tcmu/handler_fake.h target/env_real/tcmu_abi.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -shared -fPIC -o $@ $< -lpthread
# The fake librbd test_env_real_rbd loads in librbd's place
# (UTARGET_LIBRBD, disk_rbd_cluster.c).
$(BUILD)/test/rbd/librbd_fake.so: target/test/rbd/librbd_fake.c target/test/rbd/librbd_fake.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -shared -fPIC -o $@ $< -lpthread
# ... and, for each librbd call, the fake without it (an older librbd):
# its object linked with a version script that makes that one local.
RBD_CALLS := $(shell sed -n 's/^\tX(\([a-z0-9_]*\)).*/\1/p' target/env_real/disk_rbd.h)
$(BUILD)/test/rbd/librbd_fake.o: target/test/rbd/librbd_fake.c target/test/rbd/librbd_fake.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -fPIC -c -o $@ $<
$(BUILD)/test/rbd/no-%.so: $(BUILD)/test/rbd/librbd_fake.o
	printf '{ global: *; local: %s; };\n' $* >$@.map
	$(CC) $(CFLAGS) -shared -Wl,--version-script=$@.map -o $@ $< -lpthread
$(BUILD)/test/test_env_real_rbd: $(BUILD)/test/rbd/librbd_fake.so $(RBD_CALLS:%=$(BUILD)/test/rbd/no-%.so)
$(BUILD)/test/test_env_real_rbd_host: $(BUILD)/test/rbd/librbd_fake.so
# Plugins that fail to load (handler_bad.c, one per variant), a file that
# is no plugin and names the directory scan skips: test_env_real_tcmu.
TCMU_BAD := noinit initfail ginit other count
$(BUILD)/test/tcmu-bad/handler_%.so: target/test/tcmu/handler_bad.c target/env_real/tcmu_abi.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -shared -fPIC -DBAD_$* -o $@ $<
$(BUILD)/test/tcmu-bad/handler_junk.so:
	@mkdir -p $(dir $@)
	echo 'not a shared object' >$@
	echo 'not a plugin' >$(dir $@)README
	echo 'not a plugin' >$(dir $@)handler_notes.txt
$(BUILD)/test/test_env_real_tcmu: $(TCMU_BAD:%=$(BUILD)/test/tcmu-bad/handler_%.so) $(BUILD)/test/tcmu-bad/handler_junk.so
$(BUILD)/test/test_env_real_tcmu_plugins: $(TCMU_BAD:%=$(BUILD)/test/tcmu-bad/handler_%.so) $(BUILD)/test/tcmu-bad/handler_junk.so
# They also fail system calls on cue (target/test/env_real_faults.h): each
# call named here goes through the test's __wrap_NAME.
ENV_REAL_WRAP := socket setsockopt getsockopt getsockname bind listen \
	accept4 recv send sendmsg sendto epoll_create1 epoll_ctl epoll_wait \
	eventfd signalfd pthread_sigmask pthread_create getrandom open openat \
	read write fstat stat lstat mkdir chmod renameat fsync fdatasync \
	ftruncate fallocate preadv pwritev pwritev2 lseek ioctl mmap syscall \
	malloc calloc realloc strdup io_uring_queue_init \
	io_uring_register_eventfd io_uring_submit
$(BUILD)/test/test_env_real_%: target/test/test_env_real_%.c $(TEST_SUPPORT) $(BUILD)/libutarget_real.a $(BUILD)/libutarget.a $(BUILD)/test/tcmu/handler_fake.so $(TCMU_SYMS)
	@mkdir -p $(dir $@)
	@$(call TEST_DEPS,,$< $(TEST_SUPPORT))
	$(CC) $(CFLAGS) -Wno-missing-prototypes -Wl,--dynamic-list=$(TCMU_SYMS) \
		$(foreach s,$(ENV_REAL_WRAP),-Wl,--wrap=$(s)) -o $@ $< \
		$(TEST_SUPPORT) $(BUILD)/libutarget_real.a $(BUILD)/libutarget.a -lcmocka $(URING_LIBS) -lpthread

# test_oom makes the target's own allocations fail: it links a copy of
# the library whose allocator calls are renamed to oom_* (defined by the
# test), while the fake environment and cmocka allocate as usual.
OOM_SYMS := malloc calloc realloc strdup
$(BUILD)/libutarget_oom.a: $(BUILD)/libutarget.a
	objcopy $(foreach s,$(OOM_SYMS),--redefine-sym $(s)=oom_$(s)) $< $@

$(BUILD)/test/test_oom: target/test/test_oom.c $(TEST_SUPPORT) $(BUILD)/libutarget_oom.a
	@mkdir -p $(dir $@)
	@$(call TEST_DEPS,,$< $(TEST_SUPPORT))
	$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $< $(TEST_SUPPORT) $(BUILD)/libutarget_oom.a -lcmocka

# The assertions of target/ per folder (ut_assert.h; docs/architecture.md).
assert-count:
	@ci/count-asserts.sh

# The seam: target/ outside env_real/ and main.c may not call the world;
# and inside target/iscsi/ calls point down the layers (iscsi_int.h).
seam-check: $(BUILD)/libutarget.a
	@ci/check-seam.sh $(BUILD)/libutarget.a
	@ci/check-layers.sh $(BUILD)/obj/target

run: deps-build $(BUILD)/utarget
	$(BUILD)/utarget

UNIT_BIN := $(TEST_BIN) $(BUILD)/test/test_simnet $(BUILD)/test/test_import

unit: $(UNIT_BIN)
	@ci/run-unit.sh $(UNIT_BIN)
	@CC="$(CC)" ci/check-seam-test.sh

# The unit tests again, built with AddressSanitizer and UBSan.
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
unit-asan:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan EXTRA_CFLAGS="$(SAN_FLAGS)" \
		EXTRA_LDFLAGS="$(SAN_FLAGS)" unit

# Every scenario (twice, equal hashes), batch-check of 100 seeds and 1000
# explorer seeds again, with the simulator and the target built with
# AddressSanitizer and UBSan.
scenarios-asan:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan EXTRA_CFLAGS="$(SAN_FLAGS)" \
		EXTRA_LDFLAGS="$(SAN_FLAGS)" $(BUILD)/asan/utarget-sim
	scenarios/run-all.sh $(BUILD)/asan/utarget-sim 1000 100

# make test (ci/test, timed steps, a table of their times at the end):
# first everything its steps run is built by one make, JOBS at a time (the
# machine's CPUs): test-bins, the plain tools, unit tests and fuzz
# variants, and through test-bins-asan (whose make shares the job slots)
# the AddressSanitizer builds of the unit tests, the daemon, the simulator
# and the floor target.  Then the checks run in lanes beside each other
# (ci/test says which and why).  TEST_SERIAL=1 make test runs them one
# after another instead.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
.PHONY: unit-bins test-bins test-bins-asan
unit-bins: $(UNIT_BIN)

test-bins: all $(BUILD)/ut-io $(BUILD)/utarget-sim $(BUILD)/ut-hostile unit-bins \
		$(BUILD)/ut-live $(BUILD)/ut-many $(BUILD)/ut-faultproxy $(BUILD)/bench/ut-load \
		fuzz-replay fuzz-libfuzzer test-bins-asan
test-bins-asan:
	+$(MAKE) --no-print-directory BUILD=$(BUILD)/asan EXTRA_CFLAGS="$(SAN_FLAGS)" \
		EXTRA_LDFLAGS="$(SAN_FLAGS)" unit-bins $(BUILD)/asan/utarget \
		$(BUILD)/asan/utarget-sim $(BUILD)/asan/bench/floor-target

# Everything a change must pass.  Dependencies are installed first, in
# their own step, so that a fresh machine can build at all.
test: deps
	@MAKE="$(MAKE)" BUILD="$(BUILD)" JOBS="$(JOBS)" SAN_FLAGS="$(SAN_FLAGS)" ci/test

conformance: $(BUILD)/utarget
	conformance/run

daemon-test: $(BUILD)/utarget $(BUILD)/ut-io $(BUILD)/ut-hostile
	conformance/daemon-test

# SIGTERM with a write at a stuck store (conformance/shutdown-io-test,
# also part of daemon-test) on the daemon built with ASan+UBSan: nothing
# of the freed session is touched by a disk thread.
shutdown-io-asan: $(BUILD)/ut-io
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan EXTRA_CFLAGS="$(SAN_FLAGS)" \
		EXTRA_LDFLAGS="$(SAN_FLAGS)" $(BUILD)/asan/utarget
	UTARGET=$(CURDIR)/$(BUILD)/asan/utarget conformance/shutdown-io-test

# The conformance suite against the daemon under valgrind memcheck.
valgrind: $(BUILD)/utarget
	@command -v valgrind >/dev/null || { echo "valgrind missing: apt-get install valgrind"; exit 2; }
	conformance/run --valgrind --config default

# The control client: the command line, and the JSON codec it shares with
# the daemon (target/control/json.c).
$(BUILD)/utargetctl: tools/utargetctl.c target/control/json.c target/control/json.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ tools/utargetctl.c target/control/json.c $(LDFLAGS)

# A small libiscsi initiator used by the daemon tests.
$(BUILD)/ut-io: tools/ut-io.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra -Werror -o $@ $< -liscsi

# Writes through a storage outage, then checks them (make test-rbd).
$(BUILD)/ut-outage: tools/ut-outage.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra -Werror -o $@ $< -liscsi

# Remote backstores against a throw-away single-node Ceph cluster and
# tcmu-runner's plugins (rbd/test); test-rbd-vm adds the kernel initiator
# in the interop VM.  Not part of make test (see docs/remote.md).
.PHONY: test-rbd test-rbd-vm
test-rbd: deps
	bash ci/deps.sh rbd
	$(MAKE) --no-print-directory all $(BUILD)/ut-io $(BUILD)/ut-outage
	BUILD=$(BUILD) rbd/test
test-rbd-vm: deps
	bash ci/deps.sh rbd
	$(MAKE) --no-print-directory all $(BUILD)/ut-io $(BUILD)/ut-outage
	BUILD=$(BUILD) RBD_TEST_VM=1 rbd/test

# One session doing I/O while the target is reconfigured (control-test).
$(BUILD)/ut-live: tools/ut-live.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra -Werror -o $@ $< -liscsi

# Many sessions from one process, each with I/O in flight (many-sessions).
$(BUILD)/ut-many: tools/ut-many.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra -Werror -o $@ $< -liscsi

# 1,024 concurrent sessions with I/O in flight; memory per session.
many-sessions: $(BUILD)/utarget $(BUILD)/utargetctl $(BUILD)/ut-many
	conformance/many-sessions

# utargetctl against a running daemon (built with ASan+UBSan) while
# libiscsi initiators do I/O: conformance/control-test; an rbd: LUN added
# while its cluster does not answer (rbd/add-test, no cluster needed).
control-test: $(BUILD)/utargetctl $(BUILD)/ut-live $(BUILD)/bench/ut-load $(BUILD)/ut-io
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan EXTRA_CFLAGS="$(SAN_FLAGS)" \
		EXTRA_LDFLAGS="$(SAN_FLAGS)" $(BUILD)/asan/utarget
	UTARGET=$(CURDIR)/$(BUILD)/asan/utarget conformance/control-test
	UTARGET=$(CURDIR)/$(BUILD)/asan/utarget BUILD=$(BUILD) rbd/add-test

# A TCP proxy that stalls or resets a path on command (make interop's
# multipath checks).
$(BUILD)/ut-faultproxy: tools/ut-faultproxy.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra -Werror -o $@ $<

# Its modes against an echo server on 127.0.0.1 (a few seconds).
faultproxy-test: $(BUILD)/ut-faultproxy
	tools/faultproxy-test $(BUILD)/ut-faultproxy

# The floor target (make bench's floor rows), built with ASan+UBSan:
# libiscsi reads from it, the data segment limits at and one past the
# limit, truncated and out-of-phase PDUs (bench/floor-test, ~2 s).
.PHONY: floor-test
floor-test: $(BUILD)/bench/ut-load
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan EXTRA_CFLAGS="$(SAN_FLAGS)" \
		EXTRA_LDFLAGS="$(SAN_FLAGS)" $(BUILD)/asan/bench/floor-target
	ASAN_OPTIONS=detect_leaks=0 bench/floor-test $(BUILD)/asan/bench/floor-target \
		$(BUILD)/bench/ut-load

# Hostile login inputs against the running daemon (daemon-test).
$(BUILD)/ut-hostile: tools/ut-hostile.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra -Werror -o $@ $<

# make install PREFIX=/usr DESTDIR=pkg: binaries, man pages, the systemd
# unit and the configuration (not replaced if it exists under DESTDIR).
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/utarget
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
SYSTEMDUNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
install: $(BUILD)/utarget $(BUILD)/utargetctl $(BUILD)/utarget-sim
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/utarget $(DESTDIR)$(DOCDIR)/examples
	install -m 0755 $(BUILD)/utarget $(BUILD)/utargetctl $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(BUILD)/utarget-sim $(DESTDIR)$(BINDIR)/
	install -m 0644 man/utarget-sim.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/utarget.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/utarget.8 man/utargetctl.8 $(DESTDIR)$(MANDIR)/man8/
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		dist/utarget.service.in >$(DESTDIR)$(SYSTEMDUNITDIR)/utarget.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/utarget.service
	test -e $(DESTDIR)$(SYSCONFDIR)/utarget/utarget.conf || \
		install -m 0600 dist/utarget.conf $(DESTDIR)$(SYSCONFDIR)/utarget/utarget.conf
	install -m 0644 docs/examples/scst.conf $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 docs/control.md $(DESTDIR)$(DOCDIR)/

# The Debian package built, linted, installed, run and purged (as root).
deb-test:
	ci/deb-test

# Every man page through mandoc's linter: no warning or error allowed.
man-check:
	@for f in man/*.[158]; do \
		out=$$(mandoc -Tlint -Wwarning "$$f" 2>&1 | grep -v 'mandoc.db'); \
		if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	done; echo "man-check: OK ($$(ls man/*.[158] | wc -l) pages)"

deps:
	@ci/deps.sh test

deps-build:
	@ci/deps.sh build

# One formatter for every C file of ours (.clang-format); format-check is
# part of make test and fails on any difference.
FORMAT_FILES = $(shell git ls-files 'target/*.[ch]' 'simnet/*.[ch]' \
	'fuzz/*.[ch]' 'tools/*.[ch]' 'bench/*.[ch]' 2>/dev/null || \
	find target simnet fuzz tools bench -name '*.[ch]')
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@command -v clang-format >/dev/null || { echo "format-check: clang-format missing (apt-get install clang-format)"; exit 2; }
	@clang-format --dry-run --Werror $(FORMAT_FILES) 2>&1 | head -40; \
	if clang-format --dry-run --Werror $(FORMAT_FILES) >/dev/null 2>&1; then \
		echo "format-check: OK ($(words $(FORMAT_FILES)) files)"; \
	else echo "format-check: run 'make format'"; exit 1; fi

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/test -name '*.d' 2>/dev/null)

# simnet ----------------------------------------------------------------------
# The simulated world (simnet/), its scenario runner build/utarget-sim, and
# `make scenarios`.  Owned by the simnet work; rules above are not touched.
SIM_CORE_SRC := simnet/sim_env.c simnet/sim_net.c simnet/sim_net_connect.c \
	simnet/sim_disk.c simnet/real_net.c simnet/sim_oom.c
SIM_CORE_OBJ := $(SIM_CORE_SRC:%.c=$(BUILD)/obj/%.o)
SIM_SRC := $(sort $(wildcard simnet/*.c))
SIM_OBJ := $(SIM_SRC:%.c=$(BUILD)/obj/%.o)
SIM_TEST_DEPS := $(BUILD)/obj/target/env.o $(BUILD)/obj/target/ut_assert.o \
	$(BUILD)/obj/target/heap.o $(BUILD)/obj/target/iscsi/pdu.o \
	$(BUILD)/obj/target/iscsi/crc32c.o
$(SIM_OBJ): CFLAGS += -Isimnet
# chart.c links the page in with .incbin
$(BUILD)/obj/simnet/chart.o: simnet/chart_page.html

.PHONY: simnet-test scenarios chart-test import-test against-test \
	against-cli-test
$(BUILD)/test/test_simnet: simnet/test/test_simnet.c $(SIM_CORE_OBJ) $(SIM_TEST_DEPS)
	@mkdir -p $(dir $@)
	@$(call TEST_DEPS,-Isimnet,$<)
	$(CC) $(CFLAGS) -Isimnet -Wno-missing-prototypes -o $@ $^

# TCP reassembly and PDU cutting of `import`, on hand-made captures
$(BUILD)/test/test_import: simnet/test/test_import.c $(BUILD)/obj/simnet/pcap_tcp.o \
		$(BUILD)/obj/simnet/iscsi_stream.o $(BUILD)/obj/simnet/digest.o \
		$(BUILD)/obj/simnet/bhs.o \
		$(SIM_TEST_DEPS)
	@mkdir -p $(dir $@)
	@$(call TEST_DEPS,-Isimnet,$<)
	$(CC) $(CFLAGS) -Isimnet -Wno-missing-prototypes -o $@ $^ -lpcap -lisal -lnettle

# The simulator links the target as libutarget_sim.a: the library with
# its allocator calls renamed to sim_tgt_* (simnet/sim_oom.c), so that
# `target oom` can make the target's own allocations fail while the
# simulator's go on.  -lisal, -lnettle: the simulator's own CRC32C and
# CHAP hashes (simnet/digest.c)
SIM_OOM_SYMS := malloc calloc realloc strdup strndup
$(BUILD)/libutarget_sim.a: $(BUILD)/libutarget.a
	objcopy $(foreach s,$(SIM_OOM_SYMS),--redefine-sym $(s)=sim_tgt_$(s)) $< $@

$(BUILD)/utarget-sim: $(SIM_OBJ) $(BUILD)/libutarget_sim.a
	$(CC) $(LDFLAGS) -o $@ $^ -lm -lpcap -lisal -lnettle

simnet-test: $(BUILD)/test/test_simnet
	$(BUILD)/test/test_simnet

scenarios: $(BUILD)/utarget-sim
	scenarios/run-all.sh

# Charts opened in headless chromium (simnet/test/chart-test.sh).
chart-test: $(BUILD)/utarget-sim
	SIM=$(BUILD)/utarget-sim OUT=$(BUILD) simnet/test/chart-test.sh

# Captures imported as scenarios (simnet/test/import-test.sh), and what
# the scenario language refuses (simnet/test/lang-test.sh).
import-test: $(BUILD)/utarget-sim $(BUILD)/test/test_import
	$(BUILD)/test/test_import
	SIM=$(BUILD)/utarget-sim simnet/test/import-test.sh
	SIM=$(BUILD)/utarget-sim simnet/test/lang-test.sh

# The scenario set over real TCP against the utarget daemon and tgt, with
# --compare (simnet/test/against-test.sh; needs root for tgtd).
against-test: $(BUILD)/utarget-sim $(BUILD)/utarget
	SIM=$(BUILD)/utarget-sim UTARGET=$(BUILD)/utarget OUT=$(BUILD) \
		simnet/test/against-test.sh
# Its fast part, in make test: the command line, and --compare with the
# daemon over IPv6 loopback (no root, no tgt).
against-cli-test: $(BUILD)/utarget-sim $(BUILD)/utarget
	SIM=$(BUILD)/utarget-sim UTARGET=$(BUILD)/utarget OUT=$(BUILD) \
		simnet/test/against-test.sh cli

# Explore for hours; every failure and its shrunk form kept in failures/.
HOURS ?= 1
.PHONY: explore-long
explore-long: $(BUILD)/utarget-sim
	SIM=$(BUILD)/utarget-sim scenarios/explore-long.sh $(HOURS) failures
# Planted bugs (simnet/mutants/*.patch), each applied alone to a scratch
# copy: caught or missed, by what, how fast; the mutation score.  Long (a
# clean baseline, then up to MUTANTS_EXPLORE_S per mutant): not in make test.
.PHONY: mutants coverage
mutants:
	simnet/mutants/run

# Coverage of target/ by the unit tests, every scenario, an explore run,
# the daemon tests, the conformance matrix against a --coverage daemon and
# the fuzz corpora, merged: build/coverage/index.html (ci/coverage.sh).
coverage:
	bash ci/deps.sh coverage
	ci/coverage.sh
# end simnet ------------------------------------------------------------------

# fuzz ------------------------------------------------------------------------
# Fuzz harnesses (fuzz/), each built from the same source five ways:
#   afl        afl-clang-fast, persistent mode, shared-memory test cases
#   cmplog     the same with AFL_LLVM_CMPLOG=1 (afl-fuzz -c)
#   libfuzzer  clang -fsanitize=fuzzer,address,undefined
#   replay     clang ASan+UBSan with a main that runs files (regressions)
#   cov        gcc --coverage with the replay main (make coverage)
# Binaries: $(BUILD)/fuzz/<variant>/bin/<harness>.  See docs/fuzzing.md.
# Owned by the fuzzing work; rules above are not touched.
FUZZ_HARNESSES := config scsi login pdu_stream control
FUZZ_VARIANTS := afl cmplog libfuzzer replay cov
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_LIB_SRC := $(CORE_SRC) simnet/sim_env.c simnet/sim_net.c \
	simnet/sim_net_connect.c simnet/sim_disk.c simnet/real_net.c \
	simnet/sim_oom.c target/test/fake_env.c target/test/fake_disks.c fuzz/pdufix.c fuzz/world.c
FUZZ_BASE := -std=gnu11 -g -Wall -Wextra -Wno-unused-parameter \
	-fno-strict-aliasing -D_GNU_SOURCE -Itarget -Itarget/test -Isimnet -Ifuzz \
	-DUT_VERSION=\"$(VERSION)\" -DUT_FUZZING=1
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_LIBS := -lm
FUZZ_CC_afl := afl-clang-fast
FUZZ_CFLAGS_afl := -O2 -DFUZZ_MAIN_AFL
FUZZ_ENV_afl := AFL_QUIET=1
FUZZ_CC_cmplog := afl-clang-fast
FUZZ_CFLAGS_cmplog := -O2 -DFUZZ_MAIN_AFL
FUZZ_ENV_cmplog := AFL_QUIET=1 AFL_LLVM_CMPLOG=1
FUZZ_CC_libfuzzer := clang
FUZZ_CFLAGS_libfuzzer := -O1 -fsanitize=fuzzer-no-link $(FUZZ_SAN) \
	-DFUZZ_MAIN_LIBFUZZER
FUZZ_LDFLAGS_libfuzzer := -fsanitize=fuzzer $(FUZZ_SAN)
FUZZ_CC_replay := clang
FUZZ_CFLAGS_replay := -O1 $(FUZZ_SAN) -DFUZZ_MAIN_REPLAY
FUZZ_LDFLAGS_replay := $(FUZZ_SAN)
# -O1 as ci/coverage.sh's build: make coverage merges both, and an -O0
# line table holds lines the -O1 one does not (they would count as not
# reached: 905 lines, 877 branches more in the merged denominator).
FUZZ_CC_cov := gcc
FUZZ_CFLAGS_cov := -O1 --coverage -DFUZZ_MAIN_REPLAY
FUZZ_LDFLAGS_cov := --coverage

# Each variant's objects depend on a stamp holding its compiler and flags
# (rewritten only when they change), so that a flag change rebuilds them.
define FUZZ_VARIANT_RULES
$(FUZZ_DIR)/$(1)/flags: FORCE
	@mkdir -p $$(dir $$@)
	@echo '$(FUZZ_CC_$(1)) $(FUZZ_BASE) $(FUZZ_CFLAGS_$(1)) $(FUZZ_LDFLAGS_$(1))' | \
		cmp -s - $$@ || echo '$(FUZZ_CC_$(1)) $(FUZZ_BASE) $(FUZZ_CFLAGS_$(1)) $(FUZZ_LDFLAGS_$(1))' >$$@

$(FUZZ_DIR)/$(1)/obj/%.o: %.c $(FUZZ_DIR)/$(1)/flags
	@mkdir -p $$(dir $$@)
	$(FUZZ_ENV_$(1)) $(FUZZ_CC_$(1)) $(FUZZ_BASE) $(FUZZ_CFLAGS_$(1)) -MMD -MP -c $$< -o $$@

$(FUZZ_DIR)/$(1)/libfz.a: $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/$(1)/obj/%.o)
	@rm -f $$@
	ar rcs $$@ $$^

$(FUZZ_DIR)/$(1)/bin/%: $(FUZZ_DIR)/$(1)/obj/fuzz/h_%.o $(FUZZ_DIR)/$(1)/obj/fuzz/shim.o $(FUZZ_DIR)/$(1)/libfz.a
	@mkdir -p $$(dir $$@)
	$(FUZZ_ENV_$(1)) $(FUZZ_CC_$(1)) $(FUZZ_BASE) $(FUZZ_CFLAGS_$(1)) $(FUZZ_LDFLAGS_$(1)) -o $$@ $$^ $(FUZZ_LIBS)

.PHONY: fuzz-$(1)
fuzz-$(1): $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/$(1)/bin/%)
endef
$(foreach v,$(FUZZ_VARIANTS),$(eval $(call FUZZ_VARIANT_RULES,$(v))))
.PHONY: FORCE
FORCE:
.SECONDARY: $(foreach v,$(FUZZ_VARIANTS),$(FUZZ_DIR)/$(v)/obj/fuzz/shim.o \
	$(FUZZ_HARNESSES:%=$(FUZZ_DIR)/$(v)/obj/fuzz/h_%.o))

# fuzz/*.c themselves are held to -Werror (target/ code is not, here: a new
# clang warning elsewhere must not stop a fuzz build).
$(foreach v,$(FUZZ_VARIANTS),$(FUZZ_DIR)/$(v)/obj/fuzz/%.o): FUZZ_BASE += -Werror

# The AFL++ custom mutator (post-processor keeping PDU framing consistent).
$(FUZZ_DIR)/mutator-%.so: fuzz/afl_mutator.c fuzz/pdufix.c fuzz/pdufix.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -shared -fPIC -Wall -Wextra -Werror -Itarget -Ifuzz \
		-DFZ_FORMAT_$(shell echo $* | tr a-z A-Z) -o $@ fuzz/afl_mutator.c fuzz/pdufix.c

.PHONY: fuzz fuzz-smoke fuzz-regress coverage-fuzz
fuzz: $(foreach v,afl cmplog libfuzzer replay,$(FUZZ_HARNESSES:%=$(FUZZ_DIR)/$(v)/bin/%)) \
	$(FUZZ_DIR)/mutator-login.so $(FUZZ_DIR)/mutator-pdu_stream.so

# 60 s of libFuzzer per harness, two at a time; fails on any crash.
fuzz-smoke: $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/libfuzzer/bin/%)
	@fuzz/smoke $(FUZZ_DIR) $(or $(FUZZ_SMOKE_SECONDS),60) $(FUZZ_HARNESSES)

# Every regression case and seed through the ASan+UBSan replay build.
fuzz-regress: $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/replay/bin/%)
	@fuzz/replay $(FUZZ_DIR)/replay/bin $(FUZZ_HARNESSES)

# lcov HTML report of the corpora's coverage of target/ alone:
# build/coverage-fuzz/.  (make coverage merges them with everything else.)
coverage-fuzz: $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/cov/bin/%)
	@fuzz/coverage $(FUZZ_DIR)/cov $(BUILD)/coverage-fuzz $(FUZZ_HARNESSES)

-include $(shell find $(FUZZ_DIR) -name '*.d' 2>/dev/null)
# end fuzz --------------------------------------------------------------------

# bench -----------------------------------------------------------------------
# `make bench`: utarget against tgt side by side (bench/run.sh); writes
# docs/performance.md and docs/perf-qd.png.  Not part of `make test`.
#   make bench BENCH_QUICK=1                      a few seconds per point
#   make bench BENCH_UTARGET_ARGS='--reactors 2'  options for utarget
#   make bench BENCH_UTARGET_SCALE_ARGS='--reactors 2'  extra utarget+ column
#   make bench-profile                            perf profile of utarget, QD32 4K reads
# Needs (Debian): tgt libiscsi-bin libiscsi-dev iperf3 gnuplot-nox jq; linux-perf
# strace for bench-profile; both install them (ci/deps.sh) when run as root,
# which tgtd needs anyway.
.PHONY: bench bench-profile
$(BUILD)/bench/ut-load: bench/ut-load.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -o $@ $< -liscsi
$(BUILD)/bench/ut-dload: bench/ut-dload.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -o $@ $< -lisal
# The least an iSCSI target can do (docs/performance.md, "The floor of
# this host"); EXTRA_CFLAGS: make test runs it built with ASan+UBSan.
$(BUILD)/bench/floor-target: bench/floor-target.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow $(EXTRA_CFLAGS) -o $@ $< $(EXTRA_LDFLAGS)
$(BUILD)/bench/cache-warm: bench/cache-warm.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -o $@ $<

# The multi-session rows also run a second utarget with two reactors
# ("utarget+"); BENCH_UTARGET_SCALE_ARGS= (empty) skips it.
bench:
	bash ci/deps.sh bench
	$(MAKE) --no-print-directory $(BUILD)/utarget $(BUILD)/utargetctl $(BUILD)/bench/ut-load $(BUILD)/bench/ut-dload $(BUILD)/bench/cache-warm $(BUILD)/bench/floor-target
	BENCH_OUT=$(CURDIR)/$(BUILD)/bench \
	BENCH_UTARGET_SCALE_ARGS="$${BENCH_UTARGET_SCALE_ARGS---reactors 2}" \
		bench/run.sh
	[ "$${BENCH_RBD:-1}" = 0 ] || $(MAKE) --no-print-directory bench-rbd
	[ "$${BENCH_STATS:-1}" = 0 ] || $(MAKE) --no-print-directory bench-stats

# What the per-LUN statistics cost: build/utarget against the same tree
# built with -DUT_NO_IO_STATS, CPU per I/O at 4K QD1 and QD32
# (bench/stats-cost.sh; make bench runs it last, BENCH_STATS=0 skips it).
.PHONY: bench-stats
bench-stats:
	bash ci/deps.sh bench
	$(MAKE) --no-print-directory $(BUILD)/utarget $(BUILD)/bench/ut-load
	$(MAKE) --no-print-directory BUILD=$(BUILD)/nostats EXTRA_CFLAGS="-DUT_NO_IO_STATS" \
		$(BUILD)/nostats/utarget
	BENCH_OUT=$(CURDIR)/$(BUILD)/bench BENCH_STATS_ON=$(CURDIR)/$(BUILD)/utarget \
		BENCH_STATS_OFF=$(CURDIR)/$(BUILD)/nostats/utarget bench/stats-cost.sh

# The RBD rows (bench/rbd.sh): utarget's rbd: backstore, tcmu-runner's
# handler_rbd in utarget, tgt's bs_rbd, on one single-node Ceph cluster.
# make bench runs them last (BENCH_RBD=0 skips them).
.PHONY: bench-rbd
bench-rbd:
	bash ci/deps.sh bench
	bash ci/deps.sh rbd
	$(MAKE) --no-print-directory $(BUILD)/utarget $(BUILD)/bench/ut-load
	BENCH_OUT=$(CURDIR)/$(BUILD)/bench bench/rbd.sh

# Memory per idle session (1,024 of them) and per outstanding 4K/128K read
# (bench/mem.sh); CRC32C implementations side by side (bench/crc-bench.c).
.PHONY: bench-mem bench-crc
bench-mem: $(BUILD)/utarget $(BUILD)/ut-many $(BUILD)/bench/ut-load
	BENCH_OUT=$(CURDIR)/$(BUILD)/bench bench/mem.sh
$(BUILD)/bench/crc-bench: bench/crc-bench.c target/iscsi/crc32c.c target/iscsi/pdu.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -D_GNU_SOURCE -Itarget -o $@ $< -lisal
bench-crc: $(BUILD)/bench/crc-bench
	taskset -c 1 $(BUILD)/bench/crc-bench

# The adaptive-Nagle check must fail on a planted slowdown in the "on"
# path (bench/nagle-plant.sh: builds HEAD with it, runs the Nagle rows).
.PHONY: bench-nagle-plant
bench-nagle-plant:
	bash ci/deps.sh bench
	$(MAKE) --no-print-directory $(BUILD)/utarget $(BUILD)/utargetctl $(BUILD)/bench/ut-load $(BUILD)/bench/ut-dload $(BUILD)/bench/cache-warm
	BENCH_OUT=$(CURDIR)/$(BUILD)/bench bench/nagle-plant.sh

bench-profile:
	bash ci/deps.sh profile
	$(MAKE) --no-print-directory $(BUILD)/utarget $(BUILD)/bench/ut-load $(BUILD)/bench/cache-warm
	BENCH_OUT=$(CURDIR)/$(BUILD)/bench bench/profile.sh
# end bench -------------------------------------------------------------------

# interop ---------------------------------------------------------------------
# The Linux kernel initiator (open-iscsi, sg3_utils, ext4, xfs) against
# build/utarget, in a QEMU VM with TCG: interop/run, docs/interop.md.
.PHONY: interop interop-full interop-qemu interop-mpath faultproxy-test
interop: $(BUILD)/utarget
	BUILD=$(BUILD) interop/run
# dm-multipath with ALUA over two portal groups, paths broken by
# ut-faultproxy, a state flip by utargetctl (interop/mpath.sh): the
# multipath checks only, 6-9 min under TCG (opt-in: docs/interop.md).
interop-mpath: $(BUILD)/utarget $(BUILD)/utargetctl $(BUILD)/ut-faultproxy faultproxy-test
	BUILD=$(BUILD) INTEROP_MPATH=1 INTEROP_MATRIX=none \
		INTEROP_STEPS='mp_.*' interop/run
# QEMU's own iSCSI client: qemu-img and qemu-io on the host, then a VM that
# boots from LUN 0 through it and runs the checks on both LUNs.
interop-qemu: $(BUILD)/utarget
	BUILD=$(BUILD) INTEROP_QEMU_DRIVER=1 interop/run
# The whole parameter matrix (2016 logins with fio and ext4; hours under
# TCG), adding up over runs: combinations that passed in an earlier run
# ($(BUILD)/interop/matrix-results.txt) are skipped, INTEROP_MATRIX_LIMIT=N
# bounds one run; INTEROP_MATRIX_VMS=N runs N VMs side by side, each a
# shard of the combinations left; then the table of everything run so far
# into docs/interop.md.
INTEROP_MATRIX_VMS ?= 1
interop-full: $(BUILD)/utarget
	rc=0; pids=; \
	for i in $$(seq $(INTEROP_MATRIX_VMS)); do \
		BUILD=$(BUILD) INTEROP_MATRIX=full \
			INTEROP_MATRIX_SHARD=$$i/$(INTEROP_MATRIX_VMS) interop/run & \
		pids="$$pids $$!"; \
	done; \
	for p in $$pids; do wait $$p || rc=1; done; \
	interop/matrix-table --doc docs/interop.md $(BUILD)/interop/matrix-results.txt; \
	exit $$rc
# An administrator's walk with the .deb, the service and the kernel
# initiator: utargetctl lun add/resize under a busy filesystem, save,
# reload, restart (root; interop/ops-walk; about 15 minutes under TCG).
.PHONY: ops-walk
ops-walk: deps
	BUILD=$(BUILD) interop/ops-walk
# end interop -----------------------------------------------------------------
