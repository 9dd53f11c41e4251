# bpf/bpf.mk -- build rules for the BPF programs, their skeleton, the
# bpfdump tool and the bpf test programs.  Included by the top-level
# Makefile (-include bpf/bpf.mk); uses its BUILD, BIN, LIB, LIBS,
# ALL_CFLAGS, ALL_LDFLAGS and Q.
#
#   build/bpf/capture.bpf.o     clang -target bpf, UAPI headers (no vmlinux.h)
#   build/bpf/capture.skel.h    bpftool gen skeleton
#   make bpf-tests              tests/bpf programs (run by tests/bpf/run-tier.sh)
#   make bpf-bench              tests/bench/bench-bpf (not part of make test)

BPF_CLANG   ?= clang
BPF_STRIP   ?= $(shell command -v llvm-strip 2>/dev/null || command -v llvm-strip-14 2>/dev/null)
BPFTOOL     ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
BPF_ARCH_INC := -I/usr/include/$(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
# -mcpu=v3: atomic fetch-and-or (kernel >= 5.12)
BPF_CFLAGS  := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Wno-unused-function \
	       $(BPF_ARCH_INC) -Ibpf
BPF_OBJ     := $(BUILD)/bpf/capture.bpf.o
BPF_SKEL    := $(BUILD)/bpf/capture.skel.h
BPF_HDRS    := bpf/capture.h $(wildcard bpf/*.bpf.h)

$(BPF_OBJ): bpf/capture.bpf.c $(BPF_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BPF     $<")
	$(Q)$(BPF_CLANG) $(BPF_CFLAGS) -c -o $@.tmp $<
	$(Q)if [ -n "$(BPF_STRIP)" ]; then $(BPF_STRIP) -g $@.tmp; fi
	$(Q)mv $@.tmp $@

$(BPF_SKEL): $(BPF_OBJ)
	@$(if $(Q),echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton $< name mailtap_capture > $@.tmp && mv $@.tmp $@

# The loader and everything that includes the skeleton.
$(BUILD)/sensor/capture-bpf.o $(BUILD)/sensor/tool-bpfdump.o: $(BPF_SKEL)
$(BUILD)/sensor/capture-bpf.o $(BUILD)/sensor/tool-bpfdump.o: ALL_CFLAGS += -I$(BUILD)/bpf
$(BIN): $(BPF_SKEL)

# bpfdump links the loader too (sensor/*.o is not in the library).
$(BUILD)/mailtap-bpfdump: $(BUILD)/sensor/tool-bpfdump.o $(BUILD)/sensor/capture-bpf.o $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(BUILD)/sensor/tool-bpfdump.o $(BUILD)/sensor/capture-bpf.o $(LIB) $(LIBS)

# --- tests and bench ---
BPF_TEST_SRC := $(wildcard tests/bpf/test-*.c)
BPF_TEST_BIN := $(BPF_TEST_SRC:tests/bpf/%.c=$(BUILD)/tests/bpf/%)

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(BUILD)/sensor/capture-bpf.o $(BPF_SKEL) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST-CC $<")
	$(Q)$(CC) $(ALL_CFLAGS) -I$(BUILD)/bpf -Itests/bpf -o $@ $< $(BUILD)/sensor/capture-bpf.o $(LIB) $(ALL_LDFLAGS) $(LIBS)

$(BUILD)/tests/bench/bench-bpf: tests/bench/bench-bpf.c $(BUILD)/sensor/capture-bpf.o $(BPF_SKEL) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -I$(BUILD)/bpf -Itests/bpf -o $@ $< $(BUILD)/sensor/capture-bpf.o $(LIB) $(ALL_LDFLAGS) $(LIBS)

.PHONY: bpf bpf-tests bpf-bench
bpf: $(BPF_SKEL)
bpf-tests: $(BIN) $(BUILD)/mailtap-bpfdump $(BPF_TEST_BIN)
bpf-bench: $(BUILD)/tests/bench/bench-bpf

-include $(BPF_TEST_BIN:=.d) $(BUILD)/tests/bench/bench-bpf.d $(BUILD)/sensor/tool-bpfdump.d
