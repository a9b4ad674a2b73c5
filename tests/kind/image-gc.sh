# Part of tests/kind/check.sh (sourced after registry.sh; uses its kubectl,
# name, dir, expect, fail and pinned_on, and common.sh's run_kind). kubelet's image GC on a worker keeps
# the sandbox image: that worker's kubelet is restarted with disk-pressure
# thresholds any disk in use meets (less than 99% free), so that its eviction
# manager runs the image GC (DeleteUnusedImages) every 10 s, not once in 5
# minutes as its own loop would with a threshold in percent. An image no
# container uses and containerd does not pin (a canary loaded for this) must
# go; the sandbox image, which no container uses either, must stay, pinned.
# kubelet is then restarted as it was, the workload image the GC also took
# (no pod used it there) is loaded again, and the node is schedulable again.
collected=$name-worker2
canary=localhost/pause-kind-gc-canary:$$
canary_archive=$dir/gc-canary.tar
kubelet_env=/etc/default/kubelet
# Undoes what the check changed, if it did (also check.sh's clean_up): the
# canary's tag on the host, kubelet as it was, and the workload image the GC
# may have taken loaded again.
undo_gc_check() {
  podman rmi -f "$canary" >/dev/null 2>&1 || true
  podman exec "$collected" test -f "$kubelet_env.pause-kind" || return 0
  podman exec "$collected" sh -ec "mv $kubelet_env.pause-kind $kubelet_env; systemctl restart kubelet" || return 1
  local why
  why=$(run_kind "$dir/load-busybox-again.log" load image-archive "$dir/busybox.tar" --name "$name" --nodes "$collected") ||
    { echo "test-kind: kind load of busybox again failed: $why" >&2; return 1; }
}

# A canary image of its own (its own ID), unused and unpinned on the node.
mkdir -p "$dir/gc-canary"
echo "$canary" >"$dir/gc-canary/canary"
printf 'FROM scratch\nCOPY canary /canary\n' >"$dir/gc-canary/Containerfile"
podman build --quiet --timestamp 0 -t "$canary" "$dir/gc-canary" >/dev/null || fail "the canary image could not be built"
rm -f "$canary_archive"
podman save --quiet --format docker-archive -o "$canary_archive" "$canary" || fail "the canary image could not be saved"
why=$(run_kind "$dir/load-canary.log" load image-archive "$canary_archive" --name "$name" --nodes "$collected") ||
  fail "kind load of the canary failed: $why"
# The GC keeps images in use, and the eviction manager would evict the
# pods that use them: none of the checks' pods stays on this node.
"$kubectl" delete pod client pulled --ignore-not-found --wait=true >/dev/null

# Flags win over kubelet's config file (kind's turns disk pressure off).
gc_since=$(date +%s)
podman exec "$collected" sh -ec "cp $kubelet_env $kubelet_env.pause-kind
  . $kubelet_env.pause-kind
  echo \"KUBELET_EXTRA_ARGS=\$KUBELET_EXTRA_ARGS --eviction-hard=nodefs.available<99%,imagefs.available<99% --minimum-image-ttl-duration=1s\" >$kubelet_env
  systemctl restart kubelet" || fail "$collected: kubelet could not be restarted with disk pressure"
deadline=$((SECONDS + 90))
while podman exec "$collected" crictl inspecti "$canary" >/dev/null 2>&1; do
  [ $SECONDS -lt $deadline ] || fail "$collected: kubelet's image GC did not remove the unused canary $canary in 90 s"
  sleep 1
done
pinned=$(pinned_on "$collected" "$expect")
[ "$pinned" = true ] || fail "$collected: kubelet's image GC removed the sandbox image $expect ($pinned)"
removed=$(podman exec "$collected" journalctl -u kubelet --since "@$gc_since" | grep -c '"Removing image to free bytes"' || true)
echo "test-kind: $collected: kubelet's image GC removed $removed unused images, the canary among them; $expect stays, pinned"

undo_gc_check || fail "$collected: kubelet could not be restarted as it was"
"$kubectl" wait --for=condition=DiskPressure=False "node/$collected" --timeout=120s >/dev/null ||
  fail "$collected is still under disk pressure after kubelet's restart"
deadline=$((SECONDS + 120))
while "$kubectl" get node "$collected" -o jsonpath='{.spec.taints[*].key}' | grep -q disk-pressure; do
  [ $SECONDS -lt $deadline ] || fail "$collected keeps its disk-pressure taint 120 s after the pressure ended"
  sleep 1
done
