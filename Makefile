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

.PHONY: help build size run test test-unit test-cross lint image deps e2e clean FORCE

help: ## list the targets
	@grep -hE '^[a-z0-9][a-z0-9-]*:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: $(BINARIES) ## build bin/pause-linux-<arch> for every architecture
	@$(MAKE) --no-print-directory size

# The shipped binary: release profile, static relocation (no dynamic section),
# section headers stripped (the kernel only reads program headers).
bin/pause-linux-%: FORCE
	@mkdir -p bin
	cargo rustc -q --release --locked -p pause --bin pause --target $(target_$*) -- -C relocation-model=static
	@$(OBJCOPY) --strip-sections target/$(target_$*)/release/pause $@.new
	@# Replace the file only when it changed, and atomically: tests may be running it.
	@if cmp -s $@.new $@; then rm $@.new; else mv -f $@.new $@; fi

size: ## check every binary against its byte budget
	@fail=0; for a in $(ARCHES); do \
	  f=bin/pause-linux-$$a; s=$$(stat -c %s $$f); \
	  b=$(SIZE_BUDGET); [ $$a = amd64 ] && b=$(SIZE_BUDGET_amd64); \
	  if [ $$s -le $$b ]; then v=ok; else v=OVER; fail=1; fi; \
	  printf '%-26s %5d bytes (budget %d) %s\n' $$f $$s $$b $$v; \
	done; exit $$fail

FORCE:

HOST_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
IMAGE     ?= pause:$(VERSION)
REVISION  := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE    ?= $(shell git remote get-url origin 2>/dev/null || echo unknown)

deps: ## install the Debian packages and Rust targets the build and tests need
	@command -v qemu-aarch64-static >/dev/null && command -v strace >/dev/null && command -v protoc >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    qemu-user-static strace busybox-static protobuf-compiler >/dev/null; }
	@rustup component add rustfmt clippy 2>&1 | grep -v "is up to date" || true
	@rustup target add $(foreach a,$(ARCHES),$(target_$(a))) 2>&1 | grep -v "is up to date" || true

image: bin/pause-linux-$(HOST_ARCH) ## build the image for this machine with the local Docker (starts dockerd if needed)
	tests/scripts/dockerd.sh
	docker build -q --build-arg TARGETARCH=$(HOST_ARCH) --build-arg VERSION=$(VERSION) \
	  --build-arg REVISION=$(REVISION) --build-arg SOURCE=$(SOURCE) -t $(IMAGE) .

run: bin/pause-linux-$(HOST_ARCH) ## start pause: in Docker, or as PID 1 of a new PID namespace without Docker
	@if tests/scripts/dockerd.sh; then \
	  $(MAKE) --no-print-directory image && \
	  echo "docker run --rm --name pause $(IMAGE)   (Ctrl-C or 'docker stop pause' ends it)" && \
	  docker run --rm --init=false --name pause $(IMAGE); \
	else \
	  echo "no Docker here: running bin/pause-linux-$(HOST_ARCH) as PID 1 of a new PID namespace (Ctrl-C ends it)"; \
	  unshare --pid --fork --kill-child bin/pause-linux-$(HOST_ARCH); \
	fi

lint: ## cargo fmt --check and clippy -D warnings, pause itself for every architecture
	cargo fmt --all --check
	cargo clippy -q --locked --workspace --all-targets -- -D warnings
	$(foreach a,$(ARCHES),cargo clippy -q --locked -p pause --bin pause --target $(target_$(a)) -- -D warnings && ) true

test-unit: deps build ## behavioural tests of the native binary (needs root, or user namespaces)
	PAUSE_BIN=$(CURDIR)/bin/pause-linux-$(HOST_ARCH) cargo test -q --locked -p pause --test behaviour

CROSS_ARCHES := $(filter-out $(HOST_ARCH),$(ARCHES))
test-cross: $(foreach a,$(CROSS_ARCHES),test-arch-$(a)) ## the same behavioural tests for every other architecture, under qemu-user

test-arch-%: deps build
	@echo "== $* under $(qemu_$*)"
	PAUSE_BIN=$(CURDIR)/bin/pause-linux-$* PAUSE_RUNNER=$$(command -v $(qemu_$*)) \
	  cargo test -q --locked -p pause --test behaviour

# Each test suite beyond the binary's own keeps its targets in a fragment
# beside its code; they define e2e-*, stress, bench and their deps-* targets.
-include $(sort $(wildcard tests/*.mk tests/*/*.mk))

e2e: e2e-docker e2e-podman e2e-cri ## every end-to-end suite: Docker, podman, containerd's CRI (needs root)

TEST_EXTRA += e2e stress stress-cross test-seccomp bench-quick

test: lint test-unit test-cross $(TEST_EXTRA) ## everything CI runs: lint, behaviour on all arches, and the suites below

clean: ## remove build output
	cargo clean
	rm -rf bin
