#!/usr/bin/env bash
# A kind cluster from the node image tests/kind/node-image.sh builds and
# deploy/kind/kind-config.yaml, with podman as kind's provider.
#   tests/kind/cluster.sh create   (make kind)
#   tests/kind/cluster.sh delete   (make kind-delete)
#   tests/kind/cluster.sh network  (make kind-network: the pod network again)
# The kubeconfig is target/kind/NAME/kubeconfig (NAME: KIND_CLUSTER, pause).
set -euo pipefail
. "$(dirname "$0")/common.sh"
image=${KIND_NODE_IMAGE:-localhost/pause-kind-node:latest}
# The sandbox image `kind load` gives every node; benches/kind.sh loads
# another program packed under the same reference in its place.
sandbox=${KIND_SANDBOX_ARCHIVE:-$root/bin/pause-oci.tar}

fail() { echo "kind: $*" >&2; exit 1; }
[ -x "$kind" ] || fail "$kind is missing (make deps-go)"

delete() {
  mkdir -p "$dir"
  "$kind" delete cluster --name "$name" >"$dir/delete.log" 2>&1 || fail "kind delete cluster failed: $(tail -n1 "$dir/delete.log")"
  # kind's podman provider makes the network "kind" and leaves it: remove it
  # once no container is attached to it.
  if podman network exists kind 2>/dev/null &&
    [ -z "$(podman ps -aq --filter network=kind)" ]; then
    podman network rm kind >/dev/null
  fi
  # kind makes each node's /var volume before its container and removes it
  # with the container: a node that never started leaves its volume behind.
  local node vol
  for node in "$name-control-plane" "$name-worker" "$name-worker2"; do
    for vol in $(podman volume ls -q --filter "label=$node=true"); do podman volume rm -f "$vol" >/dev/null; done
  done
  # A registry tests/kind/registry.sh started in a node's network namespace
  # outlives the node if the check was killed (kill -9).
  pkill -f "^docker-registry serve $dir/" || true
  rm -rf "$dir"
}

create() {
  # kind mounts the host's /lib/modules into every node; a host without
  # kernel modules (a container, like this machine) has no such directory.
  [ -d /lib/modules ] || mkdir -p /lib/modules || fail "/lib/modules is missing and cannot be made"
  podman image exists "$image" || fail "node image $image is missing (make kind-node-image)"
  [ -f "$sandbox" ] || fail "$sandbox is missing (make oci)"
  if "$kind" get clusters 2>/dev/null | grep -qx "$name"; then
    fail "a kind cluster named $name already exists (make kind-delete)"
  fi
  mkdir -p "$dir"
  # The project's cluster config as it is, plus what this offline node image
  # and this host need: two workers; no kindnetd (its image cannot be pulled
  # here: pod_network below does its part); kubelet told that a cgroup v1
  # host is fine (kubelet 1.35 and later refuse to start on one otherwise);
  # and containerd's registries read from hosts.toml files, as kind's guide
  # to a local registry has it (the checks pull the sandbox image that way).
  {
    sed '/^containerdConfigPatches:$/a\
  - |-\
    [plugins."io.containerd.grpc.v1.cri".registry]\
      config_path = "/etc/containerd/certs.d"' "$root/deploy/kind/kind-config.yaml"
    printf '  - role: worker\n  - role: worker\nnetworking:\n  disableDefaultCNI: true\n'
    printf 'kubeadmConfigPatches:\n  - |\n    kind: KubeletConfiguration\n    failCgroupV1: false\n'
  } >"$dir/cluster.yaml"
  grep -q config_path "$dir/cluster.yaml" || fail "deploy/kind/kind-config.yaml has no containerdConfigPatches list to add to"
  # Interrupted half way, kind leaves nodes behind: take them down with it.
  trap 'echo "kind: interrupted: removing cluster $name" >&2; delete >/dev/null 2>&1; exit 130' INT TERM
  local why
  if ! why=$(run_kind "$dir/create.log" create cluster --name "$name" --image "$image" \
    --config "$dir/cluster.yaml" --kubeconfig "$KUBECONFIG" --wait 0s ${KIND_KEEP_FAILED:+--retain}); then
    # KIND_KEEP_FAILED=1 keeps the nodes to look into (make kind-delete after).
    [ "${KIND_KEEP_FAILED:-}" = 1 ] || delete >/dev/null 2>&1 || true
    fail "kind create cluster failed: $why"
  fi
  pod_network
  # As the README says: load the sandbox image on every node.
  if ! why=$(run_kind "$dir/load.log" load image-archive "$sandbox" --name "$name"); then
    fail "kind load image-archive failed: $why"
  fi
  # The workload image deploy/kind/shared-pid-pod.yaml runs, built here
  # (no registry can serve it), loaded the same way.
  "$root/tests/kind/busybox-image.sh" "$dir/busybox.tar" || fail "the busybox image could not be built"
  if ! why=$(run_kind "$dir/load-busybox.log" load image-archive "$dir/busybox.tar" --name "$name"); then
    fail "kind load image-archive of busybox failed: $why"
  fi
  trap - INT TERM
  echo "kind: cluster $name is up; export KUBECONFIG=$KUBECONFIG"
}

# What kindnetd does, without its image (no registry serves it here): each
# node's bridge network (cni.conflist) gets the pod range the
# controller-manager gave that node, and each node routes every other node's
# range to that node. Until its CNI config is written a node stays NotReady.
# kindnetd follows the nodes; this runs once (create), and again on demand
# (`cluster.sh network`, make kind-network): a node that restarts loses its
# routes with its network namespace, and podman gives it a new address.
pod_network() {
  local ranges nodes=() deadline=$((SECONDS + 120))
  local query='{range .items[*]}{.metadata.name} {.spec.podCIDR}{"\n"}{end}'
  # A worker's range is given when it registers, a moment after kind is done.
  while ranges=$("$kubectl" get nodes -o jsonpath="$query" 2>&1); [ "$(awk 'NF == 2' <<<"$ranges" | wc -l)" != 3 ]; do
    [ $SECONDS -lt $deadline ] || net_fail "not every node has a pod range after 120 s: $ranges"
    sleep 1
  done
  # Each node's address as podman gave it (now: a restart changes it).
  local node cidr ip
  while read -r node cidr; do
    ip=$(podman inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$node") ||
      net_fail "$node: podman knows no address of it"
    nodes+=("$node $cidr $ip")
  done <<<"$ranges"
  nodes=$(printf '%s\n' "${nodes[@]}")
  while read -r node cidr ip; do
    sed "s|@POD_CIDR@|$cidr|" "$root/tests/kind/cni.conflist" |
      podman exec -i "$node" tee /etc/cni/net.d/10-pause-kind.conflist >/dev/null ||
      net_fail "$node: could not write its CNI config"
    awk -v me="$node" '$1 != me { print "ip route replace " $2 " via " $3 }' <<<"$nodes" |
      podman exec -i "$node" sh -e || net_fail "$node: no route to the other nodes' pods"
  done <<<"$nodes"
}
net_fail() { fail "the pod network could not be set up: $*"; }

case ${1:-} in
  create) create ;;
  network) pod_network ;;
  delete) delete ;;
  *) fail "usage: $0 create|delete|network" ;;
esac
