//! What each runtime makes of the image's `USER 65535:65535`: the ids and
//! capabilities the sandbox process really has, per runtime, as the suites
//! run them. The README's table is this one.

use caps::Capability::{self, *};
use test_support::credentials::{CapSet, Credentials};

/// The credentials a runtime gives the sandbox process: the same four user
/// ids and four group ids, permitted = effective, nothing inheritable or
/// ambient.
#[derive(Clone, Copy, Debug)]
pub struct Expected {
    pub runtime: &'static str,
    pub uid: u32,
    pub gid: u32,
    pub effective: &'static [Capability],
    pub bounding: &'static [Capability],
}

/// The default capabilities of Docker's and containerd's container spec,
/// and podman's own when no containers.conf names others (the suites give
/// podman a containers.conf of their own; Debian's packaged
/// /usr/share/containers/containers.conf lists 11 of these: no NET_RAW,
/// MKNOD or AUDIT_WRITE).
const RUNTIME_DEFAULTS: &[Capability] = &[
    CAP_CHOWN,
    CAP_DAC_OVERRIDE,
    CAP_FSETID,
    CAP_FOWNER,
    CAP_MKNOD,
    CAP_NET_RAW,
    CAP_SETGID,
    CAP_SETUID,
    CAP_SETFCAP,
    CAP_SETPCAP,
    CAP_NET_BIND_SERVICE,
    CAP_SYS_CHROOT,
    CAP_KILL,
    CAP_AUDIT_WRITE,
];

/// Docker as tests/e2e/tests/docker.rs runs it, locked down as a
/// sandbox (`--cap-drop ALL --security-opt no-new-privileges`): the image's
/// user, nothing in any set.
pub const DOCKER: Expected = Expected {
    runtime: "Docker (--cap-drop ALL)",
    uid: 65535,
    gid: 65535,
    effective: &[],
    bounding: &[],
};

/// podman 4.3 as root: the infra container runs as root whatever the image
/// says, with podman's default capabilities (as the suites configure it).
pub const PODMAN_ROOT: Expected = Expected {
    runtime: "podman 4.3, root",
    uid: 0,
    gid: 0,
    effective: RUNTIME_DEFAULTS,
    bounding: RUNTIME_DEFAULTS,
};

/// podman 4.3 rootless: root of the pod's user namespace, which is the user
/// itself on the host (`uid`:`gid`); the capabilities hold only inside that
/// namespace.
pub const fn podman_rootless(uid: u32, gid: u32) -> Expected {
    Expected {
        runtime: "podman 4.3, rootless",
        uid,
        gid,
        ..PODMAN_ROOT
    }
}

/// containerd 1.6, 1.7 and 2.1 through CRI, every config dialect: the
/// image's user; a non-root process keeps no capability, only the bounding
/// set of containerd's default spec.
pub const CONTAINERD: Expected = Expected {
    runtime: "containerd (CRI)",
    uid: 65535,
    gid: 65535,
    effective: &[],
    bounding: RUNTIME_DEFAULTS,
};

/// CRI-O's `default_capabilities` (crio.conf), which its infra container
/// gets too.
const CRIO_DEFAULTS: &[Capability] = &[
    CAP_CHOWN,
    CAP_DAC_OVERRIDE,
    CAP_FSETID,
    CAP_FOWNER,
    CAP_SETGID,
    CAP_SETUID,
    CAP_SETPCAP,
    CAP_NET_BIND_SERVICE,
    CAP_KILL,
];

/// CRI-O 1.34 (tests/e2e/tests/crio.rs): the infra container runs as root
/// whatever the image's `USER` or the pod's `runAsUser` says, with CRI-O's
/// nine default capabilities; no crio.conf setting changes its user.
pub const CRIO: Expected = Expected {
    runtime: "CRI-O 1.34",
    uid: 0,
    gid: 0,
    effective: CRIO_DEFAULTS,
    bounding: CRIO_DEFAULTS,
};

impl Expected {
    pub fn credentials(&self) -> Credentials {
        let effective = CapSet::of(self.effective);
        Credentials {
            uid: [self.uid; 4],
            gid: [self.gid; 4],
            inheritable: CapSet::EMPTY,
            permitted: effective,
            effective,
            bounding: CapSet::of(self.bounding),
            ambient: CapSet::EMPTY,
        }
    }
}

/// The sandbox process `pid` has the ids and capabilities `expected` says
/// (and the test output shows what it has, for the README's table).
pub fn assert_sandbox_credentials(pid: i32, expected: &Expected) {
    let have = Credentials::of(pid).unwrap_or_else(|e| panic!("sandbox credentials: {e}"));
    eprintln!("{} sandbox (host PID {pid}):\n{have}", expected.runtime);
    let want = expected.credentials();
    assert!(
        have == want,
        "{} sandbox credentials:\n{have}\nexpected:\n{want}",
        expected.runtime
    );
}
