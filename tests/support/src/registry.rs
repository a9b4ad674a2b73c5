//! A private OCI registry: Debian's `docker-registry` (distribution 2.8),
//! serving plain HTTP on a free loopback port of a network namespace, with
//! its config, storage and request log in a temp dir. It can be stopped and
//! started again on the same port and storage (a registry that is down), and
//! its log says what clients fetched. Dropping it kills it and removes
//! everything; so do a signal and the next run ([`crate::teardown`]).

use crate::ci;
use crate::command::{Run, run};
use crate::netns::NetNs;
use crate::repo;
use crate::teardown::{self, Live, Resource};
use crate::wait::{DEADLINE, wait_for};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

pub struct Registry {
    dir: tempfile::TempDir,
    netns: NetNs,
    port: u16,
    child: Option<Child>,
    live: Live,
}

/// One request the registry served, from its access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub status: u16,
}

/// Why a registry cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    if !ci::is_root() {
        return Some("a registry in a network namespace needs root".into());
    }
    let oras = repo::pinned("oras");
    ["docker-registry", "nsenter", "ip", "jq"]
        .iter()
        .find(|t| ci::which(t).is_none())
        .map(|t| format!("{t} not found: run `make deps`"))
        .or_else(|| {
            (!oras.is_file()).then(|| format!("{} missing: run `make deps-pinned`", oras.display()))
        })
}

impl Registry {
    /// A registry in a new network namespace of its own (loopback only);
    /// programs that are to reach it start in [`Registry::netns`].
    pub fn start_isolated() -> Registry {
        Registry::start_in(NetNs::new_loopback())
    }

    /// A registry listening in the network namespace `pid` is in.
    pub fn start_in_netns_of(pid: u32) -> Registry {
        Registry::start_in(NetNs::of(pid))
    }

    fn start_in(netns: NetNs) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("pause-registry.")
            .tempdir()
            .expect("temp dir");
        let live = teardown::register(
            Resource::new(format!("registry {}", dir.path().display())).dir(dir.path()),
        );
        let port = netns.run(|| {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
            l.local_addr().unwrap().port()
        });
        let mut registry = Registry {
            dir,
            netns,
            port,
            child: None,
            live,
        };
        std::fs::write(registry.config_path(), registry.config()).unwrap();
        registry.start();
        registry
    }

    /// `host:port`, as a client names it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://host:port`, as containerd's mirror settings name it.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.host())
    }

    /// The network namespace it listens in.
    pub fn netns(&self) -> &NetNs {
        &self.netns
    }

    /// Starts the registry (again, after [`Registry::stop`]) on its port and
    /// storage, and waits until `/v2/` answers.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "the registry is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let mut serve = self.netns.command("docker-registry");
        serve.arg("serve").arg(self.config_path());
        let child = serve
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        self.live.add_process(child.id());
        self.child = Some(child);
        self.wait_answering();
    }

    /// Publishes `archive` (an OCI layout tar) here with
    /// xtask/scripts/push.sh, the command `make push` runs, from inside the
    /// registry's network namespace; panics with its output if it fails.
    pub fn push(&self, archive: &Path) -> Run {
        let mut push = self.netns.command(repo::path("xtask/scripts/push.sh"));
        push.arg(archive).arg(self.host());
        run(push).check()
    }

    /// Stops the registry: from now on connections to its port are refused.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            self.live.forget_process(child.id());
        }
    }

    /// Every request it served so far, oldest first, across restarts.
    pub fn requests(&self) -> Vec<Request> {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        log.lines().filter_map(parse_access_line).collect()
    }

    /// The last lines the registry logged, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn wait_answering(&mut self) {
        let (netns, port) = (&self.netns, self.port);
        let child = self.child.as_mut().unwrap();
        let dir = self.dir.path().to_path_buf();
        wait_for("the registry's /v2/ to answer", DEADLINE, || {
            if let Some(status) = child.try_wait().unwrap() {
                let log = std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default();
                panic!("docker-registry exited with {status}:\n{log}");
            }
            netns
                .run(|| crate::http::get(port, "/v2/"))
                .filter(|s| s.lines().next().is_some_and(|l| l.contains(" 200 ")))
                .ok_or_else(|| "no answer yet".to_string())
        });
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.yml")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("registry.log")
    }

    /// Storage under the temp dir, an access log line per request, no
    /// debug listener, no periodic storage health check.
    fn config(&self) -> String {
        format!(
            "version: 0.1\n\
             log:\n  level: warn\n  formatter: text\n  accesslog:\n    disabled: false\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  maintenance:\n    uploadpurging:\n      enabled: false\n\
             http:\n  addr: {}\n",
            self.dir.path().join("storage").display(),
            self.host()
        )
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
        self.live.release();
    }
}

/// A line of the access log (combined log format):
/// `127.0.0.1 - - [date] "GET /v2/... HTTP/1.1" 200 2223 "" "agent"`.
fn parse_access_line(line: &str) -> Option<Request> {
    let (_, rest) = line.split_once("] \"")?;
    let (request, rest) = rest.split_once('"')?;
    let mut words = request.split_whitespace();
    let (method, path) = (words.next()?, words.next()?);
    let status = rest.split_whitespace().next()?.parse().ok()?;
    Some(Request {
        method: method.into(),
        path: path.into(),
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_access_log_line() {
        let line = r#"127.0.0.1 - - [29/Nov/2026:10:29:00 +0000] "GET /v2/library/pause/manifests/0.1.0 HTTP/1.1" 200 2223 "" "containerd/v1.6.20""#;
        assert_eq!(
            parse_access_line(line),
            Some(Request {
                method: "GET".into(),
                path: "/v2/library/pause/manifests/0.1.0".into(),
                status: 200
            })
        );
        assert_eq!(parse_access_line("time=... level=info msg=hello"), None);
    }
}
