#!/usr/bin/env bash
# Checks the cluster `make kind` made (make test-kind): every node Ready; on
# every node containerd pins the expected sandbox image, every sandbox
# process is /pause as uid 65535, and crictl inspectp says so of every pod;
# deploy/kind/shared-pid-pod.yaml runs with /pause as its PID 1, and orphans
# made in it leave no zombie; kube-proxy runs on every node and CoreDNS in
# the cluster; a pod on one worker reaches a pod on the other, by its
# address and through a Service whose name CoreDNS resolves, and again after
# that worker's restart (restart.sh); a Deployment of
# 60 pods spreads over the workers, runs, and is deleted with every sandbox
# process gone and its exit reported by containerd (spread.sh); a worker
# pulls the sandbox image from a registry through hosts.toml (registry.sh);
# kubelet's image GC on that worker keeps it (image-gc.sh).
# Negative control: KIND_EXPECT_SANDBOX=some/other:image makes it fail.
set -euo pipefail
. "$(dirname "$0")/common.sh"
expect=${KIND_EXPECT_SANDBOX:-localhost/pause:0.1.0}
busybox=$(busybox_image)
fail() { echo "test-kind: FAIL: $*" >&2; exit 1; }
# What an operator asks a node's runtime of a sandbox: its image, command and
# user, as `crictl inspectp` reports them, on one line.
sandbox_of() { # NODE ID
  podman exec "$1" crictl inspectp "$2" |
    jq -r '[.info.image, (.info.runtimeSpec.process.args | join(" ")), .info.runtimeSpec.process.user.uid] | join(" ")'
}
# Whether containerd on NODE pins IMAGE (`crictl inspecti`): true, false, or
# why it cannot say (no such image).
pinned_on() { # NODE IMAGE
  podman exec "$1" crictl inspecti -o json "$2" 2>&1 | jq -r .status.pinned 2>&1 || true
}
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
  ids=$(podman exec "$node" crictl pods -q --state ready) || fail "$node: crictl pods failed"
  for id in $ids; do
    seen=$(sandbox_of "$node" "$id")
    [ "$seen" = "$expect /pause 65535" ] || fail "$node: crictl inspectp $id says '$seen', not '$expect /pause 65535'"
  done
  echo "test-kind: $node: sandbox $pinned, $(wc -l <<<"$sandboxes") sandboxes /pause as 65535 ($(wc -w <<<"$ids") by crictl inspectp)"
done

made=(pod/shared-pid pod/web pod/client pod/pulled service/web deployment/pause-kind-spread)
"$kubectl" delete "${made[@]}" --ignore-not-found --wait=true >/dev/null
# What spread.sh, registry.sh and image-gc.sh start or change is undone
# with the pods (they set no trap of their own: one would replace this one).
clean_up() {
  ! declare -F stop_events >/dev/null || stop_events || true
  ! declare -F stop_registry >/dev/null || stop_registry || true
  ! declare -F undo_gc_check >/dev/null || undo_gc_check || true
  "$kubectl" delete "${made[@]}" --ignore-not-found --wait=false >/dev/null
}
trap clean_up EXIT
# bash runs no EXIT trap when a signal it does not trap ends it.
trap 'exit 130' INT
trap 'exit 143' TERM
"$kubectl" apply -f "$root/deploy/kind/shared-pid-pod.yaml" >/dev/null
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

rolled_out() { # KIND/NAME WHAT
  "$kubectl" -n kube-system rollout status "$1" --timeout=120s >/dev/null ||
    fail "$2: $("$kubectl" -n kube-system get pods -l "k8s-app=${1#*/}" --no-headers 2>&1 | tr '\n' ';')"
}
rolled_out daemonset/kube-proxy "kube-proxy does not run on every node"
rolled_out deployment/coredns "CoreDNS does not run"
# busybox's httpd on one worker serves its pod's /etc (kubelet writes the
# pod's name into /etc/hostname); a client on the other worker fetches it.
"$kubectl" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: pause-kind-web}}
spec:
  nodeName: $name-worker
  containers: [{name: httpd, image: $busybox, command: [httpd, -f, -p, "8080", -h, /etc]}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: $name-worker2
  containers: [{name: shell, image: $busybox, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: pause-kind-web}
  ports: [{port: 80, targetPort: 8080}]
YAML
"$kubectl" wait --for=condition=Ready pod/web pod/client --timeout=120s >/dev/null || fail "pods web and client did not become Ready"
fetch() { # URL: what client gets from it, polled until web answers or 30 s pass
  local deadline=$((SECONDS + 30)) got
  # Debian's busybox-static 1.35 wget crashes (SIGSEGV) given -T: timeout bounds it.
  until got=$("$kubectl" exec client -- timeout 3 wget -qO- "$1" 2>&1) && [ "$got" = web ]; do
    [ $SECONDS -lt $deadline ] || { echo "$got"; return 1; }
    sleep 1
  done
}
ip=$("$kubectl" get pod web -o jsonpath='{.status.podIP}')
why=$(fetch "http://$ip:8080/hostname") || fail "a pod on $name-worker2 cannot reach web ($ip) on $name-worker: $why"
service=$("$kubectl" get service web -o jsonpath='{.spec.clusterIP}')
why=$(fetch "http://$service/hostname") || fail "the Service web ($service) does not reach its pod: $why"
# busybox's own resolver asks the pod's nameserver (CoreDNS's Service).
answer=$("$kubectl" exec client -- nslookup web.default.svc.cluster.local 2>&1) ||
  fail "CoreDNS does not answer for web.default.svc.cluster.local: $answer"
grep -q "Address: $service\$" <<<"$answer" || fail "CoreDNS's answer for web is not $service: $answer"
echo "test-kind: a pod on $name-worker2 reaches a pod on $name-worker ($ip) and its Service ($service, by name through CoreDNS)"

. "$root/tests/kind/restart.sh"

. "$root/tests/kind/spread.sh"

. "$root/tests/kind/registry.sh"

. "$root/tests/kind/image-gc.sh"
