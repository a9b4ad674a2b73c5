//! The density section of the table (Markdown): every batch in a row, then
//! pause against the best other peer, batch shape by batch shape, with the
//! same rule as the rest of the table (a ratio ≤ 1.00 is met).

use super::number::num;
use crate::density::batch::Batch;
use crate::density::of_peer;
use crate::density::phase::Outcome;
use crate::{Peer, Plan};
use std::fmt::Write;

pub fn markdown(peers: &[Peer], d: &Outcome) -> String {
    let mut o = String::from("\n### Node density: N pods through containerd's CRI\n\n");
    let _ = writeln!(o, "{}; the phase took {:.0} s.\n", d.note, d.seconds);
    if !d.others.is_empty() {
        let _ = writeln!(
            o,
            "**Not a clean host:** another run's resources were on it during this phase, so \
             the figures below include them: {}.\n",
            d.others.join("; ")
        );
    }
    if !d.batches.is_empty() {
        o.push_str(&batch_table(peers, d));
        o.push_str(&ratio_table(peers, d));
        o.push_str(LEGEND);
    }
    o.push_str(&problems(d));
    o
}

const LEGEND: &str = "\nPer pod: VmRSS is the median over the pods; PSS is the node's sum over the \
pods divided by them (shared pages, such as the shims' common text, counted once); the pod's cgroup \
is its own (kubelet's podUID level: sandbox and container, never the shim); MemAvailable and \
containerd's RSS are the node's change with all pods up, divided by the pods (MemAvailable moves \
with whatever else the machine does). \"left\" is what a search found after every pod was stopped and \
removed: processes, mounts, network namespaces, veths, IP reservations, cgroups.\n";

fn batch_table(peers: &[Peer], d: &Outcome) -> String {
    let mut o = String::from(
        "| peer | pods | at once | all READY s | pods/s | stop+remove s | sandbox VmRSS kB | \
         sandbox PSS kB | shim VmRSS kB | shim PSS kB | container PSS kB | pod cgroup kB | \
         MemAvailable −kB/pod | containerd +kB/pod | left |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for p in peers {
        for b in of_peer(&d.batches, &p.key) {
            let _ = writeln!(o, "| {} | {} |", p.label, row(b).join(" | "));
        }
    }
    o
}

fn row(b: &Batch) -> Vec<String> {
    let n = b.shape.pods as f64;
    let per_pod = |before: u64, after: u64| num_signed((before as f64 - after as f64) / n);
    let at_once = if b.shape.with_container {
        format!("{} (+container)", b.shape.width)
    } else {
        b.shape.width.to_string()
    };
    vec![
        b.shape.pods.to_string(),
        at_once,
        format!("{:.2}", b.ready_s),
        num(n / b.ready_s),
        format!("{:.2}", b.teardown_s),
        num(b.sandbox.rss_kb.median),
        num(b.sandbox.pss_mean_kb),
        num(b.shim.rss_kb.median),
        num(b.shim.pss_mean_kb),
        b.container
            .map(|c| num(c.pss_mean_kb))
            .unwrap_or("–".into()),
        num(b.cgroup_kb.median),
        per_pod(b.before.mem_available_kb, b.with_pods.mem_available_kb),
        per_pod(b.with_pods.containerd_rss_kb, b.before.containerd_rss_kb),
        if b.left.is_empty() {
            "nothing".into()
        } else {
            format!("**{}**", b.left.len())
        },
    ]
}

fn num_signed(v: f64) -> String {
    if v < 0.0 {
        format!("−{}", num(-v))
    } else {
        num(v)
    }
}

/// pause's batch and the other peers' batches of the same shape.
fn same_shape<'a>(d: &'a Outcome, peers: &[Peer], first: &'a Batch) -> Vec<&'a Batch> {
    let s = &first.shape;
    peers[1..]
        .iter()
        .flat_map(|p| of_peer(&d.batches, &p.key))
        .filter(|b| {
            (b.shape.pods, b.shape.width, b.shape.with_container)
                == (s.pods, s.width, s.with_container)
        })
        .collect()
}

fn ratio_table(peers: &[Peer], d: &Outcome) -> String {
    if peers.len() < 2 {
        return String::new();
    }
    let mut o = String::from(
        "\n| pods, at once | sandbox PSS, pause / best peer | all READY, pause / best peer | \
         saved per node vs the best peer: sandbox PSS / pod cgroups | \
         what stays per node (pause): shims' PSS + containerd's growth | target | pause |\n\
         |---|---:|---:|---:|---:|---|---|\n",
    );
    for me in of_peer(&d.batches, &peers[0].key) {
        let others = same_shape(d, peers, me);
        let best = |f: fn(&Batch) -> f64| others.iter().map(|b| f(b)).min_by(|a, b| a.total_cmp(b));
        let (Some(pss), Some(ready), Some(cgroup)) = (
            best(|b| b.sandbox.pss_mean_kb),
            best(|b| b.ready_s),
            best(|b| b.cgroup_kb.median),
        ) else {
            continue;
        };
        let (q_pss, q_ready) = (me.sandbox.pss_mean_kb / pss, me.ready_s / ready);
        let n = me.shape.pods as f64;
        let mib = |kb_per_pod: f64| format!("{:.1}", kb_per_pod * n / 1024.0);
        let containerd = me.with_pods.containerd_rss_kb as f64 - me.before.containerd_rss_kb as f64;
        // The READY time has no target: containerd, runc and CNI decide it,
        // and its ratio moves either way from batch to batch (0.86-1.08x in
        // one run). What the sandbox image decides is its own memory.
        let ok = q_pss <= 1.0 && me.left.is_empty();
        let _ = writeln!(
            o,
            "| {}, {}{} | {q_pss:.2}× | {q_ready:.2}× | {} / {} MiB | {} + {} MiB | PSS ratio ≤ 1.00, nothing left | {} |",
            me.shape.pods,
            me.shape.width,
            if me.shape.with_container {
                " +container"
            } else {
                ""
            },
            mib(pss - me.sandbox.pss_mean_kb),
            mib(cgroup - me.cgroup_kb.median),
            mib(me.shim.pss_mean_kb),
            mib(containerd / n),
            if ok { "met" } else { "**missed**" },
        );
    }
    o
}

fn problems(d: &Outcome) -> String {
    let mut o = String::new();
    if let Some(e) = &d.error {
        let _ = writeln!(o, "\nDensity phase failed: {e}");
    }
    for b in d.batches.iter().filter(|b| !b.left.is_empty()) {
        let _ = writeln!(
            o,
            "\nLeft by {} × {} ({} at a time): {}",
            b.shape.peer,
            b.shape.pods,
            b.shape.width,
            b.left.join("; ")
        );
    }
    o
}

/// Why the phase is incomplete, if it should have run: a failure, a batch
/// missing, or anything left behind.
pub fn missing(plan: &Plan, peers: &[Peer], d: &Outcome) -> Vec<String> {
    if !d.required {
        return vec![];
    }
    let mut out = Vec::new();
    if let Some(e) = &d.error {
        out.push(format!("density: {e}"));
    }
    let expected = crate::density::shapes(plan, peers).len();
    if d.batches.len() != expected {
        out.push(format!(
            "density: {} of {expected} batches",
            d.batches.len()
        ));
    }
    if !d.others.is_empty() {
        out.push(format!(
            "density: measured on a host carrying another run's resources: {}",
            d.others.join("; ")
        ));
    }
    for b in d.batches.iter().filter(|b| !b.left.is_empty()) {
        out.push(format!(
            "density: {} × {} left {}",
            b.shape.peer,
            b.shape.pods,
            b.left.join("; ")
        ));
    }
    out
}
