//! What every measurement step shares: the arguments, the plan, the
//! checked peers and the run's files.

use crate::args::Args;
use crate::{Measured, Peer, Plan, peer};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::Instant;
use test_support::teardown::{self, Live, Resource};

/// What every measurement step shares.
pub struct Bench {
    pub args: Args,
    pub plan: Plan,
    pub peers: Vec<Peer>,
    /// Where the peers' output goes.
    pub null: OwnedFd,
    /// The run's files (callgrind output, images, the sandbox phase's
    /// state); kept when something failed.
    pub tmp: PathBuf,
    /// The run's files, for the harness's teardown on a signal.
    live: Live,
    started: Instant,
}

impl Bench {
    /// Checks the peers (exits when one is missing) and sets up the run.
    pub fn new(args: Args, plan: Plan) -> Self {
        let null = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .expect("open /dev/null")
            .into();
        let tmp = std::env::temp_dir().join(format!("pause-bench.{}", std::process::id()));
        let live = teardown::register(
            Resource::new(format!("pause-bench files {}", tmp.display())).dir(&tmp),
        );
        std::fs::create_dir_all(&tmp).expect("create temp dir");
        let peers = peer::checked(&args);
        Bench {
            args,
            plan,
            peers,
            null,
            tmp,
            live,
            started: Instant::now(),
        }
    }

    /// Says what the run does now, and since when it runs.
    pub fn step(&self, what: &str) {
        eprintln!("[{:6.1}s] {what}", self.started.elapsed().as_secs_f64());
    }

    /// Ends the measurements: the run's files go, unless something failed.
    pub fn done(&self, m: &[Measured], density_ok: bool) {
        self.step("done");
        if density_ok && m.iter().all(|x| x.errors.is_empty()) {
            self.live.release();
        } else {
            self.live.keep();
            eprintln!("pause-bench: kept {} for inspection", self.tmp.display());
        }
    }
}
