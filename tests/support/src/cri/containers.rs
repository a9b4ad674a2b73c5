//! Containers in a sandbox: CreateContainer, StartContainer, their host PID,
//! and ExecSync.

use super::api;
use super::client::Cri;
use super::pods::Sandbox;
use crate::wait::poll_some;

impl Cri {
    /// CreateContainer + StartContainer in the sandbox, then waits until it
    /// runs; returns the container id.
    pub fn run_container(
        &self,
        sandbox: &Sandbox,
        pod: &api::PodSandboxConfig,
        name: &str,
        image: &str,
        command: &[&str],
    ) -> String {
        let mut rs = self.runtime();
        let id = self
            .call(rs.create_container(api::CreateContainerRequest {
                pod_sandbox_id: sandbox.id.clone(),
                config: Some(container_config(pod, name, image, command)),
                sandbox_config: Some(pod.clone()),
            }))
            .unwrap_or_else(|e| panic!("CreateContainer {name}: {e}\n{}", self.log_tail()))
            .into_inner()
            .container_id;
        self.call(rs.start_container(api::StartContainerRequest {
            container_id: id.clone(),
        }))
        .unwrap_or_else(|e| panic!("StartContainer {name}: {e}\n{}", self.log_tail()));
        poll_some(&format!("container {name} running"), || {
            let s = self
                .call(rs.container_status(api::ContainerStatusRequest {
                    container_id: id.clone(),
                    verbose: false,
                }))
                .ok()?
                .into_inner()
                .status?;
            (s.state() == api::ContainerState::ContainerRunning).then_some(())
        });
        id
    }

    /// Host PID of a running container's first process.
    pub fn container_pid(&self, id: &str) -> i32 {
        let mut rs = self.runtime();
        let r = self
            .call(rs.container_status(api::ContainerStatusRequest {
                container_id: id.into(),
                verbose: true,
            }))
            .unwrap()
            .into_inner();
        let info: serde_json::Value = serde_json::from_str(&r.info["info"]).unwrap();
        info["pid"].as_i64().unwrap() as i32
    }

    /// ExecSync: (exit code, stdout, stderr).
    pub fn exec(&self, container: &str, cmd: &[&str]) -> (i32, String, String) {
        let mut rs = self.runtime();
        let r = self
            .call(rs.exec_sync(api::ExecSyncRequest {
                container_id: container.into(),
                cmd: cmd.iter().map(|s| s.to_string()).collect(),
                timeout: 30,
            }))
            .unwrap_or_else(|e| panic!("ExecSync {cmd:?}: {e}"))
            .into_inner();
        (
            r.exit_code,
            String::from_utf8_lossy(&r.stdout).into_owned(),
            String::from_utf8_lossy(&r.stderr).into_owned(),
        )
    }
}

/// The container config kubelet would send: in the pod's namespaces.
fn container_config(
    pod: &api::PodSandboxConfig,
    name: &str,
    image: &str,
    command: &[&str],
) -> api::ContainerConfig {
    let ns = pod
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref())
        .and_then(|s| s.namespace_options.clone());
    api::ContainerConfig {
        metadata: Some(api::ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        // kubelet names the image as the pod spec has it; CRI-O refuses a
        // container without it (it checks the signature policy against it).
        image: Some(api::ImageSpec {
            image: image.into(),
            user_specified_image: image.into(),
            ..Default::default()
        }),
        command: command.iter().map(|s| s.to_string()).collect(),
        log_path: format!("{name}.log"),
        linux: Some(api::LinuxContainerConfig {
            security_context: Some(api::LinuxContainerSecurityContext {
                namespace_options: ns,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
