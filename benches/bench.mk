# Benchmarks: pause measured side by side with what users run today, in the
# same run on the same machine (tests/bench, crate pause-bench). Needs root:
# every peer runs as PID 1 of a fresh PID namespace.
#   make bench                        full run (a minute or two); writes tests/bench/results/
#   make bench REF_PAUSE=/path/pause  adds a reference pause binary as a peer
#   make bench-quick                  the whole harness, few iterations, no timing asserted (CI)
# The sandbox lifecycle figure drives the CRI suite's private containerd
# (tests/cri, as a library), so the runtime comes from deps-cri; that also
# brings protoc, which the CRI client crate needs to build.

.PHONY: deps-bench bench bench-quick

BENCH_OUT       ?= tests/bench/results
BENCH_QUICK_OUT ?= target/bench-quick
REF_PAUSE       ?=
# The revision the binaries were built from; -dirty when their sources differ from it.
BENCH_REV  = $(REVISION)$(shell git diff --quiet HEAD -- src Cargo.toml build.rs link.ld 2>/dev/null || echo -dirty)
BENCH_ARGS = --bin-dir bin --arch $(HOST_ARCH) $(if $(REF_PAUSE),--ref $(REF_PAUSE))

deps-bench: ## install what the benchmarks need: valgrind, catatonit, file
	@command -v valgrind >/dev/null && command -v catatonit >/dev/null && command -v file >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    valgrind catatonit file >/dev/null; }

bench: deps-bench deps-cri build ## measure pause next to catatonit -P (and REF_PAUSE=...): prints and writes the README table
	BENCH_REVISION=$(BENCH_REV) cargo run -q --locked -p pause-bench -- $(BENCH_ARGS) \
	  --out $(BENCH_OUT) --command "make bench"

bench-quick: deps-bench deps-cri build ## the whole benchmark harness with few iterations; asserts no timing (CI)
	cargo test -q --locked -p pause-bench
	BENCH_REVISION=$(BENCH_REV) cargo run -q --locked -p pause-bench -- $(BENCH_ARGS) --quick \
	  --out $(BENCH_QUICK_OUT) --command "make bench-quick"
