# Part of tests/kind/check.sh (sourced: uses its kubectl, busybox, name and
# fail). A Deployment of 60 pods spread evenly over the two workers, all
# Running; then deleted, and every one of their sandboxes must have exited:
# containerd reports each sandbox task's exit (ctr events, subscribed before
# the delete) with containerd's own SIGKILL or 0, and no pause process of
# theirs is left on either worker.
spread_pods=60
spread_name=pause-kind-spread
spread_label=app=$spread_name
# In the cluster's directory, which its removal removes, should this be killed.
events_dir=$dir/events
workers=("$name-worker" "$name-worker2")
rm -rf "$events_dir" && mkdir -p "$events_dir"

# Also run by check.sh's clean_up on exit, Ctrl-C and SIGTERM.
stop_events() {
  local node
  for node in "${workers[@]}"; do podman exec "$node" pkill -f '^ctr -n k8s.io events' 2>/dev/null || true; done
  for node in "${workers[@]}"; do [ -z "${events_pids[$node]:-}" ] || wait "${events_pids[$node]}" 2>/dev/null || true; done
  rm -rf "$events_dir"
}
declare -A events_pids

# Starts `ctr events` on NODE into $events_dir/NODE and returns once it is
# live: a namespace label it makes must come through.
subscribe_events() { # NODE
  local node=$1 deadline=$((SECONDS + 30))
  podman exec "$node" timeout 600 ctr -n k8s.io events >"$events_dir/$node" 2>&1 &
  events_pids[$node]=$!
  until grep -q /namespaces/update "$events_dir/$node"; do
    [ $SECONDS -lt $deadline ] || fail "$node: ctr events shows nothing: $(head -c 300 "$events_dir/$node")"
    podman exec "$node" ctr namespaces label k8s.io pause-kind-probe="$SECONDS" >/dev/null
    sleep 0.5
  done
}

pauses() { podman exec "$1" sh -c 'pgrep -x pause | wc -l'; }
declare -A before
for node in "${workers[@]}"; do before[$node]=$(pauses "$node"); done
start=$SECONDS
spread_deployment "$spread_name" "$spread_pods" | "$kubectl" apply -f - >/dev/null
"$kubectl" rollout status "deployment/$spread_name" --timeout=300s >/dev/null ||
  fail "the Deployment of $spread_pods pods is not available: $("$kubectl" get deployment "$spread_name" --no-headers 2>&1)"
took=$((SECONDS - start))
per_node=$("$kubectl" get pods -l "$spread_label" --field-selector=status.phase=Running \
  -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
[ "$per_node" = "$name-worker=30 $name-worker2=30 " ] || fail "the $spread_pods pods are not 30 Running on each worker: $per_node"

declare -A sandboxes
for node in "${workers[@]}"; do
  sandboxes[$node]=$(podman exec "$node" crictl pods -q --label "$spread_label" --state ready)
  [ "$(wc -w <<<"${sandboxes[$node]}")" = 30 ] || fail "$node: crictl lists $(wc -w <<<"${sandboxes[$node]}") ready sandboxes of the Deployment, not 30"
  subscribe_events "$node"
done
echo "test-kind: $spread_pods pods Running ${took} s after kubectl apply, $per_node"

start=$SECONDS
"$kubectl" delete deployment "$spread_name" --wait=true >/dev/null
"$kubectl" wait --for=delete pod -l "$spread_label" --timeout=180s >/dev/null 2>&1 ||
  fail "the Deployment's pods are still there 180 s after its delete"
statuses=()
for node in "${workers[@]}"; do
  for id in ${sandboxes[$node]}; do
    deadline=$((SECONDS + 60))
    until exit=$(grep -m1 "/tasks/exit.*\"container_id\":\"$id\"" "$events_dir/$node"); do
      [ $SECONDS -lt $deadline ] || fail "$node: containerd reported no exit of sandbox $id"
      sleep 0.5
    done
    # Protobuf's JSON leaves out zero values: no exit_status means 0.
    status=$(jq -r '.exit_status // 0' <<<"{${exit#*\{}")
    # containerd's StopPodSandbox kills the sandbox with SIGKILL (137), as
    # for any sandbox image; 0 is pause ending on its own. Anything else is
    # pause dying of something else.
    [ "$status" = 137 ] || [ "$status" = 0 ] || fail "$node: sandbox $id exited with status $status"
    statuses+=("$status")
  done
  [ "$(pauses "$node")" = "${before[$node]}" ] ||
    fail "$node: $(pauses "$node") pause processes run after the Deployment's delete, ${before[$node]} before it"
done
echo "test-kind: deleted in $((SECONDS - start)) s; containerd reported the exit of all ${#statuses[@]} sandboxes, status:" \
  "$(printf '%s\n' "${statuses[@]}" | sort | uniq -c | awk '{ print $2 " (" $1 ")" }' | tr '\n' ' ')"
stop_events
