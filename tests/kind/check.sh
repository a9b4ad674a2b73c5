#!/usr/bin/env bash
# Checks the cluster `make kind` made (make test-kind): every node Ready; on
# every node containerd pins the expected sandbox image and every sandbox
# process is /pause as uid 65535; deploy/kind/shared-pid-pod.yaml runs with
# /pause as its PID 1, and orphans made in it leave no zombie.
# Negative control: KIND_EXPECT_SANDBOX=some/other:image makes it fail.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
name=${KIND_CLUSTER:-pause}
expect=${KIND_EXPECT_SANDBOX:-localhost/pause:0.1.0}
export KUBECONFIG=$root/target/kind/kubeconfig
kubectl=$root/target/go/${KIND_K8S:-kubernetes-1.34}/bin/kubectl
fail() { echo "test-kind: FAIL: $*" >&2; exit 1; }
[ -f "$KUBECONFIG" ] || fail "no cluster: $KUBECONFIG is missing (make kind)"

"$kubectl" wait --for=condition=Ready node --all --timeout=120s >/dev/null || fail "not every node is Ready"
nodes=$("$kubectl" get nodes -o name | sed 's|node/||')
[ "$(wc -w <<<"$nodes")" = 3 ] || fail "expected 3 nodes, found: $nodes"
for node in $nodes; do
  pinned=$(podman exec "$node" containerd config dump 2>/dev/null | sed -n "s/^ *sandbox = '\(.*\)'/\1/p")
  [ "$pinned" = "$expect" ] || fail "$node: containerd's sandbox image is '$pinned', not $expect"
  sandboxes=$(podman exec "$node" sh -c 'for p in $(pgrep -x pause); do echo "$(stat -c %u /proc/$p) $(tr "\0" " " </proc/$p/cmdline)"; done')
  [ -n "$sandboxes" ] || fail "$node: no sandbox process runs"
  if grep -v '^65535 /pause $' <<<"$sandboxes" >/dev/null; then fail "$node: a sandbox is not /pause as uid 65535: $sandboxes"; fi
  echo "test-kind: $node: sandbox $pinned, $(wc -l <<<"$sandboxes") sandboxes /pause as 65535"
done

"$kubectl" delete pod shared-pid --ignore-not-found --wait=true >/dev/null
"$kubectl" apply -f "$root/deploy/kind/shared-pid-pod.yaml" >/dev/null
trap '"$kubectl" delete pod shared-pid --ignore-not-found --wait=false >/dev/null' EXIT
"$kubectl" wait --for=condition=Ready pod/shared-pid --timeout=120s >/dev/null || fail "shared-pid did not become Ready"
pid1=$("$kubectl" exec shared-pid -- cat /proc/1/cmdline | tr -d '\0')
[ "$pid1" = /pause ] || fail "shared-pid's PID 1 is '$pid1', not /pause"
"$kubectl" exec shared-pid -- sh -c 'for i in $(seq 50); do (sleep 0.2 &); done'
deadline=$((SECONDS + 30))
while zombies=$("$kubectl" exec shared-pid -- ps -o stat= | grep -c '^Z' || true); [ "$zombies" != 0 ]; do
  [ $SECONDS -lt $deadline ] || fail "$zombies zombies stay in shared-pid"
  sleep 1
done
echo "test-kind: shared-pid: PID 1 is /pause, 50 orphans reaped"
