#!/usr/bin/env bash
# Writes the root file system of the conformance suite's nginx stand-in:
# Debian 12's nginx-light and what it depends on, unpacked (mmdebstrap's
# extract variant: no maintainer script runs, no essential package is added)
# from the Debian mirror this machine's apt already uses. A tar with every
# time set to SOURCE_DATE_EPOCH (0), so the same packages give the same layer.
# tests/e2e/src/conformance_images.rs adds users, the site and the logs.
#   tests/conformance/nginx-rootfs.sh OUT.tar
set -euo pipefail
out=${1:?usage: nginx-rootfs.sh OUT.tar}
fail() { echo "nginx-rootfs: $*" >&2; exit 1; }
command -v mmdebstrap >/dev/null || fail "mmdebstrap is not installed (make deps)"
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' |
  awk '$2 == "bookworm" { print $1; exit }')
[ -n "$mirror" ] || fail "apt's sources list names no bookworm mirror"
mkdir -p "$(dirname "$out")"
SOURCE_DATE_EPOCH=0 mmdebstrap --quiet --variant=extract --format=tar --include=nginx-light \
  bookworm "$out.part" "$mirror" || fail "mmdebstrap could not unpack nginx-light from $mirror"
mv "$out.part" "$out"
