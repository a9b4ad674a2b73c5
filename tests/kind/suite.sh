#!/usr/bin/env bash
# The kind suite (make test-kind): a cluster of its own, KIND_CLUSTER
# (pause-test), made from the node image as `make kind` makes its cluster,
# judged by tests/kind/check.sh and by the [Conformance] specs that need its
# two workers (tests/kind/conformance.sh; report in target/conformance/kind,
# kept as tests/conformance/results/kind/ with KIND_KEEP_REPORT=1), then
# removed: also when a step fails, on Ctrl-C and on SIGTERM. A cluster a
# killed run left (kill -9) is removed before the run starts.
set -euo pipefail
export KIND_CLUSTER=${KIND_CLUSTER:-pause-test}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

remove() {
  "$here/cluster.sh" delete ||
    echo "test-kind: cluster $name could not be removed: make kind-delete KIND_CLUSTER=$name" >&2
}
leftover() {
  "$kind" get clusters 2>/dev/null | grep -qx "$name" ||
    podman ps -aq --filter "label=io.x-k8s.kind.cluster=$name" | grep -q .
}
if leftover; then
  echo "test-kind: removing cluster $name, which an earlier run left"
  remove
fi

# The report of the run the README tells: gzip'd JUnit and what ran, where.
keep_report() { # FROM TO
  mkdir -p "$2"
  gzip -9n <"$1/junit.xml" >"$2/junit.xml.gz"
  {
    echo "# The [Conformance] specs judged on the kind cluster"
    echo
    echo "- Command: \`make conformance-kind\` (tests/kind/suite.sh, tests/kind/conformance.sh)"
    echo "- Date: $(date -u +%F), revision $(git -C "$root" rev-parse --short HEAD)"
    echo "- Cluster: kind $("$kind" version | awk '{ print $2 }'), $("$kubectl" version -o json | jq -r .serverVersion.gitVersion), one control plane and two workers, containerd 2.1, this image as every pod's sandbox"
    echo "- Specs: those tests/conformance/skip.toml skips on the one-node cluster"
    echo "- Result: $(grep -E '^(SUCCESS|FAIL)! -- ' "$1/e2e.log" | tail -n1)"
    echo
    python3 - "$1/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as et
for case in et.parse(sys.argv[1]).iter("testcase"):
    status = case.get("status")
    if status != "skipped" and case.get("name").startswith("[It]"):
        print(f"- {status}: {case.get('name')} ({float(case.get('time')):.0f} s)")
PY
  } >"$2/summary.md"
}

# Each step runs in the background so that a signal is handled at once, not
# when the step ends; the handler stops the step before removing the cluster.
step=
run() { "$@" & step=$!; wait "$step"; step=; }
stop() { [ -z "$step" ] || { kill "$step" 2>/dev/null; wait "$step" 2>/dev/null; } || true; }
trap 'stop; remove' EXIT
trap 'echo "test-kind: interrupted" >&2; exit 130' INT
trap 'echo "test-kind: terminated" >&2; exit 143' TERM

run "$here/cluster.sh" create
run "$here/check.sh"
report=$root/target/conformance/kind
run "$here/conformance.sh" "$report"
[ "${KIND_KEEP_REPORT:-}" != 1 ] || keep_report "$report" "$root/tests/conformance/results/kind"
