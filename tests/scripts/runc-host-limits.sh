#!/usr/bin/env bash
# runc for the suites' CRI-O, held to what this machine can grant: before
# `runc create` (and `runc exec`), the process it starts is changed in two ways,
# and no other.
# - process.oomScoreAdj lower than this process's own becomes its own, which is
#   what containerd's `restrict_oom_score_adj` does. CRI-O gives every infra
#   container -998; lowering a score needs CAP_SYS_RESOURCE.
# - Capabilities outside this process's bounding set are dropped, which is what
#   containerd does for a privileged container (it grants the capabilities it
#   holds). CRI-O asks for every capability the kernel knows.
# The capability bounding set of the machines this project runs on lacks
# CAP_SYS_RESOURCE, so runc would otherwise fail every pod sandbox and every
# privileged container. CRI-O has no option for either.
set -euo pipefail
bundle=
process=
prev=
for arg in "$@"; do
  case $prev in --bundle | -b) bundle=$arg ;; --process | -p) process=$arg ;; esac
  case $arg in --bundle=*) bundle=${arg#--bundle=} ;; --process=*) process=${arg#--process=} ;; esac
  prev=$arg
done
# `runc create` reads the bundle's config.json, `runc exec` a process.json
# (the same process object, at the top level).
config=${bundle:+$bundle/config.json}
[ -z "$process" ] || config=$process
if [ -n "$config" ] && [ -f "$config" ]; then
  own=$(cat /proc/self/oom_score_adj)
  bounding=$((16#$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)))
  # Capability numbers, as linux/capability.h lists them.
  names='["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_DAC_READ_SEARCH","CAP_FOWNER","CAP_FSETID",
    "CAP_KILL","CAP_SETGID","CAP_SETUID","CAP_SETPCAP","CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE","CAP_NET_BROADCAST","CAP_NET_ADMIN","CAP_NET_RAW","CAP_IPC_LOCK",
    "CAP_IPC_OWNER","CAP_SYS_MODULE","CAP_SYS_RAWIO","CAP_SYS_CHROOT","CAP_SYS_PTRACE",
    "CAP_SYS_PACCT","CAP_SYS_ADMIN","CAP_SYS_BOOT","CAP_SYS_NICE","CAP_SYS_RESOURCE",
    "CAP_SYS_TIME","CAP_SYS_TTY_CONFIG","CAP_MKNOD","CAP_LEASE","CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL","CAP_SETFCAP","CAP_MAC_OVERRIDE","CAP_MAC_ADMIN","CAP_SYSLOG",
    "CAP_WAKE_ALARM","CAP_BLOCK_SUSPEND","CAP_AUDIT_READ","CAP_PERFMON","CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"]'
  jq --argjson own "$own" --argjson bounding "$bounding" --argjson names "$names" '
    def held: . as $c | ($names | index($c)) as $n
      | $n == null or (($bounding / pow(2; $n) | floor) % 2 == 1);
    def limit: (if (.oomScoreAdj // $own) < $own then .oomScoreAdj = $own else . end)
      | if .capabilities then .capabilities |= with_entries(.value |= map(select(held))) else . end;
    if .process then .process |= limit else limit end' "$config" >"$config.held"
  mv "$config.held" "$config"
fi
exec runc "$@"
