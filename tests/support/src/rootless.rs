//! A throwaway unprivileged user set up as an administrator would set up a
//! new one for rootless containers: an account (`useradd`) with one range of
//! subordinate user and group ids of a chosen size in /etc/subuid and
//! /etc/subgid, and a home and runtime directory of its own in a temporary
//! directory. Dropping it ends every process it still has, deletes the
//! account (`userdel` also deletes its subordinate id lines, and only its
//! own) and its files. Needs root and the `uidmap` package.

use crate::ci;
use crate::command::run;
use crate::teardown::{self, Live, Resource};
use nix::unistd::{Gid, Uid, chown};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// What a rootless user needs on the host; otherwise says why
/// ([`ci::require`]: a failure in CI).
pub fn ready() -> bool {
    ci::require(ci::is_root(), "root (to create a throwaway user)")
        && ["useradd", "userdel", "newuidmap", "newgidmap"]
            .iter()
            .all(|t| ci::require(ci::which(t).is_some(), &format!("{t} (make deps: uidmap)")))
}

/// One range of subordinate ids: `start`, `start + 1`, ... `start + count - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdRange {
    pub start: u32,
    pub count: u32,
}

impl IdRange {
    pub fn contains(&self, id: u32) -> bool {
        id >= self.start && id - self.start < self.count
    }
}

/// How to run a program as the user: what [`User::command`] needs, cheap to
/// clone into whatever drives a tool as that user.
#[derive(Clone, Debug)]
pub struct Login {
    pub name: String,
    pub uid: Uid,
    pub gid: Gid,
    /// Owned by the user: `home/`, `run/` (its XDG_RUNTIME_DIR), `tmp/` and
    /// whatever the test gives it.
    pub dir: PathBuf,
}

impl Login {
    pub fn home(&self) -> PathBuf {
        self.dir.join("home")
    }

    pub fn runtime_dir(&self) -> PathBuf {
        self.dir.join("run")
    }

    /// `program` run as this user, with the environment a login would give
    /// it (HOME, USER, XDG_RUNTIME_DIR) and temporary files in its directory.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.uid(self.uid.as_raw())
            .gid(self.gid.as_raw())
            .current_dir(&self.dir)
            .env("HOME", self.home())
            .env("USER", &self.name)
            .env("LOGNAME", &self.name)
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("TMPDIR", self.dir.join("tmp"));
        c
    }

    /// Makes `path` and everything under it the user's.
    pub fn own(&self, path: &Path) {
        chown(path, Some(self.uid), Some(self.gid)).unwrap();
        if path.is_dir() {
            for e in std::fs::read_dir(path).unwrap() {
                self.own(&e.unwrap().path());
            }
        }
    }
}

pub struct User {
    pub login: Login,
    /// This user's lines of /etc/subuid and /etc/subgid.
    pub subuids: IdRange,
    pub subgids: IdRange,
    /// Kept while the user lives; removed by the teardown.
    _dir: tempfile::TempDir,
    /// The account, its processes and its directory, for the teardown.
    live: Live,
}

/// Users made by this process so far: tells their names apart.
static USERS: AtomicU32 = AtomicU32::new(0);
static USERADD: Mutex<()> = Mutex::new(());

/// The new account's uid, gid and subordinate ranges; never root's, so that
/// the teardown can never take root's processes for the user's.
fn account_of(name: &str) -> Result<(Uid, Gid, IdRange, IdRange), String> {
    let pw = nix::unistd::User::from_name(name)
        .map_err(|e| format!("look up {name}: {e}"))?
        .ok_or_else(|| format!("useradd made no user {name}"))?;
    let subuids = subordinate_ids("/etc/subuid", name)?;
    let subgids = subordinate_ids("/etc/subgid", name)?;
    if pw.uid.is_root() || subuids.contains(0) {
        return Err(format!(
            "{name}: uid {} with subordinate uids {subuids:?}",
            pw.uid
        ));
    }
    Ok((pw.uid, pw.gid, subuids, subgids))
}

impl User {
    /// Creates the user with `subids` subordinate user and group ids, the
    /// range `useradd` picks among the free ones (as for any new user).
    pub fn create(subids: u32) -> User {
        let dir = tempfile::Builder::new()
            .prefix("pause-rl.")
            .tempdir()
            .unwrap();
        // A temporary directory lets only root in: open it to the user.
        std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o755)).unwrap();
        // At most 32 characters, as useradd wants.
        let n = USERS.fetch_add(1, Ordering::Relaxed);
        let name = format!("pause-rl-{}-{n}", std::process::id());
        let live = teardown::register(
            Resource::new(format!("rootless user {name}"))
                .dir(dir.path())
                .user(&name),
        );
        let count = |key: &str| format!("{key}={subids}");
        let mut add = Command::new(ci::which("useradd").unwrap());
        add.args([
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            "--home-dir",
        ])
        .arg(dir.path().join("home"))
        .args(["-K", &count("SUB_UID_COUNT"), "-K", &count("SUB_GID_COUNT")])
        .arg(&name);
        // One useradd at a time: tests of this process run in parallel.
        let lock = USERADD.lock().unwrap_or_else(|e| e.into_inner());
        run(add).check();
        let account = account_of(&name).inspect_err(|e| {
            live.release();
            panic!("{e}");
        });
        drop(lock);
        let (uid, gid, subuids, subgids) = account.unwrap();
        // From here a failure drops the user, which deletes the account.
        let user = User {
            login: Login {
                name,
                uid,
                gid,
                dir: dir.path().to_path_buf(),
            },
            subuids,
            subgids,
            _dir: dir,
            live,
        };
        for sub in ["home", "run", "tmp"] {
            user.give_dir(&user.login.dir.join(sub));
        }
        user
    }

    pub fn name(&self) -> &str {
        &self.login.name
    }

    /// Creates `dir` (and its parents) owned by the user, mode 0700.
    pub fn give_dir(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::set_permissions(dir, PermissionsExt::from_mode(0o700)).unwrap();
        self.login.own(dir);
    }

    /// A copy of `file` the user owns, in its directory: what root can read
    /// (an archive under /root, mode 0600) the user may not.
    pub fn give_file(&self, file: &Path) -> PathBuf {
        let copy = self.login.dir.join(file.file_name().unwrap());
        std::fs::copy(file, &copy).unwrap();
        self.login.own(&copy);
        copy
    }
}

impl Drop for User {
    /// The harness's teardown: every process of the user's uid or its
    /// subordinate ids (podman leaves one holding the user's namespace, and
    /// conmon, slirp4netns: userdel refuses a user with processes), the
    /// account, its files in /dev/shm, its directory.
    fn drop(&mut self) {
        self.live.release();
    }
}

/// The range `name` has in /etc/subuid or /etc/subgid (`name:start:count`).
fn subordinate_ids(file: &str, name: &str) -> Result<IdRange, String> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let ranges: Vec<IdRange> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            (f.next()? == name).then_some(())?;
            Some(IdRange {
                start: f.next()?.parse().ok()?,
                count: f.next()?.parse().ok()?,
            })
        })
        .collect();
    match ranges[..] {
        [one] => Ok(one),
        _ => Err(format!(
            "{name} should have one range in {file}, has {ranges:?}:\n{text}"
        )),
    }
}

/// Opens /dev/net/tun to every user while it lives, then puts its mode back:
/// rootless podman's network (slirp4netns) makes a TAP device as the user,
/// and this machine's /dev/net/tun is 0600 where 0666 is usual.
pub struct TunOpen {
    /// Holds the old mode while it is changed.
    live: Option<Live>,
}

impl TunOpen {
    pub const PATH: &str = "/dev/net/tun";

    pub fn new() -> TunOpen {
        let mode = std::fs::metadata(Self::PATH)
            .unwrap_or_else(|e| panic!("{}: {e}", Self::PATH))
            .permissions()
            .mode();
        if mode & 0o666 == 0o666 {
            return TunOpen { live: None };
        }
        eprintln!(
            "setting {} to mode 0666 (was {:o}) for the test",
            Self::PATH,
            mode & 0o7777
        );
        let live = teardown::register(
            Resource::new(format!("mode of {}", Self::PATH))
                .mode(Path::new(Self::PATH), mode & 0o7777),
        );
        std::fs::set_permissions(
            Self::PATH,
            PermissionsExt::from_mode((mode & 0o7777) | 0o666),
        )
        .unwrap();
        TunOpen { live: Some(live) }
    }
}

impl Default for TunOpen {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TunOpen {
    fn drop(&mut self) {
        if let Some(live) = &self.live {
            live.release();
        }
    }
}
