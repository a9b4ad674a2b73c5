//! The table (Markdown), the chart (SVG) and the completeness check.

use crate::stats::{Latency, Summary};
use crate::{Measured, Results};
use std::fmt::Write;

/// 1234567 -> "1,234,567".
pub fn thousands(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn num(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        thousands(v.round() as u64)
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn summary(s: &Option<Summary>) -> String {
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

fn ratio(r: &Results, f: impl Fn(&Measured) -> Option<f64> + Copy) -> Option<f64> {
    Some(f(&r.measured[0])? / best_other(r, f)?)
}

pub fn markdown(r: &Results) -> String {
    let mut o = String::new();
    let m = &r.machine;
    let peers = &r.peers;
    let me = &r.measured[0];
    let _ = writeln!(o, "### Benchmarks: pause next to what users run today\n");
    let _ = writeln!(
        o,
        "Measured by `{}` ({} run) on {}, {} cores, Linux {} ({}), {}, revision {}; \
         load average {} at the start, {} at the end.\n",
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
    );
    let mut head = String::from("| figure |");
    let mut rule = String::from("|---|");
    for p in peers {
        let _ = write!(head, " {} |", p.label);
        rule.push_str("---:|");
    }
    head.push_str(" target (pause) | pause |");
    rule.push_str("---|---|");
    let _ = writeln!(o, "{head}\n{rule}");
    let mut row = |name: &str, cells: Vec<String>, target: &str, ok: Option<bool>| {
        let _ = write!(o, "| {name} |");
        for c in cells {
            let _ = write!(o, " {c} |");
        }
        let v = if target.is_empty() { "" } else { verdict(ok) };
        let _ = writeln!(o, " {target} | {v} |");
    };
    let each =
        |f: &dyn Fn(&Measured) -> String| -> Vec<String> { r.measured.iter().map(f).collect() };
    let dash = |first: String| -> Vec<String> {
        std::iter::once(first)
            .chain((1..peers.len()).map(|_| "–".to_string()))
            .collect()
    };

    // Sizes.
    for (arch, bytes) in &r.arch_sizes {
        let budget = if arch == "amd64" { 1536 } else { 2048 };
        let cells = if *arch == r.plan_arch() {
            each(&|x: &Measured| opt(x.binary_bytes))
        } else {
            dash(thousands(*bytes))
        };
        row(
            &format!("binary bytes, {arch}"),
            cells,
            &format!("≤ {}", thousands(budget)),
            Some(*bytes <= budget),
        );
    }
    let img = |f: fn(&crate::image::ImageBytes) -> u64| {
        each(&|x: &Measured| opt(x.image.as_ref().map(f)))
    };
    row("image: layer tar bytes", img(|i| i.layer_tar), "", None);
    row(
        "image: gzip layer bytes (what every node pulls)",
        img(|i| i.layer_gzip),
        "≤ 2,048",
        me.image.as_ref().map(|i| i.layer_gzip <= 2048),
    );
    row(
        "image: whole OCI archive bytes",
        img(|i| i.archive),
        "",
        None,
    );
    // Memory.
    row(
        "idle VmRSS kB, PID 1, median (min–max)",
        each(&|x: &Measured| summary(&x.vmrss_kb)),
        "≤ 8",
        me.vmrss_kb.map(|s| s.median <= 8.0),
    );
    row(
        "idle PSS kB (smaps_rollup), median (min–max)",
        each(&|x: &Measured| summary(&x.pss_kb)),
        "≤ 8",
        me.pss_kb.map(|s| s.median <= 8.0),
    );
    row(
        "lifecycle instructions, user space (callgrind)",
        each(&|x: &Measured| summary(&x.instructions)),
        "≤ 250",
        me.instructions.map(|s| s.median <= 250.0),
    );
    // Latencies.
    let lat_ratio =
        |f: fn(&Measured) -> Option<Latency>| ratio(r, move |x: &Measured| f(x).map(|l| l.p50_us));
    let start_ratio = lat_ratio(|x| x.start);
    let stop_ratio = lat_ratio(|x| x.stop);
    row(
        &format!(
            "start latency µs, spawn → ready, p50 / p99 ({} starts)",
            r.plan.latency_runs
        ),
        each(&|x: &Measured| latency(&x.start)),
        "p50 ≤ best peer",
        start_ratio.map(|q| q <= 1.0),
    );
    row(
        &format!(
            "stop latency µs, SIGTERM → reaped, p50 / p99 ({} runs)",
            r.plan.latency_runs
        ),
        each(&|x: &Measured| latency(&x.stop)),
        "p50 ≤ best peer",
        stop_ratio.map(|q| q <= 1.0),
    );
    let ratio_cell = |q: Option<f64>| q.map(|q| format!("{q:.2}×")).unwrap_or("–".into());
    if peers.len() > 1 {
        let cells = dash(format!(
            "start {} · stop {}",
            ratio_cell(start_ratio),
            ratio_cell(stop_ratio)
        ));
        let ok = start_ratio
            .zip(stop_ratio)
            .map(|(a, b)| a <= 1.0 && b <= 1.0);
        row(
            "latency ratio, pause p50 / best peer p50",
            cells,
            "≤ 1.00",
            ok,
        );
    }
    // Reaping.
    row(
        &format!(
            "reaping ms, last of {} orphans exits → 0 zombies, median (min–max)",
            thousands(r.plan.orphans as u64)
        ),
        each(&|x: &Measured| summary(&x.reap_last_exit_ms)),
        "median ≤ best peer",
        ratio(r, |x: &Measured| {
            x.reap_last_exit_ms.as_ref().map(|s| s.median)
        })
        .map(|q| q <= 1.0),
    );
    row(
        "reaping ms, release of all orphans → 0 zombies",
        each(&|x: &Measured| summary(&x.reap_release_ms)),
        "",
        None,
    );
    row(
        "reaping: zombies left",
        each(&|x: &Measured| opt(x.zombies_left.map(|z| z as u64))),
        "0",
        me.zombies_left.map(|z| z == 0),
    );
    // Idle.
    row(
        &format!("idle context switches in {} s", r.plan.idle_seconds),
        each(&|x: &Measured| opt(x.idle_switches)),
        "0",
        me.idle_switches.map(|v| v == 0),
    );
    row(
        &format!("idle CPU ticks (utime+stime) in {} s", r.plan.idle_seconds),
        each(&|x: &Measured| opt(x.idle_ticks)),
        "0",
        me.idle_ticks.map(|v| v == 0),
    );
    if r.measured.iter().any(|x| x.sandbox.is_some()) {
        let run = |x: &Measured| x.sandbox.map(|s| s.run_ms.median);
        let stop = |x: &Measured| x.sandbox.map(|s| s.stop_ms.median);
        let (q_run, q_stop) = (ratio(r, run), ratio(r, stop));
        row(
            "sandbox ms, RunPodSandbox → READY (containerd CRI), median (min–max)",
            each(&|x: &Measured| summary(&x.sandbox.map(|s| s.run_ms))),
            "ratio ≤ 1.0",
            q_run.map(|q| q <= 1.0),
        );
        row(
            "sandbox ms, StopPodSandbox, median (min–max)",
            each(&|x: &Measured| summary(&x.sandbox.map(|s| s.stop_ms))),
            "ratio ≤ 1.0",
            q_stop.map(|q| q <= 1.0),
        );
        if peers.len() > 1 {
            row(
                "sandbox ratio, pause median / best peer median",
                dash(format!(
                    "run {} · stop {}",
                    ratio_cell(q_run),
                    ratio_cell(q_stop)
                )),
                "≤ 1.00",
                q_run.zip(q_stop).map(|(a, b)| a <= 1.0 && b <= 1.0),
            );
        }
    } else {
        row(
            "sandbox lifecycle via containerd CRI",
            dash(r.sandbox_note.clone()),
            "ratio ≤ 1.0",
            None,
        );
    }

    let _ = writeln!(o);
    let _ = writeln!(o, "Peers:");
    for (p, x) in peers.iter().zip(&r.measured) {
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
        let _ = match res {
            Ok(i) => writeln!(
                o,
                "- The project's own archive `{path}` (`make oci`): layer tar {} B, gzip layer {} B, archive {} B.",
                thousands(i.layer_tar),
                thousands(i.layer_gzip),
                thousands(i.archive)
            ),
            Err(e) => writeln!(
                o,
                "- The project's own archive `{path}` could not be read: {e}"
            ),
        };
    }
    let _ = writeln!(o, "- Sandbox lifecycle: {}.", r.sandbox_note);
    let _ = writeln!(
        o,
        "\nEvery peer runs as PID 1 of a fresh PID namespace; peers are interleaved run by run. \
         Images: each binary alone in a deterministic one-file layer (gzip -9), wrapped in an OCI \
         image layout. Instructions: `valgrind --tool=callgrind`, whole process life from exec to \
         exit after SIGTERM. Reaping: orphans are forked inside the peer's namespace and reparented \
         to it, then all released at once. Figures that could not be measured say so."
    );
    let errors: Vec<String> = peers
        .iter()
        .zip(&r.measured)
        .flat_map(|(p, x)| x.errors.iter().map(move |e| format!("- {}: {e}", p.label)))
        .collect();
    if !errors.is_empty() {
        let _ = writeln!(o, "\nErrors:\n{}", errors.join("\n"));
    }
    o
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

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Horizontal bars on a log scale: binary bytes, gzip layer bytes and idle
/// VmRSS per peer (PSS would depend on who else runs the same binary).
pub fn svg(r: &Results) -> String {
    let panels: Vec<(&str, Vec<Option<f64>>, &str)> = vec![
        (
            "binary (bytes)",
            r.measured
                .iter()
                .map(|x| x.binary_bytes.map(|v| v as f64))
                .collect(),
            "B",
        ),
        (
            "gzip layer every node pulls (bytes)",
            r.measured
                .iter()
                .map(|x| x.image.as_ref().map(|i| i.layer_gzip as f64))
                .collect(),
            "B",
        ),
        (
            "idle memory as PID 1, VmRSS (kB)",
            r.measured
                .iter()
                .map(|x| x.vmrss_kb.map(|s| s.median))
                .collect(),
            "kB",
        ),
    ];
    let (w, label_w, bar_h, gap) = (760.0, 230.0, 20.0, 6.0);
    let bar_w = w - label_w - 210.0;
    let n = r.peers.len() as f64;
    let panel_h = 28.0 + n * (bar_h + gap) + 14.0;
    let h = 40.0 + panels.len() as f64 * panel_h;
    let colors = ["#2b8a3e", "#5c7cfa", "#e8590c", "#868e96"];
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="24" font-size="16" font-weight="bold">Size and memory per peer (log scale; shorter is better)</text>"#
    );
    for (k, (title, values, unit)) in panels.iter().enumerate() {
        let y0 = 40.0 + k as f64 * panel_h;
        let _ = writeln!(
            s,
            r#"<text x="10" y="{}" font-weight="bold">{}</text>"#,
            y0 + 18.0,
            esc(title)
        );
        let max = values.iter().flatten().fold(1.0f64, |a, &b| a.max(b));
        let decades = max.log10().ceil().max(1.0);
        for (i, (p, v)) in r.peers.iter().zip(values).enumerate() {
            let y = y0 + 28.0 + i as f64 * (bar_h + gap);
            let _ = writeln!(
                s,
                r#"<text x="10" y="{}">{}</text>"#,
                y + bar_h * 0.72,
                esc(&p.label)
            );
            match v {
                Some(v) => {
                    let len = (v.max(1.0).log10() / decades * bar_w).max(2.0);
                    let _ = writeln!(
                        s,
                        r#"<rect x="{label_w}" y="{y}" width="{len:.1}" height="{bar_h}" fill="{}"/>"#,
                        colors[i % colors.len()]
                    );
                    let times = match values[0] {
                        Some(base) if i > 0 && base > 0.0 => format!(" ({}× pause)", num(v / base)),
                        _ => String::new(),
                    };
                    let _ = writeln!(
                        s,
                        r#"<text x="{:.1}" y="{}">{} {unit}{times}</text>"#,
                        label_w + len + 6.0,
                        y + bar_h * 0.72,
                        num(*v)
                    );
                }
                None => {
                    let _ = writeln!(
                        s,
                        r##"<text x="{label_w}" y="{}" fill="#868e96">not measured</text>"##,
                        y + bar_h * 0.72
                    );
                }
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

/// Figures that should have been measured for some peer and were not.
pub fn missing(r: &Results) -> Vec<String> {
    let mut out = Vec::new();
    for (p, x) in r.peers.iter().zip(&r.measured) {
        let checks: [(&str, bool); 12] = [
            ("binary bytes", x.binary_bytes.is_some()),
            ("image bytes", x.image.is_some()),
            ("idle memory", x.vmrss_kb.is_some() && x.pss_kb.is_some()),
            ("lifecycle instructions", x.instructions.is_some()),
            ("start latency", x.start.is_some()),
            ("stop latency", x.stop.is_some()),
            ("reaping time", x.reap_last_exit_ms.is_some()),
            ("zombies left", x.zombies_left.is_some()),
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
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1536), "1,536");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
