//! One peer's node with kubelet: the cluster started with the peer as its
//! sandbox image, the pods made Ready, measured idle, deleted, and the node
//! searched until nothing of them is left.

use super::{IdleCpu, NodeMemory, Run, left, pods};
use crate::density::batch::CONTAINERD;
use crate::density::memory;
use crate::sandbox::lifecycle;
use crate::{Peer, Plan, image};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use test_support::cri::pack_workload;
use test_support::kube::{Cluster, KubeletSettings, Options, Release};
use test_support::wait::DEADLINE;
use test_support::{procfs, repo, spawn};

/// One pod's processes on the host.
pub struct PodProcesses {
    pub sandbox: left::Process,
    pub shim: left::Process,
    pub containers: Vec<left::Process>,
}

/// Runs one peer's node; panics on any failure (the phase runs in a child
/// process, see phase.rs).
pub fn run(peer: &Peer, plan: &Plan, arch: &str) -> Run {
    let dir = std::env::temp_dir().join(format!("kubelet-{}", peer.key));
    std::fs::create_dir_all(&dir).expect("create the run's directory");
    let workload = pack_workload(&dir);
    let options = Options {
        kubelet: Release::NEWEST,
        containerd: CONTAINERD,
        sandbox_archive: sandbox_archive(peer, arch, &dir),
        kubelet_settings: KubeletSettings::default(),
        preload: vec![(workload.archive.clone(), workload.reference.clone())],
        addons: Default::default(),
    };
    let t0 = Instant::now();
    let mut cluster = Cluster::start(options).unwrap_or_else(|e| panic!("{e}"));
    let node_ready_s = t0.elapsed().as_secs_f64();
    must(pods::wait_service_account(&mut cluster));
    let before = Before::read(&cluster);
    let n = plan.kubelet_pods;
    let t1 = Instant::now();
    must(pods::create(&cluster, n, &workload.reference));
    must(pods::wait_ready(&mut cluster, n));
    let all_ready_s = t1.elapsed().as_secs_f64();
    let processes = pod_processes(&cluster, peer);
    assert_eq!(processes.len(), n, "one sandbox per pod on the node");
    let memory = memory_of(&cluster, &before, &processes);
    let idle = idle_cpu(&cluster, &processes, plan.kubelet_idle_seconds);
    let ids = cluster.node().list_pods();
    let t2 = Instant::now();
    must(pods::delete_all(&cluster));
    must(pods::wait_deleted(&mut cluster));
    let deleted_s = t2.elapsed().as_secs_f64();
    let left = left::wait_gone(&cluster, &ids, &processes, t2);
    let gone_s = t2.elapsed().as_secs_f64();
    drop(cluster);
    Run {
        peer: peer.key.clone(),
        pods: n,
        kubelet: Release::NEWEST.version(),
        containerd: CONTAINERD.pinned_version().unwrap_or_default(),
        node_ready_s,
        all_ready_s,
        memory,
        idle,
        deleted_s,
        gone_s,
        left,
    }
}

fn must<T>(r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// The peer packed under the sandbox image's reference, which the node's
/// containerd pulls from the registry.
fn sandbox_archive(peer: &Peer, arch: &str, dir: &Path) -> PathBuf {
    let built = image::pack(peer, arch, "localhost/pause", &repo::version())
        .unwrap_or_else(|e| panic!("{}: {e}", peer.label));
    let archive = dir.join("sandbox.tar");
    std::fs::write(&archive, built.archive).expect("write the sandbox image");
    archive
}

fn kubelet_pid(cluster: &Cluster) -> i32 {
    cluster.kubelet_pid().expect("kubelet running")
}

fn pss(pid: i32) -> u64 {
    must(memory::resident(pid)).pss_kb
}

/// The node before any pod: kubelet, containerd and MemAvailable.
struct Before {
    kubelet_kb: u64,
    containerd_kb: u64,
    mem_available_kb: u64,
}

impl Before {
    fn read(cluster: &Cluster) -> Before {
        Before {
            kubelet_kb: pss(kubelet_pid(cluster)),
            containerd_kb: pss(cluster.node().pid()),
            mem_available_kb: must(memory::mem_available_kb()),
        }
    }
}

/// Every sandbox on the node (once it runs the peer and waits), its shim
/// (the sandbox's parent) and the shim's other children, the containers.
fn pod_processes(cluster: &Cluster, peer: &Peer) -> Vec<PodProcesses> {
    let node = cluster.node();
    node.list_pods()
        .iter()
        .map(|id| {
            let pid = node.pod_status(id).1["pid"]
                .as_i64()
                .expect("verbose status has the sandbox pid") as i32;
            lifecycle::wait_exec(nix::unistd::Pid::from_raw(pid), &peer.image_name);
            spawn::wait_ready(nix::unistd::Pid::from_raw(pid), DEADLINE)
                .unwrap_or_else(|e| panic!("sandbox of {}: {e}", peer.label));
            let shim = procfs::stat(pid).expect("sandbox stat").ppid;
            let containers = procfs::children_of(shim)
                .into_iter()
                .filter(|c| c.pid != pid)
                .filter_map(|c| left::Process::of(c.pid))
                .collect();
            PodProcesses {
                sandbox: left::Process::of(pid).expect("sandbox running"),
                shim: left::Process::of(shim).expect("shim running"),
                containers,
            }
        })
        .collect()
}

fn memory_of(cluster: &Cluster, before: &Before, pods: &[PodProcesses]) -> NodeMemory {
    let sum = |pick: &dyn Fn(&PodProcesses) -> Vec<i32>| -> u64 {
        pods.iter().flat_map(pick).map(pss).sum()
    };
    NodeMemory {
        kubelet_before_kb: before.kubelet_kb,
        kubelet_with_pods_kb: pss(kubelet_pid(cluster)),
        containerd_before_kb: before.containerd_kb,
        containerd_with_pods_kb: pss(cluster.node().pid()),
        shims_kb: sum(&|p| vec![p.shim.pid]),
        sandboxes_kb: sum(&|p| vec![p.sandbox.pid]),
        containers_kb: sum(&|p| p.containers.iter().map(|c| c.pid).collect()),
        mem_available_before_kb: before.mem_available_kb,
        mem_available_with_pods_kb: must(memory::mem_available_kb()),
    }
}

/// The scheduler's run time of every process of a kind, summed, ns.
struct Spent {
    kubelet: u64,
    containerd: u64,
    shims: u64,
    sandboxes: u64,
    containers: u64,
}

impl Spent {
    fn read(cluster: &Cluster, pods: &[PodProcesses]) -> Spent {
        let ns = |pid: i32| must(run_ns(pid));
        let sum = |pids: Vec<i32>| pids.into_iter().map(ns).sum();
        Spent {
            kubelet: ns(kubelet_pid(cluster)),
            containerd: ns(cluster.node().pid()),
            shims: sum(pods.iter().map(|p| p.shim.pid).collect()),
            sandboxes: sum(pods.iter().map(|p| p.sandbox.pid).collect()),
            containers: sum(pods
                .iter()
                .flat_map(|p| p.containers.iter().map(|c| c.pid))
                .collect()),
        }
    }
}

/// A whole process's time on a CPU per the scheduler, ns: the sum over its
/// threads (/proc/PID/schedstat alone is the main thread's, and kubelet,
/// containerd and the shims are Go programs with many). Go keeps its
/// threads, so one exiting within the window, whose time would go
/// uncounted, is rare.
fn run_ns(pid: i32) -> Result<u64, String> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map_err(|e| format!("/proc/{pid}/task: {e}"))?;
    let mut sum = 0;
    for t in tasks.flatten() {
        let tid: i32 = t.file_name().to_string_lossy().parse().unwrap_or(0);
        // A thread that exited since the listing spent nothing more.
        if let Ok(spent) = crate::single::cpu::of_task(pid, tid) {
            sum += spent.run_ns;
        }
    }
    Ok(sum)
}

/// What each kind spends while the pods idle for `seconds`: the window is
/// the measurement, not a wait for something.
fn idle_cpu(cluster: &Cluster, pods: &[PodProcesses], seconds: u64) -> IdleCpu {
    let t0 = Instant::now();
    let a = Spent::read(cluster, pods);
    std::thread::sleep(Duration::from_secs(seconds));
    let b = Spent::read(cluster, pods);
    let elapsed = t0.elapsed().as_secs_f64();
    let ms = |after: u64, before: u64| after.saturating_sub(before) as f64 / 1e6;
    for p in pods {
        assert!(
            p.sandbox.alive() && p.shim.alive(),
            "a pod's sandbox or shim exited while idle"
        );
    }
    IdleCpu {
        seconds: elapsed,
        kubelet_ms: ms(b.kubelet, a.kubelet),
        containerd_ms: ms(b.containerd, a.containerd),
        shims_ms: ms(b.shims, a.shims),
        sandboxes_ms: ms(b.sandboxes, a.sandboxes),
        containers_ms: ms(b.containers, a.containers),
    }
}
