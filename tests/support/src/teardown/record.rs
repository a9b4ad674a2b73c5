//! The state directory: one directory per run (`PID.START`, the process
//! that registered resources), one file per live resource in it. A run that
//! ends normally leaves an empty directory, removed by the next sweep; a run
//! killed with -9 leaves its files, which say what to remove.

use super::{Process, Resource};
use std::path::{Path, PathBuf};

/// `$PAUSE_HARNESS_STATE`, or /run/pause-harness (a tmpfs: a reboot, which
/// also ends every process, empties it).
pub fn state_dir() -> PathBuf {
    std::env::var_os("PAUSE_HARNESS_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/pause-harness"))
}

fn own_run_dir() -> PathBuf {
    let me = Process::of(std::process::id() as i32).expect("/proc/self/stat");
    state_dir().join(format!("{}.{}", me.pid, me.start))
}

/// Writes (or rewrites) resource `id` of this run; a failure to record is
/// reported, never fatal: the other teardown paths still hold.
pub fn write(id: u64, r: &Resource) {
    let dir = own_run_dir();
    let file = dir.join(id.to_string());
    let tmp = dir.join(format!(".{id}.new"));
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&tmp, encode(r)))
        .and_then(|()| std::fs::rename(&tmp, &file));
    if let Err(e) = written {
        eprintln!(
            "harness: cannot record {} in {}: {e}",
            r.what,
            dir.display()
        );
    }
}

pub fn delete(id: u64) {
    let _ = std::fs::remove_file(own_run_dir().join(id.to_string()));
}

/// A run's directory in the state directory.
pub struct Run {
    dir: PathBuf,
    owner: Option<Process>,
}

impl Run {
    pub fn label(&self) -> String {
        match &self.owner {
            Some(p) if p.alive() => format!("run {} (running)", p.pid),
            Some(p) => format!("run {} (gone)", p.pid),
            None => format!("{}", self.dir.display()),
        }
    }

    pub fn owner(&self) -> Option<&Process> {
        self.owner.as_ref()
    }

    /// Removes the run's directory once its resources are gone.
    pub fn forget(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every run recorded in `state`.
pub fn all_runs(state: &Path) -> Vec<Run> {
    let entries = std::fs::read_dir(state).into_iter().flatten().flatten();
    entries
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let owner = name.split_once('.').and_then(|(pid, start)| {
                Some(Process {
                    pid: pid.parse().ok()?,
                    start: start.parse().ok()?,
                })
            });
            Run {
                dir: e.path(),
                owner,
            }
        })
        .collect()
}

/// Runs whose process is gone (or whose PID now names another process).
pub fn dead_runs(state: &Path) -> Vec<Run> {
    all_runs(state)
        .into_iter()
        .filter(|run| !run.owner.as_ref().is_some_and(Process::alive))
        .collect()
}

/// The resources a run recorded, with their files.
pub fn resources_of(run: &Run) -> Vec<(PathBuf, Resource)> {
    let files = std::fs::read_dir(&run.dir).into_iter().flatten().flatten();
    files
        .filter(|f| !f.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|f| {
            let text = std::fs::read_to_string(f.path()).ok()?;
            Some((f.path(), decode(&text)))
        })
        .collect()
}

/// One `key value` line per fact; the order of processes is kept.
fn encode(r: &Resource) -> String {
    let mut out = format!("what {}\n", r.what.replace('\n', " "));
    for p in &r.processes {
        out += &format!("process {} {}\n", p.pid, p.start);
    }
    if let Some(d) = &r.dir {
        out += &format!("dir {}\n", d.display());
    }
    for c in &r.cgroups {
        out += &format!("cgroup {c}\n");
    }
    if let Some(u) = &r.user {
        out += &format!("user {u}\n");
    }
    for c in &r.containers {
        out += &format!("container {c}\n");
    }
    for (path, mode) in &r.modes {
        out += &format!("mode {mode:o} {}\n", path.display());
    }
    for (path, line) in &r.contents {
        out += &format!("content {} {}\n", path.display(), line.replace('\n', " "));
    }
    out
}

fn decode(text: &str) -> Resource {
    let mut r = Resource::default();
    for line in text.lines() {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "what" => r.what = value.to_string(),
            "process" => {
                if let Some((pid, start)) = value.split_once(' ')
                    && let (Ok(pid), Ok(start)) = (pid.parse(), start.parse())
                {
                    r.processes.push(Process { pid, start });
                }
            }
            "dir" => r.dir = Some(PathBuf::from(value)),
            "cgroup" => r.cgroups.push(value.to_string()),
            "user" => r.user = Some(value.to_string()),
            "container" => r.containers.push(value.to_string()),
            "mode" => {
                if let Some((mode, path)) = value.split_once(' ')
                    && let Ok(mode) = u32::from_str_radix(mode, 8)
                {
                    r.modes.push((Path::new(path).to_path_buf(), mode));
                }
            }
            "content" => {
                if let Some((path, line)) = value.split_once(' ') {
                    r.contents.push((PathBuf::from(path), line.to_string()));
                }
            }
            _ => {}
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_written() {
        let r = Resource::new("containerd node /tmp/pause-cri.x")
            .dir(Path::new("/tmp/pause-cri.x"))
            .cgroup("pause-cri.x")
            .user("pause-rl-1-0")
            .container("pause-test-1")
            .mode(Path::new("/dev/net/tun"), 0o600)
            .content(Path::new("/proc/sys/kernel/panic"), "0");
        let mut r = r;
        r.processes.push(Process { pid: 42, start: 7 });
        assert_eq!(decode(&encode(&r)), r);
    }
}
