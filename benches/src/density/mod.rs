//! The density phase: what a node pays for its pod sandboxes at 10, 110 and
//! 250 pods, per peer, through containerd 2.1's CRI as kubelet drives it.
//! For each node size, one batch started one pod at a time and one started
//! `density_width` at a time; then pods with a container of the workload.
//! Peers take turns, in a rotating order, batch by batch (batch.rs
//! runs one).
//!
//! Runs in a child process (phase.rs), which writes every batch as
//! it ends, so that a failure keeps what was measured before it.

pub mod batch;
pub mod kubelet;
mod left;
mod memory;
pub mod phase;
mod pods;

use crate::{Peer, Plan};
use batch::{Batch, Shape};
use std::path::Path;

/// The batches of a plan, in the order they run: size by size, serial then
/// parallel, the peers rotating; the container batches last.
pub fn shapes(plan: &Plan, peers: &[Peer]) -> Vec<Shape> {
    let mut groups: Vec<(usize, usize, bool)> = Vec::new();
    for &n in &plan.density_pods {
        groups.push((n, 1, false));
        groups.push((n, plan.density_width, false));
    }
    groups.push((plan.density_container_pods, plan.density_width, true));
    let k = peers.len();
    let mut out = Vec::new();
    for (g, (pods, width, with_container)) in groups.into_iter().enumerate() {
        for j in 0..k {
            out.push(Shape {
                peer: peers[(g + j) % k].key.clone(),
                pods,
                width,
                with_container,
            });
        }
    }
    out
}

/// The child process: runs every batch, rewriting `out` (JSON) after each.
pub fn child(peers: &[Peer], plan: &Plan, arch: &str, out: &Path) {
    let mut done: Vec<Batch> = Vec::new();
    for shape in shapes(plan, peers) {
        let peer = peers
            .iter()
            .find(|p| p.key == shape.peer)
            .expect("peer of shape");
        eprintln!(
            "density: {} × {} ({} at a time{})",
            peer.label,
            shape.pods,
            shape.width,
            if shape.with_container {
                ", with a container"
            } else {
                ""
            }
        );
        done.push(batch::run(&shape, peer, arch));
        std::fs::write(out, serde_json::to_vec(&done).expect("json")).expect("write");
    }
}

/// The batches of `peer`, as measured.
pub fn of_peer<'a>(batches: &'a [Batch], peer: &str) -> impl Iterator<Item = &'a Batch> {
    batches.iter().filter(move |b| b.shape.peer == peer)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn peers_take_turns_batch_by_batch() {
        let plan = Plan::new(false);
        let order: Vec<String> = shapes(&plan, &[peer("a"), peer("b")])
            .iter()
            .map(|s| format!("{}{}x{}", s.peer, s.pods, s.width))
            .collect();
        assert_eq!(
            order[..6],
            ["a10x1", "b10x1", "b10x8", "a10x8", "a110x1", "b110x1"]
        );
        assert_eq!(order.len(), 3 * 2 * 2 + 2);
    }
}
