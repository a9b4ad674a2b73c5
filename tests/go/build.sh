#!/usr/bin/env bash
# Builds the Go programs tests/go/pins.txt pins, each from its wrapper module
# tests/go/NAME/, into target/go/NAME/bin/. A program already built from the
# same wrapper files is not built again (target/go/NAME/.stamp); Go's module
# and build caches make a rebuild after a change cheap.
#   tests/go/build.sh NAME...          build these (all pinned names if none)
#   tests/go/build.sh --tidy NAME...   rewrite their go.mod/go.sum for the pin
# Each NAME's directory holds `build` (and may hold `tidy`): shell fragments
# run from that directory with $out (target/go/NAME), $module and $version set.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
pins=$here/pins.txt
export PATH=/usr/local/go/bin:$PATH
command -v go >/dev/null || { echo "tests/go: no Go toolchain (go not on PATH nor in /usr/local/go/bin)" >&2; exit 1; }

pinned() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$pins"; }

# Runs fragment $1 of $dir in a shell of its own: errexit is off inside an
# `if` or `!` (here, in the caller's failure handling), so a fragment sourced
# there would run on past a failed step and report only its last one.
fragment() { (cd "$dir" && bash -euo pipefail -c '. "./$1"' fragment "$1"); }

tidy=0
if [ "${1:-}" = --tidy ]; then tidy=1; shift; fi
names=("$@")
[ ${#names[@]} -gt 0 ] || mapfile -t names < <(pinned | awk '{ print $1 }')

for name in "${names[@]}"; do
  line=$(pinned | awk -v n="$name" '$1 == n')
  [ -n "$line" ] || { echo "tests/go: $name is not in $pins" >&2; exit 1; }
  read -r _ module version <<<"$line"
  dir=$here/$name
  out=$root/target/go/$name
  export out module version
  if [ $tidy = 1 ]; then
    log=$(mktemp)
    # A failed tidy puts the wrapper back, so the last good pin still builds.
    cp "$dir/go.mod" "$log.mod" && cp "$dir/go.sum" "$log.sum"
    if ! if [ -f "$dir/tidy" ]; then fragment tidy; else
      (cd "$dir" && go mod edit -require="$module@$version" && go mod tidy); fi >"$log" 2>&1; then
      cp "$log.mod" "$dir/go.mod" && cp "$log.sum" "$dir/go.sum"
      why=$(grep -v '^go: downloading' "$log" | grep -m1 -E 'go: |error' || tail -n1 "$log")
      # go names the proxy's URL and puts the proxy's reason on the next line.
      grep -q 'version is not available' "$log" && why="the Go module proxy does not serve $module $version"
      echo "tests/go: tidying $name for $module $version failed: $why" >&2
      rm -f "$log" "$log.mod" "$log.sum"
      exit 1
    fi
    rm -f "$log" "$log.mod" "$log.sum"
    continue
  fi
  grep -Eq "^[[:space:]]*(require[[:space:]]+)?$module $version( |$)" "$dir/go.mod" || {
    echo "tests/go/$name/go.mod does not require $module $version as $pins says: run tests/go/build.sh --tidy $name" >&2
    exit 1
  }
  stamp=$(cd "$dir" && cat -- * | sha256sum | cut -c1-64)
  [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ] && continue
  echo "tests/go: building $name ($module $version) into target/go/$name"
  rm -f "$out/.stamp"
  mkdir -p "$out/bin"
  log=$out/build.log
  start=$SECONDS
  if ! fragment build >"$log" 2>&1; then
    echo "tests/go: building $name ($module $version) failed: $(grep -m1 -E 'go: |error|cannot|not available' "$log" || tail -n1 "$log")" >&2
    echo "  (the whole output: $log)" >&2
    exit 1
  fi
  echo "$stamp" >"$out/.stamp"
  echo "tests/go: $name built in $((SECONDS - start)) s"
done
