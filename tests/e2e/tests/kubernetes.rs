//! A real Kubernetes node runs the image: kubelet and a control plane built
//! from Kubernetes' own Go module (`make deps-go`), containerd pulling the
//! sandbox image from the project's registry, the node joining by TLS
//! bootstrap (test_support::kube). Everything is asserted through the API
//! with `kube` + `k8s-openapi`, and with kubectl where an operator would type.
//!
//! One test per kubelet version and containerd walks a node's life: it
//! joins (client CSR approved by the controller-manager), its serving CSRs
//! stay Pending and exec is refused until they are approved, pods share
//! their PID namespace with /pause as PID 1, 1,000 orphans are reaped within
//! a second, a static pod runs, kubelet's image GC keeps the sandbox image
//! and a pod starts with the registry down, kubelet and containerd restart
//! under running pods, `kubectl delete` stops a pod at once. The negative
//! control runs a sandbox image that does not reap: the reaping check fails.
//!
//! Needs root, `make deps`, `make deps-pinned`, `make deps-go`, `make oci`
//! and `make workload` (`make test-e2e-kubernetes` does all of them). Outside
//! CI a missing requirement skips; in CI it fails.

use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::Api;
use kube::api::PostParams;
use pause_e2e::sandbox_user::{CONTAINERD, assert_sandbox_credentials};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use test_support::ci::require;
use test_support::command::run;
use test_support::cri::{Containerd, Dialect, pack_workload};
use test_support::kube::{Cluster, KubeletSettings, Options, Release};
use test_support::procfs;
use test_support::repo;
use test_support::wait::{DEADLINE, wait_for};

const CONTAINERD_2_1: Containerd = Containerd::new("2.1", Dialect::PinnedImagesV3);
const CONTAINERD_1_7: Containerd = Containerd::new("1.7", Dialect::SandboxImage);

/// How long orphans' zombies may stay: reaping is PID 1's job, done at once.
const REAP_WITHIN: Duration = Duration::from_secs(1);
const ORPHANS: usize = 1000;
/// kubelet runs image GC when it starts and then every 5 minutes (its
/// ImageGCPeriod, not configurable); the run at start can come before it has
/// its image filesystem's stats and fail, so the next one may be the first.
const IMAGE_GC_WITHIN: Duration = Duration::from_secs(330);

/// The images a node's pods run, imported into containerd (never pulled:
/// the registry serves only the sandbox image).
struct Images {
    workload: String,
    shell: String,
    /// An image no pod uses: kubelet's image GC is to remove it.
    unused: String,
}

fn busybox_image(dir: &Path, name: &str, tag: &str, user: &str, command: &[&str]) -> PathBuf {
    let opts = xtask::Options {
        epoch: 0,
        path: "/busybox".into(),
        entrypoint: command.iter().map(|s| s.to_string()).collect(),
        user: user.into(),
        labels: BTreeMap::new(),
        name: name.into(),
        tag: tag.into(),
        tool: "the kubernetes suite's busybox images".into(),
    };
    let binary =
        std::fs::read("/usr/bin/busybox").expect("/usr/bin/busybox (busybox-static, make deps)");
    let input = xtask::Input {
        arch: repo::host_arch().into(),
        binary,
        source_name: "busybox".into(),
    };
    let built = xtask::build(&opts, &[input]).expect("pack busybox image");
    let archive = dir.join(format!("{}.tar", name.replace('/', "_")));
    std::fs::write(&archive, built.archive).unwrap();
    archive
}

/// A sandbox image that does not reap: busybox `sleep` as PID 1, published
/// under the name and tag of the real one.
fn non_reaping_sandbox(dir: &Path) -> PathBuf {
    let version = repo::version();
    busybox_image(
        dir,
        "localhost/pause",
        &version,
        "65535:65535",
        &["/busybox", "sleep", "2147483647"],
    )
}

/// The images the pods run and the one no pod runs, built into `dir`:
/// preloaded into the node, so that kubelet sees them all when it starts.
fn images(dir: &Path) -> (Images, Vec<(PathBuf, String)>) {
    let workload = pack_workload(dir);
    let sleep = ["/busybox", "sleep", "2147483647"];
    let shell = "localhost/pause-kube-shell:test";
    let shell_archive = busybox_image(dir, "localhost/pause-kube-shell", "test", "0:0", &sleep);
    // Another entrypoint, so another image, not one more name of the shell's
    // (kubelet's GC counts an image in use whatever name a container gave).
    let unused = "localhost/pause-kube-unused:test";
    let true_ = ["/busybox", "true"];
    let unused_archive = busybox_image(dir, "localhost/pause-kube-unused", "test", "0:0", &true_);
    let preload = vec![
        (workload.archive, workload.reference.clone()),
        (shell_archive, shell.into()),
        (unused_archive, unused.into()),
    ];
    let images = Images {
        workload: workload.reference,
        shell: shell.into(),
        unused: unused.into(),
    };
    (images, preload)
}

/// Image GC thresholds at their lowest (disk usage above 1 % frees down to
/// 0 %), set from kubelet's start: its GC runs at start (often before the
/// image filesystem's stats exist, and then fails) and every 5 minutes, so
/// the wait for it overlaps the rest of the test. An image is collected once
/// kubelet has known it for imageMinimumGCAge (2 min).
fn gc_at_once() -> KubeletSettings {
    KubeletSettings {
        image_gc_high: 1,
        image_gc_low: 0,
        ..KubeletSettings::default()
    }
}

/// Starts a cluster with the test's images preloaded, or skips (fails in
/// CI) when this machine lacks a part.
fn cluster(
    kubelet: Release,
    containerd: Containerd,
    sandbox: PathBuf,
    preload: Vec<(PathBuf, String)>,
) -> Option<Cluster> {
    if let Some(missing) = Cluster::missing(kubelet, containerd) {
        require(false, &missing);
        return None;
    }
    let options = Options {
        kubelet,
        containerd,
        sandbox_archive: sandbox,
        kubelet_settings: gc_at_once(),
        preload,
        addons: Default::default(),
    };
    let t0 = Instant::now();
    let cluster = Cluster::start(options).unwrap_or_else(|e| panic!("cluster: {e}"));
    eprintln!(
        "{kubelet:?} on containerd {}: node Ready after {:?}",
        containerd.series,
        t0.elapsed()
    );
    Some(cluster)
}

/// A pod sharing its PID namespace: the workload serving (and making
/// orphans on `exec`), a busybox shell for reading /proc.
fn reaper_pod(name: &str, images: &Images) -> Pod {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "shareProcessNamespace": true,
            "automountServiceAccountToken": false,
            "terminationGracePeriodSeconds": 30,
            "containers": [
                {"name": "work", "image": images.workload, "imagePullPolicy": "Never", "args": ["serve"]},
                {"name": "shell", "image": images.shell, "imagePullPolicy": "Never"},
            ],
        },
    }))
    .unwrap()
}

fn pods(cluster: &Cluster) -> impl Fn() -> Api<Pod> + '_ {
    move || Api::default_namespaced(cluster.kube().client.clone())
}

fn create_pod(cluster: &Cluster, pod: Pod) {
    let api = pods(cluster)();
    cluster
        .kube()
        .run(|_| async move { api.create(&PostParams::default(), &pod).await.map(|_| ()) })
        .unwrap_or_else(|e| panic!("create pod: {e}"));
}

fn pod_phase(cluster: &Cluster, name: &str) -> Result<String, String> {
    let api = pods(cluster)();
    let name = name.to_string();
    let pod = cluster
        .kube()
        .run(|_| async move { api.get(&name).await })
        .map_err(|e| e.to_string())?;
    Ok(pod.status.and_then(|s| s.phase).unwrap_or_default())
}

fn wait_running(cluster: &mut Cluster, name: &str) {
    let what = format!("pod {name} Running");
    cluster
        .wait_until(&what, DEADLINE * 2, |c| {
            let phase = pod_phase(c, name)?;
            (phase == "Running").then_some(()).ok_or(phase)
        })
        .unwrap_or_else(|e| panic!("{e}\nkubelet:\n{}", cluster.log_tail("kubelet")));
}

/// The default ServiceAccount, which admission wants before any pod.
fn wait_default_service_account(cluster: &mut Cluster) {
    cluster
        .wait_until("the default ServiceAccount", DEADLINE, |c| {
            let api: Api<ServiceAccount> = Api::default_namespaced(c.kube().client.clone());
            c.kube().run(|_| async move {
                api.get("default")
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

fn csrs(cluster: &Cluster) -> Vec<CertificateSigningRequest> {
    let api: Api<CertificateSigningRequest> = Api::all(cluster.kube().client.clone());
    cluster
        .kube()
        .run(|_| async move { api.list(&Default::default()).await })
        .unwrap_or_else(|e| panic!("list CSRs: {e}"))
        .items
}

fn conditions(csr: &CertificateSigningRequest) -> Vec<String> {
    let conditions = csr
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    conditions.into_iter().map(|c| c.type_).collect()
}

/// The node's client CSR was made with the bootstrap token and approved and
/// signed by the controller-manager, as kubeadm's nodes are.
fn assert_joined_by_bootstrap(cluster: &Cluster) {
    let token_id = cluster.token.split('.').next().unwrap();
    let all = csrs(cluster);
    let client = all
        .iter()
        .find(|c| c.spec.signer_name == "kubernetes.io/kube-apiserver-client-kubelet")
        .unwrap_or_else(|| panic!("no node client CSR among {} CSRs", all.len()));
    assert_eq!(
        client.spec.username.as_deref(),
        Some(&*format!("system:bootstrap:{token_id}"))
    );
    assert!(
        conditions(client).contains(&"Approved".to_string()),
        "client CSR approved: {:?}",
        conditions(client)
    );
    let issued = client.status.as_ref().and_then(|s| s.certificate.as_ref());
    assert!(issued.is_some_and(|c| !c.0.is_empty()), "client CSR issued");
}

/// The node's serving CSRs: (name, conditions).
fn serving_csrs(cluster: &Cluster) -> Vec<(String, Vec<String>)> {
    let requestor = format!("system:node:{}", cluster.node_name());
    csrs(cluster)
        .iter()
        .filter(|c| c.spec.signer_name == "kubernetes.io/kubelet-serving")
        .inspect(|c| assert_eq!(c.spec.username.as_deref(), Some(&*requestor)))
        .map(|c| (c.metadata.name.clone().unwrap_or_default(), conditions(c)))
        .collect()
}

fn kubectl_exec(
    cluster: &Cluster,
    pod: &str,
    container: &str,
    command: &[&str],
) -> test_support::command::Run {
    let mut args = vec!["exec", pod, "-c", container, "--"];
    args.extend_from_slice(command);
    run(cluster.kubectl(&args))
}

/// Serving CSRs stay Pending and exec is refused; `kubectl certificate
/// approve` (what an operator runs) makes exec work.
fn approve_serving_csrs(cluster: &mut Cluster, pod: &str) {
    cluster
        .wait_until("a kubelet serving CSR", DEADLINE, |c| {
            (!serving_csrs(c).is_empty())
                .then_some(())
                .ok_or_else(|| "none yet".into())
        })
        .unwrap();
    let pending = serving_csrs(cluster);
    assert!(
        pending.iter().all(|(_, c)| c.is_empty()),
        "serving CSRs stay Pending: {pending:?}"
    );
    let refused = kubectl_exec(cluster, pod, "shell", &["/busybox", "true"]);
    assert!(
        !refused.ok(),
        "exec before the serving CSR is approved must fail: {}",
        refused.describe()
    );
    eprintln!("exec before approval: {}", refused.stderr());
    for (name, _) in &pending {
        run(cluster.kubectl(&["certificate", "approve", name])).check();
    }
    wait_for(
        "exec through the approved serving certificate",
        DEADLINE,
        || {
            let r = kubectl_exec(cluster, pod, "shell", &["/busybox", "true"]);
            r.ok().then_some(()).ok_or_else(|| r.stderr())
        },
    );
}

/// Host PIDs of every pod sandbox on the node, by CRI sandbox id.
fn sandbox_pids(cluster: &Cluster) -> BTreeMap<String, i32> {
    let node = cluster.node();
    node.list_pods()
        .into_iter()
        .filter_map(|id| {
            let (_, info) = node.pod_status(&id);
            let pid = info["pid"].as_i64()? as i32;
            (pid > 0).then_some((id, pid))
        })
        .collect()
}

/// The sandbox of the pod named `name` (its CRI metadata), as a host PID.
fn sandbox_of(cluster: &Cluster, name: &str) -> i32 {
    let node = cluster.node();
    let found = node.list_pods().into_iter().find_map(|id| {
        let (_, info) = node.pod_status(&id);
        let pod_name = info["config"]["metadata"]["name"].as_str()?;
        (pod_name == name).then(|| info["pid"].as_i64().unwrap_or_default() as i32)
    });
    found.unwrap_or_else(|| panic!("no sandbox for pod {name}"))
}

/// Makes `ORPHANS` orphans in the pod and returns how many zombies are left
/// under its PID 1 after [`REAP_WITHIN`] (0 as soon as none is).
fn zombies_after_orphans(cluster: &Cluster, pod: &str) -> usize {
    let sandbox = sandbox_of(cluster, pod);
    let count = ORPHANS.to_string();
    kubectl_exec(
        cluster,
        pod,
        "work",
        &["/workload", "orphans", &count, "--no-wait-reaped"],
    )
    .check();
    let start = Instant::now();
    loop {
        let left = procfs::zombies_of(sandbox).len();
        if left == 0 || start.elapsed() > REAP_WITHIN {
            return left;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn static_pod_manifest(images: &Images) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: static-reaper\nspec:\n  shareProcessNamespace: true\n  containers:\n  - name: work\n    image: {}\n    imagePullPolicy: Never\n    args: [serve]\n",
        images.workload
    )
}

/// kubelet's image GC, its thresholds at their lowest since kubelet
/// started ([`gc_at_once`]): the unused image goes, the sandbox image (pinned
/// by containerd) stays.
fn collect_images(cluster: &mut Cluster, images: &Images) {
    let sandbox_image = cluster.node().sandbox_image.clone();
    let unused = images.unused.clone();
    let t0 = Instant::now();
    cluster
        .wait_until(
            "kubelet's image GC to remove the unused image",
            IMAGE_GC_WITHIN,
            |c| {
                c.node()
                    .image_status(&unused)
                    .map_or(Ok(()), |_| Err("still there".into()))
            },
        )
        .unwrap_or_else(|e| {
            panic!(
                "{e}\nkubelet on image GC:\n{}",
                cluster.log_matching("kubelet", "garbage")
            )
        });
    eprintln!(
        "kubelet's image GC removed the unused image {:?} after the wait began",
        t0.elapsed()
    );
    assert!(
        cluster.node().image_status(&sandbox_image).is_some(),
        "the sandbox image {sandbox_image} survives kubelet's image GC"
    );
}

/// A node's life on one kubelet and containerd.
fn node_lifecycle(kubelet: Release, containerd: Containerd) {
    let dir = tempfile::tempdir().unwrap();
    let (images, preload) = images(dir.path());
    let archive = repo::built_pause_archive();
    let Some(mut cluster) = cluster(kubelet, containerd, archive, preload) else {
        return;
    };
    assert_joined_by_bootstrap(&cluster);
    wait_default_service_account(&mut cluster);

    create_pod(&cluster, reaper_pod("reaper", &images));
    wait_running(&mut cluster, "reaper");
    approve_serving_csrs(&mut cluster, "reaper");

    let cmdline = kubectl_exec(
        &cluster,
        "reaper",
        "shell",
        &["/busybox", "cat", "/proc/1/cmdline"],
    )
    .check();
    let cmdline = String::from_utf8_lossy(&cmdline.out.stdout);
    assert_eq!(
        cmdline, "/pause\0",
        "PID 1 of the pod's /proc/1/cmdline, through kubectl exec"
    );
    let left = zombies_after_orphans(&cluster, "reaper");
    assert_eq!(
        left, 0,
        "zombies left {REAP_WITHIN:?} after {ORPHANS} orphans"
    );

    std::fs::write(
        cluster.static_pod_path().join("static-reaper.yaml"),
        static_pod_manifest(&images),
    )
    .unwrap();
    let mirror = format!("static-reaper-{}", cluster.node_name());
    wait_running(&mut cluster, &mirror);

    for (id, pid) in sandbox_pids(&cluster) {
        eprintln!("sandbox {id}: host PID {pid}");
        pause_e2e::assert_runs_our_pause(pid);
        assert_sandbox_credentials(pid, &CONTAINERD);
    }

    collect_images(&mut cluster, &images);
    cluster.registry_mut().stop();
    create_pod(&cluster, reaper_pod("after-gc", &images));
    wait_running(&mut cluster, "after-gc");

    let before = sandbox_pids(&cluster);
    cluster.restart_kubelet();
    cluster.wait_node_ready().unwrap();
    assert_eq!(
        sandbox_pids(&cluster),
        before,
        "kubelet restart keeps every sandbox"
    );
    cluster.node_mut().restart();
    cluster.wait_node_ready().unwrap();
    assert_eq!(
        sandbox_pids(&cluster),
        before,
        "containerd restart keeps every sandbox"
    );
    for name in ["reaper", "after-gc", &mirror] {
        wait_running(&mut cluster, name);
    }
    create_pod(&cluster, reaper_pod("after-restarts", &images));
    wait_running(&mut cluster, "after-restarts");

    let sandbox = sandbox_of(&cluster, "reaper");
    let t0 = Instant::now();
    run(cluster.kubectl(&[
        "delete",
        "pod",
        "reaper",
        "--grace-period=30",
        "--wait=true",
    ]))
    .check();
    let gone = t0.elapsed();
    eprintln!("kubectl delete pod (grace 30 s): pod gone after {gone:?}");
    assert!(
        !procfs::alive(sandbox),
        "the sandbox has ended once the pod is gone"
    );
    assert!(
        gone < Duration::from_secs(10),
        "pod gone in {gone:?}, not after the 30 s grace period"
    );
}

#[test]
fn kubelet_newest_on_containerd_2_1() {
    node_lifecycle(Release::NEWEST, CONTAINERD_2_1);
}

#[test]
fn kubelet_1_34_on_containerd_2_1() {
    node_lifecycle(Release::V1_34, CONTAINERD_2_1);
}

#[test]
fn kubelet_newest_on_containerd_1_7() {
    node_lifecycle(Release::NEWEST, CONTAINERD_1_7);
}

/// containerd 1.6.20 does not report the sandbox image as pinned (1.7 and
/// later do), and kubelet 1.37 counts only containers' images as in use and
/// keeps an unused one only when the runtime says it is pinned (its log at
/// --v=5: `"Image ID is pinned" ... pinned=false`): kubelet's own image GC
/// deletes the sandbox image while pods run on it, and once the registry is
/// down a new pod cannot get its sandbox. What a 1.6 node does, asserted so
/// that a change is seen.
#[test]
fn kubelet_newest_on_containerd_1_6_collects_the_sandbox_image() {
    let dir = tempfile::tempdir().unwrap();
    let (images, preload) = images(dir.path());
    let archive = repo::built_pause_archive();
    let Some(mut cluster) = cluster(Release::NEWEST, Containerd::SYSTEM, archive, preload) else {
        return;
    };
    wait_default_service_account(&mut cluster);
    create_pod(&cluster, reaper_pod("reaper", &images));
    wait_running(&mut cluster, "reaper");
    let sandbox_image = cluster.node().sandbox_image.clone();
    let t0 = Instant::now();
    cluster
        .wait_until(
            "kubelet's image GC to remove the sandbox image",
            IMAGE_GC_WITHIN,
            |c| {
                c.node()
                    .image_status(&sandbox_image)
                    .map_or(Ok(()), |_| Err("still there".into()))
            },
        )
        .unwrap_or_else(|e| panic!("{e}\n{}", cluster.log_matching("kubelet", "garbage")));
    eprintln!(
        "containerd 1.6: kubelet's image GC removed {sandbox_image} after {:?}",
        t0.elapsed()
    );
    cluster.registry_mut().stop();
    create_pod(&cluster, reaper_pod("after-gc", &images));
    cluster
        .wait_until(
            "a FailedCreatePodSandBox event for the new pod",
            DEADLINE * 2,
            |c| {
                let events = run(c.kubectl(&[
                    "get",
                    "events",
                    "--field-selector",
                    "involvedObject.name=after-gc,reason=FailedCreatePodSandBox",
                    "-o",
                    "jsonpath={.items[*].message}",
                ]))
                .check();
                let text = String::from_utf8_lossy(&events.out.stdout).into_owned();
                if text.is_empty() {
                    Err(format!("pod phase {:?}", pod_phase(c, "after-gc")))
                } else {
                    eprintln!("the new pod: {}", text.lines().next().unwrap_or_default());
                    Ok(())
                }
            },
        )
        .unwrap();
}

/// The negative control: the same node with a sandbox image whose PID 1
/// does not reap fails the reaping check.
#[test]
fn a_sandbox_that_does_not_reap_fails_the_reaping_check() {
    let dir = tempfile::tempdir().unwrap();
    let archive = non_reaping_sandbox(dir.path());
    let (images, preload) = images(dir.path());
    let Some(mut cluster) = cluster(Release::NEWEST, CONTAINERD_2_1, archive, preload) else {
        return;
    };
    wait_default_service_account(&mut cluster);
    create_pod(&cluster, reaper_pod("reaper", &images));
    wait_running(&mut cluster, "reaper");
    approve_serving_csrs(&mut cluster, "reaper");
    let left = zombies_after_orphans(&cluster, "reaper");
    assert!(left > 0, "a sandbox that does not reap leaves zombies");
    eprintln!("busybox sleep as the sandbox: {left} zombies after {REAP_WITHIN:?}");
}

/// A kubelet that refuses this cgroup v1 host (kubelet >= 1.35 with its
/// default failCgroupV1: true): the start fails with one line naming the
/// cause, and the cluster leaves nothing behind.
#[test]
fn a_kubelet_that_refuses_cgroup_v1_fails_in_one_line() {
    let v1 = !Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    if !require(v1, "a cgroup v1 host (the refusal under test)") {
        return;
    }
    if let Some(missing) = Cluster::missing(Release::NEWEST, CONTAINERD_2_1) {
        require(false, &missing);
        return;
    }
    let options = Options {
        kubelet: Release::NEWEST,
        containerd: CONTAINERD_2_1,
        sandbox_archive: repo::built_pause_archive(),
        kubelet_settings: KubeletSettings {
            fail_cgroup_v1: true,
            ..KubeletSettings::default()
        },
        preload: Vec::new(),
        addons: Default::default(),
    };
    let Err(e) = Cluster::start(options) else {
        panic!("a kubelet with failCgroupV1: true joined a cgroup v1 node");
    };
    let first = e.lines().next().unwrap_or_default();
    eprintln!("{first}");
    assert!(
        first.contains("kubelet exited") && first.contains("cgroup v1"),
        "the first line names kubelet and cgroup v1: {first}"
    );
    let dir = first
        .strip_prefix("kubernetes node ")
        .and_then(|rest| rest.split(':').next())
        .expect("the message starts with the cluster's directory");
    let left = test_support::teardown::tied_to_dir(Path::new(dir));
    assert!(left.is_empty(), "left by the failed start: {left:?}");
}
