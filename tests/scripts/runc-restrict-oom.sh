#!/usr/bin/env bash
# runc for the suites' CRI-O: before `runc create`, a bundle whose
# process.oomScoreAdj is lower than this process's own gets its own instead,
# which is what containerd's `restrict_oom_score_adj` does. CRI-O gives every
# infra container -998; lowering a score needs CAP_SYS_RESOURCE, which the
# capability bounding set of the machines this project runs on lacks, so runc
# would fail every pod sandbox. CRI-O has no such option. Nothing else changes.
set -euo pipefail
bundle=
prev=
for arg in "$@"; do
  case $prev in --bundle | -b) bundle=$arg ;; esac
  case $arg in --bundle=*) bundle=${arg#--bundle=} ;; esac
  prev=$arg
done
config=${bundle:+$bundle/config.json}
if [ -n "$config" ] && [ -f "$config" ]; then
  own=$(cat /proc/self/oom_score_adj)
  jq --argjson own "$own" \
    'if (.process.oomScoreAdj // $own) < $own then .process.oomScoreAdj = $own else . end' \
    "$config" >"$config.restricted"
  mv "$config.restricted" "$config"
fi
exec runc "$@"
