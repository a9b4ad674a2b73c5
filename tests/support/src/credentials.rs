//! Who a process really runs as: its user and group ids and capability sets
//! as /proc/PID/status gives them (ids as seen from the reader's user
//! namespace, so from the host for a test run as root), with the capability
//! names from the `caps` crate.

use crate::procfs::status_field;
use caps::Capability;
use std::fmt;

/// A capability set: one bit per capability number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapSet(pub u64);

impl CapSet {
    pub const EMPTY: CapSet = CapSet(0);

    pub fn of(names: &[Capability]) -> CapSet {
        CapSet(names.iter().fold(0, |m, c| m | c.bitmask()))
    }

    /// The capabilities in the set, by number.
    pub fn names(self) -> Vec<String> {
        let mut known: Vec<Capability> = caps::all()
            .into_iter()
            .filter(|c| self.0 & c.bitmask() != 0)
            .collect();
        known.sort_by_key(|c| c.index());
        let named = known.iter().fold(0, |m, c| m | c.bitmask());
        let mut names: Vec<String> = known.iter().map(|c| c.to_string()).collect();
        // Numbers newer than the crate knows still show.
        names.extend(
            (0..64)
                .filter(|b| (self.0 & !named) & (1u64 << b) != 0)
                .map(|b| format!("cap#{b}")),
        );
        names
    }
}

impl fmt::Display for CapSet {
    /// `none`, or the names without their `CAP_` prefix and the mask.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.0 == 0 {
            return write!(f, "none");
        }
        let names = self.names();
        let short: Vec<&str> = names
            .iter()
            .map(|n| n.strip_prefix("CAP_").unwrap_or(n))
            .collect();
        write!(
            f,
            "{} ({} caps, {:016x})",
            short.join(" "),
            names.len(),
            self.0
        )
    }
}

/// The ids and capability sets of one process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// Real, effective, saved and filesystem user ids.
    pub uid: [u32; 4],
    /// Real, effective, saved and filesystem group ids.
    pub gid: [u32; 4],
    pub inheritable: CapSet,
    pub permitted: CapSet,
    pub effective: CapSet,
    pub bounding: CapSet,
    pub ambient: CapSet,
}

impl Credentials {
    /// Read from /proc/PID/status; an error names what was missing.
    pub fn of(pid: i32) -> Result<Credentials, String> {
        let field = |key: &str| {
            status_field(pid, key).ok_or_else(|| format!("no {key} in /proc/{pid}/status"))
        };
        let ids = |key: &str| -> Result<[u32; 4], String> {
            let v = field(key)?;
            let n: Vec<u32> = v.split(' ').filter_map(|s| s.parse().ok()).collect();
            n.try_into()
                .map_err(|_| format!("{key} of {pid} is not four ids: {v}"))
        };
        let set = |key: &str| -> Result<CapSet, String> {
            let v = field(key)?;
            u64::from_str_radix(&v, 16)
                .map(CapSet)
                .map_err(|e| format!("{key} of {pid}: {v}: {e}"))
        };
        Ok(Credentials {
            uid: ids("Uid")?,
            gid: ids("Gid")?,
            inheritable: set("CapInh")?,
            permitted: set("CapPrm")?,
            effective: set("CapEff")?,
            bounding: set("CapBnd")?,
            ambient: set("CapAmb")?,
        })
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let ids = |v: &[u32; 4]| v.map(|i| i.to_string()).join(" ");
        writeln!(f, "Uid {}  Gid {}", ids(&self.uid), ids(&self.gid))?;
        writeln!(f, "CapEff {}", self.effective)?;
        writeln!(f, "CapPrm {}", self.permitted)?;
        writeln!(f, "CapBnd {}", self.bounding)?;
        write!(f, "CapInh {}  CapAmb {}", self.inheritable, self.ambient)
    }
}
