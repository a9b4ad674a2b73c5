//! Pod sandboxes: the config kubelet sends, and RunPodSandbox, status,
//! StopPodSandbox, RemovePodSandbox.

use super::api::{self, NamespaceMode};
use super::client::Cri;

/// One sandbox's view from the host.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub id: String,
    /// Host PID of the sandbox process (pause).
    pub pid: i32,
}

impl Cri {
    /// The pod config kubelet would send, with the given PID and network modes.
    pub fn pod_config(
        &self,
        name: &str,
        pid: NamespaceMode,
        host_network: bool,
    ) -> api::PodSandboxConfig {
        let logs = self.dir.path().join("logs").join(name);
        std::fs::create_dir_all(&logs).unwrap();
        api::PodSandboxConfig {
            metadata: Some(api::PodSandboxMetadata {
                name: name.into(),
                uid: format!("{name}-uid"),
                namespace: "default".into(),
                attempt: 0,
            }),
            hostname: if host_network {
                String::new()
            } else {
                name.into()
            },
            log_directory: logs.display().to_string(),
            linux: Some(api::LinuxPodSandboxConfig {
                cgroup_parent: format!("/{}", self.cgroup_parent()),
                security_context: Some(api::LinuxSandboxSecurityContext {
                    namespace_options: Some(namespaces(pid, host_network)),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// RunPodSandbox, then checks READY; returns the sandbox and its host PID.
    pub fn run_pod(&self, config: &api::PodSandboxConfig) -> Sandbox {
        self.try_run_pod(config)
            .unwrap_or_else(|e| panic!("RunPodSandbox: {e}\n{}", self.log_tail()))
    }

    /// RunPodSandbox: the READY sandbox, or the runtime's error message.
    pub fn try_run_pod(&self, config: &api::PodSandboxConfig) -> Result<Sandbox, String> {
        let (id, pid) = self.try_run_pod_maybe_without_process(config)?;
        let pid =
            pid.unwrap_or_else(|| panic!("pod {id}: the verbose status names no sandbox pid"));
        Ok(Sandbox { id, pid })
    }

    /// RunPodSandbox, then checks READY: the sandbox's id and the host PID of
    /// its process, which a runtime may not start at all (CRI-O with
    /// `drop_infra_ctr`: a pod that shares no PID namespace has none).
    pub fn try_run_pod_maybe_without_process(
        &self,
        config: &api::PodSandboxConfig,
    ) -> Result<(String, Option<i32>), String> {
        let mut rs = self.runtime();
        let id = self
            .call(rs.run_pod_sandbox(api::RunPodSandboxRequest {
                config: Some(config.clone()),
                runtime_handler: String::new(),
            }))
            .map_err(|e| e.message().to_string())?
            .into_inner()
            .pod_sandbox_id;
        let (state, info) = self.pod_status(&id);
        assert_eq!(
            state,
            api::PodSandboxState::SandboxReady,
            "pod {id} not ready"
        );
        let pid = info["pid"].as_i64().filter(|&p| p > 0).map(|p| p as i32);
        Ok((id, pid))
    }

    /// PodSandboxStatus (verbose): state and the runtime's info JSON.
    pub fn pod_status(&self, id: &str) -> (api::PodSandboxState, serde_json::Value) {
        let r = self.sandbox_status(id, true);
        let state = r.status.as_ref().unwrap().state();
        let info = r
            .info
            .get("info")
            .map(|s| serde_json::from_str(s).unwrap())
            .unwrap_or(serde_json::Value::Null);
        (state, info)
    }

    pub fn pod_ip(&self, id: &str) -> String {
        self.sandbox_status(id, false)
            .status
            .and_then(|s| s.network)
            .map(|n| n.ip)
            .unwrap_or_default()
    }

    fn sandbox_status(&self, id: &str, verbose: bool) -> api::PodSandboxStatusResponse {
        let mut rs = self.runtime();
        self.call(rs.pod_sandbox_status(api::PodSandboxStatusRequest {
            pod_sandbox_id: id.into(),
            verbose,
        }))
        .unwrap_or_else(|e| panic!("PodSandboxStatus {id}: {e}"))
        .into_inner()
    }

    pub fn stop_pod(&self, id: &str) {
        let mut rs = self.runtime();
        self.call(rs.stop_pod_sandbox(api::StopPodSandboxRequest {
            pod_sandbox_id: id.into(),
        }))
        .unwrap_or_else(|e| panic!("StopPodSandbox {id}: {e}\n{}", self.log_tail()));
    }

    pub fn remove_pod(&self, id: &str) {
        let mut rs = self.runtime();
        self.call(rs.remove_pod_sandbox(api::RemovePodSandboxRequest {
            pod_sandbox_id: id.into(),
        }))
        .unwrap_or_else(|e| panic!("RemovePodSandbox {id}: {e}\n{}", self.log_tail()));
    }

    pub fn list_pods(&self) -> Vec<String> {
        let mut rs = self.runtime();
        self.call(rs.list_pod_sandbox(api::ListPodSandboxRequest { filter: None }))
            .map(|r| r.into_inner().items.into_iter().map(|p| p.id).collect())
            .unwrap_or_default()
    }
}

fn namespaces(pid: NamespaceMode, host_network: bool) -> api::NamespaceOption {
    api::NamespaceOption {
        network: if host_network {
            NamespaceMode::Node
        } else {
            NamespaceMode::Pod
        } as i32,
        pid: pid as i32,
        ipc: NamespaceMode::Pod as i32,
        ..Default::default()
    }
}
