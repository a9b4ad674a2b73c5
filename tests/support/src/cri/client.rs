//! The CRI side of a node, whichever runtime serves it (containerd or
//! CRI-O): its temp dir, its socket, the gRPC clients kubelet would hold,
//! and the runtime's log for failure messages. The calls a test makes
//! (`pods`, `containers`, `images`, `gc`) are methods of [`Cri`]; a node
//! type derefs to its `Cri`.

use super::api;
use crate::wait::{DEADLINE, poll_some, wait_for};
use api::image_service_client::ImageServiceClient;
use api::runtime_service_client::RuntimeServiceClient;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::Duration;
use tonic::transport::{Channel, Endpoint, Uri};

/// How long teardown gives each CRI call.
const STOP_POD_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Cri {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    /// What the runtime logs (stdout and stderr).
    log: PathBuf,
    /// The clients are connected (before that they are placeholders).
    connected: bool,
    rt: tokio::runtime::Runtime,
    rs: RuntimeServiceClient<Channel>,
    is: ImageServiceClient<Channel>,
}

impl Cri {
    /// Placeholder clients for a runtime that will serve `socket` and log to
    /// `log`; [`Cri::connect`] connects them once it answers.
    pub(super) fn new(dir: tempfile::TempDir, socket: PathBuf, log: PathBuf) -> Cri {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // Placeholder clients need a runtime context.
        let guard = rt.enter();
        let rs = RuntimeServiceClient::new(Endpoint::from_static("http://[::]").connect_lazy());
        let is = ImageServiceClient::new(Endpoint::from_static("http://[::]").connect_lazy());
        drop(guard);
        Cri {
            dir,
            socket,
            log,
            connected: false,
            rt,
            rs,
            is,
        }
    }

    /// Waits for the socket to answer and connects the clients to it; if
    /// `daemon` exits first, fails with what `why` makes of its status.
    pub(super) fn connect(
        &mut self,
        name: &str,
        daemon: &mut Child,
        why: &dyn Fn(ExitStatus) -> String,
    ) {
        let (rt, log) = (&self.rt, &self.log);
        let channel = wait_for(&format!("{name}'s socket to answer"), DEADLINE, || {
            if let Some(status) = daemon.try_wait().unwrap() {
                panic!("{}", why(status));
            }
            self.socket
                .exists()
                .then(|| rt.block_on(connect_unix(self.socket.clone())).ok())
                .flatten()
                .ok_or_else(|| tail(log, 40))
        });
        self.rs = RuntimeServiceClient::new(channel.clone());
        self.is = ImageServiceClient::new(channel);
        self.connected = true;
    }

    /// Ready means: the CRI service answers and reports every condition
    /// (RuntimeReady, NetworkReady) true.
    pub(super) fn wait_ready(&self) {
        poll_some("CRI RuntimeReady and NetworkReady", || {
            let mut rs = self.runtime();
            let s = self
                .call(rs.status(api::StatusRequest { verbose: false }))
                .ok()?
                .into_inner()
                .status?;
            s.conditions.iter().all(|c| c.status).then_some(())
        });
    }

    pub fn runtime(&self) -> RuntimeServiceClient<Channel> {
        self.rs.clone()
    }

    pub(super) fn images(&self) -> ImageServiceClient<Channel> {
        self.is.clone()
    }

    /// Runs a CRI call on this node's runtime.
    pub fn call<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The last lines the runtime logged, for failure messages.
    pub fn log_tail(&self) -> String {
        tail(&self.log, 40)
    }

    /// The runtime's whole log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The cgroup (v1, cgroupfs) every pod of this node goes under, as kubelet
    /// puts pods under /kubepods: one name per node, removed by teardown.
    pub fn cgroup_parent(&self) -> String {
        cgroup_parent_of(self.dir.path())
    }

    /// Stops and removes every pod left, each call bounded so that a stuck
    /// runtime cannot hang the teardown.
    pub(super) fn remove_pods(&self) {
        if !self.connected {
            return;
        }
        for id in self.list_pods() {
            let mut rs = self.runtime();
            // The timeouts are made inside the runtime: a tokio timer made
            // outside one panics, and a panic in Drop aborts.
            self.call(async {
                let stop = rs.stop_pod_sandbox(api::StopPodSandboxRequest {
                    pod_sandbox_id: id.clone(),
                });
                let _ = tokio::time::timeout(STOP_POD_TIMEOUT, stop).await;
                let remove =
                    rs.remove_pod_sandbox(api::RemovePodSandboxRequest { pod_sandbox_id: id });
                let _ = tokio::time::timeout(STOP_POD_TIMEOUT, remove).await;
            });
        }
    }
}

/// The cgroup parent of the node in `dir`: the temp dir's name.
pub(super) fn cgroup_parent_of(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// The last `n` lines of a log file.
pub(super) fn tail(log: &Path, n: usize) -> String {
    let log = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A gRPC channel over a runtime's unix socket.
async fn connect_unix(path: PathBuf) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_static("http://[::]")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(
                    tokio::net::UnixStream::connect(path).await?,
                ))
            }
        }))
        .await
}
