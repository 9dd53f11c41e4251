# mailtap -- top-level build.  `make help` lists the targets.
#
#   make demo        install what is missing, build, replay pcaps/demo.pcap
#   make test        install what is missing, build, run every test tier
#   make test-unit   unit tests only (no root, no server)
#   make SAN=1 test  the same under AddressSanitizer + UBSan (build-san/)
#   make V=1         show full commands

.DELETE_ON_ERROR:
.SUFFIXES:

PREFIX  ?= /usr/local
DESTDIR ?=
SHARED  ?= ../shared

ifeq ($(SAN),1)
CC      := clang
BUILD   ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD   ?= build
SANFLAGS :=
endif
CC      ?= cc

PKGS    := libpcap jansson libcrypto hiredis libbpf zlib yaml-0.1 libmicrohttpd libsystemd libcap libxxhash
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lpcap -ljansson -lcrypto -lhiredis -lbpf -lelf -lz -lyaml -lmicrohttpd -lsystemd -lcap -lxxhash)

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(CI),true)
WARN    += -Werror
endif
ifeq ($(WERROR),1)
WARN    += -Werror
endif

CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(CFLAGS) $(WARN) $(SANFLAGS) -D_GNU_SOURCE -MMD -MP \
	      -Iuserspace -Isensor -Ibpf $(PKG_CFLAGS) -DMAILTAP_DATADIR=\"$(PREFIX)/share/mailtap\"
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)
LIBS    := $(PKG_LIBS) -lm -pthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC  := $(wildcard userspace/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libmailtap.a
# sensor/tool-*.c are the small companion programs (one file each,
# build/mailtap-<name>); everything else in sensor/ is the sensor.
TOOL_SRC := $(wildcard sensor/tool-*.c)
TOOL_BIN := $(TOOL_SRC:sensor/tool-%.c=$(BUILD)/mailtap-%)
BIN_SRC  := $(filter-out $(TOOL_SRC),$(wildcard sensor/*.c))
BIN_OBJ  := $(BIN_SRC:%.c=$(BUILD)/%.o)
BIN      := $(BUILD)/mailtap
UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps demo test test-unit test-golden golden-update clean install help

all: $(BIN) $(TOOL_BIN)

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

# MAILTAP_DATADIR is compiled in from PREFIX: the objects that use it depend
# on a stamp holding the PREFIX they were built for, rewritten (and so newer)
# only when PREFIX changes, so `make install PREFIX=/usr` after a plain
# `make` rebuilds them instead of installing /usr/local paths.
PREFIX_STAMP := $(BUILD)/prefix.stamp
$(PREFIX_STAMP): FORCE
	@mkdir -p $(dir $@)
	@if [ "$$(cat $@ 2>/dev/null)" != "$(PREFIX)" ]; then echo "$(PREFIX)" >$@; fi
$(BUILD)/sensor/sensor.o $(BUILD)/sensor/options.o: $(PREFIX_STAMP)
.PHONY: FORCE
FORCE:

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(BIN_OBJ) $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(BIN_OBJ) $(LIB) $(LIBS)

$(BUILD)/mailtap-%: $(BUILD)/sensor/tool-%.o $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) tests/unit/check.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST-CC $<")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LIBS)

deps:
	@deploy/install-deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@pcaps/demo.sh $(BIN)

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@BUILD=$(BUILD) SHARED=$(SHARED) CC=$(CC) SANFLAGS="$(SANFLAGS)" tests/run-tests.sh all

test-unit: all $(UNIT_BIN)
	@BUILD=$(BUILD) SHARED=$(SHARED) tests/run-tests.sh unit

test-golden: all
	@BUILD=$(BUILD) SHARED=$(SHARED) tests/run-tests.sh golden

golden-update: all
	@BUILD=$(BUILD) SHARED=$(SHARED) tests/golden/run.sh --update

clean:
	rm -rf build build-san

# Optional parts with build rules of their own: the BPF programs and their
# skeletons (bpf/bpf.mk), the fuzz harnesses (tests/fuzz/fuzz.mk).
-include bpf/bpf.mk
-include tests/fuzz/fuzz.mk
# `make install` (PREFIX, DESTDIR): deploy/install.mk
-include deploy/install.mk
# `make bench` (never part of `make test`): tests/bench/bench.mk
-include tests/bench/bench.mk
# `make sweep` (detection parameter sweep; SWEEP_SIZE=full|ci): tests/sweep/sweep.mk
-include tests/sweep/sweep.mk

-include $(LIB_OBJ:.o=.d) $(BIN_OBJ:.o=.d) $(UNIT_BIN:=.d)
