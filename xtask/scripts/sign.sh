#!/bin/bash
# Signs the image `push.sh` published, by digest, with cosign and a key pair
# (`cosign generate-key-pair`), and attests each platform's SBOM and SLSA
# provenance, and the index's (the whole release's), the very documents
# bin/pause-oci.tar carries as referrers: each about the digest it refers to.
# `make sign REGISTRY=... KEY=cosign.key` runs this; the key's password comes
# from COSIGN_PASSWORD, as cosign reads it.
#
#   xtask/scripts/sign.sh ARCHIVE REGISTRY KEY
#
# TLOG=0 signs without a transparency log (for a registry on loopback with no
# way out, as the tests have): nothing records when the key signed, so a
# signature made with a stolen key cannot be told from a genuine one by its
# log entry. With TLOG=1 (the default) cosign records every signature in the
# public Rekor log, as `cosign verify` expects by default.
set -euo pipefail
script=sign
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/xtask/scripts/target.sh"
[ $# -eq 3 ] || die "usage: $0 ARCHIVE REGISTRY KEY"
archive=$1 key=$3
[ -f "$key" ] || die "key $key missing (make one with: cosign generate-key-pair)"
cosign=$(pinned cosign)
target "$archive" "$2"

flags=(--yes --key "$key")
[ -z "$plain_http" ] || flags+=(--allow-http-registry)
[ "${TLOG:-1}" = 1 ] || flags+=(--use-signing-config=false --tlog-upload=false)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xf "$archive" -C "$work" index.json blobs
blob() { echo "$work/blobs/${1/://}"; }

echo "signing $repository@$index_digest ($name)"
"$cosign" sign "${flags[@]}" "$repository@$index_digest"

# Each referrer's document, attested about the image it refers to: the SBOM
# as-is (CycloneDX), the provenance statement's predicate (cosign wraps it
# in a statement of its own about the same digest).
jq -r '.manifests[] | select(.artifactType) | "\(.artifactType) \(.digest)"' "$work/index.json" |
  while read -r type digest; do
    manifest=$(blob "$digest")
    subject=$(jq -r .subject.digest "$manifest")
    document=$(blob "$(jq -r '.layers[0].digest' "$manifest")")
    case $type in
      application/vnd.cyclonedx+json) kind=cyclonedx; predicate=$document ;;
      application/vnd.in-toto+json)
        kind=slsaprovenance1; predicate=$work/predicate.json
        jq .predicate "$document" >"$predicate" ;;
      *) echo "sign: skipping referrer $digest of unknown type $type" >&2; continue ;;
    esac
    echo "attesting $kind of $repository@$subject"
    "$cosign" attest "${flags[@]}" --type "$kind" --predicate "$predicate" "$repository@$subject" </dev/null
  done
