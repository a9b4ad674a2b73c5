# Hardening (owner: hardening): pause under storms and hostile input, and the
# seccomp profile deploy/seccomp/pause.json.
#   make deps-stress    strace, jq, libseccomp's scmp_sys_resolver, podman with runc
#   make stress         tests/stress.rs at full size (sizes: STRESS_SIZES)
#   make stress-cross   the same under qemu-user for the other architectures, small sizes
#   make test-seccomp   tests/seccomp.rs: recorded calls vs the profile (natively with
#                       strace, every other architecture with qemu's own log), and
#                       Docker and podman running the image under the profile
.PHONY: deps-stress stress stress-cross test-seccomp

STRESS_PACKAGES    := strace jq seccomp qemu-user-static podman runc conmon
STRESS_SIZES       ?= STRESS_SIGNALS=1000000 STRESS_ORPHANS=100000 STRESS_ARGVS=10000 STRESS_STOPS=200
STRESS_CROSS_SIZES ?= STRESS_SIGNALS=20000 STRESS_ORPHANS=2000 STRESS_ARGVS=200 STRESS_STOPS=20
# One test at a time: each storm wants both cores, and prints what it did.
STRESS_TEST        := cargo test -q --locked -p pause --test stress -- --test-threads 1 --nocapture

deps-stress: ## install strace, jq, scmp_sys_resolver, podman and runc for the stress and seccomp suites
	@missing=$$(for p in $(STRESS_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

stress: deps-stress build ## signal, fork, stop/continue and argument storms against the native binary (root)
	$(STRESS_SIZES) PAUSE_BIN=$(CURDIR)/bin/pause-linux-$(HOST_ARCH) $(STRESS_TEST)

stress-cross: deps-stress build ## the storms, small, under qemu-user for every other architecture
	@$(foreach a,$(CROSS_ARCHES),echo "== stress under $(qemu_$(a))" && \
	  $(STRESS_CROSS_SIZES) PAUSE_BIN=$(CURDIR)/bin/pause-linux-$(a) \
	  PAUSE_RUNNER=$$(command -v $(qemu_$(a))) $(STRESS_TEST) && ) true

test-seccomp: deps-stress build image ## the seccomp profile: recorded calls on every arch, Docker and podman under it
	PAUSE_BIN=$(CURDIR)/bin/pause-linux-$(HOST_ARCH) PAUSE_IMAGE=$(IMAGE) \
	  cargo test -q --locked -p pause --test seccomp -- --nocapture
	$(foreach a,$(CROSS_ARCHES),PAUSE_BIN=$(CURDIR)/bin/pause-linux-$(a) \
	  PAUSE_RUNNER=$$(command -v $(qemu_$(a))) cargo test -q --locked -p pause --test seccomp \
	  -- --exact recorded_calls_are_in_the_profile --nocapture && ) true
