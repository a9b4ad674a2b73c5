# Part of tests/kind/check.sh (sourced; uses its kubectl, name, expect, fail,
# sandbox_of and busybox). The sandbox image pulled instead of loaded: on one worker a
# registry (Debian's docker-registry) listens on the node's loopback, holding
# bin/pause-oci.tar as `make push` publishes it; the node's hosts.toml for
# `localhost` points containerd at it (the cluster's config_path patch). The
# loaded image is removed from that node, and the next pod there makes
# containerd pull its sandbox: the pod must run, the image must come from
# the registry (its access log), be the archive's index and be pinned.
puller=$name-worker2
registry_dir=$dir/registry
registry_pid=
hosts_toml=/etc/containerd/certs.d/localhost/hosts.toml
# Also check.sh's clean_up: the registry stopped, and the node's hosts.toml
# gone with it (containerd would otherwise ask a port nobody serves).
stop_registry() {
  [ -z "$registry_pid" ] || { kill "$registry_pid" 2>/dev/null; wait "$registry_pid" 2>/dev/null; registry_pid=; } || true
  podman exec "$puller" rm -f "$hosts_toml" 2>/dev/null || true
}
node_pid=$(podman inspect -f '{{.State.Pid}}' "$puller") || fail "$puller: podman knows no process of it"
in_node_netns() { nsenter -t "$node_pid" -n "$@"; }
port=$(in_node_netns python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
  fail "$puller: no free port on its loopback"
rm -rf "$registry_dir" && mkdir -p "$registry_dir"
cat >"$registry_dir/config.yml" <<YAML
version: 0.1
log: {level: warn, formatter: text, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $registry_dir/storage}}
http: {addr: 127.0.0.1:$port}
YAML
# nsenter execs the registry, so its pid is the registry's. cluster.sh
# delete kills it by its command line, should this run be killed (kill -9).
nsenter -t "$node_pid" -n docker-registry serve "$registry_dir/config.yml" >"$registry_dir/log" 2>&1 &
registry_pid=$!
deadline=$((SECONDS + 30))
until in_node_netns curl -sf "http://127.0.0.1:$port/v2/" >/dev/null; do
  kill -0 "$registry_pid" 2>/dev/null || fail "the registry on $puller did not start: $(tail -n1 "$registry_dir/log")"
  [ $SECONDS -lt $deadline ] || fail "the registry on $puller does not answer on 127.0.0.1:$port"
  sleep 0.2
done
why=$(in_node_netns "$root/xtask/scripts/push.sh" "$root/bin/pause-oci.tar" "127.0.0.1:$port" 2>&1) ||
  fail "could not push bin/pause-oci.tar to the registry on $puller: $(tail -n1 <<<"$why")"
podman exec -i "$puller" sh -ec "mkdir -p ${hosts_toml%/*}; cat >$hosts_toml" <<TOML
server = "http://127.0.0.1:$port"
[host."http://127.0.0.1:$port"]
  capabilities = ["pull", "resolve"]
TOML
why=$(podman exec "$puller" crictl rmi "$expect" 2>&1) || fail "$puller: crictl rmi $expect failed: $why"
! podman exec "$puller" crictl inspecti "$expect" >/dev/null 2>&1 || fail "$puller: $expect is still there after crictl rmi"
"$kubectl" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: pulled}
spec:
  nodeName: $puller
  terminationGracePeriodSeconds: 1
  containers: [{name: sleep, image: $busybox, command: [sleep, "3600"]}]
YAML
"$kubectl" wait --for=condition=Ready pod/pulled --timeout=120s >/dev/null ||
  fail "pod pulled on $puller did not become Ready with its sandbox image to pull: $("$kubectl" get events --field-selector involvedObject.name=pulled -o jsonpath='{.items[-1:].message}')"
index=$(tar -xOf "$root/bin/pause-oci.tar" index.json |
  jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "0.1.0") | .digest')
image=$(podman exec "$puller" crictl inspecti -o json "$expect") || fail "$puller: $expect is not there after the pull"
jq -e --arg d "localhost/pause@$index" '.status.pinned and (.status.repoDigests | index($d))' <<<"$image" >/dev/null ||
  fail "$puller: the pulled $expect is not the archive's index $index, pinned: $(jq -c '.status | {repoDigests, pinned}' <<<"$image")"
grep -q "\"GET /v2/pause/manifests/$index?ns=localhost HTTP/1.1\" 200" "$registry_dir/log" ||
  fail "containerd on $puller fetched no index $index from the registry: $(tail -n3 "$registry_dir/log")"
sandbox=$(podman exec "$puller" crictl pods -q --name pulled --state ready)
seen=$(sandbox_of "$puller" "$sandbox")
[ "$seen" = "$expect /pause 65535" ] || fail "$puller: the pulled sandbox is '$seen', not '$expect /pause 65535'"
stop_registry
echo "test-kind: $puller pulled $expect ($index) from a registry on its loopback through hosts.toml, pinned; pod pulled runs /pause as 65535 in it"
