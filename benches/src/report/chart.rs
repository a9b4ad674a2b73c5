//! The chart (SVG): horizontal bars on a log scale, binary bytes, gzip
//! layer bytes and idle VmRSS per peer (PSS would depend on who else runs
//! the same binary).

use super::number::num;
use crate::Results;
use std::fmt::Write;

/// One group of bars: a title, a value per peer, the unit.
struct Panel {
    title: &'static str,
    values: Vec<Option<f64>>,
    unit: &'static str,
}

const WIDTH: f64 = 760.0;
const LABEL_W: f64 = 230.0;
const BAR_H: f64 = 20.0;
const GAP: f64 = 6.0;
const BAR_W: f64 = WIDTH - LABEL_W - 210.0;
const COLORS: [&str; 4] = ["#2b8a3e", "#5c7cfa", "#e8590c", "#868e96"];

pub fn svg(r: &Results) -> String {
    let panels = panels(r);
    let n = r.peers.len() as f64;
    let panel_h = 28.0 + n * (BAR_H + GAP) + 14.0;
    let (w, h) = (WIDTH, 40.0 + panels.len() as f64 * panel_h);
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
    for (k, panel) in panels.iter().enumerate() {
        draw_panel(&mut s, r, panel, 40.0 + k as f64 * panel_h);
    }
    s.push_str("</svg>\n");
    s
}

fn panels(r: &Results) -> Vec<Panel> {
    let each = |f: &dyn Fn(&crate::Measured) -> Option<f64>| r.measured.iter().map(f).collect();
    vec![
        Panel {
            title: "binary (bytes)",
            values: each(&|x| x.binary_bytes.map(|v| v as f64)),
            unit: "B",
        },
        Panel {
            title: "gzip layer every node pulls (bytes)",
            values: each(&|x| x.image.as_ref().map(|i| i.layer_gzip as f64)),
            unit: "B",
        },
        Panel {
            title: "idle memory as PID 1, VmRSS (kB)",
            values: each(&|x| x.vmrss_kb.map(|s| s.median)),
            unit: "kB",
        },
    ]
}

/// A panel's title and one bar per peer, from `y0` down.
fn draw_panel(s: &mut String, r: &Results, panel: &Panel, y0: f64) {
    let _ = writeln!(
        s,
        r#"<text x="10" y="{}" font-weight="bold">{}</text>"#,
        y0 + 18.0,
        esc(panel.title)
    );
    let max = panel.values.iter().flatten().fold(1.0f64, |a, &b| a.max(b));
    let decades = max.log10().ceil().max(1.0);
    for (i, (p, v)) in r.peers.iter().zip(&panel.values).enumerate() {
        let y = y0 + 28.0 + i as f64 * (BAR_H + GAP);
        let _ = writeln!(
            s,
            r#"<text x="10" y="{}">{}</text>"#,
            y + BAR_H * 0.72,
            esc(&p.label)
        );
        match v {
            Some(v) => draw_bar(s, panel, i, *v, y, decades),
            None => {
                let _ = writeln!(
                    s,
                    r##"<text x="{LABEL_W}" y="{}" fill="#868e96">not measured</text>"##,
                    y + BAR_H * 0.72
                );
            }
        }
    }
}

/// Peer `i`'s bar, its value and, for the other peers, how many times
/// pause's value it is.
fn draw_bar(s: &mut String, panel: &Panel, i: usize, v: f64, y: f64, decades: f64) {
    let len = (v.max(1.0).log10() / decades * BAR_W).max(2.0);
    let _ = writeln!(
        s,
        r#"<rect x="{LABEL_W}" y="{y}" width="{len:.1}" height="{BAR_H}" fill="{}"/>"#,
        COLORS[i % COLORS.len()]
    );
    let times = match panel.values[0] {
        Some(base) if i > 0 && base > 0.0 => format!(" ({}× pause)", num(v / base)),
        _ => String::new(),
    };
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{}">{} {}{times}</text>"#,
        LABEL_W + len + 6.0,
        y + BAR_H * 0.72,
        num(v),
        panel.unit
    );
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
