//! The rows of the reaping counts (single/reapcount): instructions and
//! system calls per reaped orphan, pause against the best other peer.

use super::number::thousands;
use super::table::{Table, ratio};
use crate::results::ReapCount;
use crate::stats::Summary;
use crate::{Measured, Plan, Results};

fn at(x: &Measured, n: usize) -> Option<&ReapCount> {
    x.reap_counts.iter().find(|c| c.orphans == n)
}

fn median(x: &Measured, n: usize, f: fn(&ReapCount) -> Option<Summary>) -> Option<f64> {
    at(x, n).and_then(f).map(|s| s.median)
}

/// A count as it is, to four decimals: "13.025", or "13.025 (13.02–13.03)"
/// when the runs differ.
fn count(s: &Option<Summary>) -> String {
    match s {
        Some(s) if s.min == s.max => exact(s.median),
        Some(s) => format!("{} ({}–{})", exact(s.median), exact(s.min), exact(s.max)),
        None => "not measured".into(),
    }
}

pub(super) fn rows(t: &mut Table) {
    let r = t.r;
    let runs = r.plan.count_runs;
    let cells = t.each(|x| {
        let c = at(x, 0);
        format!(
            "{} / {}",
            count(&c.and_then(|c| c.instructions)),
            count(&c.and_then(|c| c.syscalls))
        )
    });
    t.row(
        &format!(
            "reaping counts, a life without orphans (held and continued): instructions / system calls, median (min–max) of {runs} runs"
        ),
        cells,
        "",
        None,
    );
    for &n in &r.plan.count_orphans {
        let orphans = thousands(n as u64);
        let instr = ratio(r, |x: &Measured| {
            median(x, n, |c| c.instructions_per_orphan)
        });
        let calls = ratio(r, |x: &Measured| median(x, n, |c| c.syscalls_per_orphan));
        let cells = t.each(|x| count(&at(x, n).and_then(|c| c.instructions_per_orphan)));
        t.row(
            &format!(
                "instructions per reaped orphan, user space (callgrind), {orphans} orphans, median (min–max) of {runs} runs"
            ),
            cells,
            "median ≤ best peer",
            instr.map(|q| q <= 1.0),
        );
        let cells = t.each(|x| count(&at(x, n).and_then(|c| c.syscalls_per_orphan)));
        t.row(
            &format!(
                "system calls per reaped orphan (strace -c), {orphans} orphans, median (min–max) of {runs} runs"
            ),
            cells,
            "median ≤ best peer",
            calls.map(|q| q <= 1.0),
        );
        let cells = t.each(|x| {
            at(x, n)
                .map(by_name)
                .unwrap_or_else(|| "not measured".into())
        });
        t.row(
            &format!("which system calls per orphan, {orphans} orphans"),
            cells,
            "",
            None,
        );
        if r.peers.len() > 1 {
            let cells = t.dash(format!(
                "instructions {} · system calls {}",
                ratio3(instr),
                ratio3(calls)
            ));
            t.row(
                &format!("reaping counts ratio, pause / best peer, {orphans} orphans"),
                cells,
                "≤ 1.00",
                instr.zip(calls).map(|(a, b)| a <= 1.0 && b <= 1.0),
            );
        }
    }
}

/// "19,119", "13.0025".
fn exact(v: f64) -> String {
    if v.fract() == 0.0 && v >= 0.0 {
        return thousands(v as u64);
    }
    let t = format!("{v:.4}");
    t.trim_end_matches('0').to_string()
}

/// A ratio of counts to three decimals ("0.228×"): they do not move.
fn ratio3(q: Option<f64>) -> String {
    q.map(|q| format!("{q:.3}×")).unwrap_or("–".into())
}

/// "wait4 1.001, rt_sigtimedwait 0.001".
fn by_name(c: &ReapCount) -> String {
    let v: Vec<String> = c
        .syscalls_by_name
        .iter()
        .map(|(name, per)| format!("{name} {}", exact(*per)))
        .collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// Whether every storm size of the plan has both counts per orphan.
pub(super) fn complete(plan: &Plan, x: &Measured) -> bool {
    plan.count_orphans.iter().all(|&n| {
        at(x, n)
            .is_some_and(|c| c.instructions_per_orphan.is_some() && c.syscalls_per_orphan.is_some())
    })
}

/// `make bench-reapcount`'s file: where and how, the rows, the method.
pub(super) fn markdown(r: &Results) -> String {
    let mut t = Table::new(r);
    rows(&mut t);
    let errors: Vec<String> = r
        .peers
        .iter()
        .zip(&r.measured)
        .flat_map(|(p, x)| {
            x.errors
                .iter()
                .map(move |e| format!("- {}: {e}\n", p.label))
        })
        .collect();
    format!(
        "### Reaping counts: instructions and system calls per reaped orphan\n\n\
         {}.\n\n{}\n{}\n{}",
        super::measured_by(&r.command, r.plan.mode, &r.machine),
        t.into_text(),
        method(r),
        if errors.is_empty() {
            String::new()
        } else {
            format!("\nErrors:\n{}", errors.concat())
        }
    )
}

/// Per peer, the counts that are missing, and every error.
pub(super) fn missing(r: &Results) -> Vec<String> {
    r.peers
        .iter()
        .zip(&r.measured)
        .flat_map(|(p, x)| {
            let incomplete =
                (!complete(&r.plan, x)).then(|| format!("{}: reaping counts", p.label));
            incomplete
                .into_iter()
                .chain(x.errors.iter().map(move |e| format!("{}: {e}", p.label)))
        })
        .collect()
}

/// How the counts were taken, for the notes under the table.
pub(super) fn method(r: &Results) -> String {
    format!(
        "Reaping counts: each peer's whole life under `valgrind --tool=callgrind` (instructions) \
         and under `strace -c -p` attached once it is ready (system calls), once without orphans \
         and once with each of {} orphans, {} run(s); the peer is held with SIGSTOP while the \
         orphans are reparented to it and exit, then continued with SIGCONT, so that it wakes \
         once for the whole storm; per orphan = (count with N − count without) / N.",
        r.plan
            .count_orphans
            .iter()
            .map(|&n| thousands(n as u64))
            .collect::<Vec<_>>()
            .join(" and "),
        r.plan.count_runs
    )
}
