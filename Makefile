# pause: build, release, test and measure the pod sandbox binary.
# `make help` lists the targets by group. Every target that needs a package
# depends on `deps`, so each one works alone on a new Debian machine (as root).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
ARCHES  := amd64 arm64 arm ppc64le s390x riscv64 loong64 arm-v6
# Kubernetes' architecture names (Docker's TARGETARCH; arm is arm/v7, arm-v6
# is arm/v6) to Rust targets...
target_amd64   := x86_64-unknown-linux-gnu
target_arm64   := aarch64-unknown-linux-gnu
target_arm     := armv7-unknown-linux-gnueabihf
target_ppc64le := powerpc64le-unknown-linux-gnu
target_s390x   := s390x-unknown-linux-gnu
target_riscv64 := riscv64gc-unknown-linux-gnu
target_loong64 := loongarch64-unknown-linux-gnu
target_arm-v6  := arm-unknown-linux-gnueabihf
# ...and to the qemu-user emulators that run the foreign ones, with the CPU
# model where qemu's default is newer than the target (ARMv7 would hide
# instructions an ARMv6 core lacks).
qemu_arm64   := qemu-aarch64-static
qemu_arm     := qemu-arm-static
qemu_ppc64le := qemu-ppc64le-static
qemu_s390x   := qemu-s390x-static
qemu_riscv64 := qemu-riscv64-static
qemu_loong64 := qemu-loongarch64-static
qemu_arm-v6  := qemu-arm-static -cpu arm1176
# The targets rustup ships no prebuilt `core` for (its download is a 404):
# for these two alone, cargo compiles `core` from the toolchain's rust-src
# (`-Zbuild-std`, a nightly flag that RUSTC_BOOTSTRAP=1 unlocks on this pinned
# stable toolchain). The other six keep the prebuilt `core`, and their bytes.
SOURCE_CORE_TARGETS := loong64 arm-v6
source_core = $(if $(filter $(1),$(SOURCE_CORE_TARGETS)),RUSTC_BOOTSTRAP=1 cargo $(2) -Zbuild-std=core,cargo $(2))
# The emulator command line, with its program resolved on PATH.
runner = $(strip $$(command -v $(firstword $(qemu_$(1)))) $(wordlist 2,9,$(qemu_$(1))))

HOST_ARCH    := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
CROSS_ARCHES := $(filter-out $(HOST_ARCH),$(ARCHES))
BINARIES     := $(foreach a,$(ARCHES),bin/pause-linux-$(a))
# The image's repository, in bin/pause-oci.tar and in Docker: xtask's
# DEFAULT_NAME unless given (e.g. IMAGE_NAME=registry.example.com/pause).
# deploy/'s recipes name the default; a test checks that they agree.
IMAGE_NAME   ?= localhost/pause
IMAGE        ?= $(IMAGE_NAME):$(VERSION)
REVISION     ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# The org.opencontainers.image.source label, an http(s) URL: empty means the
# `origin` remote's URL when it is one, else no label (never a local path).
SOURCE       ?=

# Where cargo writes: CI keeps it outside the clone (.ci/run), as Go keeps its build cache.
CARGO_OUT := $(or $(CARGO_TARGET_DIR),target)

SYSROOT := $(shell rustc --print sysroot 2>/dev/null)
OBJCOPY := LD_LIBRARY_PATH=$(SYSROOT)/lib $(SYSROOT)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-objcopy

# The test workload: a static x86_64 program, shipped FROM scratch.
WORKLOAD_TARGET  := x86_64-unknown-linux-musl
WORKLOAD_IMAGE   ?= pause-workload:test
WORKLOAD_BIN     := target/e2e/workload/workload
WORKLOAD_ARCHIVE := target/e2e/pause-workload.docker.tar

.PHONY: help build size oci oci-repro push sign image run \
  test lint test-behaviour test-behaviour-emulated test-stress test-stress-emulated test-seccomp \
  test-release test-e2e test-e2e-docker test-e2e-podman test-e2e-containerd test-e2e-crio test-critest \
  test-e2e-kubernetes test-interrupt sweep \
  bench bench-quick bench-density bench-density-kubelet bench-reapcount bench-kind deps deps-pinned deps-go clean FORCE \
  workload workload-image docker-pause-image podman-archives kind-node-image kind kind-delete kind-network kind-check test-kind conformance-kind \
  conformance-inputs conformance-images test-conformance conformance

help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } \
	  /^##@/ { printf "\n%s\n", substr($$0, 5) } \
	  /^[a-z0-9][a-z0-9-]*:.*## / { printf "  %-24s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

##@ Build and release
build: $(BINARIES) ## build bin/pause-linux-<arch> for every architecture and check their sizes
	@$(MAKE) --no-print-directory size

# The shipped binary: release profile, static relocation (no dynamic section),
# section headers stripped (the kernel only reads program headers).
bin/pause-linux-%: FORCE
	@mkdir -p bin
	$(call source_core,$*,rustc) -q --release --locked -p pause --bin pause --target $(target_$*) \
	  -- -C relocation-model=static
	@$(OBJCOPY) --strip-sections $(CARGO_OUT)/$(target_$*)/release/pause $@.new
	@# Replace the file only when it changed, and atomically: tests may be running it.
	@if cmp -s $@.new $@; then rm $@.new; else mv -f $@.new $@; fi

FORCE:

size: ## check every binary in bin/ against its byte budget (xtask/src/size.rs)
	@cargo xtask size

oci: build ## write bin/pause-oci.tar, one reproducible OCI image index for every architecture, each image with its SBOM and provenance
	cargo xtask oci --name $(IMAGE_NAME) --revision $(REVISION) $(if $(SOURCE),--source "$(SOURCE)")

# Where `make push` publishes: host[:port][/path] (http:// or https:// may lead).
REGISTRY     ?=
push: deps oci ## publish bin/pause-oci.tar to REGISTRY=host:port[/path]: every architecture, same index digest, with its referrers
	@test -n "$(REGISTRY)" || { echo "usage: make push REGISTRY=host:port[/path] (plain HTTP only to loopback)" >&2; exit 2; }
	xtask/scripts/push.sh bin/pause-oci.tar "$(REGISTRY)"

# The cosign private key `make sign` signs with; TLOG=0 signs without a
# transparency log (see xtask/scripts/sign.sh for what that gives up).
KEY  ?=
TLOG ?= 1
sign: deps ## sign the image `make push` published (by digest) with KEY=cosign.key, and attest its SBOMs and provenance
	@test -n "$(REGISTRY)" -a -n "$(KEY)" || { echo "usage: make sign REGISTRY=host:port[/path] KEY=cosign.key [TLOG=0]" >&2; exit 2; }
	TLOG=$(TLOG) xtask/scripts/sign.sh bin/pause-oci.tar "$(REGISTRY)" "$(KEY)"

oci-repro: ## build bin/pause-oci.tar in two fresh clones of HEAD and compare the bytes
	cargo xtask oci-repro --name $(IMAGE_NAME) $(if $(SOURCE),--source "$(SOURCE)")

image: bin/pause-linux-$(HOST_ARCH) ## build the image for this machine into the local Docker (starts dockerd)
	tests/scripts/dockerd.sh
	docker build -q --build-arg TARGETARCH=$(HOST_ARCH) --build-arg VERSION=$(VERSION) \
	  --build-arg REVISION=$(REVISION) $(if $(SOURCE),--label org.opencontainers.image.source="$(SOURCE)") \
	  -t $(IMAGE) .

run: bin/pause-linux-$(HOST_ARCH) ## start pause: in Docker, or as PID 1 of a new PID namespace without Docker
	@if tests/scripts/dockerd.sh; then \
	  $(MAKE) --no-print-directory image && \
	  echo "docker run --rm --name pause $(IMAGE)   (Ctrl-C or 'docker stop pause' ends it)" && \
	  docker run --rm --init=false --name pause $(IMAGE); \
	else \
	  echo "no Docker here: running bin/pause-linux-$(HOST_ARCH) as PID 1 of a new PID namespace (Ctrl-C ends it)"; \
	  unshare --pid --fork --kill-child bin/pause-linux-$(HOST_ARCH); \
	fi

##@ Test (as root; each target installs what it needs)
test: lint test-behaviour test-behaviour-emulated test-release test-e2e test-kind test-interrupt test-stress test-stress-emulated test-seccomp bench-quick ## everything CI runs

lint: deps ## cargo fmt --check and clippy -D warnings: the workspace, and pause for every architecture
	cargo fmt --all --check
	cargo clippy -q --locked --workspace --all-targets -- -D warnings
	$(foreach a,$(ARCHES),$(call source_core,$(a),clippy) -q --locked -p pause --bin pause \
	  --target $(target_$(a)) -- -D warnings && ) true

BEHAVIOUR := cargo test -q --locked -p pause --test behaviour
test-behaviour: deps build ## tests/behaviour.rs: the contract, against this machine's binary
	PAUSE_BIN=$(CURDIR)/bin/pause-linux-$(HOST_ARCH) $(BEHAVIOUR)

test-behaviour-emulated: $(foreach a,$(CROSS_ARCHES),test-behaviour-$(a)) ## the same, for every other architecture under qemu-user
	@echo "== tests/armv6.rs: the ARMv7 and ARMv6 builds on an ARMv6 CPU (qemu arm1176)"
	cargo test -q --locked -p pause --test armv6

test-behaviour-%: deps build
	@echo "== behaviour of pause-linux-$* under $(qemu_$*)"
	PAUSE_BIN=$(CURDIR)/bin/pause-linux-$* PAUSE_RUNNER="$(call runner,$*)" $(BEHAVIOUR)

# One storm at a time: each wants both cores, and prints what it did.
STRESS      := cargo test -q --locked -p pause --test stress -- --test-threads 1 --nocapture
STRESS_FULL ?= STRESS_SIGNALS=1000000 STRESS_ORPHANS=100000 STRESS_ARGVS=10000 STRESS_STOPS=200
STRESS_SMALL ?= STRESS_SIGNALS=20000 STRESS_ORPHANS=2000 STRESS_ARGVS=200 STRESS_STOPS=20

test-stress: deps build ## tests/stress.rs: signal, fork, stop and argument storms against this machine's binary
	$(STRESS_FULL) PAUSE_BIN=$(CURDIR)/bin/pause-linux-$(HOST_ARCH) $(STRESS)

test-stress-emulated: deps build ## the storms, small, under qemu-user for every other architecture
	@$(foreach a,$(CROSS_ARCHES),echo "== storms against pause-linux-$(a) under $(qemu_$(a))" && \
	  $(STRESS_SMALL) PAUSE_BIN=$(CURDIR)/bin/pause-linux-$(a) \
	  PAUSE_RUNNER="$(call runner,$(a))" $(STRESS) && ) true

SECCOMP := cargo test -q --locked -p pause --test seccomp
test-seccomp: deps build image ## tests/seccomp.rs: deploy/seccomp/pause.json against recorded calls, in Docker and podman
	PAUSE_BIN=$(CURDIR)/bin/pause-linux-$(HOST_ARCH) PAUSE_IMAGE=$(IMAGE) $(SECCOMP) -- --nocapture
	$(foreach a,$(CROSS_ARCHES),PAUSE_BIN=$(CURDIR)/bin/pause-linux-$(a) \
	  PAUSE_RUNNER="$(call runner,$(a))" $(SECCOMP) \
	  -- --exact recorded_calls_are_in_the_profile --nocapture && ) true

test-release: deps build ## xtask/tests/reproducible.rs: the OCI packer is reproducible and writes a valid layout
	cargo test -q --locked -p xtask -p pause-e2e --test reproducible

test-e2e: test-e2e-docker test-e2e-podman test-e2e-containerd test-e2e-crio test-critest test-e2e-kubernetes test-conformance ## every end-to-end suite below

E2E_ENV = PAUSE_IMAGE=$(IMAGE) WORKLOAD_IMAGE=$(WORKLOAD_IMAGE) WORKLOAD_BIN=$(CURDIR)/$(WORKLOAD_BIN) \
  PAUSE_OCI_ARCHIVE=$(CURDIR)/bin/pause-oci.tar WORKLOAD_ARCHIVE=$(CURDIR)/$(WORKLOAD_ARCHIVE)
# xtask is selected with the suites, and in test-release, so that cargo
# resolves their shared dependencies' features alike and builds them once.
E2E     = $(E2E_ENV) cargo test -q --locked -p xtask -p pause-e2e

test-e2e-docker: deps docker-pause-image workload-image ## tests/e2e/tests/docker.rs: the image in Docker with the workload in its pod
	$(E2E) --test docker -- --test-threads 2

test-e2e-podman: deps oci podman-archives ## tests/e2e/tests/podman{,_rootless}.rs: the image as a podman pod's infra container, as root and rootless
	$(E2E) --test podman --test podman_rootless -- --test-threads 2

test-e2e-containerd: deps oci workload ## tests/e2e/tests/{containerd,registry,pinning,published,archive,attestations,recipes}.rs: containerd 1.6, 1.7 and 2.1's CRI (imported and pulled, pinned against GC), the published and signed image and what Trivy finds by its tag, the archive and its referrers (and what syft reads), deploy/
	@# Trivy and syft, from tests/go/pins.txt: built once per pin (minutes cold, nothing warm).
	@tests/go/build.sh trivy syft
	@# Test names in full: each carries the containerd version and dialect it ran on.
	$(E2E) --test containerd --test registry --test pinning --test published --test archive --test attestations --test recipes -- --format pretty

test-interrupt: deps oci ## tests/e2e/tests/interrupt.rs: Ctrl-C, SIGTERM and kill -9 at any moment of a containerd node with 20 pods, a registry, podman pods (root, rootless), a Kubernetes node leave nothing
	@tests/go/build.sh kubernetes-1.37 etcd
	$(E2E) --test interrupt -- --test-threads 2

test-e2e-crio: deps oci workload ## tests/e2e/tests/crio.rs: CRI-O 1.34 (built from its module) with deploy/cri-o/10-pause.conf, pulling from a loopback registry
	@tests/go/build.sh cri-o
	$(E2E) --test crio

test-critest: deps oci ## tests/e2e/tests/critest.rs: cri-tools' critest on containerd 1.7, 2.1 and CRI-O with this image as the sandbox image
	@tests/go/build.sh cri-tools cri-o
	@tests/critest/build.sh
	@# One runtime at a time: critest's host-port specs use fixed ports, and each run wants both cores.
	$(E2E) --test critest -- --test-threads 1 --nocapture

# Four clusters at a time: the four long ones each spend most of their 5 1/2
# minutes waiting for kubelet's image GC period, and so wait together (two at
# a time took 666 s, four 338 and 340 s, on two cores).
test-e2e-kubernetes: deps oci workload ## tests/e2e/tests/kubernetes.rs: one-node clusters (kubelet 1.37 and 1.34, containerd 2.1, 1.7, 1.6) joined by TLS bootstrap, pulling the image from the registry
	@tests/go/build.sh kubernetes-1.37 kubernetes-1.34 etcd
	$(E2E) --test kubernetes -- --test-threads 4 --format pretty

workload: deps
	cargo build -q --release --locked -p pause-workload --target $(WORKLOAD_TARGET)
	@mkdir -p $(dir $(WORKLOAD_BIN))
	cp $(CARGO_OUT)/$(WORKLOAD_TARGET)/release/workload $(WORKLOAD_BIN)

workload-image: workload
	tests/scripts/dockerd.sh
	docker build -q -f tests/e2e/workload/Dockerfile -t $(WORKLOAD_IMAGE) $(dir $(WORKLOAD_BIN))

# Loaded the way the README tells users to: Debian's Docker 20.10 cannot
# `docker load` an OCI index, so skopeo copies this machine's platform.
docker-pause-image: deps oci
	tests/scripts/dockerd.sh
	skopeo copy -q oci-archive:bin/pause-oci.tar:$(VERSION) docker-daemon:$(IMAGE)

# podman loads the pause archive itself; the workload goes in as a docker-archive.
podman-archives: workload-image
	docker save -o $(WORKLOAD_ARCHIVE) $(WORKLOAD_IMAGE)

##@ Benchmark (as root)
BENCH_OUT ?= benches/results
REF_PAUSE ?=
# The revision the binaries were built from; -dirty when their sources differ from it.
BENCH_REV  = $(REVISION)$(shell git diff --quiet HEAD -- src Cargo.toml build.rs link.ld 2>/dev/null || echo -dirty)
BENCH      = BENCH_REVISION=$(BENCH_REV) cargo run -q --locked -p pause-bench -- \
  --bin-dir bin --arch $(HOST_ARCH) $(if $(REF_PAUSE),--ref $(REF_PAUSE))

bench: deps build workload ## pause next to catatonit -P (and REF_PAUSE=/path): writes benches/results/
	$(BENCH) --out $(BENCH_OUT) --command "make bench"

bench-quick: deps build workload ## the whole benchmark harness with few iterations, asserting no timing (CI)
	cargo test -q --locked -p pause-bench
	$(BENCH) --quick --out target/bench-quick --command "make bench-quick"
	@tests/go/build.sh kubernetes-1.37 etcd
	$(BENCH) --quick --density-kubelet --out target/bench-quick --command "make bench-quick"

bench-reapcount: deps bin/pause-linux-$(HOST_ARCH) ## instructions and system calls per reaped orphan, pause next to catatonit -P (part of bench): benches/results/reapcount.*
	$(BENCH) --reap-counts --out $(BENCH_OUT) --command "make bench-reapcount"

# Node sizes for bench-density, e.g. DENSITY_PODS=10,110; empty is 10,110,250.
DENSITY_PODS ?=
bench-density: deps bin/pause-linux-$(HOST_ARCH) workload ## N pods a node per peer via containerd 2.1's CRI (part of bench): benches/results/density.*
	$(BENCH) --density $(if $(DENSITY_PODS),--density-pods $(DENSITY_PODS)) --out $(BENCH_OUT) \
	  --command "make bench-density$(if $(DENSITY_PODS), DENSITY_PODS=$(DENSITY_PODS))"

bench-kind: deps oci ## 60 pods on a kind cluster per peer, this image next to catatonit -P: seconds to Running, their sandboxes' PSS, a worker's memory: benches/results/kind.md
	@podman image exists localhost/pause-kind-node:latest || $(MAKE) kind-node-image
	@benches/kind.sh $(BENCH_OUT)/kind.md

# Pods a node for bench-density-kubelet, e.g. KUBELET_PODS=30; empty is kubelet's maxPods default, 110.
KUBELET_PODS ?=
bench-density-kubelet: deps bin/pause-linux-$(HOST_ARCH) workload ## N pods a node per peer through a one-node cluster's API (kubelet 1.37, containerd 2.1): benches/results/density-kubelet.*
	@tests/go/build.sh kubernetes-1.37 etcd
	$(BENCH) --density-kubelet $(if $(KUBELET_PODS),--kubelet-pods $(KUBELET_PODS)) --out $(BENCH_OUT) \
	  --command "make bench-density-kubelet$(if $(KUBELET_PODS), KUBELET_PODS=$(KUBELET_PODS))"

##@ Dependencies
# Debian packages by what needs them; `make deps` installs whichever are missing.
# protoc: the CRI client crate (k8s-cri) generates its code at build time,
# so even `make lint` needs it; readelf checks the binaries' form.
DEBS_BUILD   := protobuf-compiler binutils
DEBS_EMULATE := qemu-user-static
DEBS_ENGINES := docker.io podman runc conmon containerd containernetworking-plugins skopeo iproute2 busybox-static \
  docker-registry
# kind's nodes (make kind): mmdebstrap writes their root file system; dnsname
# lets podman's CNI network resolve node names (workers join by the control
# plane's name).
DEBS_KIND    := mmdebstrap golang-github-containernetworking-plugin-dnsname
# strace records system calls; scmp_sys_resolver (package seccomp) checks names,
# and linux-libc-dev's generic table those of LoongArch, which it does not know.
DEBS_TRACE   := strace jq seccomp linux-libc-dev
# catatonit: a peer in the benchmark, and the reaping parent of the suites' CRI-O (tests/support/src/cri/crio.rs).
DEBS_BENCH   := valgrind catatonit file
# Rootless podman: newuidmap/newgidmap map a user's subordinate ids; slirp4netns is its network.
DEBS_ROOTLESS := uidmap slirp4netns
# What the Go programs of tests/go/ need: cgo headers for CRI-O's seccomp support, and
# nft, without which CRI-O 1.34.0 crashes on the first hostPort (a nil nftables manager).
DEBS_GO      := libseccomp-dev nftables
# critest's test images (tests/critest/build.sh): busybox from its source (a
# .tar.bz2) and the nonewprivs program, both linked statically.
DEBS_CRITEST := gcc libc6-dev make bzip2
DEBS         := $(DEBS_BUILD) $(DEBS_GO) $(DEBS_EMULATE) $(DEBS_ENGINES) $(DEBS_TRACE) $(DEBS_BENCH) $(DEBS_ROOTLESS) $(DEBS_KIND) \
  $(DEBS_CRITEST)

deps: deps-pinned ## install the Debian packages, Rust targets and components that the build and every suite need
	@missing=$$(for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@rustup component add rustfmt clippy rust-src 2>&1 | grep -v "is up to date" || true
	@rustup target add $(foreach a,$(filter-out $(SOURCE_CORE_TARGETS),$(ARCHES)),$(target_$(a))) \
	  $(WORKLOAD_TARGET) 2>&1 | grep -v "is up to date" || true

# Built from their Go modules into target/go/NAME/ once per pin: see the script.
GO_TOOLS ?=
deps-go: ## build the Go programs tests/go/pins.txt pins (GO_TOOLS=NAME... for some) into target/go/
	@tests/go/build.sh $(GO_TOOLS)

# Fetched into target/debian/ once, never installed: see the script.
deps-pinned: ## fetch the programs tests/debian-pins.txt pins (containerd 1.7 and 2.1, oras, cosign) from Debian's archive
	@tests/scripts/debian-pins.sh

sweep: ## remove what harness runs that were killed (kill -9, OOM, power cut) left: processes, mounts, cgroups, users, directories
	@cargo run -q --locked -p test-support --bin sweep

# The inputs of the images e2e.test's [Conformance] specs pull and of the
# cluster it judges (CoreDNS): the suite itself, busybox, nginx's rootfs.
conformance-inputs: deps oci target/conformance/nginx-rootfs.tar target/conformance/tools-rootfs.tar
	@tests/go/build.sh kubernetes-1.37 kubernetes-1.34 etcd coredns
	@tests/critest/build.sh

# Debian 12's packages under the stand-ins: nginx's, and the tools agnhost's
# image carries for the specs' commands (curl, dig, ip).
target/conformance/nginx-rootfs.tar: tests/conformance/debian-rootfs.sh
	@tests/conformance/debian-rootfs.sh $@ nginx-light
target/conformance/tools-rootfs.tar: tests/conformance/debian-rootfs.sh
	@tests/conformance/debian-rootfs.sh $@ curl bind9-dnsutils iproute2 libc-bin netcat-openbsd bash socat

# Those images, built here under the names the suite asks for
# (tests/e2e/src/conformance_images.rs says what each is built from): OCI
# archives in target/conformance/images, listed on stdout and in images.tsv.
conformance-images: conformance-inputs ## build the images the conformance specs pull (target/conformance/images)
	@cargo run -q --locked -p pause-e2e --bin conformance-images target/conformance/images \
	  > target/conformance/images.tsv.new
	@mv target/conformance/images.tsv.new target/conformance/images.tsv && cat target/conformance/images.tsv

# Two at a time: the subset's cluster, and the negative control's, which
# spends its time waiting for a pod that cannot start.
test-conformance: conformance-inputs ## tests/e2e/tests/conformance.rs: Kubernetes' e2e.test, the sandbox subset of the sig-node [Conformance] specs on a node whose sandbox is this image, and its negative control
	$(E2E) --test conformance -- --test-threads 2 --format pretty

# The node's kubelet: the newest release, or KUBELET=1.34 (reports in results/kubelet-1.34/).
KUBELET ?=
conformance: conformance-inputs ## every [Conformance] spec of e2e.test on a one-node cluster with this image as the sandbox (KUBELET=1.34: that kubelet); reports in tests/conformance/results/
	$(E2E_ENV) cargo run -q --locked -p pause-e2e --bin conformance $(if $(KUBELET),-- --kubelet $(KUBELET))

conformance-side-by-side: conformance-inputs ## the sig-node [Conformance] specs with this image and with catatonit -P as every sandbox: the same specs must pass; tests/conformance/results/side-by-side.md
	$(E2E_ENV) cargo run -q --locked -p pause-e2e --bin conformance -- --side-by-side

# A kind cluster built offline: see tests/kind/. Kubernetes is v1.37 (KIND_K8S
# names another tests/go build, e.g. kubernetes-1.34, whose CoreDNS is not built).
KIND_K8S ?= kubernetes-1.37
export KIND_K8S
kind-node-image: deps ## build the kind node image (localhost/pause-kind-node:latest) from Debian packages and Go modules
	@tests/go/build.sh kind etcd coredns cri-tools $(KIND_K8S)
	@[ -f bin/pause-oci.tar ] || $(MAKE) oci
	@tests/kind/node-image.sh

kind: deps ## create the kind cluster "pause" (1 control plane, 2 workers) with this sandbox image; kubeconfig in target/kind/pause/kubeconfig
	@podman image exists localhost/pause-kind-node:latest || $(MAKE) kind-node-image
	@tests/kind/cluster.sh create

kind-delete: ## remove the kind cluster "pause" and everything make kind made
	@tests/kind/cluster.sh delete

kind-network: ## set up the pod network of the cluster "pause" again (after a node's restart: kindnetd's part, once)
	@tests/kind/cluster.sh network

kind-check: ## check the cluster make kind made (tests/kind/check.sh, what test-kind runs)
	@tests/kind/check.sh

test-kind: deps oci ## tests/kind/: a new node image and a cluster of its own (pause-test), checked by tests/kind/check.sh and the [Conformance] specs that need two nodes, then removed
	@$(MAKE) --no-print-directory kind-node-image
	@$(MAKE) --no-print-directory conformance-images >/dev/null
	@tests/kind/suite.sh

conformance-kind: deps oci ## the [Conformance] specs the one-node cluster skips, on a kind cluster (what test-kind runs); report kept in tests/conformance/results/kind/
	@$(MAKE) --no-print-directory kind-node-image
	@$(MAKE) --no-print-directory conformance-images >/dev/null
	@KIND_KEEP_REPORT=1 tests/kind/suite.sh

clean: ## remove build output
	cargo clean
	rm -rf bin
