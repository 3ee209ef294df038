# Posthorn build. Plain GNU Make: no generator step, nothing to install beyond
# the compiler, and the layering of DESIGN.md is spelled out below where a
# reviewer can see it.
#
#   make            build build/posthorn
#   make run        build, create ./data on first run, serve on loopback
#   make test       install test deps if missing, build, run every test
#                   (normal build, then ASan+UBSan build, fuzz corpora replay)
#   make fuzz       build the libFuzzer targets (clang)
#   make bench      Posthorn vs Postfix + Dovecot (bench/README.md; not part of make test)

BUILD    ?= build
CC       ?= cc
SAN      ?=
WERROR   ?= $(if $(CI),-Werror,)
CFLAGS   ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wvla -Wno-unused-parameter $(WERROR) -Isrc $(SAN) -pthread \
            -MMD -MP
override LDLIBS += -lsqlite3 -lcrypt -lssl -lcrypto -lunbound -lz -pthread

# Layers, lowest first. A folder's library may use only the folders listed
# after it in its LAYER_ line; tools/check-layers.sh enforces the includes.
FOLDERS         := core conf tls dns mime sasl store delivery queue smtp pop3 imap
LAYER_core      :=
LAYER_conf      := core
LAYER_tls       := core
LAYER_dns       := core
LAYER_mime      := core
LAYER_sasl      := core
LAYER_store     := core
LAYER_delivery  := store core
LAYER_queue     := dns mime core
LAYER_smtp      := sasl core
LAYER_pop3      := sasl core
LAYER_imap      := mime sasl core

lib_srcs  = $(filter-out src/$(1)/test-%.c src/$(1)/fuzz-%.c,$(wildcard src/$(1)/*.c))
lib_objs  = $(patsubst src/%.c,$(BUILD)/%.o,$(call lib_srcs,$(1)))
lib_file  = $(BUILD)/lib$(1).a
# link order: the folder, then its dependencies (each already ordered high to low)
lib_chain = $(call lib_file,$(1)) $(foreach d,$(LAYER_$(1)),$(call lib_file,$(d)))

BIN_SRCS  := $(wildcard src/bin/*.c)
BIN_OBJS  := $(patsubst src/%.c,$(BUILD)/%.o,$(BIN_SRCS))
ALL_LIBS  := $(foreach f,imap pop3 smtp queue delivery store sasl mime dns tls conf core,$(call lib_file,$(f)))

TEST_SRCS := $(foreach f,$(FOLDERS),$(wildcard src/$(f)/test-*.c))
TEST_BINS := $(patsubst src/%.c,$(BUILD)/%,$(TEST_SRCS))
FUZZ_SRCS := $(foreach f,$(FOLDERS),$(wildcard src/$(f)/fuzz-*.c))

.PHONY: all run test unit fuzz clean check bench
all: $(BUILD)/posthorn $(TEST_BINS)

$(BUILD)/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

define LIB_RULE
$(call lib_file,$(1)): $(call lib_objs,$(1))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach f,$(FOLDERS),$(eval $(call LIB_RULE,$(f))))

$(BUILD)/posthorn: $(BIN_OBJS) $(ALL_LIBS)
	$(CC) $(CFLAGS) -o $@ $(BIN_OBJS) $(ALL_LIBS) $(LDFLAGS) $(LDLIBS)

# test-NAME.c in folder F links F's library and everything below it, plus the
# test runner (src/core/test.c is part of libcore).
define TEST_RULE
$(patsubst src/%.c,$(BUILD)/%,$(1)): $(patsubst src/%.c,$(BUILD)/%.o,$(1)) $(call lib_chain,$(2))
	$(CC) $(CFLAGS) -o $$@ $$^ $(LDFLAGS) $(LDLIBS)
endef
$(foreach t,$(TEST_SRCS),$(eval $(call TEST_RULE,$(t),$(word 2,$(subst /, ,$(t))))))

# Fuzz targets: clang libFuzzer builds, and a plain replay build of the same
# target (tools/fuzz-replay.c supplies main) used by the test run.
FUZZ_BUILD := build-fuzz
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang CFLAGS="-O1 -g" SAN="-fsanitize=fuzzer-no-link,address,undefined" \
	    $(foreach s,$(FUZZ_SRCS),$(patsubst src/%.c,$(FUZZ_BUILD)/%,$(s)))
define FUZZ_RULE
$(patsubst src/%.c,$(FUZZ_BUILD)/%,$(1)): $(patsubst src/%.c,$(FUZZ_BUILD)/%.o,$(1)) $(call lib_chain,$(2))
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $$@ $$^ $(LDFLAGS) $(LDLIBS)
$(patsubst src/%.c,$(BUILD)/%-replay,$(1)): $(patsubst src/%.c,$(BUILD)/%.o,$(1)) $(BUILD)/tools/fuzz-replay.o $(call lib_chain,$(2))
	$(CC) $(CFLAGS) -o $$@ $$^ $(LDFLAGS) $(LDLIBS)
endef
$(foreach t,$(FUZZ_SRCS),$(eval $(call FUZZ_RULE,$(t),$(word 2,$(subst /, ,$(t))))))
FUZZ_REPLAYS := $(patsubst src/%.c,$(BUILD)/%-replay,$(FUZZ_SRCS))
all: $(FUZZ_REPLAYS)

$(BUILD)/tools/fuzz-replay.o: tools/fuzz-replay.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

run:
	@sh tools/deps.sh
	@$(MAKE) -s $(BUILD)/posthorn
	@sh tools/run.sh $(BUILD)/posthorn

test:
	@sh tools/test.sh

bench:
	@sh bench/run.sh

unit: all
	@sh tools/unit.sh $(BUILD)

check:
	@sh tools/check-src.sh && sh tools/check-layers.sh

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
