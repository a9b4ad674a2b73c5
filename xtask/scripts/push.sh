#!/bin/bash
# Publishes an OCI archive (bin/pause-oci.tar) to a registry as it is: every
# architecture, the image index's digest unchanged (the bytes are copied, not
# rebuilt), and the documents that refer to its images (OCI 1.1 referrers:
# SBOM, provenance). `make push REGISTRY=...` and the registry suites run this.
#
#   xtask/scripts/push.sh ARCHIVE REGISTRY     REGISTRY = [http://|https://]host[:port][/path]
#
# Where it goes and when plain HTTP is allowed: see target.sh.
set -euo pipefail
script=push
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/xtask/scripts/target.sh"
[ $# -eq 2 ] || die "usage: $0 ARCHIVE REGISTRY (host[:port][/path])"
oras=$(pinned oras)
target "$1" "$2"

echo "pushing $name (all platforms, with referrers) to $repository:$tag"
# A registry that is down refuses the connection at once; one that does not
# answer at all is given up on rather than waited for.
status=0
timeout 120 "$oras" cp --no-tty -r --from-oci-layout "$1:$tag" \
  ${plain_http:+--to-plain-http} "$repository:$tag" || status=$?
[ $status -ne 124 ] || echo "push: no answer from $2 within 120 s" >&2
exit $status
