//! The density section with kubelet in the loop (Markdown): a node of N
//! pods per peer: how long until Ready, what each pod costs in memory, split
//! by process, and what they spend while idle.

use super::number::num;
use crate::Peer;
use crate::density::kubelet::Run;
use crate::density::kubelet::phase::Outcome;
use std::fmt::Write;

pub fn markdown(peers: &[Peer], d: &Outcome) -> String {
    let mut o = String::from("\n### Node density with kubelet: N pods through the API\n\n");
    let _ = writeln!(o, "{}; the phase took {:.0} s.\n", d.note, d.seconds);
    if !d.others.is_empty() {
        let _ = writeln!(
            o,
            "**Not a clean host:** another run's resources were on it during this phase, so \
             the figures below include them: {}.\n",
            d.others.join("; ")
        );
    }
    let runs: Vec<(&Peer, &Run)> = peers
        .iter()
        .filter_map(|p| d.runs.iter().find(|r| r.peer == p.key).map(|r| (p, r)))
        .collect();
    if !runs.is_empty() {
        o.push_str(&time_table(&runs));
        o.push_str(&memory_table(&runs));
        o.push_str(&cpu_table(&runs));
        o.push_str(&ratio_table(&runs));
        o.push_str(LEGEND);
    }
    if let Some(e) = &d.error {
        let _ = writeln!(o, "\nThe phase failed: {e}");
    }
    for r in d.runs.iter().filter(|r| !r.left.is_empty()) {
        let _ = writeln!(o, "\nLeft by {}'s pods: {}", r.peer, r.left.join("; "));
    }
    o
}

const LEGEND: &str = "\nMemory is PSS (/proc/PID/smaps_rollup): kubelet's and containerd's are \
their growth from the Ready node without pods to the node with every pod Ready, divided by the pods; \
shims', sandboxes' and containers' are their sums divided by the pods. MemAvailable moves with \
whatever else the machine does. CPU is the scheduler's run time (/proc/PID/task/*/schedstat) over the \
idle window, summed over every thread of every process of the kind. \"gone\" is from the delete until a search finds \
nothing of the pods on the node (kubelet removes stopped sandboxes in its container GC, once a \
minute): no process, sandbox in containerd, mount, network namespace, veth, IP reservation or pod \
cgroup.\n";

fn time_table(runs: &[(&Peer, &Run)]) -> String {
    let mut o = String::from(
        "| peer | pods | node Ready s | first create → all Ready s | pods/s | delete → none listed s | \
         delete → nothing on the node s | left |\n|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for (p, r) in runs {
        let _ = writeln!(
            o,
            "| {} | {} | {:.1} | {:.1} | {} | {:.1} | {:.1} | {} |",
            p.label,
            r.pods,
            r.node_ready_s,
            r.all_ready_s,
            num(r.pods as f64 / r.all_ready_s),
            r.deleted_s,
            r.gone_s,
            if r.left.is_empty() {
                "nothing".to_string()
            } else {
                format!("**{}**", r.left.len())
            }
        );
    }
    o
}

fn memory_table(runs: &[(&Peer, &Run)]) -> String {
    let mut o = String::from(
        "\n| peer | kubelet kB/pod | containerd kB/pod | shims kB/pod | sandboxes kB/pod | \
         containers kB/pod | node total kB/pod | MemAvailable −kB/pod | kubelet / containerd PSS, \
         no pod → N pods, MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for (p, r) in runs {
        let m = &r.memory;
        let grow = |before: u64, with: u64| with as i64 - before as i64;
        let kubelet = r.per_pod(grow(m.kubelet_before_kb, m.kubelet_with_pods_kb));
        let containerd = r.per_pod(grow(m.containerd_before_kb, m.containerd_with_pods_kb));
        let shims = r.per_pod(m.shims_kb as i64);
        let sandboxes = r.per_pod(m.sandboxes_kb as i64);
        let containers = r.per_pod(m.containers_kb as i64);
        let mib = |kb: u64| format!("{:.1}", kb as f64 / 1024.0);
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} → {} / {} → {} |",
            p.label,
            signed(kubelet),
            signed(containerd),
            num(shims),
            num(sandboxes),
            num(containers),
            signed(r.per_pod(node_total_kb(r) as i64)),
            signed(r.per_pod(grow(
                m.mem_available_with_pods_kb,
                m.mem_available_before_kb
            ))),
            mib(m.kubelet_before_kb),
            mib(m.kubelet_with_pods_kb),
            mib(m.containerd_before_kb),
            mib(m.containerd_with_pods_kb),
        );
    }
    o
}

fn cpu_table(runs: &[(&Peer, &Run)]) -> String {
    let mut o = String::from(
        "\n| peer | idle s | kubelet ms | containerd ms | shims ms (all) | sandboxes ms (all) | \
         containers ms (all) |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for (p, r) in runs {
        let c = &r.idle;
        let _ = writeln!(
            o,
            "| {} | {:.0} | {} | {} | {} | {} | {} |",
            p.label,
            c.seconds,
            num(c.kubelet_ms),
            num(c.containerd_ms),
            ms(c.shims_ms),
            ms(c.sandboxes_ms),
            ms(c.containers_ms),
        );
    }
    o
}

/// The first peer (this project's pause) over each other, on the figures
/// of one run that the sandbox decides: its processes' memory and CPU. The
/// node's total and the time to Ready are there to show how little of them
/// the sandbox is; a ratio near 1 there is containerd, runc and kubelet.
fn ratio_table(runs: &[(&Peer, &Run)]) -> String {
    let Some(((first, me), rest)) = runs.split_first() else {
        return String::new();
    };
    if rest.is_empty() {
        return String::new();
    }
    let mut o = format!(
        "\n| {} / … | sandboxes PSS | node total PSS | first create → all Ready | sandboxes idle CPU |\n\
         |---|---:|---:|---:|---:|\n",
        first.label
    );
    for (p, r) in rest {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            p.label,
            ratio(me.memory.sandboxes_kb as f64, r.memory.sandboxes_kb as f64),
            ratio(node_total_kb(me), node_total_kb(r)),
            ratio(me.all_ready_s, r.all_ready_s),
            ratio(me.idle.sandboxes_ms, r.idle.sandboxes_ms),
        );
    }
    o
}

/// What the node spends on its pods, kB: kubelet's and containerd's growth
/// and the shims', sandboxes' and containers' sums.
pub fn node_total_kb(r: &Run) -> f64 {
    let m = &r.memory;
    let grow = |before: u64, with: u64| with as f64 - before as f64;
    grow(m.kubelet_before_kb, m.kubelet_with_pods_kb)
        + grow(m.containerd_before_kb, m.containerd_with_pods_kb)
        + (m.shims_kb + m.sandboxes_kb + m.containers_kb) as f64
}

/// a / b to three places; "–" when b is 0 (nothing to compare with).
fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.3}", a / b)
    } else if a == 0.0 {
        "0 / 0".into()
    } else {
        "–".into()
    }
}

/// Small run times with their precision (the scheduler counts ns).
fn ms(v: f64) -> String {
    if v < 10.0 { format!("{v:.3}") } else { num(v) }
}

fn signed(v: f64) -> String {
    if v < 0.0 {
        format!("−{}", num(-v))
    } else {
        num(v)
    }
}

/// Why the phase is incomplete, if it should have run: a failure, a peer
/// missing, another run's resources on the host (as for the CRI density
/// phase: its figures would include them), or anything left behind.
pub fn missing(peers: &[Peer], d: &Outcome) -> Vec<String> {
    if !d.required {
        return Vec::new();
    }
    let mut out: Vec<String> = d.error.iter().cloned().collect();
    if d.runs.is_empty() && d.error.is_none() {
        out.push(d.note.clone());
    }
    if !d.others.is_empty() {
        out.push(format!(
            "density with kubelet: measured on a host carrying another run's resources: {}",
            d.others.join("; ")
        ));
    }
    for p in peers {
        match d.runs.iter().find(|r| r.peer == p.key) {
            None => out.push(format!("{}: no kubelet density run", p.label)),
            Some(r) if !r.left.is_empty() => out.push(format!(
                "{}: left after deleting the pods: {}",
                p.label,
                r.left.join("; ")
            )),
            Some(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::density::kubelet::{IdleCpu, NodeMemory};

    fn peer(key: &str) -> Peer {
        Peer {
            key: key.into(),
            label: key.into(),
            path: "/x".into(),
            args: vec![],
            image_name: "x".into(),
            kind: String::new(),
        }
    }

    fn run(peer: &str, sandboxes_kb: u64, left: Vec<String>) -> Run {
        Run {
            peer: peer.into(),
            pods: 2,
            kubelet: String::new(),
            containerd: String::new(),
            node_ready_s: 1.0,
            all_ready_s: 2.0,
            memory: NodeMemory {
                kubelet_before_kb: 100,
                kubelet_with_pods_kb: 104,
                containerd_before_kb: 50,
                containerd_with_pods_kb: 48,
                shims_kb: 10,
                sandboxes_kb,
                containers_kb: 6,
                ..Default::default()
            },
            idle: IdleCpu::default(),
            deleted_s: 1.0,
            gone_s: 2.0,
            left,
        }
    }

    fn outcome(runs: Vec<Run>) -> Outcome {
        Outcome {
            required: true,
            runs,
            ..Default::default()
        }
    }

    #[test]
    fn the_node_total_is_the_growth_and_the_sums() {
        // kubelet +4, containerd −2, shims 10, sandboxes 8, containers 6.
        assert_eq!(node_total_kb(&run("a", 8, vec![])), 26.0);
    }

    #[test]
    fn ratios_are_of_the_first_peer_over_each_other() {
        let (a, b) = (peer("a"), peer("b"));
        let (ra, rb) = (run("a", 1, vec![]), run("b", 4, vec![]));
        let table = ratio_table(&[(&a, &ra), (&b, &rb)]);
        assert!(table.contains("| b | 0.250 |"), "{table}");
        assert!(table.contains("| 0 / 0 |"), "{table}");
    }

    #[test]
    fn anything_left_or_a_peer_missing_is_not_measured() {
        let peers = [peer("a"), peer("b")];
        let clean = outcome(vec![run("a", 1, vec![]), run("b", 1, vec![])]);
        assert!(missing(&peers, &clean).is_empty());
        let left = outcome(vec![run("a", 1, vec!["mount /m".into()])]);
        let why = missing(&peers, &left);
        assert!(
            why.iter()
                .any(|w| w.contains("a: left after deleting the pods: mount /m"))
        );
        assert!(why.iter().any(|w| w.contains("b: no kubelet density run")));
        let mut crowded = clean;
        crowded.others = vec!["cgroup pause-kube-x (in 10 hierarchies)".into()];
        let why = missing(&peers, &crowded);
        assert!(
            why.iter()
                .any(|w| w.contains("another run's resources: cgroup pause-kube-x"))
        );
    }
}
