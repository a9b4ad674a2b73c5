//! A private containerd with its CRI plugin, started for one test and torn
//! down after it, driven through the CRI gRPC API the way kubelet drives it.
//!
//! Everything lives in a temp dir: config, socket, root, state, runc root, CNI
//! config and IPAM data, pinned network namespaces. containerd runs in a new
//! network namespace of its own (loopback up), so the CNI bridge, the pods'
//! addresses and a hostNetwork pod's "node" network never touch the host's.
//! Images come only from OCI archives imported with `ctr`; every registry
//! mirror points at 127.0.0.1:9, so an accidental pull fails at once.

use k8s_cri::v1 as cri;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tonic::transport::{Channel, Endpoint, Uri};

pub use cri::NamespaceMode;
/// The CRI API types, for suites that build their own requests.
pub use k8s_cri::v1 as api;

/// Generous for a loaded two-core machine; conditions are polled, so a
/// passing run never waits this long.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The workspace root (two levels above this crate).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// deploy/containerd/sandbox-image.toml: the sandbox image setting shared
/// with the kind recipe.
pub fn sandbox_image_toml() -> PathBuf {
    workspace().join("deploy/containerd/sandbox-image.toml")
}

pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Polls `f` until it returns Some, or panics with `what` after DEADLINE.
pub fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > DEADLINE {
            panic!("timed out after {DEADLINE:?} waiting for: {what}");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Deep-merges `patch` into `base`: tables merge key by key, anything else is
/// replaced. The same semantics as kind's containerdConfigPatches.
pub fn merge_toml(base: &mut toml::Table, patch: &toml::Table) {
    for (k, v) in patch {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(p)) => merge_toml(b, p),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

pub fn read_toml(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The sandbox image a containerd 1.6/1.7 config (version 2) names.
pub fn sandbox_image_of(config: &toml::Table) -> Option<String> {
    config
        .get("plugins")?
        .get("io.containerd.grpc.v1.cri")?
        .get("sandbox_image")?
        .as_str()
        .map(str::to_string)
}

/// What a test needs and may not have; returns why not.
pub fn missing_requirements() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (containerd, runc, mounts)".into());
    }
    for tool in [
        "containerd",
        "containerd-shim-runc-v2",
        "ctr",
        "runc",
        "unshare",
        "ip",
    ] {
        if which(tool).is_none() {
            return Some(format!("{tool} not found: run `make deps-cri`"));
        }
    }
    for plugin in ["bridge", "host-local", "loopback"] {
        if !Path::new(CNI_BIN).join(plugin).exists() {
            return Some(format!(
                "CNI plugin {CNI_BIN}/{plugin} missing: run `make deps-cri`"
            ));
        }
    }
    None
}

/// A test that cannot run here says why; in CI that is a failure, not a skip.
/// Returns true when the test should go on.
pub fn can_run() -> bool {
    match missing_requirements() {
        None => true,
        Some(why) if in_ci() => panic!("required in CI: {why}"),
        Some(why) => {
            eprintln!("SKIPPED (not in CI): {why}");
            false
        }
    }
}

pub const CNI_BIN: &str = "/usr/lib/cni";

pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// The project's OCI archive (`make oci`), or PAUSE_OCI_ARCHIVE.
pub fn pause_archive() -> PathBuf {
    std::env::var_os("PAUSE_OCI_ARCHIVE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("bin/pause-oci.tar"))
}

/// One sandbox's view from the host.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub id: String,
    /// Host PID of the sandbox process (pause).
    pub pid: i32,
}

pub struct Node {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    /// The containerd config actually used (after merging the deploy file).
    pub config: toml::Table,
    pub sandbox_image: String,
    child: Option<Child>,
    pid: i32,
    /// The CRI clients are connected (before that they are placeholders).
    connected: bool,
    rt: tokio::runtime::Runtime,
    rs: RuntimeServiceClient<Channel>,
    is: ImageServiceClient<Channel>,
}

impl Node {
    /// Starts containerd with the CRI plugin and waits until the runtime and
    /// network report ready.
    pub fn start() -> Node {
        let dir = tempfile::Builder::new()
            .prefix("pause-cri.")
            .tempdir()
            .expect("temp dir");
        let d = dir.path().to_path_buf();
        for sub in [
            "root",
            "state",
            "runc",
            "cni/net.d",
            "cni/ipam",
            "logs",
            "opt",
        ] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let socket = d.join("containerd.sock");
        let p = |s: &str| d.join(s).display().to_string();
        let base = format!(
            r#"
version = 2
root = "{root}"
state = "{state}"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{runc}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{cni_conf}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
    endpoint = ["http://127.0.0.1:9"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."registry.k8s.io"]
    endpoint = ["http://127.0.0.1:9"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."*"]
    endpoint = ["http://127.0.0.1:9"]
"#,
            root = p("root"),
            state = p("state"),
            sock = socket.display(),
            opt = p("opt"),
            runc = p("runc"),
            cni_bin = CNI_BIN,
            cni_conf = p("cni/net.d"),
        );
        let mut config: toml::Table = base.parse().expect("base containerd config");
        merge_toml(&mut config, &read_toml(&sandbox_image_toml()));
        let sandbox_image = sandbox_image_of(&config).expect("sandbox_image set");
        std::fs::write(d.join("config.toml"), toml::to_string(&config).unwrap()).unwrap();

        // The pod network: a bridge inside containerd's own network namespace.
        // containerd adds the loopback interface itself (CNI `loopback`).
        let cni = serde_json::json!({
            "cniVersion": "0.4.0",
            "name": "pause-cri",
            "plugins": [{
                "type": "bridge",
                "bridge": "pausecri0",
                "isGateway": true,
                "ipMasq": false,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": "10.77.0.0/24"}]],
                    "dataDir": p("cni/ipam"),
                },
            }],
        });
        std::fs::write(
            d.join("cni/net.d/10-pause-cri.conflist"),
            serde_json::to_vec_pretty(&cni).unwrap(),
        )
        .unwrap();

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // Placeholder clients (replaced once the socket answers) need a runtime context.
        let guard = rt.enter();
        let rs = RuntimeServiceClient::new(Endpoint::from_static("http://[::]").connect_lazy());
        let is = ImageServiceClient::new(Endpoint::from_static("http://[::]").connect_lazy());
        drop(guard);
        let log = std::fs::File::create(d.join("containerd.log")).unwrap();
        let child = Command::new("unshare")
            .args(["--net", "--", "sh", "-c"])
            .arg(r#"ip link set lo up && exec containerd --config "$1""#)
            .arg("sh")
            .arg(d.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start containerd");
        let pid = child.id() as i32;
        // From here on every failure drops the Node, whose Drop stops containerd.
        let mut node = Node {
            dir,
            socket: socket.clone(),
            config,
            sandbox_image,
            child: Some(child),
            pid,
            connected: false,
            rt,
            rs,
            is,
        };
        let start = Instant::now();
        let channel = loop {
            if let Some(status) = node.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("containerd exited with {status}:\n{}", node.log_tail());
            }
            if socket.exists() {
                let path = socket.clone();
                let c = node.rt.block_on(async move {
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
                });
                if let Ok(c) = c {
                    break c;
                }
            }
            if start.elapsed() > DEADLINE {
                panic!("containerd socket did not answer:\n{}", node.log_tail());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        node.rs = RuntimeServiceClient::new(channel.clone());
        node.is = ImageServiceClient::new(channel);
        node.connected = true;
        // Ready means: the CRI service answers and reports both conditions true.
        poll("CRI RuntimeReady and NetworkReady", || {
            let mut rs = node.rs.clone();
            let s = node
                .rt
                .block_on(rs.status(cri::StatusRequest { verbose: false }))
                .ok()?
                .into_inner()
                .status?;
            s.conditions.iter().all(|c| c.status).then_some(())
        });
        node
    }

    pub fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// containerd's PID (also the holder of the "node" network namespace).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn runtime(&self) -> RuntimeServiceClient<Channel> {
        self.rs.clone()
    }

    /// Runs a CRI call on this node's runtime.
    pub fn call<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// `ctr -n k8s.io images import` of an OCI archive (never a pull), then
    /// waits until the CRI image service knows `reference`.
    pub fn import(&self, archive: &Path, reference: &str) {
        let out = Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(["-n", "k8s.io", "images", "import", "--all-platforms"])
            .arg(archive)
            .output()
            .expect("run ctr");
        assert!(
            out.status.success(),
            "ctr images import {}: {}{}",
            archive.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        poll(&format!("CRI image service lists {reference}"), || {
            let mut is = self.is.clone();
            let r = self
                .rt
                .block_on(is.image_status(cri::ImageStatusRequest {
                    image: Some(cri::ImageSpec {
                        image: reference.into(),
                        ..Default::default()
                    }),
                    verbose: false,
                }))
                .ok()?
                .into_inner();
            r.image.map(|_| ())
        });
    }

    /// The pod config kubelet would send, with the given PID and network modes.
    pub fn pod_config(
        &self,
        name: &str,
        pid: NamespaceMode,
        host_network: bool,
    ) -> cri::PodSandboxConfig {
        let logs = self.dir.path().join("logs").join(name);
        std::fs::create_dir_all(&logs).unwrap();
        cri::PodSandboxConfig {
            metadata: Some(cri::PodSandboxMetadata {
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
            linux: Some(cri::LinuxPodSandboxConfig {
                cgroup_parent: format!("/{}", self.cgroup_parent()),
                security_context: Some(cri::LinuxSandboxSecurityContext {
                    namespace_options: Some(namespaces(pid, host_network)),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The cgroup (v1, cgroupfs) every pod of this node goes under, as kubelet
    /// puts pods under /kubepods: one name per node, removed by Drop.
    pub fn cgroup_parent(&self) -> String {
        self.dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    /// RunPodSandbox, then waits for READY; returns the sandbox and its host PID.
    pub fn run_pod(&self, config: &cri::PodSandboxConfig) -> Sandbox {
        let mut rs = self.runtime();
        let id = self
            .call(rs.run_pod_sandbox(cri::RunPodSandboxRequest {
                config: Some(config.clone()),
                runtime_handler: String::new(),
            }))
            .unwrap_or_else(|e| panic!("RunPodSandbox: {e}\n{}", self.log_tail()))
            .into_inner()
            .pod_sandbox_id;
        let (state, info) = self.pod_status(&id);
        assert_eq!(
            state,
            cri::PodSandboxState::SandboxReady,
            "pod {id} not ready"
        );
        let pid = info["pid"]
            .as_i64()
            .expect("verbose status has the sandbox pid") as i32;
        Sandbox { id, pid }
    }

    /// PodSandboxStatus (verbose): state and containerd's info JSON.
    pub fn pod_status(&self, id: &str) -> (cri::PodSandboxState, serde_json::Value) {
        let mut rs = self.runtime();
        let r = self
            .call(rs.pod_sandbox_status(cri::PodSandboxStatusRequest {
                pod_sandbox_id: id.into(),
                verbose: true,
            }))
            .unwrap_or_else(|e| panic!("PodSandboxStatus {id}: {e}"))
            .into_inner();
        let state = r.status.as_ref().unwrap().state();
        let info = r
            .info
            .get("info")
            .map(|s| serde_json::from_str(s).unwrap())
            .unwrap_or(serde_json::Value::Null);
        (state, info)
    }

    pub fn pod_ip(&self, id: &str) -> String {
        let mut rs = self.runtime();
        let r = self
            .call(rs.pod_sandbox_status(cri::PodSandboxStatusRequest {
                pod_sandbox_id: id.into(),
                verbose: false,
            }))
            .unwrap()
            .into_inner();
        r.status
            .and_then(|s| s.network)
            .map(|n| n.ip)
            .unwrap_or_default()
    }

    /// CreateContainer + StartContainer in the sandbox; returns the container id.
    pub fn run_container(
        &self,
        sandbox: &Sandbox,
        pod: &cri::PodSandboxConfig,
        name: &str,
        image: &str,
        command: &[&str],
    ) -> String {
        let mut rs = self.runtime();
        let ns = pod
            .linux
            .as_ref()
            .and_then(|l| l.security_context.as_ref())
            .and_then(|s| s.namespace_options.clone());
        let config = cri::ContainerConfig {
            metadata: Some(cri::ContainerMetadata {
                name: name.into(),
                attempt: 0,
            }),
            image: Some(cri::ImageSpec {
                image: image.into(),
                ..Default::default()
            }),
            command: command.iter().map(|s| s.to_string()).collect(),
            log_path: format!("{name}.log"),
            linux: Some(cri::LinuxContainerConfig {
                security_context: Some(cri::LinuxContainerSecurityContext {
                    namespace_options: ns,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let id = self
            .call(rs.create_container(cri::CreateContainerRequest {
                pod_sandbox_id: sandbox.id.clone(),
                config: Some(config),
                sandbox_config: Some(pod.clone()),
            }))
            .unwrap_or_else(|e| panic!("CreateContainer {name}: {e}\n{}", self.log_tail()))
            .into_inner()
            .container_id;
        self.call(rs.start_container(cri::StartContainerRequest {
            container_id: id.clone(),
        }))
        .unwrap_or_else(|e| panic!("StartContainer {name}: {e}\n{}", self.log_tail()));
        poll(&format!("container {name} running"), || {
            let s = self
                .call(rs.container_status(cri::ContainerStatusRequest {
                    container_id: id.clone(),
                    verbose: false,
                }))
                .ok()?
                .into_inner()
                .status?;
            (s.state() == cri::ContainerState::ContainerRunning).then_some(())
        });
        id
    }

    /// Host PID of a running container's first process.
    pub fn container_pid(&self, id: &str) -> i32 {
        let mut rs = self.runtime();
        let r = self
            .call(rs.container_status(cri::ContainerStatusRequest {
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
            .call(rs.exec_sync(cri::ExecSyncRequest {
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

    /// CRI PullImage; the error text if it fails.
    pub fn pull(&self, image: &str) -> Result<(), String> {
        let mut is = self.is.clone();
        self.call(is.pull_image(cri::PullImageRequest {
            image: Some(cri::ImageSpec {
                image: image.into(),
                ..Default::default()
            }),
            auth: None,
            sandbox_config: None,
        }))
        .map(|_| ())
        .map_err(|e| e.message().to_string())
    }

    pub fn stop_pod(&self, id: &str) {
        let mut rs = self.runtime();
        self.call(rs.stop_pod_sandbox(cri::StopPodSandboxRequest {
            pod_sandbox_id: id.into(),
        }))
        .unwrap_or_else(|e| panic!("StopPodSandbox {id}: {e}\n{}", self.log_tail()));
    }

    pub fn remove_pod(&self, id: &str) {
        let mut rs = self.runtime();
        self.call(rs.remove_pod_sandbox(cri::RemovePodSandboxRequest {
            pod_sandbox_id: id.into(),
        }))
        .unwrap_or_else(|e| panic!("RemovePodSandbox {id}: {e}\n{}", self.log_tail()));
    }

    pub fn list_pods(&self) -> Vec<String> {
        let mut rs = self.runtime();
        self.call(rs.list_pod_sandbox(cri::ListPodSandboxRequest { filter: None }))
            .map(|r| r.into_inner().items.into_iter().map(|p| p.id).collect())
            .unwrap_or_default()
    }

    /// Processes and mounts that still mention `id` (a sandbox or container
    /// id): shims carry it on their command line, rootfs/shm/netns mounts in
    /// their paths.
    pub fn leftovers(&self, id: &str) -> Vec<String> {
        let mut found = Vec::new();
        for (pid, cmdline) in processes() {
            if cmdline.contains(id) {
                found.push(format!("process {pid}: {cmdline}"));
            }
        }
        for m in mounts() {
            if m.contains(id) {
                found.push(format!("mount {m}"));
            }
        }
        found
    }

    /// Makes containerd publish a harmless event (a label on the k8s.io
    /// namespace), to learn that an event subscriber is live.
    pub fn probe_event(&self, n: u32) {
        let out = Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(["namespaces", "label", "k8s.io"])
            .arg(format!("pause-cri-probe={n}"))
            .output()
            .expect("ctr namespaces label");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts `ctr events` for this node; lines are read by the caller.
    pub fn events(&self) -> Child {
        Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(["-n", "k8s.io", "events"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ctr events")
    }
}

fn namespaces(pid: NamespaceMode, host_network: bool) -> cri::NamespaceOption {
    cri::NamespaceOption {
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

/// rmdir of a cgroup directory and its sub-cgroups, deepest first.
fn remove_cgroup_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&e.path());
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
}

/// (pid, command line with spaces) of every process.
pub fn processes() -> Vec<(i32, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Ok(c) = std::fs::read(e.path().join("cmdline")) {
            let s = String::from_utf8_lossy(&c).replace('\0', " ");
            out.push((pid, s.trim_end().to_string()));
        }
    }
    out
}

/// Mount points (field 5 of /proc/self/mountinfo), octal escapes kept.
pub fn mounts() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .collect()
}

/// A field of /proc/PID/status, e.g. "Uid" or "PPid".
pub fn status_field(pid: i32, field: &str) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
}

pub fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Host PID of the process whose PID in `ns_of`'s PID namespace is `inner`.
pub fn host_pid(ns_of: i32, inner: i32) -> Option<i32> {
    let ns = std::fs::read_link(format!("/proc/{ns_of}/ns/pid")).ok()?;
    processes().into_iter().map(|(p, _)| p).find(|&p| {
        std::fs::read_link(format!("/proc/{p}/ns/pid"))
            .ok()
            .as_ref()
            == Some(&ns)
            && status_field(p, "NSpid")
                .and_then(|v| v.split_whitespace().last().map(str::to_string))
                .as_deref()
                == Some(inner.to_string().as_str())
    })
}

impl Drop for Node {
    /// Stops and removes whatever pods are left, stops containerd, then
    /// removes anything it left: shims, container processes, mounts.
    fn drop(&mut self) {
        let d = self.dir.path().to_path_buf();
        if self.child.is_some() && self.connected {
            for id in self.list_pods() {
                let mut rs = self.rs.clone();
                let _ = self.rt.block_on(async {
                    tokio::time::timeout(
                        Duration::from_secs(20),
                        rs.stop_pod_sandbox(cri::StopPodSandboxRequest {
                            pod_sandbox_id: id.clone(),
                        }),
                    )
                    .await
                });
                let _ = self.rt.block_on(async {
                    tokio::time::timeout(
                        Duration::from_secs(20),
                        rs.remove_pod_sandbox(cri::RemovePodSandboxRequest { pod_sandbox_id: id }),
                    )
                    .await
                });
            }
        }
        if let Some(mut child) = self.child.take() {
            let _ = kill(Pid::from_raw(self.pid), Signal::SIGTERM);
            let start = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if start.elapsed() > Duration::from_secs(10) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // Anything still tied to this node: shims (their command line names
        // our socket) and processes whose root is inside our temp dir.
        let sock = self.socket.display().to_string();
        let dir = d.display().to_string();
        for (pid, cmdline) in processes() {
            let root = std::fs::read_link(format!("/proc/{pid}/root"))
                .map(|r| r.display().to_string())
                .unwrap_or_default();
            if cmdline.contains(&sock) || root.starts_with(&dir) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        let mut ours: Vec<String> = mounts()
            .into_iter()
            .filter(|m| m.starts_with(&dir))
            .collect();
        ours.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in ours {
            let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
        // The pods' cgroup parent in every hierarchy: empty directories only.
        let parent = self.cgroup_parent();
        if let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") {
            for h in hierarchies.flatten() {
                remove_cgroup_tree(&h.path().join(&parent));
            }
        }
    }
}

/// This machine's architecture as Kubernetes names it.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => panic!("unsupported architecture {other}"),
    }
}

/// The workload image: the project's static test workload (tests/workload,
/// `make workload`) alone in an image, packed by the project's own packer
/// (pause-oci) for this machine's architecture.
pub struct Workload {
    pub reference: String,
    pub archive: PathBuf,
}

/// The workload binary: WORKLOAD_BIN, or where `make workload` puts it.
pub fn workload_bin() -> PathBuf {
    std::env::var_os("WORKLOAD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/e2e/workload/workload"))
}

/// Packs the workload into `dir/workload.tar` (image pause-cri-workload:test,
/// only /workload, entrypoint /workload).
pub fn pack_workload(dir: &Path) -> Workload {
    let bin = workload_bin();
    let binary = std::fs::read(&bin)
        .unwrap_or_else(|e| panic!("{}: {e} (run `make workload`)", bin.display()));
    let opts = xtask::Options {
        epoch: 0,
        path: "/workload".into(),
        entrypoint: vec!["/workload".into()],
        user: "0:0".into(),
        labels: BTreeMap::new(),
        name: "docker.io/library/pause-cri-workload".into(),
        tag: "test".into(),
    };
    let built = xtask::build(
        &opts,
        &[xtask::Input {
            arch: host_arch().into(),
            binary,
            source_name: "workload".into(),
        }],
    )
    .expect("pack workload image");
    let archive = dir.join("workload.tar");
    std::fs::write(&archive, built.archive).unwrap();
    Workload {
        reference: format!("{}:{}", opts.name, opts.tag),
        archive,
    }
}

/// The workload's one-line `key=value ...` report as a map.
pub fn report(line: &str) -> BTreeMap<String, String> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Host PIDs whose parent is `pid`.
pub fn children_of(pid: i32) -> Vec<i32> {
    processes()
        .into_iter()
        .map(|(p, _)| p)
        .filter(|&p| status_field(p, "PPid").as_deref() == Some(pid.to_string().as_str()))
        .collect()
}
