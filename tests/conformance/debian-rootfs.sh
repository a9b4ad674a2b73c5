#!/usr/bin/env bash
# Writes a root file system of Debian 12 packages for the conformance
# suite's stand-in images and kind's kube-proxy image: the packages named and
# what they depend on, unpacked (mmdebstrap's extract variant: no maintainer
# script runs, no essential package is added, /bin and /lib stay directories)
# from the Debian mirror this machine's apt already uses. A tar with every
# time set to SOURCE_DATE_EPOCH (0), so the same packages give the same layer.
# tests/e2e/src/conformance_images.rs lays busybox, users and the images' own
# files beside it; tests/kind/control-plane-images.sh lays kube-proxy on it.
#   tests/conformance/debian-rootfs.sh OUT.tar PACKAGE...
set -euo pipefail
out=${1:?usage: debian-rootfs.sh OUT.tar PACKAGE...}
shift
[ $# -gt 0 ] || { echo "usage: debian-rootfs.sh OUT.tar PACKAGE..." >&2; exit 2; }
fail() { echo "debian-rootfs: $*" >&2; exit 1; }
command -v mmdebstrap >/dev/null || fail "mmdebstrap is not installed (make deps)"
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' |
  awk '$2 == "bookworm" { print $1; exit }')
[ -n "$mirror" ] || fail "apt's sources list names no bookworm mirror"
mkdir -p "$(dirname "$out")"
include=$(IFS=,; echo "$*")
SOURCE_DATE_EPOCH=0 mmdebstrap --quiet --variant=extract --format=tar --include="$include" \
  bookworm "$out.part" "$mirror" || fail "mmdebstrap could not unpack $* from $mirror"
mv "$out.part" "$out"
