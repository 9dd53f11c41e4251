# tests/sweep/sweep.mk -- `make sweep`: the detection parameter sweep
# (pcaps/sweep/README.md, tests/sweep/run-tier.sh) at full size by default:
# generates build/sweep-full/{learned,dayone}.pcap if needed (stamp), replays
# them with default settings and prints recall per class and false positives
# per 1,000 benign host-days.  `make sweep SWEEP_SIZE=ci` runs the CI size
# (the one `make test` runs, in build/sweep).  Included by the top-level
# Makefile (-include tests/sweep/sweep.mk); uses its BUILD.

SWEEP_SIZE ?= full

.PHONY: sweep
sweep: all
	@BUILD=$(BUILD) SWEEP_SIZE=$(SWEEP_SIZE) tests/sweep/run-tier.sh
