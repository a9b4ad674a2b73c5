# Sourced by push.sh and sign.sh: where in REGISTRY the image of ARCHIVE goes,
# and how to speak to it. After `target ARCHIVE REGISTRY`:
#   name, tag      the image's name and tag, as the packer wrote them into index.json
#   index_digest   the image index's digest (what nodes resolve the tag to)
#   repository     REGISTRY/<name without its registry host>: the path a node
#                  asks a mirror of the image's registry for
#                  (localhost/pause:1.0 in 127.0.0.1:5000 -> 127.0.0.1:5000/pause)
#   plain_http     1 for a registry on loopback (127.0.0.0/8, ::1, localhost)
#                  unless https:// was asked for; empty otherwise
# REGISTRY = [http://|https://]host[:port][/path]. Plain HTTP only to
# loopback: http:// to any other host is refused.

die() { echo "$script: $*" >&2; exit 2; }

target() {
  local archive=$1 registry=$2 index scheme= hostport host
  [ -f "$archive" ] || die "$archive missing: run \`make oci\`"
  index=$(tar -xOf "$archive" index.json) || die "$archive has no index.json"
  # The image index is the entry that names the image; referrers sit beside it.
  name=$(printf '%s' "$index" | jq -r '[.manifests[] | select(.annotations["io.containerd.image.name"])][0].annotations["io.containerd.image.name"] // empty')
  tag=$(printf '%s' "$index" | jq -r '[.manifests[] | select(.annotations["io.containerd.image.name"])][0].annotations["org.opencontainers.image.ref.name"] // empty')
  index_digest=$(printf '%s' "$index" | jq -r '[.manifests[] | select(.annotations["io.containerd.image.name"])][0].digest // empty')
  [ -n "$name" ] && [ -n "$tag" ] && [ -n "$index_digest" ] ||
    die "$archive names no image (index.json annotations)"
  local path=${name%:"$tag"}
  # The first component is a registry host when it has a dot or a port, or is localhost.
  case ${path%%/*} in
    *.*|*:*|localhost) path=${path#*/} ;;
  esac

  case $registry in
    http://*) scheme=http; registry=${registry#http://} ;;
    https://*) scheme=https; registry=${registry#https://} ;;
  esac
  [ -n "$registry" ] || die "no registry given"
  hostport=${registry%%/*}
  case $hostport in
    \[*\]*) host=${hostport%%]*}; host=${host#[} ;;
    *) host=${hostport%%:*} ;;
  esac
  plain_http=
  case $host in
    127.*|::1|localhost) [ "$scheme" = https ] || plain_http=1 ;;
    *) [ "$scheme" != http ] ||
         die "refusing plain HTTP to $host: plain HTTP is only for a registry on loopback" \
           "(127.0.0.0/8, ::1, localhost); use https://$registry (or just $registry), over TLS" ;;
  esac
  repository=${registry%/}/$path
}

# A pinned program from tests/debian-pins.txt (`make deps-pinned`).
pinned() {
  local bin=$root/target/debian/$1/usr/bin/$1
  [ -x "$bin" ] || die "$bin missing: run \`make deps-pinned\`"
  echo "$bin"
}
