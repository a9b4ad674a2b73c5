#!/usr/bin/env bash
# Builds the two programs critest's test images need that no Debian package
# has, into target/critest/:
# - busybox: the busybox critest's images are built from upstream has `pgrep`
#   and `ipcs` (critest runs both) and a shell that runs commands from their
#   files (critest masks /bin/ls and expects `sh -c ls` to fail);
#   Debian's busybox-static has neither applet and its shell runs applets
#   without looking at their files. So busybox's own source, Debian 12's
#   upstream tarball (its sha256 pinned below), fetched with apt on a private
#   list directory, configured with busybox's defconfig, linked statically.
# - nonewprivs: tests/critest/nonewprivs.c, linked statically; the image
#   installs it setuid root.
# Each is built once: a later run finds it and its stamp and does nothing.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/target/critest
tarball=busybox_1.35.0.orig.tar.bz2
tarball_sha256=faeeb244c35a348a334f4a59e44626ee870fb07b6884d68c10ae8bc19f83a694
mkdir -p "$out"

nnp_src=$root/tests/critest/nonewprivs.c
nnp_stamp=$(sha256sum "$nnp_src" | cut -c1-64)
if [ "$(cat "$out/nonewprivs.stamp" 2>/dev/null)" != "$nnp_stamp" ]; then
  gcc -static -O2 -Wall -Werror -o "$out/nonewprivs" "$nnp_src"
  echo "$nnp_stamp" >"$out/nonewprivs.stamp"
fi

[ "$(cat "$out/busybox.stamp" 2>/dev/null)" = "$tarball_sha256" ] && [ -x "$out/busybox" ] && exit 0

work=$out/busybox-build
rm -rf "$work"
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" \
  >"$work/apt/sources.list"
apt=(-o "Dir::State::Lists=$work/apt/lists" -o "Dir::Etc::sourcelist=$work/apt/sources.list"
  -o Dir::Etc::sourceparts=/nonexistent -o "Dir::Cache=$work/apt/cache" -o Acquire::Languages=none)
echo "critest: building busybox from Debian 12's source package into $out (about 1 min)"
start=$SECONDS
fetch_failed() {
  echo "critest: cannot fetch busybox's source package from Debian 12's archive ($1; apt's lists: $work/apt)" >&2
  exit 1
}
# apt-get update only warns when the archive is out of reach; its last
# warning is then the cause worth naming.
apt-get -qq "${apt[@]}" update 2>"$work/update.err" || fetch_failed "$(tail -n1 "$work/update.err")"
(cd "$work" && apt-get -qq "${apt[@]}" -o APT::Sandbox::User=root source --download-only busybox \
  </dev/null >/dev/null 2>"$work/source.err") ||
  fetch_failed "$(cat "$work/update.err" "$work/source.err" | grep -m1 -E '^(W|E):' || tail -n1 "$work/source.err")"
got=$(sha256sum "$work/$tarball" 2>/dev/null | cut -c1-64) || true
if [ "$got" != "$tarball_sha256" ]; then
  echo "critest: Debian 12's busybox source is not $tarball with sha256 $tarball_sha256 (got: ${got:-no such file}; $(ls "$work" | tr '\n' ' '))" >&2
  exit 1
fi
tar -xjf "$work/$tarball" -C "$work"
src=$(echo "$work"/busybox-*/)
log=$work/build.log
if ! (cd "$src" && make defconfig && sed -i 's/^# CONFIG_STATIC is not set$/CONFIG_STATIC=y/' .config &&
  grep -qx CONFIG_STATIC=y .config && make -j"$(nproc)" busybox) >"$log" 2>&1; then
  echo "critest: building busybox failed: $(grep -m1 -iE 'error' "$log" || tail -n1 "$log") (the whole output: $log)" >&2
  exit 1
fi
cp "$src/busybox" "$out/busybox"
echo "$tarball_sha256" >"$out/busybox.stamp"
rm -rf "$work"
echo "critest: busybox built in $((SECONDS - start)) s"
