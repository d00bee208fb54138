# herd: one plain GNU Makefile. Quiet unless V=1; everything built lands in build/.
#
#   make            build/herd (optimised) and the mmhistogram/benchhttp links
#   make test       unit + command-line tests, built with ASan+UBSan
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS each (default 60)
#   make bench      the benchmark scripts under scripts/bench-*.sh
#   make lab        herd lab: every model and every installed peer; report in build/report.html
#   make install    PREFIX=/usr/local (DESTDIR honoured)
#   make format     clang-format -i over the C sources (style: .clang-format)
#   make format-check  list the C files clang-format would change; fails if any
.DELETE_ON_ERROR:
# Keep the generated eBPF object and skeleton: deleting them as intermediates
# would rebuild every object that includes the skeleton on the next make.
.SECONDARY:
.SUFFIXES:
.PHONY: all test unit fuzz bench lab install clean format format-check

CC      ?= cc
CLANG   ?= clang
BPFTOOL ?= bpftool
PREFIX  ?= /usr/local
B       := build
ARCH    := $(shell uname -m)
# bpf_tracing.h names architectures as the kernel does (x86, arm64).
BPF_ARCH := $(patsubst x86_64,x86,$(patsubst aarch64,arm64,$(ARCH)))

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' '$(1)' '$(2)'
endif

WARN     := -Wall -Wextra -Wshadow -Wpedantic -Wmissing-prototypes
CPPFLAGS := -std=c11 -D_GNU_SOURCE -Isrc -I$(B)/gen -MMD -MP
CFLAGS   ?= -O2 -g
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# libnghttp2 (herd bench's HTTP/2): its flags from pkg-config where it has a .pc file.
NGHTTP2_LIBS := $(shell pkg-config --libs libnghttp2 2>/dev/null || echo -lnghttp2)
LDLIBS   := -lbpf -lelf -lz -lssl -lcrypto -lm -lpthread -luring $(NGHTTP2_LIBS)

# Sources are found by folder: one folder per subsystem (see docs/architecture.md).
SRCS      := $(wildcard src/*/*.c)
OBJS      := $(SRCS:src/%.c=$(B)/obj/%.o)
SAN_OBJS  := $(SRCS:src/%.c=$(B)/san/%.o)
LIB_SAN   := $(filter-out $(B)/san/cmd/main.o,$(SAN_OBJS))
UNITS     := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/*/test_*.c))
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
# herd watch's and herd balance's programs are CO-RE: they include
# vmlinux.h, dumped at build time from this kernel's BTF. Without BTF here
# herd is built without them (HERD_WATCH_BPF, HERD_BALANCE_BPF undefined)
# and `herd watch` / `herd balance` say why they cannot run.
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
# steer's program is built either way: with BTF it also has the
# queue-aware variant (HERD_STEER_CORE), which shares bpf/reuseport_load.h
# with herd balance's; without, only the load-map one.
CORE_BPF  := bpf/watch.bpf.c bpf/balance.bpf.c
ifeq ($(wildcard $(VMLINUX_BTF)),)
BPF_SRCS  := $(filter-out $(CORE_BPF),$(BPF_SRCS))
else
CPPFLAGS  += -DHERD_WATCH_BPF -DHERD_BALANCE_BPF -DHERD_STEER_CORE
STEER_CORE := 1
endif
SKELS     := $(BPF_SRCS:bpf/%.bpf.c=$(B)/gen/%.skel.h)
FUZZERS   := $(patsubst fuzz/%.c,$(B)/fuzz/%,$(wildcard fuzz/fuzz_*.c))
# The same targets without libFuzzer, replaying their seed corpus in make test.
REPLAYS   := $(FUZZERS:$(B)/fuzz/%=$(B)/replay/%)
LINKS     := mmhistogram benchhttp

all: $(B)/herd $(LINKS:%=$(B)/%)

$(B)/herd: $(OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LINKS:%=$(B)/%): | $(B)/herd
	$(Q)ln -sf herd $@

$(B)/obj/%.o: src/%.c | $(SKELS)
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<

# Sanitized build used by every test: the same sources, ASan + UBSan.
$(B)/san/%.o: src/%.c | $(SKELS)
	@mkdir -p $(@D)
	$(call msg,CC-SAN,$<)
	$(Q)$(CC) $(CPPFLAGS) $(WARN) $(SANFLAGS) -c -o $@ $<

$(B)/san/herd: $(SAN_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(SANFLAGS) -o $@ $^ $(LDLIBS)
	$(Q)for l in $(LINKS); do ln -sf herd $(B)/san/$$l; done

$(B)/tests/%: tests/unit/%.c $(LIB_SAN)
	@mkdir -p $(@D)
	$(call msg,CC-TEST,$<)
	$(Q)$(CC) $(CPPFLAGS) $(WARN) $(SANFLAGS) -o $@ $< $(LIB_SAN) -lcmocka $(LDLIBS)

# eBPF programs: compiled with clang -target bpf, skeleton made by bpftool.
# Debian keeps asm/types.h under the multiarch folder, hence the extra -I.
$(B)/gen/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h)
	@mkdir -p $(@D)
	$(call msg,BPF,$<)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -I/usr/include/$(ARCH)-linux-gnu -Ibpf -I$(B)/gen -c -o $@ $<

# watch.bpf.c and balance.bpf.c include the whole vmlinux.h: its DWARF alone
# is ~600 KiB that the skeleton would embed. `bpftool gen object` keeps BTF
# (CO-RE needs it) and drops DWARF.
$(B)/gen/watch.bpf.o $(B)/gen/balance.bpf.o: $(B)/gen/%.bpf.o: bpf/%.bpf.c bpf/%.h bpf/reuseport_load.h $(B)/gen/vmlinux.h
	$(call msg,BPF,$<)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Ibpf -I$(B)/gen -c -o $@.tmp $<
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

ifdef STEER_CORE
$(B)/gen/steer.bpf.o: bpf/steer.bpf.c bpf/steer.h bpf/reuseport_load.h $(B)/gen/vmlinux.h
	$(call msg,BPF,$<)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -DHERD_STEER_CORE -Ibpf -I$(B)/gen -c -o $@.tmp $<
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp
endif

$(B)/gen/vmlinux.h:
	@mkdir -p $(@D)
	$(call msg,BTF,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(B)/gen/%.skel.h: $(B)/gen/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

unit: $(UNITS)

test: $(B)/san/herd $(UNITS) $(REPLAYS) $(B)/herd
	$(Q)HERD=$(B)/san/herd HERD_FAST=$(B)/herd tests/run.sh $(UNITS) $(REPLAYS)

$(B)/replay/%: fuzz/%.c fuzz/replay.c $(LIB_SAN)
	@mkdir -p $(@D)
	$(call msg,CC-REPLAY,$<)
	$(Q)$(CC) $(CPPFLAGS) $(WARN) $(SANFLAGS) -o $@ $< fuzz/replay.c $(LIB_SAN) $(LDLIBS)

# libFuzzer: clang only. Each fuzz/fuzz_X.c links every module but main.
FUZZ_SECONDS ?= 60
FUZZ_OBJS := $(SRCS:src/%.c=$(B)/fuzzobj/%.o)
$(B)/fuzzobj/%.o: src/%.c | $(SKELS)
	@mkdir -p $(@D)
	$(call msg,CC-FUZZ,$<)
	$(Q)$(CLANG) $(CPPFLAGS) $(WARN) -O1 -g -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(B)/fuzz/%: fuzz/%.c $(filter-out $(B)/fuzzobj/cmd/main.o,$(FUZZ_OBJS))
	@mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(CPPFLAGS) $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

fuzz: $(FUZZERS)
	$(Q)for f in $(FUZZERS); do \
	  n=$$(basename $$f); mkdir -p $(B)/corpus/$$n; \
	  cp -n fuzz/corpus/$$n/* $(B)/corpus/$$n/ 2>/dev/null; \
	  echo "fuzzing $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(B)/corpus/$$n || exit 1; \
	done

bench: all
	$(Q)for s in scripts/bench-*.sh; do echo "== $$s"; $$s || exit 1; done

lab: all
	$(B)/herd lab --peer nginx --html $(B)/report.html --json $(B)/report.json

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(B)/herd $(DESTDIR)$(PREFIX)/bin/herd
	for l in $(LINKS); do ln -sf herd $(DESTDIR)$(PREFIX)/bin/$$l; done

# .clang-format describes the style the code is written in (tabs, Linux
# braces, 120 columns); CI runs format-check before the tests.
CLANG_FORMAT ?= clang-format
FORMAT_FILES := $(wildcard src/*/*.[ch] tests/unit/*/*.c fuzz/*.c bpf/*.[ch])

format:
	$(Q)$(CLANG_FORMAT) -i $(FORMAT_FILES)

format-check:
	$(Q)bad=0; for f in $(FORMAT_FILES); do \
	  $(CLANG_FORMAT) --dry-run --Werror "$$f" >/dev/null 2>&1 || { echo "not formatted: $$f"; bad=$$((bad + 1)); }; \
	done; \
	if [ $$bad -gt 0 ]; then echo "$$bad file(s) not formatted: run make format"; exit 1; fi

clean:
	rm -rf $(B)

-include $(OBJS:.o=.d) $(SAN_OBJS:.o=.d) $(FUZZ_OBJS:.o=.d) $(UNITS:=.d) $(REPLAYS:=.d)
