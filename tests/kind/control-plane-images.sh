#!/usr/bin/env bash
# Builds the control-plane images a kind node's kubeadm starts, FROM scratch
# with the static binaries built here, under exactly the names
# `kubeadm config images list` prints for VERSION, and saves them into one
# archive for `ctr images import`.
#   control-plane-images.sh OUT.tar VERSION KUBE_BIN_DIR ETCD_BINARY
# coredns and the pause image kubeadm lists are left out: kubeadm's
# control plane does not need them to start (the sandbox is this project's
# image, and CoreDNS is an add-on whose module is not built here).
set -euo pipefail
out=$1 version=$2 kbin=$3 etcd=$4
ctx=$(mktemp -d)
names=()
cleanup() { [ ${#names[@]} -eq 0 ] || podman rmi -f "${names[@]}" >/dev/null 2>&1; rm -rf "$ctx"; }
trap cleanup EXIT

build() { # NAME BINARY
  local name=$1 bin=$2
  rm -rf "$ctx"/*
  cp "$bin" "$ctx/"
  printf 'FROM scratch\nCOPY %s /usr/local/bin/%s\nENV PATH=/usr/local/bin:/usr/bin:/bin\n' \
    "$(basename "$bin")" "$(basename "$bin")" >"$ctx/Containerfile"
  podman build --quiet --timestamp 0 -t "$name" "$ctx" >/dev/null ||
    { echo "control-plane-images: podman build of $name failed" >&2; exit 1; }
  names+=("$name")
}

while read -r name; do
  case $name in
    */kube-apiserver:* | */kube-controller-manager:* | */kube-scheduler:* | */kube-proxy:*)
      cmd=${name##*/}; build "$name" "$kbin/${cmd%%:*}" ;;
    */etcd:*) build "$name" "$etcd" ;;
  esac
done < <("$kbin/kubeadm" config images list --kubernetes-version "$version")
rm -f "$out"
podman save --quiet --multi-image-archive -o "$out" "${names[@]}"
