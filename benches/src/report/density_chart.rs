//! The density chart (SVG): what each pod costs the node against the
//! node's size, per peer, as stacked bars of PSS per pod: the sandbox
//! process, its shim and, in the batch with one, the container. From the
//! batches started one pod at a time, and the container batch.

use super::number::num;
use crate::Peer;
use crate::density::batch::Batch;
use crate::density::phase::Outcome;
use std::fmt::Write;

const WIDTH: f64 = 820.0;
const LABEL_W: f64 = 230.0;
const BAR_W: f64 = 330.0;
const BAR_H: f64 = 18.0;
const GAP: f64 = 5.0;
const GROUP_GAP: f64 = 14.0;
/// Sandbox process, shim, container.
const PARTS: [(&str, &str); 3] = [
    ("sandbox process", "#2b8a3e"),
    ("shim", "#868e96"),
    ("container", "#5c7cfa"),
];

/// The batches charted, grouped by shape, pause first in each group.
fn groups<'a>(peers: &'a [Peer], d: &'a Outcome) -> Vec<Vec<(&'a str, &'a Batch)>> {
    let mut shapes: Vec<(usize, bool)> = d
        .batches
        .iter()
        .filter(|b| b.shape.width == 1 || b.shape.with_container)
        .map(|b| (b.shape.pods, b.shape.with_container))
        .collect();
    shapes.sort();
    shapes.dedup();
    let find = |p: &Peer, s: (usize, bool)| {
        d.batches.iter().find(|b| {
            b.shape.peer == p.key
                && (b.shape.pods, b.shape.with_container) == s
                && (b.shape.width == 1 || b.shape.with_container)
        })
    };
    shapes
        .into_iter()
        .map(|s| {
            peers
                .iter()
                .filter_map(|p| find(p, s).map(|b| (p.label.as_str(), b)))
                .collect()
        })
        .collect()
}

pub fn svg(peers: &[Peer], d: &Outcome) -> String {
    let groups = groups(peers, d);
    let max = groups
        .iter()
        .flatten()
        .map(|(_, b)| parts(b).iter().sum::<f64>())
        .fold(1.0f64, f64::max);
    let rows: usize = groups.iter().map(Vec::len).sum();
    let h = 70.0 + rows as f64 * (BAR_H + GAP) + groups.len() as f64 * (GROUP_GAP + 18.0) + 30.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{h}" viewBox="0 0 {WIDTH} {h}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(s, r#"<rect width="{WIDTH}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="24" font-size="16" font-weight="bold">Memory per pod (PSS, kB) against pods per node; shorter is better</text>"#
    );
    legend(&mut s);
    let mut y = 60.0;
    for g in &groups {
        let (pods, container) = (g[0].1.shape.pods, g[0].1.shape.with_container);
        let title = format!(
            "{pods} pods{}",
            if container {
                ", each with a container"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            r#"<text x="10" y="{}" font-weight="bold">{title}</text>"#,
            y + 14.0
        );
        y += 18.0 + GAP;
        for (label, b) in g {
            bar(&mut s, label, b, y, max);
            y += BAR_H + GAP;
        }
        y += GROUP_GAP;
    }
    s.push_str("</svg>\n");
    s
}

fn parts(b: &Batch) -> [f64; 3] {
    [
        b.sandbox.pss_mean_kb,
        b.shim.pss_mean_kb,
        b.container.map(|c| c.pss_mean_kb).unwrap_or(0.0),
    ]
}

fn legend(s: &mut String) {
    for (i, (name, color)) in PARTS.iter().enumerate() {
        let x = 10.0 + i as f64 * 170.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="36" width="12" height="12" fill="{color}"/>"#
        );
        let _ = writeln!(s, r#"<text x="{}" y="46">{name}</text>"#, x + 16.0);
    }
}

/// One peer's stacked bar at `y`, and its figures beside it.
fn bar(s: &mut String, label: &str, b: &Batch, y: f64, max: f64) {
    let _ = writeln!(
        s,
        r#"<text x="10" y="{}">{}</text>"#,
        y + BAR_H * 0.72,
        esc(label)
    );
    let mut x = LABEL_W;
    let values = parts(b);
    for (v, (_, color)) in values.iter().zip(PARTS) {
        let w = v / max * BAR_W;
        if w > 0.0 {
            let _ = writeln!(
                s,
                r#"<rect x="{x:.1}" y="{y}" width="{:.1}" height="{BAR_H}" fill="{color}"/>"#,
                w.max(1.0)
            );
        }
        x += w.max(if *v > 0.0 { 1.0 } else { 0.0 });
    }
    let mut text = format!("sandbox {} + shim {}", num(values[0]), num(values[1]));
    if values[2] > 0.0 {
        let _ = write!(text, " + container {}", num(values[2]));
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{}">{text} kB</text>"#,
        x + 6.0,
        y + BAR_H * 0.72
    );
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
