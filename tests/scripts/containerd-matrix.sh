#!/usr/bin/env bash
# Fetches the containerd packages that tests/e2e/containerd-matrix.txt pins
# from Debian's archive and unpacks each into target/containerd/VERSION/
# (containerd, containerd-shim-runc-v2 and ctr from the same package).
# Nothing is installed into the system: apt works on a private list
# directory, cache and sources file under target/containerd/apt/. A version
# already unpacked is not fetched again; the lists are fetched only when a
# version is missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
pins=$root/tests/e2e/containerd-matrix.txt
out=$root/target/containerd
apt_dir=$out/apt

# One "series suite version" line per pinned package, comments dropped.
pinned() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$pins"; }

missing=$(pinned | while read -r _ _ version; do
  [ -x "$out/$version/usr/bin/containerd" ] || echo "$version"; done)
[ -z "$missing" ] && exit 0

mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$out/debs"
pinned | awk '{ print $2 }' | sort -u | while read -r suite; do
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main"
done >"$apt_dir/sources.list"
apt=(-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Etc::sourcelist=$apt_dir/sources.list"
  -o Dir::Etc::sourceparts=/nonexistent -o "Dir::Cache=$apt_dir/cache"
  -o Acquire::Languages=none
  -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
  -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
  -o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false)
echo "containerd matrix: fetching $(echo $missing) from Debian's archive into $out"
apt-get -qq "${apt[@]}" update

pinned | while read -r series suite version; do
  [ -x "$out/$version/usr/bin/containerd" ] && continue
  if ! apt-cache "${apt[@]}" madison containerd | grep -qF "| $version |"; then
    echo "containerd $version ($series) is not (or no longer) in Debian $suite; the archive has:" >&2
    apt-cache "${apt[@]}" madison containerd >&2
    echo "update $pins" >&2
    exit 1
  fi
  # apt's sandbox user cannot write under target/: download as root, quietly.
  (cd "$out/debs" && apt-get -qq "${apt[@]}" -o APT::Sandbox::User=root download "containerd=$version")
  deb=$out/debs/containerd_${version/:/%3a}_$(dpkg --print-architecture).deb
  rm -rf "$out/$version.new"
  dpkg -x "$deb" "$out/$version.new"
  mv "$out/$version.new" "$out/$version"
  rm "$deb" # the unpacked tree is the cache
  "$out/$version/usr/bin/containerd" --version
done
# Only a missing version needs the lists again, and then they are refetched.
rm -rf "$apt_dir"
