# End-to-end tests of the pause image under real engines (Docker, podman),
# with the static test workload (tests/workload) in the same pod.
#   make deps-e2e        engines and tools (Debian packages), the musl target
#   make workload        static workload binary -> $(WORKLOAD_BIN)
#   make workload-image  FROM scratch image $(WORKLOAD_IMAGE) in the local Docker
#   make workload-oci    OCI archive of it -> $(WORKLOAD_OCI) (for containerd, podman)
#   make e2e-docker      the Docker suite; make e2e-podman   the podman suite
.PHONY: deps-e2e deps-musl workload workload-image workload-oci e2e-pause-image e2e-archives e2e-docker e2e-podman

WORKLOAD_TARGET  := x86_64-unknown-linux-musl
WORKLOAD_IMAGE   ?= pause-workload:test
E2E_OUT          := target/e2e
WORKLOAD_BIN     := $(E2E_OUT)/workload/workload
WORKLOAD_OCI     := $(E2E_OUT)/pause-workload.oci.tar
WORKLOAD_ARCHIVE := $(E2E_OUT)/pause-workload.docker.tar
E2E_PACKAGES     := docker.io podman runc conmon containernetworking-plugins skopeo busybox-static

deps-e2e: deps-musl ## install Docker, podman, runc, skopeo and the musl target for the e2e suites
	@missing=$$(for p in $(E2E_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

deps-musl: ## add the Rust target the static test workload is built for
	@rustup target list --installed | grep -qx $(WORKLOAD_TARGET) || rustup target add $(WORKLOAD_TARGET)

# The linker: rustc's musl target links its bundled, self-contained musl
# (crt objects and libc.a) with the host's cc; nothing else is needed.
workload: deps-musl ## build the static test workload (x86_64 musl)
	cargo build -q --release --locked -p pause-workload --target $(WORKLOAD_TARGET)
	@mkdir -p $(dir $(WORKLOAD_BIN))
	cp target/$(WORKLOAD_TARGET)/release/workload $(WORKLOAD_BIN)

workload-image: workload ## FROM scratch image pause-workload:test holding only the static workload
	tests/scripts/dockerd.sh
	docker build -q -f tests/workload/Dockerfile -t $(WORKLOAD_IMAGE) $(dir $(WORKLOAD_BIN))

workload-oci: workload-image ## OCI archive of it: target/e2e/pause-workload.oci.tar (ref pause-workload:test)
	rm -f $(WORKLOAD_OCI)
	skopeo copy -q docker-daemon:$(WORKLOAD_IMAGE) oci-archive:$(WORKLOAD_OCI):$(WORKLOAD_IMAGE)

# The suites load the release archive (`make oci`) the way the README tells
# users to: Debian's Docker 20.10 cannot `docker load` an OCI index, so skopeo
# copies this machine's platform into it; podman loads the archive itself.
e2e-pause-image: oci deps-e2e ## load bin/pause-oci.tar into the local Docker as $(IMAGE)
	tests/scripts/dockerd.sh
	skopeo copy -q oci-archive:$(OCI_ARCHIVE):$(VERSION) docker-daemon:$(IMAGE)

# A docker-archive of the workload, for podman's own store.
e2e-archives: workload-image ## docker-archive of the workload image in target/e2e, for podman
	docker save -o $(WORKLOAD_ARCHIVE) $(WORKLOAD_IMAGE)

E2E_ENV = PAUSE_IMAGE=$(IMAGE) WORKLOAD_IMAGE=$(WORKLOAD_IMAGE) \
  PAUSE_ARCHIVE=$(CURDIR)/$(OCI_ARCHIVE) WORKLOAD_ARCHIVE=$(CURDIR)/$(WORKLOAD_ARCHIVE)

e2e-docker: deps-e2e e2e-pause-image workload-image ## pause in Docker with the workload in its namespaces (needs root)
	$(E2E_ENV) cargo test -q --locked -p pause-e2e --test docker -- --test-threads 2

e2e-podman: deps-e2e oci e2e-archives ## a podman pod with pause as infra container (needs root)
	$(E2E_ENV) cargo test -q --locked -p pause-e2e --test podman -- --test-threads 2
