#!/usr/bin/env bash
# Makes sure a Docker engine answers on the default socket: installs Debian's
# docker.io when the client or daemon is missing and starts dockerd in the
# background (this machine has no init system to do it). Idempotent.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi
log=${DOCKERD_LOG:-/var/log/pause-dockerd.log}
# No registry is reachable here: fail any pull at once instead of timing out.
nohup dockerd --registry-mirror=http://127.0.0.1:9 >"$log" 2>&1 &
for _ in $(seq 1 300); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 0.1
done
echo "dockerd did not come up; its log ($log):" >&2
tail -n 30 "$log" >&2
exit 1
