//! The pods, through the Kubernetes API as a user makes them: N created at
//! once, watched until Ready, deleted with their grace period.

use std::time::Duration;
use test_support::kube::Cluster;
use test_support::kube::client_lib::Api;
use test_support::kube::client_lib::api::{DeleteParams, ListParams, PostParams};
use test_support::kube::k8s_openapi::api::core::v1::{Pod, ServiceAccount};

const LABEL: &str = "pause-bench=density";

/// A pod of one small container of the workload (already on the node).
fn pod(i: usize, image: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": format!("density-{i}"), "labels": {"pause-bench": "density"}},
        "spec": {
            "automountServiceAccountToken": false,
            "enableServiceLinks": false,
            "containers": [
                {"name": "work", "image": image, "imagePullPolicy": "Never", "args": ["serve"]},
            ],
        },
    }))
    .expect("pod manifest")
}

fn api(cluster: &Cluster) -> Api<Pod> {
    Api::default_namespaced(cluster.kube().client.clone())
}

/// The default ServiceAccount, which admission wants before any pod.
pub fn wait_service_account(cluster: &mut Cluster) -> Result<(), String> {
    cluster.wait_until("the default ServiceAccount", DEADLINE, |c| {
        let api: Api<ServiceAccount> = Api::default_namespaced(c.kube().client.clone());
        c.kube().run(|_| async move {
            api.get("default")
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    })
}

/// How long N pods may take to be Ready, or to go, on a loaded machine.
pub const DEADLINE: Duration = Duration::from_secs(600);

/// Creates `n` pods at once (concurrent API calls).
pub fn create(cluster: &Cluster, n: usize, image: &str) -> Result<(), String> {
    let api = api(cluster);
    let pods: Vec<Pod> = (0..n).map(|i| pod(i, image)).collect();
    cluster.kube().run(|_| async move {
        let mut set = tokio::task::JoinSet::new();
        for p in pods {
            let api = api.clone();
            set.spawn(async move { api.create(&PostParams::default(), &p).await.map(|_| ()) });
        }
        while let Some(done) = set.join_next().await {
            done.map_err(|e| e.to_string())?
                .map_err(|e| format!("create pod: {e}"))?;
        }
        Ok(())
    })
}

/// The pods listed and how many of them have the Ready condition.
pub fn count_ready(cluster: &Cluster) -> Result<(usize, usize), String> {
    let api = api(cluster);
    let list = cluster.kube().run(|_| async move {
        api.list(&ListParams::default().labels(LABEL))
            .await
            .map_err(|e| e.to_string())
    })?;
    let ready = list.items.iter().filter(|p| is_ready(p)).count();
    Ok((list.items.len(), ready))
}

fn is_ready(p: &Pod) -> bool {
    let conditions = p.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// Waits until `n` pods are Ready.
pub fn wait_ready(cluster: &mut Cluster, n: usize) -> Result<(), String> {
    cluster.wait_until(
        &format!("{n} pods to be Ready"),
        DEADLINE,
        |c| match count_ready(c)? {
            (_, ready) if ready == n => Ok(()),
            (listed, ready) => Err(format!("{ready} of {listed} Ready")),
        },
    )
}

/// Deletes every pod of the bench (each with its default grace period).
pub fn delete_all(cluster: &Cluster) -> Result<(), String> {
    let api = api(cluster);
    cluster.kube().run(|_| async move {
        api.delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(LABEL),
        )
        .await
        .map(|_| ())
        .map_err(|e| format!("delete pods: {e}"))
    })
}

/// Waits until the API lists none of the bench's pods.
pub fn wait_deleted(cluster: &mut Cluster) -> Result<(), String> {
    cluster.wait_until(
        "every pod to be deleted",
        DEADLINE,
        |c| match count_ready(c)? {
            (0, _) => Ok(()),
            (listed, _) => Err(format!("{listed} pods still listed")),
        },
    )
}
