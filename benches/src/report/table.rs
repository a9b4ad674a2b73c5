//! The table (Markdown) and the completeness check.

use super::number::{num, thousands};
use crate::image::ImageBytes;
use crate::stats::{Latency, Summary};
use crate::{Measured, Results};
use std::fmt::Write;

pub(super) fn summary(s: &Option<Summary>) -> String {
    match s {
        Some(s) if s.min == s.max => num(s.median),
        Some(s) => format!("{} ({}–{})", num(s.median), num(s.min), num(s.max)),
        None => "not measured".into(),
    }
}

fn latency(l: &Option<Latency>) -> String {
    match l {
        Some(l) => format!("{} / {}", num(l.p50_us), num(l.p99_us)),
        None => "not measured".into(),
    }
}

fn opt(v: Option<u64>) -> String {
    v.map(thousands).unwrap_or_else(|| "not measured".into())
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

/// The best (lowest) p50 among the other peers.
fn best_other(r: &Results, f: impl Fn(&Measured) -> Option<f64>) -> Option<f64> {
    r.measured[1..]
        .iter()
        .filter_map(&f)
        .min_by(|a, b| a.total_cmp(b))
}

pub(super) fn ratio(r: &Results, f: impl Fn(&Measured) -> Option<f64> + Copy) -> Option<f64> {
    Some(f(&r.measured[0])? / best_other(r, f)?)
}

pub fn markdown(r: &Results) -> String {
    let mut o = String::new();
    o.push_str(&heading(r));
    o.push_str(&table(r));
    o.push_str(&notes(r));
    o.push_str(&errors(r));
    o.push_str(&super::density::markdown(&r.peers, &r.density));
    o
}

/// The title and where, when and how the figures were measured.
fn heading(r: &Results) -> String {
    let m = &r.machine;
    format!(
        "### Benchmarks: pause next to what users run today\n\n\
         Measured by `{}` ({} run) on {}, {} cores, Linux {} ({}), {}, revision {}; \
         load average {} at the start, {} at the end.\n\n",
        r.command,
        r.plan.mode,
        m.cpu,
        m.cores,
        m.kernel,
        m.os,
        m.date,
        short_rev(&m.revision),
        m.load_start,
        m.load_end
    )
}

/// The figures, one row each: a cell per peer, then pause's target and
/// whether pause met it.
fn table(r: &Results) -> String {
    let mut t = Table::new(r);
    size_rows(&mut t);
    image_rows(&mut t);
    memory_rows(&mut t);
    latency_rows(&mut t);
    reaping_rows(&mut t);
    idle_rows(&mut t);
    sandbox_rows(&mut t);
    t.o
}

pub(super) struct Table<'a> {
    pub(super) r: &'a Results,
    o: String,
}

impl<'a> Table<'a> {
    pub(super) fn new(r: &'a Results) -> Self {
        let mut head = String::from("| figure |");
        let mut rule = String::from("|---|");
        for p in &r.peers {
            let _ = write!(head, " {} |", p.label);
            rule.push_str("---:|");
        }
        head.push_str(" target (pause) | pause |");
        rule.push_str("---|---|");
        Table {
            r,
            o: format!("{head}\n{rule}\n"),
        }
    }

    /// A row; `ok` is whether pause met `target` (no verdict without a target).
    pub(super) fn row(&mut self, name: &str, cells: Vec<String>, target: &str, ok: Option<bool>) {
        let _ = write!(self.o, "| {name} |");
        for c in cells {
            let _ = write!(self.o, " {c} |");
        }
        let v = if target.is_empty() { "" } else { verdict(ok) };
        let _ = writeln!(self.o, " {target} | {v} |");
    }

    /// One cell per peer.
    pub(super) fn each(&self, f: impl Fn(&Measured) -> String) -> Vec<String> {
        self.r.measured.iter().map(f).collect()
    }

    /// A cell for pause only, a dash for every other peer.
    pub(super) fn dash(&self, first: String) -> Vec<String> {
        std::iter::once(first)
            .chain((1..self.r.peers.len()).map(|_| "–".to_string()))
            .collect()
    }

    pub(super) fn into_text(self) -> String {
        self.o
    }

    /// Pause's own figures.
    fn me(&self) -> &'a Measured {
        &self.r.measured[0]
    }
}

fn size_rows(t: &mut Table) {
    let r = t.r;
    for (arch, bytes) in &r.arch_sizes {
        let budget = xtask::size::budget(arch);
        let cells = if *arch == r.plan_arch() {
            t.each(|x| opt(x.binary_bytes))
        } else {
            t.dash(thousands(*bytes))
        };
        t.row(
            &format!("binary bytes, {arch}"),
            cells,
            &format!("≤ {}", thousands(budget)),
            Some(*bytes <= budget),
        );
    }
}

fn image_rows(t: &mut Table) {
    let img = |t: &Table, f: fn(&ImageBytes) -> u64| t.each(|x| opt(x.image.as_ref().map(f)));
    let cells = img(t, |i| i.layer_tar);
    t.row("image: layer tar bytes", cells, "", None);
    let cells = img(t, |i| i.layer_gzip);
    let ok = t.me().image.as_ref().map(|i| i.layer_gzip <= 2048);
    t.row(
        "image: gzip layer bytes (what every node pulls)",
        cells,
        "≤ 2,048",
        ok,
    );
    let cells = img(t, |i| i.archive);
    t.row("image: whole OCI archive bytes", cells, "", None);
}

/// Idle memory, and the instructions of a whole life.
fn memory_rows(t: &mut Table) {
    let me = t.me();
    let cells = t.each(|x| summary(&x.vmrss_kb));
    t.row(
        "idle VmRSS kB, PID 1, median (min–max)",
        cells,
        "≤ 8",
        me.vmrss_kb.map(|s| s.median <= 8.0),
    );
    let cells = t.each(|x| summary(&x.pss_kb));
    t.row(
        "idle PSS kB (smaps_rollup), median (min–max)",
        cells,
        "≤ 8",
        me.pss_kb.map(|s| s.median <= 8.0),
    );
    let cells = t.each(|x| summary(&x.instructions));
    t.row(
        "lifecycle instructions, user space (callgrind)",
        cells,
        "≤ 250",
        me.instructions.map(|s| s.median <= 250.0),
    );
}

fn latency_rows(t: &mut Table) {
    let r = t.r;
    let lat_ratio =
        |f: fn(&Measured) -> Option<Latency>| ratio(r, move |x: &Measured| f(x).map(|l| l.p50_us));
    let start_ratio = lat_ratio(|x| x.start);
    let stop_ratio = lat_ratio(|x| x.stop);
    let cells = t.each(|x| latency(&x.start));
    t.row(
        &format!(
            "start latency µs, spawn → ready, p50 / p99 ({} starts)",
            r.plan.latency_runs
        ),
        cells,
        "p50 ≤ best peer",
        start_ratio.map(|q| q <= 1.0),
    );
    let cells = t.each(|x| latency(&x.stop));
    t.row(
        &format!(
            "stop latency µs, SIGTERM → reaped, p50 / p99 ({} runs)",
            r.plan.latency_runs
        ),
        cells,
        "p50 ≤ best peer",
        stop_ratio.map(|q| q <= 1.0),
    );
    if r.peers.len() > 1 {
        let cells = t.dash(format!(
            "start {} · stop {}",
            ratio_cell(start_ratio),
            ratio_cell(stop_ratio)
        ));
        let ok = start_ratio
            .zip(stop_ratio)
            .map(|(a, b)| a <= 1.0 && b <= 1.0);
        t.row(
            "latency ratio, pause p50 / best peer p50",
            cells,
            "≤ 1.00",
            ok,
        );
    }
}

fn reaping_rows(t: &mut Table) {
    let r = t.r;
    let cells = t.each(|x| summary(&x.reap_last_exit_ms));
    let ok = ratio(r, |x: &Measured| {
        x.reap_last_exit_ms.as_ref().map(|s| s.median)
    })
    .map(|q| q <= 1.0);
    t.row(
        &format!(
            "reaping ms, last of {} orphans exits → 0 zombies, median (min–max)",
            thousands(r.plan.orphans as u64)
        ),
        cells,
        "median ≤ best peer",
        ok,
    );
    let cells = t.each(|x| summary(&x.reap_release_ms));
    t.row(
        "reaping ms, release of all orphans → 0 zombies",
        cells,
        "",
        None,
    );
    reaping_cpu_rows(t);
    let cells = t.each(|x| opt(x.zombies_left.map(|z| z as u64)));
    let ok = t.me().zombies_left.map(|z| z == 0);
    t.row("reaping: zombies left", cells, "0", ok);
    super::reap_counts::rows(t);
}

/// Reaping as work: the peer's CPU per orphan, shown without a target, as
/// it moves with the machine's load from run to run (the counts of
/// report/reap_counts.rs are what repeat).
fn reaping_cpu_rows(t: &mut Table) {
    let cells = t.each(|x| summary(&x.reap_cpu_run_us));
    t.row(
        "reaping CPU µs per orphan (schedstat run time; moves with the load), median (min–max)",
        cells,
        "",
        None,
    );
}

fn idle_rows(t: &mut Table) {
    let (me, seconds) = (t.me(), t.r.plan.idle_seconds);
    let cells = t.each(|x| opt(x.idle_switches));
    t.row(
        &format!("idle context switches in {seconds} s"),
        cells,
        "0",
        me.idle_switches.map(|v| v == 0),
    );
    let cells = t.each(|x| opt(x.idle_ticks));
    t.row(
        &format!("idle CPU ticks (utime+stime) in {seconds} s"),
        cells,
        "0",
        me.idle_ticks.map(|v| v == 0),
    );
}

fn sandbox_rows(t: &mut Table) {
    let r = t.r;
    if !r.measured.iter().any(|x| x.sandbox.is_some()) {
        let cells = t.dash(r.sandbox_note.clone());
        t.row(
            "sandbox lifecycle via containerd CRI",
            cells,
            "ratio ≤ 1.0",
            None,
        );
        return;
    }
    let run = |x: &Measured| x.sandbox.map(|s| s.run_ms.median);
    let stop = |x: &Measured| x.sandbox.map(|s| s.stop_ms.median);
    let (q_run, q_stop) = (ratio(r, run), ratio(r, stop));
    let cells = t.each(|x| summary(&x.sandbox.map(|s| s.run_ms)));
    t.row(
        "sandbox ms, RunPodSandbox → READY (containerd CRI), median (min–max)",
        cells,
        "ratio ≤ 1.0",
        q_run.map(|q| q <= 1.0),
    );
    let cells = t.each(|x| summary(&x.sandbox.map(|s| s.stop_ms)));
    t.row(
        "sandbox ms, StopPodSandbox, median (min–max)",
        cells,
        "ratio ≤ 1.0",
        q_stop.map(|q| q <= 1.0),
    );
    if r.peers.len() > 1 {
        let cells = t.dash(format!(
            "run {} · stop {}",
            ratio_cell(q_run),
            ratio_cell(q_stop)
        ));
        t.row(
            "sandbox ratio, pause median / best peer median",
            cells,
            "≤ 1.00",
            q_run.zip(q_stop).map(|(a, b)| a <= 1.0 && b <= 1.0),
        );
    }
}

/// What each peer is, the project's own archive, how the sandbox figure
/// was taken and how everything was measured.
fn notes(r: &Results) -> String {
    let mut o = String::from("\nPeers:\n");
    for (p, x) in r.peers.iter().zip(&r.measured) {
        let masks = x
            .signal_masks
            .as_ref()
            .map(|m| format!("SigBlk {}, SigIgn {}, SigCgt {}", m[0], m[1], m[2]))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "- {}: `{}` — {}. Ready = asleep in {} ({masks}); stops with {}.",
            p.label,
            p.argv().join(" "),
            p.kind,
            x.ready_syscall.as_deref().unwrap_or("?"),
            x.stop_status.as_deref().unwrap_or("?"),
        );
    }
    if let Some((path, res)) = &r.oci_archive {
        o.push_str(&archive_note(path, res));
    }
    let _ = writeln!(o, "- Sandbox lifecycle: {}.", r.sandbox_note);
    let _ = writeln!(
        o,
        "\nEvery peer runs as PID 1 of a fresh PID namespace; peers are interleaved run by run. \
         Images: each binary alone in a deterministic one-file layer (gzip -9), wrapped in an OCI \
         image layout. Instructions: `valgrind --tool=callgrind`, whole process life from exec to \
         exit after SIGTERM. Reaping: orphans are forked inside the peer's namespace and reparented \
         to it, then all released at once. {} Figures that could not be measured say so.",
        super::reap_counts::method(r)
    );
    o
}

fn archive_note(path: &str, res: &Result<ImageBytes, String>) -> String {
    match res {
        Ok(i) => format!(
            "- The project's own archive `{path}` (`make oci`): layer tar {} B, gzip layer {} B, archive {} B.\n",
            thousands(i.layer_tar),
            thousands(i.layer_gzip),
            thousands(i.archive)
        ),
        Err(e) => format!("- The project's own archive `{path}` could not be read: {e}\n"),
    }
}

/// Every error met, per peer; nothing when there was none.
fn errors(r: &Results) -> String {
    let errors: Vec<String> = r
        .peers
        .iter()
        .zip(&r.measured)
        .flat_map(|(p, x)| x.errors.iter().map(move |e| format!("- {}: {e}", p.label)))
        .collect();
    if errors.is_empty() {
        return String::new();
    }
    format!("\nErrors:\n{}\n", errors.join("\n"))
}

fn ratio_cell(q: Option<f64>) -> String {
    q.map(|q| format!("{q:.2}×")).unwrap_or("–".into())
}

impl Results {
    fn plan_arch(&self) -> String {
        // The measured project binary's architecture is the one in its name.
        self.peers[0]
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.rsplit('-').next())
            .unwrap_or("amd64")
            .to_string()
    }
}

/// A commit id shortened to 12 digits, keeping a "-dirty" mark.
fn short_rev(rev: &str) -> String {
    match rev.split_once('-') {
        Some((id, rest)) => format!("{}-{rest}", &id[..id.len().min(12)]),
        None => rev[..rev.len().min(12)].to_string(),
    }
}

/// Figures that should have been measured for some peer and were not.
pub fn missing(r: &Results) -> Vec<String> {
    let mut out = Vec::new();
    for (p, x) in r.peers.iter().zip(&r.measured) {
        let checks: [(&str, bool); 14] = [
            ("binary bytes", x.binary_bytes.is_some()),
            ("image bytes", x.image.is_some()),
            ("idle memory", x.vmrss_kb.is_some() && x.pss_kb.is_some()),
            ("lifecycle instructions", x.instructions.is_some()),
            ("start latency", x.start.is_some()),
            ("stop latency", x.stop.is_some()),
            ("reaping time", x.reap_last_exit_ms.is_some()),
            ("zombies left", x.zombies_left.is_some()),
            ("reaping CPU", x.reap_cpu_run_us.is_some()),
            ("reaping counts", super::reap_counts::complete(&r.plan, x)),
            ("idle context switches", x.idle_switches.is_some()),
            ("idle CPU ticks", x.idle_ticks.is_some()),
            ("no errors", x.errors.is_empty()),
            (
                "sandbox lifecycle",
                x.sandbox.is_some() || !r.sandbox_required,
            ),
        ];
        for (what, ok) in checks {
            if !ok {
                out.push(format!("{}: {what}", p.label));
            }
        }
    }
    if r.arch_sizes.is_empty() {
        out.push("sizes of the project's binaries".into());
    }
    out.extend(super::density::missing(&r.plan, &r.peers, &r.density));
    out
}
