# tests/bench/bench.mk -- `make bench`: the benchmarks of tests/bench/bench.sh
# (mailtap vs tcpdump / ndpiReader / tshark on one generated capture, memory
# per tracked flow at 1 M flows, profile, Redis and BPF benches).  Never part
# of `make test`.  Included by the top-level Makefile
# (-include tests/bench/bench.mk); uses its BUILD, BIN and TOOL_BIN.
#
#   make bench                    results in $(BUILD)/bench/results.md
#   make bench BENCH_ARGS=--update-doc   ... and rewrite the generated part of docs/performance.md

BENCH_ARGS ?=

.PHONY: bench
bench: deps
	@$(MAKE) --no-print-directory $(BIN) $(TOOL_BIN) $(BUILD)/tests/bench/bench-quic
	@BUILD=$(BUILD) tests/bench/bench.sh $(BENCH_ARGS)

# QUIC identification cost (tests/bench/bench-quic.c), run by bench.sh.
$(BUILD)/tests/bench/bench-quic: tests/bench/bench-quic.c tests/unit/quic-vectors.h $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LIBS)
