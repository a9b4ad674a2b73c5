#!/usr/bin/env bash
# The [Conformance] specs the one-node cluster cannot judge, judged on the
# kind cluster: those tests/conformance/skip.toml skips with runs =
# "one-node" (each asks for two schedulable nodes). e2e.test of the node
# image's Kubernetes release runs them with the cluster's kubeconfig; the
# images their pods run are loaded on every node first (make
# conformance-images builds them under the names the suite asks for, and the
# pods' IfNotPresent pull policy takes them as they are).
#   tests/kind/conformance.sh REPORT_DIR   (writes junit.xml and e2e.log there)
set -euo pipefail
. "$(dirname "$0")/common.sh"
out=$(realpath -m "$1")
e2e=$root/target/go/$k8s/bin/e2e.test
listing=$root/target/conformance/images.tsv
# What those specs' pods run: the DaemonSet rollback spec's agnhost
# (test/e2e/apps/daemon_set.go, AgnhostImage); the architecture spec runs none.
images=(registry.k8s.io/e2e-test-images/agnhost:2.66.1)

fail() { echo "kind conformance: $*" >&2; exit 1; }
[ -x "$e2e" ] || fail "$e2e is missing (make deps-go)"
[ -f "$listing" ] || fail "$listing is missing (make conformance-images)"
[ -f "$KUBECONFIG" ] || fail "no cluster: $KUBECONFIG is missing (make kind)"

for image in "${images[@]}"; do
  archive=$(awk -F'\t' -v i="$image" '$1 == i { print $2 }' "$listing")
  [ -n "$archive" ] || fail "make conformance-images built no $image"
  why=$(run_kind "$dir/load-conformance.log" load image-archive "$root/$archive" --name "$name") ||
    fail "kind load image-archive of $image failed: $why"
done

mapfile -t specs < <(python3 -c '
import sys, tomllib
for s in tomllib.load(open(sys.argv[1], "rb"))["skip"]:
    if s["runs"] == "one-node":
        print(s["spec"])' "$root/tests/conformance/skip.toml")
[ ${#specs[@]} -gt 0 ] || fail "skip.toml skips no spec on the one-node cluster: nothing to run"
focus=$(IFS='|'; echo "${specs[*]}")

rm -rf "$out"
mkdir -p "$out/work"
start=$SECONDS
# e2e.test writes its own files in its working directory.
status=0
(cd "$out/work" && "$e2e" --kubeconfig="$KUBECONFIG" --kubectl-path="$kubectl" \
  --ginkgo.focus="\[Conformance\].*($focus)|($focus).*\[Conformance\]" \
  --ginkgo.junit-report="$out/junit.xml" --ginkgo.no-color --ginkgo.timeout=20m \
  >"$out/e2e.log" 2>&1) || status=$?
rm -rf "$out/work"
ran=$(sed -n 's/^Ran \([0-9]*\) of .*/\1/p' "$out/e2e.log" | tail -n1)
result=$(grep -E '^(SUCCESS|FAIL)! -- ' "$out/e2e.log" | tail -n1)
[ "$ran" = "${#specs[@]}" ] ||
  fail "e2e.test ran ${ran:-no} specs, not the ${#specs[@]} skip.toml names ($result; its output: $out/e2e.log)"
[ "$status" = 0 ] || fail "e2e.test failed: $result (its output: $out/e2e.log)"
echo "kind conformance: ${#specs[@]} specs on $name in $((SECONDS - start)) s: ${result#*-- }"
