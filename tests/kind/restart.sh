# Part of tests/kind/check.sh (sourced after its network checks: uses its
# kubectl, name, fail, fetch and pinned_on, and the pods web on $name-worker
# and client on $name-worker2). The worker that runs web is restarted (`podman restart`,
# as a kind user restarts a node with their provider): web must come back in
# a new sandbox, the sandbox image must still be on the node and pinned, and
# client must reach web again once the pod network is set up again (the
# node lost its routes with its network namespace, and podman gave it a new
# address: what kindnetd follows by itself, `cluster.sh network` does once).
restarted=$name-worker
sandbox_of_web() { podman exec "$restarted" crictl pods -q --name web --state ready 2>/dev/null || true; }
old=$(sandbox_of_web)
[ -n "$old" ] || fail "$restarted: web has no ready sandbox before the restart"
start=$SECONDS
# podman warns when systemd takes more than 10 s to stop: only a failure is worth a line.
why=$(podman restart --time 10 "$restarted" 2>&1) || fail "podman restart $restarted failed: $why"
deadline=$((SECONDS + 180))
until new=$(sandbox_of_web) && [ -n "$new" ] && [ "$new" != "$old" ] &&
  "$kubectl" wait --for=condition=Ready pod/web --timeout=1s >/dev/null 2>&1; do
  [ $SECONDS -lt $deadline ] || fail "web is not back on $restarted 180 s after its restart (sandbox '${new:-none}')"
  sleep 2
done
"$root/tests/kind/cluster.sh" network || fail "the pod network could not be set up again after $restarted's restart"
pinned=$(pinned_on "$restarted" "$expect")
[ "$pinned" = true ] || fail "$restarted: after its restart the sandbox image $expect is not there pinned ($pinned)"
ip=$("$kubectl" get pod web -o jsonpath='{.status.podIP}')
why=$(fetch "http://$ip:8080/hostname") || fail "after $restarted's restart, a pod on $name-worker2 cannot reach web ($ip): $why"
echo "test-kind: $restarted restarted: web back in a new sandbox after $((SECONDS - start)) s, $expect still pinned, web ($ip) reached from $name-worker2"
