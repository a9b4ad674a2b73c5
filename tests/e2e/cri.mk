# The OCI image archive and the containerd CRI end-to-end suite.
# Included by the root Makefile; not part of `make test` (the lead wires `make e2e`).

OCI_ARCHIVE := bin/pause-oci.tar
# Every timestamp in the archive is the commit's: the same commit gives the same bytes.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)
OCI_NAME ?= docker.io/library/pause
OCI_DESCRIPTION := Pod sandbox (pause) container: holds a pod's namespaces, reaps its zombies, exits 0 on SIGINT/SIGTERM

.PHONY: oci oci-repro deps-cri e2e-cri

oci: build ## write bin/pause-oci.tar: one OCI image index for every architecture (reproducible)
	@test -n "$(SOURCE_DATE_EPOCH)" || { echo "SOURCE_DATE_EPOCH unset and no git commit to take it from" >&2; exit 1; }
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) cargo run -q --locked -p pause-oci -- \
	  --out $(OCI_ARCHIVE) --name $(OCI_NAME) --tag $(VERSION) \
	  --path /pause --entrypoint '["/pause"]' --user 65535:65535 \
	  --label org.opencontainers.image.title=pause \
	  --label "org.opencontainers.image.description=$(OCI_DESCRIPTION)" \
	  --label org.opencontainers.image.source=$(SOURCE) \
	  --label org.opencontainers.image.version=$(VERSION) \
	  --label org.opencontainers.image.revision=$(REVISION) \
	  --label org.opencontainers.image.licenses=Apache-2.0 \
	  $(foreach a,$(ARCHES),$(a)=bin/pause-linux-$(a))

# Two fresh clones of the committed HEAD, each built from scratch (own target
# dir), must give byte-identical archives. Uncommitted changes are not tested.
oci-repro: ## build bin/pause-oci.tar in two fresh clones of HEAD and compare the bytes
	@set -euo pipefail; t=$$(mktemp -d /tmp/pause-oci-repro.XXXXXX); trap 'rm -rf "$$t"' EXIT; \
	rev=$$(git rev-parse HEAD); \
	for c in a b; do \
	  git clone -q --no-local "$(CURDIR)" "$$t/$$c"; git -C "$$t/$$c" checkout -q --detach "$$rev"; \
	  echo "== clone $$c: make oci ($$rev)"; \
	  $(MAKE) --no-print-directory -C "$$t/$$c" oci SOURCE="$(SOURCE)" >"$$t/$$c.log" 2>&1 || { tail -n 30 "$$t/$$c.log"; exit 1; }; \
	  grep -F 'pause-oci.tar sha256:' "$$t/$$c.log"; \
	done; \
	sha256sum "$$t/a/$(OCI_ARCHIVE)" "$$t/b/$(OCI_ARCHIVE)" | sed "s|$$t/||"; \
	if cmp "$$t/a/$(OCI_ARCHIVE)" "$$t/b/$(OCI_ARCHIVE)"; then echo "oci-repro: identical"; \
	else echo "oci-repro: the two archives differ" >&2; exit 1; fi

CRI_PACKAGES := containerd runc containernetworking-plugins skopeo protobuf-compiler iproute2

# protobuf-compiler: the CRI client crate (k8s-cri) generates its code from the
# CRI protos at build time, so `cargo build/clippy` of the workspace needs protoc.
deps-cri: ## install containerd, runc, CNI plugins, skopeo, protoc; the musl target for the workload
	@missing=$$(for p in $(CRI_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@rustup target list --installed | grep -qx x86_64-unknown-linux-musl || rustup target add x86_64-unknown-linux-musl

# The workload image is packed from $(WORKLOAD_BIN) (`make workload`, tests/e2e/e2e.mk)
# by the suite itself, with the same packer as the pause archive.
e2e-cri: deps-cri oci workload ## containerd CRI end-to-end: pause as the pod sandbox (needs root)
	WORKLOAD_BIN=$(CURDIR)/$(WORKLOAD_BIN) cargo test -q --locked -p pause-oci -p pause-cri
