#!/usr/bin/env bash
# Writes a docker-archive of Debian's busybox-static FROM scratch, tagged with
# the short name deploy/kind/shared-pid-pod.yaml uses, so that `kind load
# image-archive` gives the nodes the workload image no registry can.
#   busybox-image.sh OUT.tar
set -euo pipefail
. "$(dirname "$0")/common.sh"
out=$1
ref=$(busybox_image)
[ -x /bin/busybox ] || { echo "busybox-image: /bin/busybox is missing (make deps: busybox-static)" >&2; exit 1; }
tmp=$(mktemp -d)
tag=localhost/pause-kind-busybox:$$
trap 'podman rmi -f "$tag" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
# bash runs no EXIT trap when a signal it does not trap ends it.
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$tmp/ctx/bin"
cp /bin/busybox "$tmp/ctx/bin/"
for applet in sh sleep cat ps httpd wget timeout nslookup; do ln -s busybox "$tmp/ctx/bin/$applet"; done
printf 'FROM scratch\nCOPY bin /bin\nENV PATH=/bin\n' >"$tmp/ctx/Containerfile"
podman build --quiet --timestamp 0 -t "$tag" "$tmp/ctx" >/dev/null
podman save --quiet --format docker-archive -o "$tmp/podman.tar" "$tag"
# podman writes its own name; containerd's import reads the short name as
# Docker does, to the reference the kubelet asks for.
mkdir "$tmp/x"
tar -C "$tmp/x" -xf "$tmp/podman.tar"
jq --arg n "$ref" '.[0].RepoTags = [$n]' "$tmp/x/manifest.json" >"$tmp/m" && mv "$tmp/m" "$tmp/x/manifest.json"
rm -f "$tmp/x/repositories"
tar -C "$tmp/x" -cf "$out" .
