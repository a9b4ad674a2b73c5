//! The density phase's CRI calls: N pods started `width` at a time (kubelet
//! starts pods in parallel; width 1 is one at a time), each READY, with an
//! optional container of the workload; then all stopped and removed the same
//! way. Concurrent calls share the node's one gRPC connection, as kubelet's
//! do, and run as tasks on the node's runtime.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use test_support::cri::{Node, RuntimeClient as Client, api};
use test_support::wait::DEADLINE;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// A container of the workload image to start in every pod.
#[derive(Clone)]
pub struct Container {
    pub image: String,
    pub command: Vec<String>,
}

/// One started pod: its sandbox and, if asked, its container.
#[derive(Clone, Debug)]
pub struct Started {
    pub sandbox: String,
    pub container: Option<String>,
}

/// Runs `job(i)` for i in 0..n, at most `width` at once, on `node`'s
/// runtime; the results in order of i.
fn bounded<T, F, Fut>(node: &Node, n: usize, width: usize, job: F) -> Vec<Result<T, String>>
where
    T: Send + 'static,
    F: Fn(usize, Client) -> Fut,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(width.max(1)));
    let jobs: Vec<Fut> = (0..n).map(|i| job(i, node.runtime())).collect();
    let mut out: Vec<Option<Result<T, String>>> = (0..n).map(|_| None).collect();
    // Spawned inside the node's runtime, which runs them while it waits.
    node.call(async {
        let mut set = JoinSet::new();
        for (i, work) in jobs.into_iter().enumerate() {
            let gate = gate.clone();
            set.spawn(async move {
                let _permit = gate.acquire_owned().await.expect("semaphore open");
                (i, work.await)
            });
        }
        while let Some(done) = set.join_next().await {
            let (i, r) = done.unwrap_or_else(|e| (usize::MAX, Err(e.to_string())));
            if i < n {
                out[i] = Some(r);
            }
        }
    });
    out.into_iter()
        .map(|r| r.unwrap_or_else(|| Err("task lost".into())))
        .collect()
}

/// Starts one pod per config, `width` at a time; each is READY (and its
/// container running) when its result comes back.
pub fn start(
    node: &Node,
    configs: &[api::PodSandboxConfig],
    width: usize,
    container: Option<&Container>,
) -> Vec<Result<Started, String>> {
    bounded(node, configs.len(), width, |i, rs| {
        start_one(rs, configs[i].clone(), container.cloned())
    })
}

/// Stops and removes every pod, `width` at a time.
pub fn stop_and_remove(node: &Node, pods: &[Started], width: usize) -> Vec<Result<(), String>> {
    bounded(node, pods.len(), width, |i, rs| {
        stop_one(rs, pods[i].sandbox.clone())
    })
}

async fn start_one(
    mut rs: Client,
    config: api::PodSandboxConfig,
    container: Option<Container>,
) -> Result<Started, String> {
    let name = config.metadata.as_ref().map(|m| m.name.clone());
    let sandbox = rs
        .run_pod_sandbox(api::RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: String::new(),
        })
        .await
        .map_err(|e| format!("RunPodSandbox {name:?}: {e}"))?
        .into_inner()
        .pod_sandbox_id;
    let status = rs
        .pod_sandbox_status(api::PodSandboxStatusRequest {
            pod_sandbox_id: sandbox.clone(),
            verbose: false,
        })
        .await
        .map_err(|e| format!("PodSandboxStatus {sandbox}: {e}"))?
        .into_inner()
        .status
        .ok_or("PodSandboxStatus without a status")?;
    if status.state() != api::PodSandboxState::SandboxReady {
        return Err(format!("pod {sandbox} is {:?}", status.state()));
    }
    let container = match container {
        Some(c) => Some(run_container(&mut rs, &sandbox, &config, &c).await?),
        None => None,
    };
    Ok(Started { sandbox, container })
}

/// CreateContainer + StartContainer, then polls until it runs.
async fn run_container(
    rs: &mut Client,
    sandbox: &str,
    pod: &api::PodSandboxConfig,
    c: &Container,
) -> Result<String, String> {
    let config = api::ContainerConfig {
        metadata: Some(api::ContainerMetadata {
            name: "work".into(),
            attempt: 0,
        }),
        image: Some(api::ImageSpec {
            image: c.image.clone(),
            ..Default::default()
        }),
        command: c.command.clone(),
        log_path: "work.log".into(),
        ..Default::default()
    };
    let id = rs
        .create_container(api::CreateContainerRequest {
            pod_sandbox_id: sandbox.into(),
            config: Some(config),
            sandbox_config: Some(pod.clone()),
        })
        .await
        .map_err(|e| format!("CreateContainer in {sandbox}: {e}"))?
        .into_inner()
        .container_id;
    rs.start_container(api::StartContainerRequest {
        container_id: id.clone(),
    })
    .await
    .map_err(|e| format!("StartContainer {id}: {e}"))?;
    let start = tokio::time::Instant::now();
    while start.elapsed() < DEADLINE {
        let s = rs
            .container_status(api::ContainerStatusRequest {
                container_id: id.clone(),
                verbose: false,
            })
            .await
            .map_err(|e| format!("ContainerStatus {id}: {e}"))?
            .into_inner()
            .status;
        if s.is_some_and(|s| s.state() == api::ContainerState::ContainerRunning) {
            return Ok(id);
        }
        // A poll's pause, not a synchronisation: the next status call decides.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Err(format!("container {id} not running after {DEADLINE:?}"))
}

async fn stop_one(mut rs: Client, id: String) -> Result<(), String> {
    rs.stop_pod_sandbox(api::StopPodSandboxRequest {
        pod_sandbox_id: id.clone(),
    })
    .await
    .map_err(|e| format!("StopPodSandbox {id}: {e}"))?;
    rs.remove_pod_sandbox(api::RemovePodSandboxRequest {
        pod_sandbox_id: id.clone(),
    })
    .await
    .map_err(|e| format!("RemovePodSandbox {id}: {e}"))?;
    Ok(())
}
