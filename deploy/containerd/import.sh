#!/bin/sh
# Loads the pause image into containerd for kubelet, on a node that pulls
# nothing (air-gapped), and pins it so that kubelet's image garbage
# collection never removes it.
#
#   deploy/containerd/import.sh ARCHIVE [ADDRESS [NAMESPACE]]
#
# ARCHIVE is bin/pause-oci.tar (`make oci`); ADDRESS is containerd's socket
# (default /run/containerd/containerd.sock), NAMESPACE kubelet's (k8s.io).
# Runs the `ctr` first on PATH: use the one of the node's containerd.
#
# Why the label: kubelet (1.29 and later) keeps an image no container uses
# only if the runtime reports it pinned. containerd 1.7 and 2.x pin the image
# their config names as the sandbox image however it was loaded (1.7 releases
# before containerd/containerd#9732 only if their CRI plugin pulled it
# itself: containerd/containerd#9726), but not an image loaded before the
# config names it, as in an upgrade: the label pins that one too.
# containerd 1.6 reports no image pinned, label or not (see the README).
set -eu

usage() {
	echo "usage: $0 ARCHIVE [ADDRESS [NAMESPACE]]" >&2
	exit 2
}

[ $# -ge 1 ] && [ $# -le 3 ] || usage
archive=$1
address=${2:-/run/containerd/containerd.sock}
namespace=${3:-k8s.io}
label=io.cri-containerd.pinned=pinned

[ -f "$archive" ] || { echo "$0: $archive: no such archive" >&2; exit 1; }
command -v ctr >/dev/null || { echo "$0: ctr not found on PATH" >&2; exit 1; }

# The names this archive gives its images: containerd's annotation in the
# OCI layout's index.json (written compact by `make oci`).
names=$(tar -xOf "$archive" index.json |
	grep -o '"io.containerd.image.name":"[^"]*"' | cut -d'"' -f4)
[ -n "$names" ] || { echo "$0: $archive names no image (io.containerd.image.name)" >&2; exit 1; }

ctr --address "$address" -n "$namespace" images import "$archive"
for name in $names; do
	ctr --address "$address" -n "$namespace" images label "$name" "$label"
done
