//! `cargo xtask size`: every shipped binary against its byte budget
//! (`xtask::size::budget`), one line each, failing when any is over.

use crate::project;
use lexopt::{Arg, Parser};
use std::path::PathBuf;

pub fn run(args: &mut Parser) -> xtask::Result<()> {
    let bin_dir = parse(args)?.unwrap_or_else(project::bin_dir);
    let mut over = 0;
    for arch in project::ARCHES {
        let file = project::binary(&bin_dir, arch);
        let size = std::fs::metadata(&file)
            .map_err(|e| format!("{}: {e} (`make build` writes it)", file.display()))?
            .len();
        let budget = xtask::size::budget(arch);
        let verdict = if size <= budget { "ok" } else { "OVER" };
        over += usize::from(size > budget);
        let file = project::shown(&file);
        println!("{file:<26} {size:>5} bytes (budget {budget}) {verdict}");
    }
    match over {
        0 => Ok(()),
        n => Err(format!(
            "{n} of {} binaries over their budget",
            project::ARCHES.len()
        )
        .into()),
    }
}

/// `--bin-dir DIR`, if given.
fn parse(args: &mut Parser) -> xtask::Result<Option<PathBuf>> {
    let mut bin_dir = None;
    while let Some(arg) = args.next()? {
        match arg {
            Arg::Short('h') | Arg::Long("help") => return Err(crate::Help(crate::USAGE).into()),
            Arg::Long("bin-dir") => bin_dir = Some(args.value()?.into()),
            other => return Err(other.unexpected().into()),
        }
    }
    Ok(bin_dir)
}
