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

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CFLAGS += -DUT_VERSION=\"$(VERSION)\"

# target/ core: everything but the real world and the daemon's main.
CORE_SRC := $(sort $(shell find target -name '*.c' -not -path 'target/env_real/*' \
	-not -path 'target/test/*' -not -name main.c))
REAL_SRC := $(sort $(wildcard target/env_real/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
REAL_OBJ := $(REAL_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(sort $(wildcard target/test/test_*.c))
TEST_BIN := $(TEST_SRC:target/test/%.c=$(BUILD)/test/%)
TEST_SUPPORT := $(filter-out $(TEST_SRC),$(wildcard target/test/*.c))

.PHONY: all run test unit seam-check conformance daemon-test deps clean format
all: $(BUILD)/utarget

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libutarget.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libutarget_real.a: $(REAL_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/utarget: $(BUILD)/obj/target/main.o $(BUILD)/libutarget_real.a $(BUILD)/libutarget.a | seam-check
	$(CC) $(LDFLAGS) -o $@ $^ $(URING_LIBS) -lpthread

$(BUILD)/test/%: target/test/%.c $(TEST_SUPPORT) $(BUILD)/libutarget.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $< $(TEST_SUPPORT) $(BUILD)/libutarget.a -lcmocka

# The real environment's test links the real world (sockets, io_uring).
$(BUILD)/test/test_env_real: target/test/test_env_real.c $(TEST_SUPPORT) $(BUILD)/libutarget_real.a $(BUILD)/libutarget.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $< $(TEST_SUPPORT) $(BUILD)/libutarget_real.a $(BUILD)/libutarget.a -lcmocka $(URING_LIBS) -lpthread

# The seam: target/ outside env_real/ and main.c may not call the world.
seam-check: $(BUILD)/libutarget.a
	@ci/check-seam.sh $(BUILD)/libutarget.a

run: deps-build $(BUILD)/utarget
	$(BUILD)/utarget

unit: $(TEST_BIN)
	@ci/run-unit.sh $(TEST_BIN)

test: deps $(BUILD)/utarget $(BUILD)/ut-io unit
	@ci/check-seam.sh $(BUILD)/libutarget.a
	conformance/daemon-test
	conformance/run

conformance: $(BUILD)/utarget
	conformance/run

daemon-test: $(BUILD)/utarget $(BUILD)/ut-io
	conformance/daemon-test

# A small libiscsi initiator used by the daemon tests.
$(BUILD)/ut-io: tools/ut-io.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra -Werror -o $@ $< -liscsi

deps:
	@ci/deps.sh test

deps-build:
	@ci/deps.sh build

format:
	clang-format -i $$(find target -name '*.[ch]')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# simnet ----------------------------------------------------------------------
# The simulated world (simnet/), its scenario runner build/utarget-sim, and
# `make scenarios`.  Owned by the simnet work; rules above are not touched.
SIM_CORE_SRC := simnet/sim_env.c simnet/sim_net.c simnet/sim_disk.c
SIM_CORE_OBJ := $(SIM_CORE_SRC:%.c=$(BUILD)/obj/%.o)
SIM_SRC := $(sort $(wildcard simnet/*.c))
SIM_OBJ := $(SIM_SRC:%.c=$(BUILD)/obj/%.o)
SIM_TEST_DEPS := $(BUILD)/obj/target/env.o $(BUILD)/obj/target/iscsi/pdu.o \
	$(BUILD)/obj/target/iscsi/crc32c.o
$(SIM_OBJ): CFLAGS += -Isimnet

.PHONY: simnet-test scenarios
$(BUILD)/test/test_simnet: simnet/test/test_simnet.c $(SIM_CORE_OBJ) $(SIM_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isimnet -Wno-missing-prototypes -o $@ $^

$(BUILD)/utarget-sim: $(SIM_OBJ) $(BUILD)/libutarget.a
	$(CC) $(LDFLAGS) -o $@ $^ -lm

simnet-test: $(BUILD)/test/test_simnet
	$(BUILD)/test/test_simnet

scenarios: $(BUILD)/utarget-sim
	scenarios/run-all.sh
# end simnet ------------------------------------------------------------------
