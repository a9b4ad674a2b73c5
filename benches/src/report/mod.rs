//! What a run writes: the table and the density figures as Markdown (also
//! printed), JSON and SVG charts. Reads what was measured (results.rs) and
//! nothing reads back from here, so the measuring code never depends on how
//! it is shown.

mod chart;
pub mod density;
mod density_chart;
pub mod kubelet;
mod number;
mod reap_counts;
mod table;

use crate::results::{Density, KubeletDensity, Results};

/// Writes the table (also printed), the JSON and the chart into `out`, and
/// checks that the JSON reads back.
pub fn write(results: &Results, out: &std::path::Path) {
    let markdown = table::markdown(results);
    print!("{markdown}");
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(out)?;
        std::fs::write(out.join("latest.md"), &markdown)?;
        std::fs::write(
            out.join("latest.json"),
            serde_json::to_string_pretty(results)? + "\n",
        )?;
        std::fs::write(out.join("size-memory.svg"), chart::svg(results))?;
        let density = density_chart::svg(&results.peers, &results.density);
        std::fs::write(out.join("density.svg"), density)?;
        // What machines read must parse back.
        let back: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("latest.json"))?)?;
        if back["measured"].as_array().map(Vec::len) != Some(results.peers.len()) {
            return Err(std::io::Error::other(
                "latest.json does not hold every peer",
            ));
        }
        Ok(())
    };
    if let Err(e) = write() {
        eprintln!("pause-bench: writing {}: {e}", out.display());
        std::process::exit(1);
    }
    eprintln!(
        "pause-bench: wrote {}/latest.md, latest.json, size-memory.svg, density.svg",
        out.display()
    );
}

/// Fails the run when a figure that should have been measured was not.
pub fn exit_if_incomplete(results: &Results) {
    let missing = table::missing(results);
    if !missing.is_empty() {
        for x in &missing {
            eprintln!("pause-bench: not measured: {x}");
        }
        std::process::exit(1);
    }
}

/// Writes the reaping counts alone (also printed): reapcount.md and
/// reapcount.json in `out`; exits with 1 when a count is missing.
pub fn write_reap_counts(r: &Results, out: &std::path::Path) {
    let markdown = reap_counts::markdown(r);
    print!("{markdown}");
    let json = serde_json::json!({
        "command": r.command,
        "machine": r.machine,
        "plan": r.plan,
        "peers": r.peers,
        "counts": r.peers.iter().zip(&r.measured).map(|(p, x)| serde_json::json!({
            "peer": p.key,
            "reap_counts": x.reap_counts,
            "errors": x.errors,
        })).collect::<Vec<_>>(),
    });
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(out)?;
        std::fs::write(out.join("reapcount.md"), &markdown)?;
        std::fs::write(
            out.join("reapcount.json"),
            serde_json::to_string_pretty(&json)? + "\n",
        )
    };
    if let Err(e) = write() {
        eprintln!("pause-bench: writing {}: {e}", out.display());
        std::process::exit(1);
    }
    eprintln!(
        "pause-bench: wrote {}/reapcount.md, reapcount.json",
        out.display()
    );
    let missing = reap_counts::missing(r);
    if !missing.is_empty() {
        for x in &missing {
            eprintln!("pause-bench: not measured: {x}");
        }
        std::process::exit(1);
    }
}

/// Writes the density phase alone (also printed): density.md, density.json
/// and density.svg in `out`.
pub fn write_density(d: &Density, out: &std::path::Path) {
    let markdown = format!(
        "{}.\n{}",
        measured_by(&d.command, d.plan.mode, &d.machine),
        density::markdown(&d.peers, &d.density)
    );
    print!("{markdown}");
    write_files(
        out,
        &[
            ("density.md", markdown),
            ("density.json", json(d, out)),
            ("density.svg", density_chart::svg(&d.peers, &d.density)),
        ],
    );
}

/// Writes the density phase with kubelet alone (also printed):
/// density-kubelet.md and density-kubelet.json in `out`.
pub fn write_kubelet_density(d: &KubeletDensity, out: &std::path::Path) {
    let markdown = format!(
        "{}.\n{}",
        measured_by(&d.command, d.plan.mode, &d.machine),
        kubelet::markdown(&d.peers, &d.kubelet)
    );
    print!("{markdown}");
    write_files(
        out,
        &[
            ("density-kubelet.md", markdown),
            ("density-kubelet.json", json(d, out)),
        ],
    );
}

/// "Measured by `COMMAND` (MODE run) on CPU, N cores, ...": the first line
/// of every phase written alone.
fn measured_by(command: &str, mode: &str, m: &crate::machine::Machine) -> String {
    format!(
        "Measured by `{command}` ({mode} run) on {}, {} cores, Linux {} ({}), {}, revision {}",
        m.cpu, m.cores, m.kernel, m.os, m.date, m.revision
    )
}

/// The results as JSON, or exits naming where they were to be written.
fn json(value: &impl serde::Serialize, out: &std::path::Path) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| {
        eprintln!("pause-bench: writing {}: {e}", out.display());
        std::process::exit(1)
    }) + "\n"
}

/// Writes `files` into `out`, or exits naming what failed.
fn write_files(out: &std::path::Path, files: &[(&str, String)]) {
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(out)?;
        files
            .iter()
            .try_for_each(|(name, text)| std::fs::write(out.join(name), text))
    };
    if let Err(e) = write() {
        eprintln!("pause-bench: writing {}: {e}", out.display());
        std::process::exit(1);
    }
    let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
    eprintln!("pause-bench: wrote {}/{}", out.display(), names.join(", "));
}
