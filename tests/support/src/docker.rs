//! The local Docker engine, as the end-to-end and seccomp suites drive it:
//! started when it is not running, its images checked, and every container
//! a test makes removed when the test ends, failed or not.

use crate::ci;
use crate::command::{Run, run};
use crate::repo;
use crate::teardown::{self, Live, Resource};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// `docker ARGS`.
pub fn docker(args: &[&str]) -> Command {
    let mut c = Command::new("docker");
    c.args(args);
    c
}

/// The pause image to test: $PAUSE_IMAGE, else the root Makefile's default
/// `localhost/pause:<version of the root package>` (`make image`).
pub fn pause_image() -> String {
    std::env::var("PAUSE_IMAGE").unwrap_or_else(|_| format!("localhost/pause:{}", repo::version()))
}

/// `image` with the registry Docker assumes when none is named (`pause:1` is
/// `docker.io/library/pause:1`): the name podman gives an image it copies
/// from the Docker daemon.
pub fn fully_qualified(image: &str) -> String {
    let first = image.split('/').next().unwrap_or_default();
    let names_a_registry =
        image.contains('/') && (first.contains(['.', ':']) || first == "localhost");
    match (names_a_registry, image.contains('/')) {
        (true, _) => image.to_string(),
        (false, true) => format!("docker.io/{image}"),
        (false, false) => format!("docker.io/library/{image}"),
    }
}

/// A name unique to this test run, for containers, pods and images.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Docker answers (tests/scripts/dockerd.sh starts it if not) and has every
/// one of `images`; otherwise says why, with `hint` naming the make target
/// that builds them ([`ci::require`]: a failure in CI).
pub fn ready(images: &[String], hint: &str) -> bool {
    if !run(docker(&["info"])).ok() {
        let r = run(Command::new(repo::path("tests/scripts/dockerd.sh")));
        if !ci::require(r.ok(), &format!("a Docker engine: {}", r.describe())) {
            return false;
        }
    }
    images.iter().all(|image| {
        let r = run(docker(&["image", "inspect", "--format", "{{.Id}}", image]));
        ci::require(r.ok(), &format!("image {image} ({hint})"))
    })
}

/// `docker inspect --format FORMAT NAME`, which must succeed.
pub fn inspect(name: &str, format: &str) -> String {
    run(docker(&["inspect", "--format", format, name]))
        .check()
        .stdout()
}

/// A container name, the container removed (`docker rm -f -v`) when this
/// is dropped, whether or not it was ever created.
pub struct Container {
    pub name: String,
    live: Live,
}

impl Container {
    /// A fresh name starting with `prefix`; nothing is created yet.
    pub fn named(prefix: &str) -> Container {
        let name = unique(prefix);
        let live =
            teardown::register(Resource::new(format!("docker container {name}")).container(&name));
        Container { name, live }
    }

    /// `docker run --name NAME ARGS` (ARGS: options, image, command).
    pub fn run(&self, args: &[&str]) -> Run {
        let mut c = docker(&["run", "--name", &self.name]);
        c.args(args);
        run(c)
    }

    pub fn inspect(&self, format: &str) -> String {
        inspect(&self.name, format)
    }

    /// The host PID of its first process.
    pub fn pid(&self) -> i32 {
        self.inspect("{{.State.Pid}}").parse().expect("State.Pid")
    }

    pub fn running(&self) -> bool {
        self.inspect("{{.State.Running}}") == "true"
    }

    /// `docker logs NAME`: the container's stdout and stderr.
    pub fn logs(&self) -> Run {
        run(docker(&["logs", &self.name]))
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        self.live.release();
    }
}
