//! How much of each measurement a run does.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub mode: &'static str,
    pub latency_runs: usize,
    pub warmup_runs: usize,
    pub memory_samples: usize,
    pub callgrind_runs: usize,
    pub orphans: usize,
    pub reap_rounds: usize,
    /// Runs of the reaping counts, and their storm sizes (besides 0).
    pub count_runs: usize,
    pub count_orphans: Vec<usize>,
    pub idle_seconds: u64,
    pub sandbox_runs: usize,
    /// Node sizes of the density phase, in sandbox-only pods.
    pub density_pods: Vec<usize>,
    /// Pods started at once in its parallel batches (1 is the serial one).
    pub density_width: usize,
    /// Pods with a container of the workload, started `density_width` at once.
    pub density_container_pods: usize,
    /// Pods a node with kubelet in the loop (`--density-kubelet`).
    pub kubelet_pods: usize,
    /// How long its pods idle while their CPU is counted, s.
    pub kubelet_idle_seconds: u64,
}

impl Plan {
    pub fn new(quick: bool) -> Self {
        if quick { Self::quick() } else { Self::full() }
    }

    /// The plan with another node size for the kubelet mode; none keeps it.
    pub fn with_kubelet_pods(mut self, pods: Option<usize>) -> Self {
        if let Some(p) = pods {
            self.kubelet_pods = p;
        }
        self
    }

    /// The plan with other density sizes (`--density-pods`); none keeps it.
    pub fn with_density_pods(mut self, pods: Option<Vec<usize>>) -> Self {
        if let Some(p) = pods {
            self.density_pods = p;
        }
        self
    }

    fn full() -> Self {
        Plan {
            mode: "full",
            latency_runs: 1000,
            warmup_runs: 50,
            memory_samples: 25,
            callgrind_runs: 3,
            orphans: 10_000,
            reap_rounds: 5,
            count_runs: 3,
            count_orphans: vec![1_000, 10_000],
            idle_seconds: 10,
            sandbox_runs: 50,
            // kubelet's default maximum, and what many clusters run.
            density_pods: vec![10, 110, 250],
            density_width: 8,
            density_container_pods: 110,
            // kubelet's maxPods default, and an idle minute.
            kubelet_pods: 110,
            kubelet_idle_seconds: 60,
        }
    }

    fn quick() -> Self {
        Plan {
            mode: "quick",
            latency_runs: 40,
            warmup_runs: 5,
            memory_samples: 4,
            callgrind_runs: 1,
            orphans: 300,
            reap_rounds: 1,
            count_runs: 1,
            count_orphans: vec![20, 200],
            idle_seconds: 1,
            sandbox_runs: 2,
            density_pods: vec![3],
            density_width: 3,
            density_container_pods: 2,
            kubelet_pods: 3,
            kubelet_idle_seconds: 2,
        }
    }
}
