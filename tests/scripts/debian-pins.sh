#!/usr/bin/env bash
# Fetches the packages tests/debian-pins.txt pins from Debian's archive and
# unpacks each into target/debian/NAME/ (its files under usr/bin/ and so on),
# writing the version it holds to target/debian/NAME/.version. Nothing is
# installed into the system: apt works on a private list directory, cache and
# sources file under target/debian/apt/, fetched only when something is missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
pins=$root/tests/debian-pins.txt
out=$root/target/debian
apt_dir=$out/apt

# One "name suite package version" line per pin, comments dropped.
pinned() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$pins"; }
holds() { [ "$(cat "$out/$1/.version" 2>/dev/null)" = "$2" ]; }

missing=$(pinned | while read -r name _ _ version; do
  holds "$name" "$version" || echo "$name"; done)
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
echo "Debian pins: fetching $(echo $missing) from Debian's archive into $out"
apt-get -qq "${apt[@]}" update

pinned | while read -r name suite package version; do
  holds "$name" "$version" && continue
  if ! apt-cache "${apt[@]}" madison "$package" </dev/null |
    awk -F'|' -v v="$version" '{ gsub(/ /, "", $2) } $2 == v { found = 1 } END { exit !found }'; then
    echo "$package $version ($name) is not (or no longer) in Debian $suite; the archive has:" >&2
    apt-cache "${apt[@]}" madison "$package" >&2
    echo "update $pins" >&2
    exit 1
  fi
  # apt's sandbox user cannot write under target/: download as root, quietly.
  (cd "$out/debs" && apt-get -qq "${apt[@]}" -o APT::Sandbox::User=root download "$package=$version" </dev/null)
  deb=$out/debs/${package}_${version/:/%3a}_$(dpkg --print-architecture).deb
  rm -rf "$out/$name.new" "$out/$name"
  dpkg -x "$deb" "$out/$name.new"
  echo "$version" >"$out/$name.new/.version"
  mv "$out/$name.new" "$out/$name"
  rm "$deb" # the unpacked tree is the cache
  echo "$name: $package $version"
done
rm -rf "$apt_dir"
