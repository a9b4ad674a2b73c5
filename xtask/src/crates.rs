//! The crates compiled into the shipped binary: the graph `cargo metadata`
//! resolves from Cargo.lock for one target, walked from the root package
//! through normal dependencies only (build scripts and tests never ship).

use crate::Result;
use cargo_metadata::{DependencyKind, Metadata, MetadataCommand, PackageId};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One crate of the graph, as Cargo.lock and its manifest describe it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Crate {
    pub name: String,
    pub version: String,
    /// The SPDX expression of its `license` field, if it has one.
    pub license: Option<String>,
    /// Cargo.lock's sha256 of the `.crate` file (registry crates only).
    pub checksum: Option<String>,
}

/// The dependencies (never the package itself) that `package` of the
/// workspace at `manifest` links for `target`, sorted by name and version.
pub fn shipped(manifest: &Path, package: &str, target: &str) -> Result<Vec<Crate>> {
    let metadata = MetadataCommand::new()
        .manifest_path(manifest)
        .other_options(vec![
            "--locked".to_string(),
            "--filter-platform".to_string(),
            target.to_string(),
        ])
        .exec()
        .map_err(|e| format!("cargo metadata for {target}: {e}"))?;
    let root = metadata
        .workspace_packages()
        .into_iter()
        .find(|p| p.name.as_str() == package)
        .ok_or_else(|| format!("no package {package:?} in {}", manifest.display()))?
        .id
        .clone();
    let checksums = lock_checksums(&manifest.with_file_name("Cargo.lock"))?;
    let mut crates: Vec<Crate> = normal_dependencies(&metadata, &root)?
        .iter()
        .map(|id| {
            let p = &metadata[id];
            let version = p.version.to_string();
            Crate {
                checksum: checksums
                    .get(&(p.name.to_string(), version.clone()))
                    .cloned(),
                name: p.name.to_string(),
                version,
                license: p.license.clone(),
            }
        })
        .collect();
    crates.sort();
    Ok(crates)
}

/// Every package reachable from `root` through normal dependencies.
fn normal_dependencies(metadata: &Metadata, root: &PackageId) -> Result<BTreeSet<PackageId>> {
    let resolve = metadata
        .resolve
        .as_ref()
        .ok_or("cargo metadata: no resolve")?;
    let nodes: BTreeMap<&PackageId, _> = resolve.nodes.iter().map(|n| (&n.id, n)).collect();
    let mut seen = BTreeSet::new();
    let mut todo = vec![root.clone()];
    while let Some(id) = todo.pop() {
        let node = nodes
            .get(&id)
            .ok_or_else(|| format!("cargo metadata: no node {id}"))?;
        for dep in &node.deps {
            let normal = dep
                .dep_kinds
                .iter()
                .any(|k| k.kind == DependencyKind::Normal);
            if normal && seen.insert(dep.pkg.clone()) {
                todo.push(dep.pkg.clone());
            }
        }
    }
    Ok(seen)
}

/// Cargo.lock's `checksum` of each (name, version).
fn lock_checksums(lock: &Path) -> Result<BTreeMap<(String, String), String>> {
    let text = std::fs::read_to_string(lock).map_err(|e| format!("{}: {e}", lock.display()))?;
    let table: toml::Table = text.parse()?;
    let packages = table.get("package").and_then(|p| p.as_array());
    let field = |p: &toml::Value, key: &str| p.get(key).and_then(|v| v.as_str()).map(String::from);
    Ok(packages
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                (field(p, "name")?, field(p, "version")?),
                field(p, "checksum")?,
            ))
        })
        .collect())
}
