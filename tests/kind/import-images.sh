#!/usr/bin/env bash
# Imports image archives into the containerd store of a node's root file
# system as kind's node image build does (namespace k8s.io, all platforms,
# not unpacked, pinned so kubelet's image GC keeps them). A containerd of the
# same version as the node's runs here for the import only, on a private
# socket and state directory, with its CRI plugins off.
#   import-images.sh ROOTFS CONTAINERD_BIN_DIR ARCHIVE...
set -euo pipefail
rootfs=$1 bin=$2
shift 2
tmp=$(mktemp -d)
pid=
stop() { [ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }; rm -rf "$tmp"; }
trap stop EXIT
# bash runs no EXIT trap when a signal it does not trap ends it.
trap 'exit 130' INT
trap 'exit 143' TERM
cat >"$tmp/config.toml" <<TOML
version = 3
root = "$rootfs/var/lib/containerd"
state = "$tmp/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images"]
[grpc]
  address = "$tmp/containerd.sock"
[ttrpc]
  address = "$tmp/containerd.sock.ttrpc"
TOML
"$bin/containerd" --config "$tmp/config.toml" >"$tmp/log" 2>&1 &
pid=$!
ctr() { "$bin/ctr" --address "$tmp/containerd.sock" --namespace k8s.io "$@"; }
for _ in $(seq 100); do ctr version >/dev/null 2>&1 && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
ctr version >/dev/null 2>&1 || { echo "import-images: containerd did not start: $(tail -n1 "$tmp/log")" >&2; exit 1; }
for archive in "$@"; do
  ctr images import --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests "$archive" >/dev/null ||
    { echo "import-images: ctr could not import $archive" >&2; exit 1; }
done
ctr images list -q
