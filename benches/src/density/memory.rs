//! What a node of N pods holds in memory, read from /proc and the cgroup
//! tree: per pod, its sandbox process, its shim and its cgroup (and its
//! container, when it has one); per node, MemAvailable and containerd's RSS.

use crate::stats::{self, Summary};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use test_support::procfs;

/// One process's resident memory, kB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Resident {
    pub rss_kb: u64,
    pub pss_kb: u64,
}

/// VmRSS, and PSS from smaps_rollup (what is shared, such as every shim's
/// text, counted once across the processes that share it).
pub fn resident(pid: i32) -> Result<Resident, String> {
    let (vmrss, _, pss) = procfs::memory(pid)?;
    Ok(Resident {
        rss_kb: vmrss,
        pss_kb: pss,
    })
}

/// One kind of process over every pod of a batch.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct PerPod {
    pub rss_kb: Summary,
    pub pss_kb: Summary,
    /// Sum of PSS over the node divided by the pods: what each pod costs.
    pub pss_mean_kb: f64,
}

pub fn per_pod(samples: &[Resident]) -> Option<PerPod> {
    let rss: Vec<f64> = samples.iter().map(|r| r.rss_kb as f64).collect();
    let pss: Vec<f64> = samples.iter().map(|r| r.pss_kb as f64).collect();
    Some(PerPod {
        rss_kb: stats::summary(&rss)?,
        pss_kb: stats::summary(&pss)?,
        pss_mean_kb: pss.iter().sum::<f64>() / pss.len() as f64,
    })
}

/// Which cgroup version the machine runs: v2 has cgroup.controllers at the
/// root of /sys/fs/cgroup; v1 (or hybrid) has one directory per controller.
pub fn cgroup_v2() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The memory charged to a cgroup (`parent` as the CRI config names it,
/// "/a/b"), kB: memory.current (v2) or memory.usage_in_bytes (v1, which
/// counts sub-cgroups with use_hierarchy, the default).
pub fn cgroup_kb(parent: &str) -> Result<u64, String> {
    let rel = parent.trim_start_matches('/');
    let file: PathBuf = if cgroup_v2() {
        ["/sys/fs/cgroup", rel, "memory.current"].iter().collect()
    } else {
        ["/sys/fs/cgroup/memory", rel, "memory.usage_in_bytes"]
            .iter()
            .collect()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let bytes: u64 = text
        .trim()
        .parse()
        .map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(bytes / 1024)
}

/// The node's MemAvailable, kB.
pub fn mem_available_kb() -> Result<u64, String> {
    procfs::number(std::path::Path::new("/proc/meminfo"), "MemAvailable")
}

/// Readings of the node taken before, during and after a batch.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default)]
pub struct NodeReading {
    pub mem_available_kb: u64,
    pub containerd_rss_kb: u64,
}

pub fn node_reading(containerd: i32) -> Result<NodeReading, String> {
    Ok(NodeReading {
        mem_available_kb: mem_available_kb()?,
        containerd_rss_kb: resident(containerd)?.rss_kb,
    })
}
