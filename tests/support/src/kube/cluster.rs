//! One Kubernetes node and its control plane, started for a test and torn
//! down after it: the project's registry serving the sandbox image, a
//! containerd node pulling from it ([`crate::cri::Node`]), etcd,
//! kube-apiserver, kube-controller-manager, kube-scheduler, and kubelet
//! joining by TLS bootstrap. All of them share one new network namespace
//! (the registry's: loopback only, which also holds the node's address,
//! since kubelet refuses a 127/8 node IP), so every port is free
//! and nothing reaches the host's network.

use super::binaries::{self, Release};
use super::client::Kube;
use super::daemons::{self, Ports};
use super::kubelet::{self, KubeletSettings, NodeSpec};
use super::pki::{self, Identity, Layout};
use super::services;
use crate::cri::{Containerd, Node};
use crate::netns::NetNs;
use crate::registry::Registry;
use crate::teardown::{self, Live, Resource};
use k8s_openapi::api::core::v1 as core;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

/// The node's address, on the namespace's loopback interface.
pub const NODE_IP: &str = "10.78.0.1";
const NODE_NAME: &str = "pause-node";
/// How long the API server and a joining node get on a loaded machine.
pub const START_DEADLINE: Duration = Duration::from_secs(180);

/// What a test chooses about its cluster.
#[derive(Clone, Debug)]
pub struct Options {
    pub kubelet: Release,
    pub containerd: Containerd,
    /// The OCI archive pushed to the registry as the sandbox image.
    pub sandbox_archive: PathBuf,
    pub kubelet_settings: KubeletSettings,
    /// OCI archives and their references, imported into the node's
    /// containerd before kubelet starts, as a node image's preloaded images
    /// are: kubelet's image GC counts an image's age from when it first saw it.
    pub preload: Vec<(PathBuf, String)>,
    pub addons: Addons,
}

/// What a conformance run needs beyond a node and its sandbox image.
#[derive(Clone, Debug, Default)]
pub struct Addons {
    /// OCI archives pushed to the registry before the node starts: the
    /// images the suite's pods and CoreDNS pull.
    pub images: Vec<PathBuf>,
    /// The registries those images' names carry: the node's containerd
    /// reaches each through the loopback registry, its mirror.
    pub mirrored: Vec<&'static str>,
    /// Services and cluster DNS: kube-proxy and CoreDNS ([`super::services`]).
    pub services: bool,
}

pub struct Cluster {
    pub options: Options,
    pub layout: Layout,
    pub ports: Ports,
    pub token: String,
    /// The cgroup kubelet puts every pod under (its cgroupRoot).
    pub cgroup_root: String,
    kube: Option<Kube>,
    /// Its directory, the pods' cgroup root, the kernel settings kubelet
    /// changes and every daemon started, for the harness's teardown.
    live: Live,
    /// The daemons, in the order started.
    children: Vec<(String, Child)>,
    node: Option<Node>,
    registry: Registry,
    _dir: tempfile::TempDir,
}

/// The kernel settings kubelet sets at start (its kernel tunables), put
/// back at teardown.
const KUBELET_SYSCTLS: [&str; 6] = [
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
];

impl Cluster {
    /// Why a cluster with `kubelet` cannot run here, if it cannot.
    pub fn missing(kubelet: Release, containerd: Containerd) -> Option<String> {
        crate::cri::missing_requirements()
            .or_else(|| containerd.missing())
            .or_else(crate::registry::missing)
            .or_else(|| binaries::missing(kubelet))
    }

    /// Starts everything and waits until the node is Ready; Err says which
    /// part failed and why, with everything started so far torn down.
    /// The message starts with the cluster's directory, gone by then.
    pub fn start(options: Options) -> Result<Cluster, String> {
        let dir = tempfile::Builder::new()
            .prefix("pause-kube.")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let what = format!("kubernetes node {}", dir.path().display());
        Cluster::start_in(dir, options).map_err(|e| format!("{what}: {e}"))
    }

    fn start_in(dir: tempfile::TempDir, options: Options) -> Result<Cluster, String> {
        let registry = Registry::start_isolated();
        registry.push(&options.sandbox_archive);
        for archive in &options.addons.images {
            registry.push(archive);
        }
        let node = Node::start_mirroring(options.containerd, &registry, &options.addons.mirrored);
        let netns = registry.netns();
        add_node_address(netns)?;
        let ports = free_ports(netns);
        let name = dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace('.', "-");
        let live = teardown::register(cluster_resource(dir.path(), &name));
        let mut cluster = Cluster {
            layout: Layout {
                root: dir.path().to_path_buf(),
            },
            ports,
            token: bootstrap_token(),
            cgroup_root: name,
            kube: None,
            live,
            children: Vec::new(),
            options,
            node: Some(node),
            registry,
            _dir: dir,
        };
        for (archive, reference) in &cluster.options.preload {
            cluster.node().import(archive, reference);
        }
        cluster.pull_sandbox_image()?;
        cluster.start_control_plane()?;
        cluster.start_kubelet()?;
        cluster.wait_node_ready()?;
        if cluster.options.addons.services {
            cluster.start_services()?;
        }
        Ok(cluster)
    }

    /// Pulls the sandbox image from the registry through CRI before kubelet
    /// starts, as `kubeadm config images pull` does on a new node. kubelet
    /// then knows it from its first image pass, so at the next one, 5 min
    /// later, it is older than imageMinimumGCAge and only the runtime's pin
    /// keeps it. Pulled at the first pod instead, it would be first seen at
    /// that later pass, too young to collect, and the GC check could not fail.
    fn pull_sandbox_image(&self) -> Result<(), String> {
        let image = &self.node().sandbox_image;
        self.node()
            .pull(image)
            .map_err(|e| format!("pulling the sandbox image {image} from the registry: {e}"))
    }

    pub fn netns(&self) -> &NetNs {
        self.registry.netns()
    }

    pub fn node(&self) -> &Node {
        self.node.as_ref().expect("node running")
    }

    pub fn node_mut(&mut self) -> &mut Node {
        self.node.as_mut().expect("node running")
    }

    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    pub fn kube(&self) -> &Kube {
        self.kube.as_ref().expect("API server running")
    }

    pub fn node_name(&self) -> &'static str {
        NODE_NAME
    }

    fn identity(&self) -> Identity<'_> {
        Identity {
            node_name: NODE_NAME,
            node_ip: NODE_IP,
            api_port: self.ports.api,
            token: &self.token,
            cri_socket: &self.node().socket,
        }
    }

    fn start_control_plane(&mut self) -> Result<(), String> {
        pki::make(self.netns(), &self.layout, &self.identity())
            .map_err(|e| format!("kubeadm: {e}"))?;
        let etcd = daemons::etcd_command(self.netns(), &self.layout, &self.ports);
        self.spawn("etcd", etcd);
        let api = daemons::apiserver_command(self.netns(), &self.layout, &self.ports, NODE_IP);
        self.spawn("kube-apiserver", api);
        let kube = Kube::connect(self.netns(), &self.layout.kubeconfig("admin"))?;
        self.kube = Some(kube);
        self.wait_until(
            "the API server to be ready (/readyz)",
            START_DEADLINE,
            |c| c.kube().get_raw("/readyz").map(|_| ()),
        )?;
        pki::bootstrap(self.netns(), &self.layout).map_err(|e| format!("kubeadm: {e}"))?;
        let cm = daemons::controller_manager_command(self.netns(), &self.layout, &self.ports);
        self.spawn("kube-controller-manager", cm);
        let scheduler = daemons::scheduler_command(self.netns(), &self.layout, &self.ports);
        self.spawn("kube-scheduler", scheduler);
        Ok(())
    }

    /// kube-proxy, then CoreDNS; returns once CoreDNS answers (its pods
    /// Ready). Err names an image the registry does not serve at once.
    fn start_services(&mut self) -> Result<(), String> {
        self.approve_serving_csrs()?;
        let r = crate::command::run(services::route_services_command(self.netns(), NODE_IP));
        if !r.ok() {
            return Err(format!("the route to Services: {}", r.describe()));
        }
        services::write_kube_proxy_config(&self.layout, NODE_NAME);
        let proxy = services::kube_proxy_command(self.netns(), &self.layout);
        self.spawn("kube-proxy", proxy);
        let r = crate::command::run(services::coredns_addon_command(self.netns(), &self.layout));
        if !r.ok() {
            return Err(format!("kubeadm's CoreDNS addon: {}", r.describe()));
        }
        self.wait_pods_ready("kube-system", "k8s-app=kube-dns")
            .map_err(|e| {
                let logs = self.kubectl(&[
                    "-n",
                    "kube-system",
                    "logs",
                    "-l",
                    "k8s-app=kube-dns",
                    "--tail=8",
                ]);
                let logs = crate::command::run(logs);
                format!(
                    "CoreDNS: {e}\nCoreDNS's last lines:\n{}{}\nkube-proxy's:\n{}",
                    logs.stdout(),
                    logs.stderr(),
                    daemons::log_tail(&self.layout, "kube-proxy", 15)
                )
            })
    }

    /// Approves the node's kubelet-serving CSRs as an operator does
    /// (`kubectl certificate approve`; no controller approves them): exec,
    /// logs and port-forward reach kubelet through that certificate.
    pub fn approve_serving_csrs(&mut self) -> Result<(), String> {
        let mut pending = Vec::new();
        self.wait_until("the node's serving CSR", START_DEADLINE, |c| {
            pending = c.pending_serving_csrs()?;
            (!pending.is_empty()).then_some(()).ok_or("none yet".into())
        })?;
        for name in &pending {
            let r = crate::command::run(self.kubectl(&["certificate", "approve", name]));
            if !r.ok() {
                return Err(format!("approving {name}: {}", r.describe()));
            }
        }
        Ok(())
    }

    fn pending_serving_csrs(&self) -> Result<Vec<String>, String> {
        use k8s_openapi::api::certificates::v1::CertificateSigningRequest as Csr;
        let list = self.kube().run(|c| async move {
            let api = kube::Api::<Csr>::all(c);
            api.list(&Default::default())
                .await
                .map_err(|e| e.to_string())
        })?;
        let pending = list.items.into_iter().filter(|csr| {
            let decided = csr.status.as_ref().and_then(|s| s.conditions.as_ref());
            csr.spec.signer_name == "kubernetes.io/kubelet-serving"
                && decided.is_none_or(|c| c.is_empty())
        });
        Ok(pending.filter_map(|csr| csr.metadata.name).collect())
    }

    /// Waits until every pod `selector` picks in `namespace` is Ready (and
    /// there is one). A pod whose image cannot be pulled ends the wait at
    /// once, with the runtime's reason.
    pub fn wait_pods_ready(&mut self, namespace: &str, selector: &str) -> Result<(), String> {
        let mut unpullable = None;
        let what = format!("the pods {selector} in {namespace} to be Ready");
        self.wait_until(&what, START_DEADLINE, |c| {
            match c.pods_state(namespace, selector)? {
                PodsState::Ready => Ok(()),
                PodsState::CannotPull(why) => {
                    unpullable = Some(why);
                    Ok(())
                }
                PodsState::NotReady(why) => Err(why),
            }
        })?;
        unpullable.map_or(Ok(()), Err)
    }

    fn pods_state(&self, namespace: &str, selector: &str) -> Result<PodsState, String> {
        let (namespace, selector) = (namespace.to_string(), selector.to_string());
        let pods = self.kube().run(|c| async move {
            let api = kube::Api::<core::Pod>::namespaced(c, &namespace);
            let list = kube::api::ListParams::default().labels(&selector);
            api.list(&list).await.map_err(|e| e.to_string())
        })?;
        if pods.items.is_empty() {
            return Ok(PodsState::NotReady("no pod yet".into()));
        }
        for pod in pods.items {
            let name = pod.metadata.name.unwrap_or_default();
            let status = pod.status.unwrap_or_default();
            for c in status.container_statuses.iter().flatten() {
                let waiting = c.state.as_ref().and_then(|s| s.waiting.as_ref());
                let reason = waiting.and_then(|w| w.reason.as_deref());
                if matches!(reason, Some("ErrImagePull" | "ImagePullBackOff")) {
                    let message = waiting.and_then(|w| w.message.clone()).unwrap_or_default();
                    return Ok(PodsState::CannotPull(format!(
                        "pod {name} cannot pull {}: {message}",
                        c.image
                    )));
                }
            }
            let conditions = status.conditions.unwrap_or_default();
            if !conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
            {
                return Ok(PodsState::NotReady(format!(
                    "pod {name} is {:?}",
                    status.phase
                )));
            }
        }
        Ok(PodsState::Ready)
    }

    fn node_spec(&self) -> NodeSpec<'_> {
        NodeSpec {
            name: NODE_NAME,
            ip: NODE_IP,
            cri_socket: &self.node().socket,
            cgroup_root: &self.cgroup_root,
            api_server: format!("https://{NODE_IP}:{}", self.ports.api),
            token: &self.token,
        }
    }

    /// Makes the pods' cgroup root and starts kubelet with only its
    /// bootstrap kubeconfig.
    fn start_kubelet(&mut self) -> Result<(), String> {
        make_cgroup(&self.cgroup_root);
        let spec = self.node_spec();
        kubelet::write_files(
            &self.layout,
            &self.ports,
            &spec,
            &self.options.kubelet_settings,
        );
        self.spawn_kubelet();
        Ok(())
    }

    fn spawn_kubelet(&mut self) {
        let bin = self.options.kubelet.bin("kubelet");
        let command = kubelet::command(self.netns(), &self.layout, &bin, &self.node_spec());
        self.spawn("kubelet", command);
    }

    /// Rewrites kubelet's configuration with `settings`; it reads them at
    /// its next (re)start.
    pub fn set_kubelet_settings(&mut self, settings: KubeletSettings) {
        self.options.kubelet_settings = settings;
        let spec = self.node_spec();
        kubelet::write_files(
            &self.layout,
            &self.ports,
            &spec,
            &self.options.kubelet_settings,
        );
    }

    /// kubelet's staticPodPath.
    pub fn static_pod_path(&self) -> PathBuf {
        kubelet::KubeletFiles::under(&self.layout).static_pods
    }

    /// Stops kubelet (SIGTERM, as systemd would) and starts it again with
    /// the same files: its client certificate is on disk now.
    ///
    /// Returns once the new kubelet answers on /healthz: until then the Node
    /// object still says Ready from before, and a containerd restarted in
    /// that window makes kubelet's start-up check of CRI fail, and kubelet
    /// exit (systemd would start it again; nothing here does).
    pub fn restart_kubelet(&mut self) {
        self.stop_process("kubelet");
        self.spawn_kubelet();
        let port = self.ports.kubelet_healthz;
        self.wait_until("kubelet's /healthz to say ok", START_DEADLINE, |c| {
            let body = c.netns().run(|| crate::http::get(port, "/healthz"));
            match body {
                Some(b) if b.ends_with("ok") => Ok(()),
                other => Err(format!("/healthz: {other:?}")),
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// kubelet's PID while it runs.
    pub fn kubelet_pid(&self) -> Option<i32> {
        let (_, kubelet) = self.children.iter().find(|(n, _)| n == "kubelet")?;
        let process = teardown::Process::of(kubelet.id() as i32)?;
        process.alive().then_some(process.pid)
    }

    /// SIGTERM to the daemon `name`, SIGKILL after the teardown's grace.
    fn stop_process(&mut self, name: &str) {
        let live = &self.live;
        self.children.retain_mut(|(n, child)| {
            if n == name {
                live.stop_process(child.id());
                let _ = child.wait();
            }
            n != name
        });
    }

    fn spawn(&mut self, name: &str, command: std::process::Command) {
        let child = daemons::spawn(&self.layout, name, command);
        self.live.add_process(child.id());
        self.children.push((name.into(), child));
    }

    /// A daemon that exited (containerd first: kubelet exits when it does):
    /// its name, status and last log lines.
    pub fn exited_daemon(&mut self) -> Option<String> {
        if let Some(exited) = self.node.as_mut().and_then(Node::exited) {
            return Some(exited);
        }
        let layout = &self.layout;
        self.children.iter_mut().find_map(|(name, child)| {
            let status = child.try_wait().ok().flatten()?;
            Some(format!(
                "{name} exited ({status}): {}\n{}",
                daemons::last_error(layout, name).unwrap_or_default(),
                daemons::log_tail(layout, name, 15)
            ))
        })
    }

    /// The last lines `daemon` logged.
    pub fn log_tail(&self, daemon: &str) -> String {
        daemons::log_tail(&self.layout, daemon, 30)
    }

    /// The lines of `daemon`'s log that mention `needle` (case-insensitive).
    pub fn log_matching(&self, daemon: &str, needle: &str) -> String {
        let log =
            std::fs::read_to_string(daemons::log_path(&self.layout, daemon)).unwrap_or_default();
        let needle = needle.to_lowercase();
        let lines = log.lines().filter(|l| l.to_lowercase().contains(&needle));
        lines.collect::<Vec<_>>().join("\n")
    }

    /// Polls `probe` until Ok; Err once a daemon has exited or at `deadline`.
    pub fn wait_until(
        &mut self,
        what: &str,
        deadline: Duration,
        mut probe: impl FnMut(&Cluster) -> Result<(), String>,
    ) -> Result<(), String> {
        let start = std::time::Instant::now();
        loop {
            let last = match probe(self) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if let Some(exited) = self.exited_daemon() {
                return Err(format!("waiting for {what}: {exited}"));
            }
            if start.elapsed() > deadline {
                return Err(format!(
                    "timed out after {deadline:?} waiting for {what}; last seen: {last}"
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The Node object, once kubelet has registered it.
    pub fn node_object(&self) -> Result<core::Node, String> {
        self.kube().run(|c| async move {
            kube::Api::<core::Node>::all(c)
                .get(NODE_NAME)
                .await
                .map_err(|e| e.to_string())
        })
    }

    pub fn wait_node_ready(&mut self) -> Result<(), String> {
        self.wait_until("the node to be Ready", START_DEADLINE, |c| {
            let node = c.node_object()?;
            let ready = node
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .into_iter()
                .find(|c| c.type_ == "Ready");
            match ready {
                Some(r) if r.status == "True" => Ok(()),
                other => Err(format!("Ready condition: {other:?}")),
            }
        })
    }

    /// kubectl (the newest) as the administrator, in the namespace.
    pub fn kubectl(&self, args: &[&str]) -> std::process::Command {
        let mut c = self.netns().command(Release::NEWEST.bin("kubectl"));
        c.arg(format!(
            "--kubeconfig={}",
            self.layout.kubeconfig("admin").display()
        ))
        .args(args);
        c
    }
}

impl Drop for Cluster {
    /// kubelet and the control plane first (kubelet would restart pods),
    /// then containerd with every pod, then the registry and the rest.
    fn drop(&mut self) {
        for (_, child) in self.children.iter_mut().rev() {
            self.live.stop_process(child.id());
            let _ = child.wait();
        }
        self.kube.take();
        self.node.take();
        self.live.release();
    }
}

enum PodsState {
    Ready,
    NotReady(String),
    CannotPull(String),
}

/// The cluster for the teardown: its directory (and every daemon whose
/// command line names it), the pods' cgroup root, and the kernel settings
/// kubelet changes when it starts, with their values now.
fn cluster_resource(dir: &Path, cgroup_root: &str) -> Resource {
    let r = Resource::new(format!("kubernetes node {}", dir.display()))
        .dir(dir)
        .cgroup(cgroup_root);
    host_kernel_settings()
        .iter()
        .fold(r, |r, (path, value)| r.content(path, value))
}

/// The kernel settings kubelet changes, as they were before any kubelet of
/// this or another run: read once, so that a cluster started while another's
/// kubelet runs puts back the host's values, not that kubelet's. Another
/// run's record of a setting (a cluster of `make bench-density-kubelet`
/// beside `make test`, or one killed before its sweep) holds the host's
/// value when /proc already shows kubelet's.
fn host_kernel_settings() -> &'static [(PathBuf, String)] {
    static BEFORE: std::sync::OnceLock<Vec<(PathBuf, String)>> = std::sync::OnceLock::new();
    BEFORE.get_or_init(|| {
        let recorded: Vec<(PathBuf, String)> = teardown::records_in(&teardown::state_dir())
            .into_iter()
            .flat_map(|r| r.contents)
            .collect();
        KUBELET_SYSCTLS
            .iter()
            .map(|key| Path::new("/proc/sys").join(key))
            .filter_map(|path| {
                if let Some((_, value)) = recorded.iter().find(|(p, _)| *p == path) {
                    return Some((path, value.clone()));
                }
                let value = std::fs::read_to_string(&path).ok()?;
                Some((path, value.trim().to_string()))
            })
            .collect()
    })
}

/// The node's address on the namespace's loopback interface: kubelet and
/// the API server need one outside 127/8.
fn add_node_address(netns: &NetNs) -> Result<(), String> {
    let mut c = netns.command("ip");
    c.args(["addr", "add", &format!("{NODE_IP}/32"), "dev", "lo"]);
    let r = crate::command::run(c);
    r.ok()
        .then_some(())
        .ok_or_else(|| format!("node address: {}", r.describe()))
}

fn free_port(netns: &NetNs) -> u16 {
    netns.run(|| {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        l.local_addr().unwrap().port()
    })
}

/// kubelet's default port (ephemeral ports, which the others are, start
/// above it).
const KUBELET_PORT: u16 = 10250;

/// Distinct free ports; each listener is closed before the next is asked
/// for, so the kernel may hand the same one twice: retried until distinct.
fn free_ports(netns: &NetNs) -> Ports {
    let mut taken = Vec::new();
    let mut next = || loop {
        let p = free_port(netns);
        if !taken.contains(&p) {
            taken.push(p);
            return p;
        }
    };
    Ports {
        api: next(),
        etcd_client: next(),
        etcd_peer: next(),
        controller_manager: next(),
        scheduler: next(),
        // kubelet's own port, as on every node: the namespace is the
        // cluster's alone, and Kubernetes' e2e framework reaches kubelet
        // through the API server's node proxy on this port, not the one
        // the Node reports.
        kubelet: KUBELET_PORT,
        kubelet_healthz: next(),
    }
}

/// A bootstrap token (`[a-z0-9]{6}.[a-z0-9]{16}`), random per cluster.
fn bootstrap_token() -> String {
    let mut bytes = [0u8; 22];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .expect("/dev/urandom");
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let s: String = bytes
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect();
    format!("{}.{}", &s[..6], &s[6..])
}

/// `name` in every cgroup v1 hierarchy: kubelet wants its cgroupRoot to exist.
fn make_cgroup(name: &str) {
    if let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") {
        for h in hierarchies.flatten() {
            let is_dir = h.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && h.file_name() != "unified" {
                let _ = std::fs::create_dir(h.path().join(name));
            }
        }
    }
}
