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
            signed(kubelet + containerd + shims + sandboxes + containers),
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
            num(c.shims_ms),
            ms(c.sandboxes_ms),
            num(c.containers_ms),
        );
    }
    o
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
/// missing, or anything left behind.
pub fn missing(peers: &[Peer], d: &Outcome) -> Vec<String> {
    if !d.required {
        return Vec::new();
    }
    let mut out: Vec<String> = d.error.iter().cloned().collect();
    if d.runs.is_empty() && d.error.is_none() {
        out.push(d.note.clone());
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
