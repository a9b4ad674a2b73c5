//! The images critest (cri-tools' CRI validation suite) pulls, built here
//! under the names it asks for: busybox built from its source with its
//! defconfig (tests/critest/build.sh) and its applets as links, an
//! /etc/passwd and /etc/group, and per image the `USER`, command, marker
//! file or setuid program cri-tools' own image definitions (images/ in its
//! module) and Kubernetes' test images give it. Each is an OCI archive
//! that xtask/scripts/push.sh publishes to the loopback registry; the
//! runtimes reach it as the mirror of the registries the names carry.

use std::path::{Path, PathBuf};

/// busybox as tests/critest/build.sh builds it: upstream's defconfig, as
/// in the busybox image critest's images come from (Debian's busybox-static
/// lacks `pgrep` and `ipcs`, and its shell runs applets without looking at
/// their files, which critest's MaskedPaths spec relies on).
pub fn busybox() -> PathBuf {
    test_support::repo::path("target/critest/busybox")
}

/// tests/critest/nonewprivs.c as tests/critest/build.sh builds it.
pub fn nonewprivs() -> PathBuf {
    test_support::repo::path("target/critest/nonewprivs")
}

/// Where the nonewprivs image has its program, setuid root (its `Cmd`
/// names it too).
const NONEWPRIVS_PATH: &str = "usr/local/bin/nnp";

/// The registries critest's image names carry, which each runtime mirrors
/// to the loopback registry.
pub const REGISTRIES: [&str; 2] = ["registry.k8s.io", "gcr.io"];

const E2E: &str = "registry.k8s.io/e2e-test-images/";
const CRI_TOOLS: &str = "gcr.io/k8s-staging-cri-tools/";

/// One image: its name and tags, the config's `User` and `Cmd`, a marker
/// file that makes images with equal settings differ, and whether it holds
/// the nonewprivs program.
struct Spec {
    name: String,
    tags: &'static [&'static str],
    user: &'static str,
    cmd: &'static [&'static str],
    marker: Option<&'static str>,
    nonewprivs: bool,
}

fn spec(name: String, tags: &'static [&'static str]) -> Spec {
    Spec {
        name,
        tags,
        user: "",
        cmd: &["sh"],
        marker: None,
        nonewprivs: false,
    }
}

/// Every image critest (v1.34, Linux) pulls, but the one it names by a
/// digest of the upstream build (its spec is skipped: tests/critest/skip.toml).
fn specs() -> Vec<Spec> {
    let t = |n: &str| format!("{CRI_TOOLS}{n}");
    let arch = test_support::repo::host_arch();
    vec![
        spec(format!("{E2E}busybox"), &["1.29-2"]),
        // A program that prints its effective uid, setuid root, run as
        // uid 1000: it becomes root unless no_new_privs is set.
        Spec {
            user: "1000",
            cmd: &["/usr/local/bin/nnp"],
            nonewprivs: true,
            ..spec(format!("{E2E}nonewprivs"), &["1.3"])
        },
        // A web server on port 80 (nginx upstream; busybox's httpd here),
        // which writes its PID where nginx does: critest reads it.
        Spec {
            cmd: &["sh", "-c", WEB_80],
            ..spec(format!("{E2E}nginx"), &["1.14-2"])
        },
        // The multi-container specs' web server (Apache httpd upstream).
        Spec {
            cmd: &["sh", "-c", HTTPD_80],
            ..spec(format!("{E2E}httpd"), &["2.4.39-4"])
        },
        Spec {
            cmd: &["sh", "-c", WEB_12003],
            ..spec(t(&format!("hostnet-nginx-{arch}")), &["latest"])
        },
        Spec {
            user: "1002",
            ..spec(t("test-image-user-uid"), &["latest"])
        },
        Spec {
            user: "www-data",
            ..spec(t("test-image-user-username"), &["latest"])
        },
        Spec {
            user: "1003:users",
            ..spec(t("test-image-user-uid-group"), &["latest"])
        },
        Spec {
            user: "www-data:users",
            ..spec(t("test-image-user-username-group"), &["latest"])
        },
        Spec {
            user: "1000",
            ..spec(t("test-image-predefined-group"), &["latest"])
        },
        Spec {
            marker: Some("latest"),
            ..spec(t("test-image-latest"), &["latest"])
        },
        // Two tags of one repository, two images: a spec that pulls one
        // expects it alone in RepoTags.
        Spec {
            marker: Some("tag-test"),
            ..spec(t("test-image-tag"), &["test"])
        },
        Spec {
            marker: Some("tag-all"),
            ..spec(t("test-image-tag"), &["all"])
        },
        Spec {
            marker: Some("1"),
            ..spec(t("test-image-1"), &["latest"])
        },
        Spec {
            marker: Some("2"),
            ..spec(t("test-image-2"), &["latest"])
        },
        Spec {
            marker: Some("3"),
            ..spec(t("test-image-3"), &["latest"])
        },
        Spec {
            marker: Some("tags"),
            ..spec(t("test-image-tags"), &["1", "2", "3"])
        },
    ]
}

/// The web servers: busybox's httpd in the background, run through a link
/// named nginx (critest looks for it with `pidof nginx`), its PID in
/// nginx's PID file (critest reads it), and a shell that ends it on
/// SIGTERM as nginx ends on it (httpd alone, as PID 1 of a container,
/// ignores it); that shell's command line carries nginx's process title,
/// which critest looks for in /proc/1/cmdline.
const WEB_80: &str = ": nginx: master process; mkdir -p /var/run; (exec -a busybox /usr/sbin/nginx httpd -f -p 80 -h /www) & \
echo $! >/var/run/nginx.pid; trap 'kill $!; exit 0' TERM; wait";
const WEB_12003: &str = ": nginx: master process; mkdir -p /var/run; (exec -a busybox /usr/sbin/nginx httpd -f -p 12003 -h /www) & \
echo $! >/var/run/nginx.pid; trap 'kill $!; exit 0' TERM; wait";

/// busybox's httpd as Apache httpd's stand-in, ended by its shell on
/// SIGTERM like the above, saying on stderr that it started, as Apache
/// does (critest looks for `httpd` in the container's log).
const HTTPD_80: &str = "httpd -f -p 80 -h /www & echo \"httpd: serving /www on port 80 (pid $!)\" >&2; \
trap 'kill $!; exit 0' TERM; wait";

/// busybox's users and groups, plus the user and group
/// images/image-predefined-group adds.
const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/false\n\
default-user:x:1000:1000::/home/default-user:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n";
const GROUP: &str = "root:x:0:\nwww-data:x:33:\nusers:x:100:\ndefault-user:x:1000:\n\
group-defined-in-image:x:50000:default-user\nnogroup:x:65534:\n";

/// The programs the images hold, as tests/critest/build.sh built them.
struct Programs {
    busybox: Vec<u8>,
    applets: Vec<String>,
    nonewprivs: Vec<u8>,
}

impl Programs {
    fn read() -> Programs {
        let read = |path: PathBuf| {
            std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (run tests/critest/build.sh)", path.display()))
        };
        Programs {
            busybox: read(busybox()),
            applets: applets(),
            nonewprivs: read(nonewprivs()),
        }
    }
}

/// Writes one OCI archive per image and tag into `dir`; returns their paths.
pub fn build_all(dir: &Path) -> Vec<PathBuf> {
    let programs = Programs::read();
    let mut archives = Vec::new();
    for (i, s) in specs().iter().enumerate() {
        let layer = rootfs(&programs, s, &[]);
        for tag in s.tags {
            let path = dir.join(format!("image-{i}-{tag}.tar"));
            std::fs::write(&path, archive(s, tag, &layer)).unwrap();
            archives.push(path);
        }
    }
    archives
}

/// The negative control's sandbox image, named `reference` (this
/// project's): busybox with `/pause` a link to it, which exits at once
/// (status 127: busybox has no applet named `pause`). Written to `dir`;
/// returns the archive.
pub fn exiting_pause(dir: &Path, reference: &str) -> PathBuf {
    let programs = Programs {
        applets: Vec::new(),
        ..Programs::read()
    };
    let (name, tag) = reference.rsplit_once(':').expect("a tagged reference");
    let spec = Spec {
        cmd: &["/pause"],
        ..spec(name.to_string(), &[])
    };
    let layer = rootfs(&programs, &spec, &[("pause", "/bin/busybox")]);
    let path = dir.join("exiting-pause.tar");
    std::fs::write(&path, archive(&spec, tag, &layer)).unwrap();
    path
}

/// The names of busybox's applets, as it lists them.
pub(crate) fn applets() -> Vec<String> {
    let out = std::process::Command::new(busybox())
        .arg("--list")
        .output()
        .unwrap_or_else(|e| panic!("{} --list: {e}", busybox().display()));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|a| !a.is_empty() && *a != "busybox")
        .map(str::to_string)
        .collect()
}

/// The root file system of `spec`'s image as an uncompressed tar layer:
/// busybox, a hard link to it per applet, the user and group files, a web
/// page, the marker file, the nonewprivs program (setuid root) and the extra
/// `links` (path, target).
fn rootfs(programs: &Programs, spec: &Spec, links: &[(&str, &str)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let dir = |tar: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(mode);
        h.set_size(0);
        h.set_mtime(0);
        tar.append_data(&mut h, path, std::io::empty()).unwrap();
    };
    let file = |tar: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(data.len() as u64);
        h.set_mtime(0);
        tar.append_data(&mut h, path, data).unwrap();
    };
    for d in [
        "bin",
        "etc",
        "tmp",
        "www",
        "root",
        "var",
        "var/www",
        "home",
        "home/default-user",
        "usr",
        "usr/sbin",
        "usr/local",
        "usr/local/bin",
    ] {
        dir(&mut tar, d, if d == "tmp" { 0o1777 } else { 0o755 });
    }
    file(&mut tar, "bin/busybox", 0o755, &programs.busybox);
    // Applets are hard links to busybox, as in busybox's own image: masking
    // one path (critest masks /bin/ls) must not mask the shell.
    for a in &programs.applets {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Link);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(0);
        tar.append_link(&mut h, format!("bin/{a}"), "bin/busybox")
            .unwrap();
    }
    let extra = links.iter().map(|(p, t)| (p.to_string(), *t));
    let extra = extra.chain([("usr/sbin/nginx".to_string(), "/bin/busybox")]);
    for (path, target) in extra {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        h.set_mtime(0);
        tar.append_link(&mut h, path, target).unwrap();
    }
    file(&mut tar, "etc/passwd", 0o644, PASSWD.as_bytes());
    file(&mut tar, "etc/group", 0o644, GROUP.as_bytes());
    file(
        &mut tar,
        "www/index.html",
        0o644,
        b"<html>pause critest</html>\n",
    );
    if let Some(m) = spec.marker {
        file(&mut tar, &format!("test-image-{m}"), 0o644, m.as_bytes());
    }
    if spec.nonewprivs {
        // Owned by root (the header's uid and gid are 0), setuid.
        file(&mut tar, NONEWPRIVS_PATH, 0o4755, &programs.nonewprivs);
    }
    tar.into_inner().unwrap()
}

/// An OCI layout tar holding one linux image named `spec.name:tag`.
fn archive(spec: &Spec, tag: &str, layer: &[u8]) -> Vec<u8> {
    let run = crate::oci_layout::RunConfig {
        user: spec.user.to_string(),
        cmd: spec.cmd.iter().map(|s| s.to_string()).collect(),
        env: vec!["PATH=/bin".into()],
        entrypoint: Vec::new(),
    };
    crate::oci_layout::archive(&spec.name, tag, &run, &[layer])
}
