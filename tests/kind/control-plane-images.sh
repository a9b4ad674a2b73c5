#!/usr/bin/env bash
# Builds the control-plane images a kind node's kubeadm starts, with the
# static binaries built here, under exactly the names `kubeadm config images
# list` prints for VERSION, and saves them into one archive for `ctr images
# import`. Each is FROM scratch but kube-proxy's, which also holds Debian's
# iptables and conntrack (IPTABLES_ROOTFS, tests/conformance/debian-rootfs.sh):
# kube-proxy programs the Service rules by running iptables-restore.
#   control-plane-images.sh OUT.tar VERSION KUBE_BIN_DIR ETCD_BINARY IPTABLES_ROOTFS COREDNS_BINARY
# CoreDNS is built only when it is the version kubeadm names (kubeadm's
# Deployment runs the image's entrypoint); otherwise the cluster has no DNS,
# which this script says. The pause image kubeadm lists is left out: the
# sandbox is this project's image.
set -euo pipefail
out=$1 version=$2 kbin=$3 etcd=$4 iptables=$5 coredns=$6
ctx=$(mktemp -d)
names=()
cleanup() { [ ${#names[@]} -eq 0 ] || podman rmi -f "${names[@]}" >/dev/null 2>&1; rm -rf "$ctx"; }
trap cleanup EXIT
# bash runs no EXIT trap when a signal it does not trap ends it.
trap 'exit 130' INT
trap 'exit 143' TERM

build() { # NAME BINARY [ROOTFS_TAR]
  local name=$1 bin=$2 base=${3:-}
  rm -rf "$ctx"/*
  mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/etc" "$ctx/rootfs/tmp"
  if [ -n "$base" ]; then
    # Unpacked without maintainer scripts, so without the alternatives that
    # name iptables: link each to its nf_tables variant, the backend kind's
    # nodes (Debian 12's default) use.
    tar -C "$ctx/rootfs" --exclude=./dev -xf "$base"
    local t s
    for t in iptables ip6tables; do
      for s in "" -save -restore; do ln -sf "$t-nft$s" "$ctx/rootfs/usr/sbin/$t$s"; done
    done
  fi
  cp "$bin" "$ctx/rootfs/usr/local/bin/"
  chmod 1777 "$ctx/rootfs/tmp"
  printf 'FROM scratch\nCOPY rootfs /\nENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n' >"$ctx/Containerfile"
  # CoreDNS's Deployment gives only arguments.
  [ "${bin##*/}" != coredns ] || echo 'ENTRYPOINT ["/usr/local/bin/coredns"]' >>"$ctx/Containerfile"
  podman build --quiet --timestamp 0 -t "$name" "$ctx" >/dev/null ||
    { echo "control-plane-images: podman build of $name failed" >&2; exit 1; }
  names+=("$name")
}

while read -r name; do
  case $name in
    */kube-proxy:*) build "$name" "$kbin/kube-proxy" "$iptables" ;;
    */kube-apiserver:* | */kube-controller-manager:* | */kube-scheduler:*)
      cmd=${name##*/}; build "$name" "$kbin/${cmd%%:*}" ;;
    */etcd:*) build "$name" "$etcd" ;;
    */coredns:*)
      built=v$("$coredns" -version | sed -n 's/^CoreDNS-//p')
      if [ "${name##*:}" = "$built" ]; then build "$name" "$coredns"; else
        echo "control-plane-images: kubeadm $version names $name, but CoreDNS $built is built (tests/go/pins.txt): the cluster will have no DNS" >&2
      fi
      ;;
  esac
done < <("$kbin/kubeadm" config images list --kubernetes-version "$version")
rm -f "$out"
podman save --quiet --multi-image-archive -o "$out" "${names[@]}"
