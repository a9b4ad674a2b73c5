#!/usr/bin/env bash
# make bench-kind: what a kind user sees of the sandbox image, this image next
# to catatonit -P. For each, a kind cluster of its own (pause-bench, made by
# tests/kind/cluster.sh from the node image) whose nodes are given that
# sandbox under the project's reference by `kind load` (catatonit is packed
# with `cargo xtask pack` as uid 65535, as the other benchmarks pack it),
# then a Deployment of PODS pods (60) spread over the two workers: the
# seconds from kubectl apply to all of them Running, the PSS of their
# sandbox processes, and the memory of a worker (node_memory). Each figure
# is one run: the ratios of the two peers are the figures to read. Writes OUT (benches/results/kind.md). The cluster is
# removed after each peer, on a failure, Ctrl-C and SIGTERM.
#   benches/kind.sh OUT
set -euo pipefail
export KIND_CLUSTER=pause-bench
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/kind/common.sh"
out=$1
pods=${PODS:-60}
catatonit=/usr/bin/catatonit
workers=("$name-worker" "$name-worker2")

fail() { echo "bench-kind: $*" >&2; exit 1; }
[ -x "$catatonit" ] || fail "$catatonit is missing (make deps installs Debian's catatonit)"
# Under target/, not /tmp: a run killed with -9 leaves it to the next run.
tmp=$root/target/kind/bench-catatonit
mkdir -p "$tmp"
own_cluster bench-kind "$tmp"
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

(cd "$root" && cargo xtask pack --out "$tmp/catatonit.tar" --name localhost/pause --tag "$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)" \
  --epoch 0 --path /catatonit --entrypoint '["/catatonit","-P"]' --user 65535:65535 amd64="$catatonit" >/dev/null) ||
  fail "cargo xtask pack could not pack $catatonit"

# PSS in kB of the sandbox processes of the Deployment's pods on NODE, after
# checking that each runs PROGRAM: the figure must be of the peer asked for.
sandbox_pss() { # NODE PROGRAM
  local node=$1 program=$2 id pid total=0 line
  for id in $(podman exec "$node" crictl pods -q --label app=pause-bench --state ready); do
    pid=$(podman exec "$node" crictl inspectp "$id" | jq -r .info.pid)
    line=$(podman exec "$node" sh -c "tr '\0' ' ' </proc/$pid/cmdline; echo; sed -n 's/^Pss: *\([0-9]*\) kB/\1/p' /proc/$pid/smaps_rollup")
    [ "$(head -n1 <<<"$line" | cut -d' ' -f1)" = "$program" ] ||
      fail "$node: sandbox $id runs '$(head -n1 <<<"$line")', not $program"
    total=$((total + $(tail -n1 <<<"$line")))
  done
  echo "$total"
}

# What a worker holds with its share of the pods, in kB: the PSS of all of
# its processes (systemd, containerd, kubelet, kube-proxy, the shims, the
# sandboxes, the pods' programs) and its cgroup's working set (usage less
# the inactive page cache, as kubelet counts it).
node_memory() { # NODE
  local cgroup
  cgroup=/sys/fs/cgroup/memory$(podman inspect -f '{{.State.CgroupPath}}' "$1") || fail "$1: podman knows no cgroup of it"
  [ -f "$cgroup/memory.stat" ] || fail "$1: no memory cgroup at $cgroup (this bench reads cgroup v1)"
  echo "$(podman exec "$1" sh -c 'cat /proc/[0-9]*/smaps_rollup 2>/dev/null' | awk '/^Pss:/ { s += $2 } END { print s }')" \
    "$(($(cat "$cgroup/memory.usage_in_bytes") / 1024 - $(awk '$1 == "total_inactive_file" { print int($2 / 1024) }' "$cgroup/memory.stat")))"
}

rows=()
for peer in "this image:$root/bin/pause-oci.tar:/pause" "catatonit -P:$tmp/catatonit.tar:/catatonit"; do
  IFS=: read -r label archive program <<<"$peer"
  KIND_SANDBOX_ARCHIVE=$archive run_step "$root/tests/kind/cluster.sh" create
  "$kubectl" wait --for=condition=Ready node --all --timeout=120s >/dev/null || fail "not every node is Ready"
  version=$("$kubectl" version -o json | jq -r .serverVersion.gitVersion)
  start=$(now)
  spread_deployment pause-bench "$pods" | "$kubectl" apply -f - >/dev/null
  run_step "$kubectl" rollout status deployment/pause-bench --timeout=300s >/dev/null ||
    fail "the $pods pods are not Running with $label"
  took=$(calc %.1f "$(now) - $start")
  pss=0 node_pss=0 node_ws=0
  for node in "${workers[@]}"; do
    pss=$((pss + $(sandbox_pss "$node" "$program")))
    read -r p w <<<"$(node_memory "$node")"
    node_pss=$((node_pss + p / ${#workers[@]})) node_ws=$((node_ws + w / ${#workers[@]}))
  done
  rows+=("$label|$took|$pss|$node_pss|$node_ws")
  echo "bench-kind: $label: $pods pods Running $took s after kubectl apply; their sandboxes $pss kB of PSS; a worker $node_pss kB of PSS, $node_ws kB working set"
  run_step "$root/tests/kind/cluster.sh" delete
done

IFS='|' read -r _ t1 p1 n1 w1 <<<"${rows[0]}"
IFS='|' read -r _ t2 p2 n2 w2 <<<"${rows[1]}"
{
  echo "# kind: $pods pods, this image next to catatonit -P"
  echo
  echo "- Command: \`make bench-kind\` (benches/kind.sh), $(date -u '+%Y-%m-%d %H:%M UTC'), revision $(git -C "$root" rev-parse --short=12 HEAD)"
  echo "- Cluster: kind $("$kind" version | awk '{ print $2 }') (podman), Kubernetes $version, one control plane and two workers, containerd 2.1; a new cluster per peer, whose sandbox image is the peer under \`localhost/pause:0.1.0\`"
  echo "- A Deployment of $pods pods (busybox \`sleep\`, spread 30/30 over the workers); one run per peer"
  echo
  echo "| sandbox | $pods pods Running after kubectl apply | PSS of their $pods sandbox processes | a worker: PSS of all its processes | a worker: working set |"
  echo "|---|---:|---:|---:|---:|"
  echo "| this image | $t1 s | $p1 kB | $n1 kB | $w1 kB |"
  echo "| catatonit -P | $t2 s | $p2 kB | $n2 kB | $w2 kB |"
  echo "| this image / catatonit -P | $(calc %.2f "$t1 / $t2")× | $(calc %.3f "$p1 / $p2")× | $(calc %.3f "$n1 / $n2")× | $(calc %.3f "$w1 / $w2")× |"
  echo
  echo "A worker's figures are the mean of the two, each with its $((pods / 2)) pods Running: the PSS of every process in the node (systemd, containerd, kubelet, kube-proxy, the shims, the sandboxes, the pods' \`sleep\`) and its cgroup's working set (usage less inactive page cache)."
} >"$out"
echo "bench-kind: wrote $out"
