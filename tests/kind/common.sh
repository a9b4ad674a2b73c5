# Sourced by the kind scripts: which cluster, where its files live, and the
# commands that talk to it, worked out once.
#   KIND_CLUSTER  the cluster's name (pause; make test-kind's is pause-test)
#   KIND_K8S      the tests/go build whose kubectl, kubeadm and kubelet the
#                 node image holds (kubernetes-1.37)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
name=${KIND_CLUSTER:-pause}
k8s=${KIND_K8S:-kubernetes-1.37}
dir=$root/target/kind/$name
kind=$root/target/go/kind/bin/kind
kubectl=$root/target/go/$k8s/bin/kubectl
export KUBECONFIG=$dir/kubeconfig
export KIND_EXPERIMENTAL_PROVIDER=podman
export CONTAINERS_CONF=$root/tests/kind/containers.conf

# Runs kind with its output in LOG; on failure prints the line that names the
# cause (kind starts it with ERROR) and where the rest is.
run_kind() { # LOG ARGS...
  local log=$1; shift
  "$kind" "$@" >"$log" 2>&1 && return 0
  echo "$(grep -m1 -E '^ERROR|^Error|failed' "$log" || tail -n1 "$log") (whole output: $log)"
  return 1
}

# The workload image deploy/kind/shared-pid-pod.yaml names: the busybox the
# cluster is given, and every pod the checks make runs.
busybox_image() { sed -n 's/^ *image: *//p' "$root/deploy/kind/shared-pid-pod.yaml" | head -n1; }

# A Deployment of REPLICAS pods of the busybox image, labelled app=NAME,
# spread evenly over the workers (the tainted control plane is not counted),
# each sleeping: the manifest, for kubectl apply -f -.
spread_deployment() { # NAME REPLICAS
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: $2
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec:
      terminationGracePeriodSeconds: 1
      topologySpreadConstraints:
        - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
           nodeTaintsPolicy: Honor, labelSelector: {matchLabels: {app: $1}}}
      containers: [{name: sleep, image: $(busybox_image), command: [sleep, "3600"]}]
YAML
}

# For a script that makes a cluster of its own (tests/kind/suite.sh,
# benches/kind.sh): removes the one a killed run (kill -9) left, then removes
# it, and DIRS, on exit, Ctrl-C and SIGTERM. Its steps go through run_step,
# which runs each in the background so that a signal is handled at once, and
# which the handler stops before the removal. WHO prefixes its lines.
own_cluster() { # WHO [DIR...]
  owner=$1
  shift
  owned_dirs=("$@")
  if "$kind" get clusters 2>/dev/null | grep -qx "$name" ||
    podman ps -aq --filter "label=io.x-k8s.kind.cluster=$name" | grep -q .; then
    echo "$owner: removing cluster $name, which an earlier run left"
    remove_own_cluster
  fi
  step=
  trap 'stop_step; remove_own_cluster; rm -rf "${owned_dirs[@]}"' EXIT
  trap 'echo "$owner: interrupted" >&2; exit 130' INT
  trap 'echo "$owner: terminated" >&2; exit 143' TERM
}
remove_own_cluster() {
  "$root/tests/kind/cluster.sh" delete ||
    echo "$owner: cluster $name could not be removed: make kind-delete KIND_CLUSTER=$name" >&2
}
run_step() { "$@" & step=$!; wait "$step"; step=; }
stop_step() { [ -z "$step" ] || { kill "$step" 2>/dev/null; wait "$step" 2>/dev/null; } || true; }
