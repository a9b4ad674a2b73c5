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
