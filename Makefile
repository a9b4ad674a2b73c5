# pause: build, test, package and measure. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VERSION  := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
ARCHES   := amd64 arm64 arm ppc64le s390x riscv64
# Kubernetes' architecture names, as Docker's TARGETARCH spells them, to Rust targets.
target_amd64   := x86_64-unknown-linux-gnu
target_arm64   := aarch64-unknown-linux-gnu
target_arm     := armv7-unknown-linux-gnueabihf
target_ppc64le := powerpc64le-unknown-linux-gnu
target_s390x   := s390x-unknown-linux-gnu
target_riscv64 := riscv64gc-unknown-linux-gnu
# qemu-user emulators for the behavioural tests of foreign binaries.
qemu_arm64   := qemu-aarch64-static
qemu_arm     := qemu-arm-static
qemu_ppc64le := qemu-ppc64le-static
qemu_s390x   := qemu-s390x-static
qemu_riscv64 := qemu-riscv64-static

SIZE_BUDGET_amd64 := 1536
SIZE_BUDGET       := 2048

SYSROOT  := $(shell rustc --print sysroot 2>/dev/null)
OBJCOPY  := LD_LIBRARY_PATH=$(SYSROOT)/lib $(SYSROOT)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-objcopy
BINARIES := $(foreach a,$(ARCHES),bin/pause-linux-$(a))

.PHONY: help build size run test test-unit test-cross lint image deps clean

help: ## list the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: $(BINARIES) ## build bin/pause-linux-<arch> for every architecture
	@$(MAKE) --no-print-directory size

# The shipped binary: release profile, static relocation (no dynamic section),
# section headers stripped (the kernel only reads program headers).
bin/pause-linux-%: FORCE
	@mkdir -p bin
	cargo rustc -q --release --locked -p pause --bin pause --target $(target_$*) -- -C relocation-model=static
	$(OBJCOPY) --strip-sections target/$(target_$*)/release/pause $@

size: ## check every binary against its byte budget
	@fail=0; for a in $(ARCHES); do \
	  f=bin/pause-linux-$$a; s=$$(stat -c %s $$f); \
	  b=$(SIZE_BUDGET); [ $$a = amd64 ] && b=$(SIZE_BUDGET_amd64); \
	  if [ $$s -le $$b ]; then v=ok; else v=OVER; fail=1; fi; \
	  printf '%-26s %5d bytes (budget %d) %s\n' $$f $$s $$b $$v; \
	done; exit $$fail

FORCE:
