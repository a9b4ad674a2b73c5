//! A network namespace held open by a file descriptor of the test process,
//! so that several programs (a registry, a containerd) can be started in it,
//! stopped and started again, without one of them having to own it.

use nix::sched::{CloneFlags, setns, unshare};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;

pub struct NetNs {
    file: File,
}

impl NetNs {
    /// The network namespace `pid` is in (`std::process::id()`: the host's).
    pub fn of(pid: u32) -> NetNs {
        let path = format!("/proc/{pid}/ns/net");
        let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        NetNs { file }
    }

    /// A new network namespace with only loopback, up: what a node has.
    pub fn new_loopback() -> NetNs {
        // unshare moves only the calling thread: a short-lived one, so the
        // test's own threads stay in the host's namespace.
        let file = std::thread::spawn(|| {
            unshare(CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET) (needs root)");
            File::open("/proc/thread-self/ns/net").expect("/proc/thread-self/ns/net")
        })
        .join()
        .expect("netns thread");
        let netns = NetNs { file };
        let mut up = netns.command("ip");
        up.args(["link", "set", "lo", "up"]);
        crate::command::run(up).check();
        netns
    }

    /// Another handle on the same namespace.
    pub fn try_clone(&self) -> NetNs {
        NetNs {
            file: self
                .file
                .try_clone()
                .expect("dup of the namespace's descriptor"),
        }
    }

    /// A path naming this namespace for `nsenter --net=` (valid while the
    /// test process holds it).
    pub fn path(&self) -> String {
        format!("/proc/{}/fd/{}", std::process::id(), self.file.as_raw_fd())
    }

    /// `program` run inside this namespace (through nsenter).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net={}", self.path()))
            .arg("--")
            .arg(program);
        c
    }

    /// What moves the calling thread into this namespace: for the worker
    /// threads of an async runtime whose sockets must be made here.
    pub fn joiner(&self) -> impl Fn() + Send + Sync + 'static {
        let file = self
            .file
            .try_clone()
            .expect("dup of the namespace's descriptor");
        move || setns(&file, CloneFlags::CLONE_NEWNET).expect("setns(CLONE_NEWNET)")
    }

    /// Runs `f` on a thread inside this namespace: for a socket of the test
    /// process there (a free port, a request to a server listening there).
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|s| {
            s.spawn(|| {
                setns(&self.file, CloneFlags::CLONE_NEWNET).expect("setns(CLONE_NEWNET)");
                f()
            })
            .join()
            .expect("thread in the network namespace")
        })
    }
}
