# keywatch — build, test, demo, bench. See README.md.
# Shape follows libbpf-bootstrap: clang -target bpf → bpftool gen object → gen skeleton → user code.

OUTPUT ?= .output
CLANG ?= clang
CC ?= gcc
BPFTOOL ?= bpftool
ARCH ?= x86
VERSION := 0.1.0

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

DEPS_PKGS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libssl-dev libyaml-dev \
	libcmocka-dev pkg-config openssl make gcc libclang-rt-14-dev util-linux mount jq \
	python3-yaml systemd man-db logrotate rsyslog rsyslog-openssl prometheus curl
PKG_LIBS := libbpf libelf zlib libssl libcrypto yaml-0.1

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_HDRS := $(wildcard bpf/*.h)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))

USER_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
PKI_SRCS := $(wildcard pki/*.c)
LIB_SRCS := $(USER_SRCS) $(PKI_SRCS)
HDRS := $(wildcard user/*.h pki/*.h) $(BPF_HDRS)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-missing-field-initializers
CPPFLAGS := -D_GNU_SOURCE -DKW_VERSION='"$(VERSION)"' -Ibpf -Iuser -Ipki -I$(OUTPUT)
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
LDFLAGS += -pie -Wl,-z,relro,-z,now
LDLIBS := $(shell pkg-config --libs $(PKG_LIBS) 2>/dev/null || echo -lbpf -lelf -lz -lssl -lcrypto -lyaml)

# Sanitizer build of the same sources, for the test suite.
SAN_CFLAGS := -std=gnu11 $(WARN) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
SAN_CC := clang

LIB_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(LIB_SRCS))
SAN_OBJS := $(patsubst %.c,$(OUTPUT)/san/%.o,$(LIB_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
UNIT_SAN_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/san/%,$(UNIT_SRCS))

.DELETE_ON_ERROR:
# Keep the BPF objects and skeletons: they are intermediates of a chain, not throwaways.
.SECONDARY:
.PHONY: all deps demo test unit e2e bench vmlinux clean format check-format fuzz vmtest \
	install uninstall deploy-check

all: keywatch

# ---- dependencies ---------------------------------------------------------
# Installs the Debian packages when any is missing; a no-op otherwise.
deps:
	@missing=$$(for p in $(DEPS_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install packages" >&2; exit 1; fi; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# ---- kernel side ----------------------------------------------------------
$(OUTPUT) $(OUTPUT)/tests $(OUTPUT)/tests/san:
	$(Q)mkdir -p $@

vmlinux/vmlinux.h: vmlinux/vmlinux_$(ARCH).h
	$(Q)ln -sf vmlinux_$(ARCH).h $@

# Regenerates the pinned header from this machine's kernel; builds never do this on their own.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux_$(ARCH).h

$(OUTPUT)/%.tmp.bpf.o: bpf/%.bpf.c $(BPF_HDRS) vmlinux/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Ibpf \
		-c $< -o $@

$(OUTPUT)/%.bpf.o: $(OUTPUT)/%.tmp.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# ---- agent ----------------------------------------------------------------
$(OUTPUT)/%.o: %.c $(HDRS) $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(OUTPUT)/san/%.o: %.c $(HDRS) $(SKELS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(SAN_CC) $(CPPFLAGS) $(SAN_CFLAGS) -c $< -o $@

keywatch: $(OUTPUT)/user/main.o $(LIB_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/keywatch-san: $(OUTPUT)/san/user/main.o $(SAN_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(SAN_CC) $(SAN_CFLAGS) $^ $(LDLIBS) -o $@

# ---- tests ----------------------------------------------------------------
$(OUTPUT)/tests/%: tests/unit/%.c $(LIB_OBJS) tests/unit/testutil.h | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(filter-out %.h,$^) $(LDLIBS) -lcmocka -o $@

$(OUTPUT)/tests/san/%: tests/unit/%.c $(SAN_OBJS) tests/unit/testutil.h | $(OUTPUT)/tests/san
	$(call msg,TEST-SAN,$@)
	$(Q)$(SAN_CC) $(CPPFLAGS) $(SAN_CFLAGS) $(filter-out %.h,$^) $(LDLIBS) -lcmocka -o $@

# Static: the fake container of tests/e2e/identity.sh runs it in a rootfs with no libraries.
$(OUTPUT)/tests/kwtrig: tests/e2e/kwtrig.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -static -pthread $< -o $@

unit: $(UNIT_BINS) $(UNIT_SAN_BINS)
	$(Q)tests/run-unit.sh $(UNIT_BINS) $(UNIT_SAN_BINS)

E2E_SUITES := tests/e2e/run.sh tests/e2e/live.sh tests/e2e/scan.sh tests/e2e/restart.sh \
	tests/e2e/identity.sh tests/e2e/siem.sh

# Every suite against the plain agent, then against the ASan+UBSan agent; all run even if one
# fails, and make fails if any did.
e2e: keywatch $(OUTPUT)/keywatch-san $(OUTPUT)/tests/kwtrig
	$(Q)rc=0; for s in $(E2E_SUITES); do for b in ./keywatch $(OUTPUT)/keywatch-san; do \
		$$s $$b || rc=1; done; done; exit $$rc

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run-all.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	./keywatch demo

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(OUTPUT)/bench/kwbench
	$(Q)tests/bench/run.sh ./keywatch $(OUTPUT)/bench/kwbench

$(OUTPUT)/bench/kwbench: tests/bench/kwbench.c
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ -lm

# ---- kernel matrix (issue 6): the agent, statically linked, in qemu on Debian's own kernels ----
$(OUTPUT)/vmtest/keywatch: $(OUTPUT)/user/main.o $(LIB_OBJS)
	$(call msg,STATIC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -static $^ -Wl,--start-group -lbpf -lelf -lz -lyaml -lssl -lcrypto \
		-Wl,--end-group -o $@ 2>$(@D)/link.log || { cat $(@D)/link.log; exit 1; }

$(OUTPUT)/vmtest/qexit: tests/vmtest/qexit.c
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -static $< -o $@

vmtest: $(OUTPUT)/vmtest/keywatch $(OUTPUT)/tests/kwtrig $(OUTPUT)/vmtest/qexit
	$(Q)tests/vmtest/run.sh $^

# ---- install (issue 8: packaging) -------------------------------------------------------------
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR ?= /etc
INSTALL ?= install
# Installing on this machine (no DESTDIR) also creates the keywatch user; SYSUSERS= skips that.
SYSUSERS ?= systemd-sysusers

install: keywatch
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/keywatch $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	$(INSTALL) -m 0755 keywatch $(DESTDIR)$(BINDIR)/keywatch
	$(INSTALL) -m 0644 docs/keywatch.8 $(DESTDIR)$(MANDIR)/man8/keywatch.8
	sed -e 's|/usr/bin/keywatch|$(BINDIR)/keywatch|g' -e 's|/etc/keywatch/|$(SYSCONFDIR)/keywatch/|g' \
		deploy/systemd/keywatch.service > $(DESTDIR)$(UNITDIR)/keywatch.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/keywatch.service
	$(INSTALL) -m 0644 deploy/sysusers/keywatch.conf $(DESTDIR)$(SYSUSERSDIR)/keywatch.conf
	$(INSTALL) -m 0644 deploy/logrotate/keywatch $(DESTDIR)$(SYSCONFDIR)/logrotate.d/keywatch
	@for f in policy.yaml keywatch.yaml; do \
		if [ -e $(DESTDIR)$(SYSCONFDIR)/keywatch/$$f ]; then \
			echo "  keeping $(DESTDIR)$(SYSCONFDIR)/keywatch/$$f"; \
		else \
			sed 's|/etc/keywatch/|$(SYSCONFDIR)/keywatch/|g' deploy/etc/$$f \
				> $(DESTDIR)$(SYSCONFDIR)/keywatch/$$f && \
			chmod 0644 $(DESTDIR)$(SYSCONFDIR)/keywatch/$$f; \
		fi; \
	done
	@if [ -z "$(DESTDIR)" ] && [ -n "$(SYSUSERS)" ] && command -v $(SYSUSERS) >/dev/null; then \
		$(SYSUSERS) $(SYSUSERSDIR)/keywatch.conf; \
	fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/keywatch $(DESTDIR)$(MANDIR)/man8/keywatch.8 \
		$(DESTDIR)$(UNITDIR)/keywatch.service $(DESTDIR)$(SYSUSERSDIR)/keywatch.conf \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d/keywatch
	@echo "kept $(SYSCONFDIR)/keywatch/; the pinned programs stay attached until 'keywatch run --unpin'"

deploy-check: keywatch
	$(Q)tests/deploy/check.sh ./keywatch

# ---- fuzzing (libFuzzer) --------------------------------------------------
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(OUTPUT)/fuzz/%: tests/fuzz/%.c $(PKI_SRCS) $(HDRS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(SAN_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $< $(PKI_SRCS) user/json.c user/log.c $(LDLIBS) -o $@

# Each target for FUZZ_SECONDS (default 60) from a corpus generated by tests/fuzz/corpus.sh;
# `make fuzz FUZZ_SECONDS=10` is the smoke run `make test` does.
fuzz: $(FUZZ_BINS)
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

FORMAT_SRCS = $(wildcard bpf/*.c bpf/*.h user/*.c user/*.h pki/*.c pki/*.h)

check-format:
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRCS) && echo "format: clang-format clean"

format:
	$(Q)clang-format -i $(FORMAT_SRCS)

clean:
	$(Q)rm -rf $(OUTPUT) keywatch
