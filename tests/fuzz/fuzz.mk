# tests/fuzz/fuzz.mk -- libFuzzer harnesses (included by the top-level Makefile).
#
#   make fuzz              build, seed, and run every harness FUZZ_SECONDS (60) each
#   make fuzz-build        build the harnesses into build-fuzz/
#   make fuzz-corpus       regenerate the full seed corpora in build-fuzz/corpus/
#   make fuzz-replay       run every committed seed and regression input once
#   make fuzz-<target>     fuzz one target (decode, tls, stream-prefix, dns,
#                          catalog, pcap, agg, quic) for FUZZ_SECONDS
#   make fuzz-clean        remove build-fuzz/
#
# Everything goes into build-fuzz/: the library is compiled again with the
# fuzzing flags, never taken from build/.  See docs/fuzzing.md.

FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SANS    := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 -g -O1 $(FUZZ_SANS) $(WARN) -D_GNU_SOURCE -MMD -MP \
		-Iuserspace -Isensor -Ibpf -Itests/fuzz $(PKG_CFLAGS) \
		-DMAILTAP_DATADIR=\"$(PREFIX)/share/mailtap\" -DFUZZ_SRCDIR=\"$(CURDIR)\"
FUZZ_LIBS    := $(PKG_LIBS) -lm

# targets and their libFuzzer options (-max_len, -dict) live in targets.txt,
# shared with run-tier.sh
FUZZ_TARGETS := $(shell awk '!/^\#/ && NF { print $$1 }' tests/fuzz/targets.txt)
fuzz_opts     = $(shell awk '$$1 == "$(1)" { $$1 = ""; print }' tests/fuzz/targets.txt)
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz-%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_LIB     := $(FUZZ_BUILD)/libmailtap-fuzz.a

.PHONY: fuzz fuzz-build fuzz-corpus fuzz-replay fuzz-clean $(FUZZ_TARGETS:%=fuzz-%)

fuzz-build: $(FUZZ_BINS)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ-CC $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz-%: $(FUZZ_BUILD)/tests/fuzz/fuzz-%.o $(FUZZ_LIB)
	@$(if $(Q),echo "  FUZZ-LD $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SANS) -o $@ $< $(FUZZ_LIB) $(FUZZ_LIBS)

fuzz-corpus:
	@tests/fuzz/seed-corpus.sh $(FUZZ_BUILD)/corpus

fuzz-replay: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/run-tier.sh --replay-only

# One target: committed seeds + generated seeds (if made) + regressions as
# read-only corpora; new inputs go to build-fuzz/corpus/<target>/.
$(FUZZ_TARGETS:%=fuzz-%): fuzz-%: $(FUZZ_BUILD)/fuzz-%
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/artifacts/$*
	@echo "  FUZZ    $* ($(FUZZ_SECONDS) s)"
	$(Q)ASAN_OPTIONS=detect_leaks=1 $(FUZZ_BUILD)/fuzz-$* -max_total_time=$(FUZZ_SECONDS) \
		$(call fuzz_opts,$*) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_BUILD)/artifacts/$*/ \
		$(FUZZ_BUILD)/corpus/$* tests/fuzz/corpus/$* \
		$(wildcard tests/fuzz/regressions/$*) >$(FUZZ_BUILD)/fuzz-$*.log 2>&1; \
		rc=$$?; tail -n 12 $(FUZZ_BUILD)/fuzz-$*.log; \
		[ $$rc -eq 0 ] || echo "  fuzz-$*: FAILED (exit $$rc), see $(FUZZ_BUILD)/fuzz-$*.log and $(FUZZ_BUILD)/artifacts/$*/"; \
		exit $$rc

fuzz: fuzz-build
	@[ -d $(FUZZ_BUILD)/corpus ] || tests/fuzz/seed-corpus.sh $(FUZZ_BUILD)/corpus
	@rc=0; for t in $(FUZZ_TARGETS); do \
		$(MAKE) --no-print-directory fuzz-$$t FUZZ_SECONDS=$(FUZZ_SECONDS) || rc=1; \
	done; exit $$rc

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/tests/fuzz/fuzz-%.d)

# keep the harness objects (they are intermediates of the pattern rule)
.SECONDARY: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/tests/fuzz/fuzz-%.o)
