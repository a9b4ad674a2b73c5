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

own_cluster test-kind

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

run_step "$here/cluster.sh" create
run_step "$here/check.sh"
report=$root/target/conformance/kind
run_step "$here/conformance.sh" "$report"
[ "${KIND_KEEP_REPORT:-}" != 1 ] || keep_report "$report" "$root/tests/conformance/results/kind"
