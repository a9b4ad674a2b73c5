#!/usr/bin/env bash
# Assembles a kind node image offline, doing what kind's pkg/build/nodeimage
# and images/base do, from Debian packages and Go modules only:
#   a bookworm systemd root file system (mmdebstrap, from the mirror apt's own
#   sources list names), kind's entrypoint and units (the sigs.k8s.io/kind
#   module), containerd 2.1 (tests/debian-pins.txt) with kind's version 2
#   config, Debian's runc and CNI plugins, kubeadm/kubelet/kubectl, crictl,
#   and the control-plane images built here (FROM scratch; kube-proxy's on
#   Debian's iptables), imported into the node's containerd (namespace
#   k8s.io, pinned) as kind imports them.
# The result is the podman image $KIND_NODE_IMAGE.
#   tests/kind/node-image.sh   (make kind-node-image)
set -euo pipefail

. "$(dirname "$0")/common.sh"
image=${KIND_NODE_IMAGE:-localhost/pause-kind-node:latest}
work=$root/target/kind/node-image
kbin=$root/target/go/$k8s/bin
etcd=$root/target/go/etcd/bin/etcd
coredns=$root/target/go/coredns/bin/coredns
ctrd=$root/target/debian/containerd-2.1/usr/bin
sandbox=$root/bin/pause-oci.tar
export PATH=/usr/local/go/bin:$PATH

fail() { echo "kind-node-image: $*" >&2; exit 1; }
crictl=$root/target/go/cri-tools/bin/crictl
for f in "$kbin/kubeadm" "$kbin/kubelet" "$kbin/kubectl" "$etcd" "$coredns" "$ctrd/containerd" "$sandbox" "$crictl"; do
  [ -e "$f" ] || fail "$f is missing (make deps-go deps-pinned oci)"
done
command -v mmdebstrap >/dev/null || fail "mmdebstrap is not installed (make deps)"
command -v podman >/dev/null || fail "podman is not installed (make deps)"
kindsrc=$(cd "$root/tests/go/kind" && go list -m -f '{{.Dir}}' sigs.k8s.io/kind)
[ -d "$kindsrc/images/base/files" ] || fail "the sigs.k8s.io/kind module is not in the module cache (make deps-go)"
version=$("$kbin/kubeadm" version -o short)

# The Debian mirror this machine's apt already uses for bookworm.
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' |
  awk '$2 == "bookworm" { print $1; exit }')
[ -n "$mirror" ] || fail "apt's sources list names no bookworm mirror"

rm -rf "$work"
mkdir -p "$work"
rootfs=$work/rootfs
# kind's base image installs these (jq: its mount-product-files.sh hook runs
# in every container start; left out: what only its rootless and storage
# extras need).
mmdebstrap --quiet --variant=minbase \
  --include=systemd,systemd-sysv,dbus,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,bash,ca-certificates,procps,runc,containernetworking-plugins,socat,jq \
  bookworm "$rootfs" "$mirror" || fail "mmdebstrap could not build the root file system from $mirror"

# kind's files: entrypoint, units, containerd config, kubelet drop-ins.
cp -r "$kindsrc/images/base/files/." "$rootfs/"
chmod -R u+w "$rootfs/kind" "$rootfs/etc" "$rootfs/usr/local"
chmod 755 "$rootfs"/usr/local/bin/* "$rootfs"/kind/bin/* "$rootfs/kind" "$rootfs/kind/bin"
# Nothing on this machine may lower an oom_score_adj (no CAP_SYS_RESOURCE):
# containerd must clamp kubelet's -998 to its own score, or no pod starts.
sed -i 's/^\(\s*restrict_oom_score_adj\s*=\s*\)false/\1true/' "$rootfs/etc/containerd/config.toml"
grep -q 'restrict_oom_score_adj = true' "$rootfs/etc/containerd/config.toml" ||
  fail "kind's containerd config no longer sets restrict_oom_score_adj"

# The systemd setup kind's base image makes.
(
  cd "$rootfs"
  find lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
  rm -f lib/systemd/system/multi-user.target.wants/* etc/systemd/system/*.wants/* \
    lib/systemd/system/local-fs.target.wants/* lib/systemd/system/sockets.target.wants/*udev* \
    lib/systemd/system/sockets.target.wants/*initctl* lib/systemd/system/basic.target.wants/*
  echo ReadKMsg=no >>etc/systemd/journald.conf
  mkdir -p etc/kubernetes/manifests opt/cni/bin
)
chroot "$rootfs" systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
chroot "$rootfs" systemctl mask systemd-binfmt.service >/dev/null 2>&1

# containerd 2.1, its CRI base spec as kind generates it; runc and CNI plugins
# from Debian (kind's nodes look for the plugins in /opt/cni/bin).
cp "$ctrd/containerd" "$ctrd/ctr" "$ctrd/containerd-shim-runc-v2" "$rootfs/usr/local/bin/"
"$ctrd/ctr" oci spec |
  jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' |
  jq 'del(.process.rlimits)' >"$rootfs/etc/containerd/cri-base.json"
cp "$rootfs"/usr/lib/cni/* "$rootfs/opt/cni/bin/"
cp "$kbin/kubeadm" "$kbin/kubelet" "$kbin/kubectl" "$rootfs/usr/bin/"
# crictl (cri-tools, tests/go/pins.txt), as kind's base image has it; kind's
# files hold its /etc/crictl.yaml.
cp "$crictl" "$rootfs/usr/local/bin/"
mkdir -p "$rootfs/kind"
echo "$version" >"$rootfs/kind/version"
# The cluster runs without kindnetd (its image cannot be pulled here):
# tests/kind/cluster.sh writes each node's CNI config and routes instead.
mkdir -p "$rootfs/etc/cni/net.d"

# The control-plane images under the names kubeadm asks for, FROM scratch with
# the static binaries built here; kube-proxy's on Debian's iptables.
"$root/tests/conformance/debian-rootfs.sh" "$work/iptables-rootfs.tar" iptables conntrack
"$root/tests/kind/control-plane-images.sh" "$work/images.tar" "$version" "$kbin" "$etcd" "$work/iptables-rootfs.tar" "$coredns"

# Import them, and the sandbox image the cluster config names (kubeadm's
# static pods need it before `kind load` can run), into the node's containerd
# as kind does: namespace k8s.io, not unpacked, pinned. containerd runs on
# this host against the root file system's /var/lib/containerd, briefly.
"$root/tests/kind/import-images.sh" "$rootfs" "$ctrd" "$work/images.tar" "$sandbox"

tar -C "$rootfs" -cf "$work/rootfs.tar" .
podman rmi -f "$image" >/dev/null 2>&1 || true
podman import \
  --change 'ENV container=docker' \
  --change 'STOPSIGNAL SIGRTMIN+3' \
  --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
  --quiet "$work/rootfs.tar" "$image" >/dev/null || fail "podman import of the root file system failed"
rm -rf "$rootfs" "$work/rootfs.tar"
echo "kind-node-image: $image (Kubernetes $version, $(podman image inspect -f '{{.Size}}' "$image" | numfmt --to=iec) B)"
