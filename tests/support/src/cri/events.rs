//! containerd's event stream, as `ctr events` shows it.

use super::node::Node;
use crate::command::run;
use std::process::{Child, Stdio};

impl Node {
    /// Makes containerd publish a harmless event (a label on the k8s.io
    /// namespace), to learn that an event subscriber is live.
    pub fn probe_event(&self, n: u32) {
        let label = format!("pause-cri-probe={n}");
        run(self.ctr(&["namespaces", "label", "k8s.io", &label])).check();
    }

    /// Starts `ctr events` for this node; lines are read by the caller.
    pub fn events(&self) -> Child {
        self.ctr(&["-n", "k8s.io", "events"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ctr events")
    }
}
