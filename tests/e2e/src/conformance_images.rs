//! The images Kubernetes' conformance suite (e2e.test v1.37.2, built by
//! tests/go/kubernetes-1.37) pulls for its `[sig-node] ... [Conformance]`
//! specs, built here under the exact names `e2e.test --list-images` prints,
//! since no outside registry is reachable. Each is an OCI archive for
//! xtask/scripts/push.sh; a node's containerd reaches the loopback registry as
//! the mirror of [`REGISTRIES`]. No stand-in claims more than the name the
//! suite asks for: [`Image::built_from`] says what each holds, and each holds
//! a file `/stand-in` saying it too.
//!
//! The suite's own `pause` name is this project's image (bin/pause-oci.tar,
//! `make oci`), renamed only: every blob and the digest stay as built.

use crate::oci_layout::{Layer, RunConfig, archive, renamed};
use std::path::{Path, PathBuf};

/// The registries the images' names carry.
pub const REGISTRIES: [&str; 1] = ["registry.k8s.io"];

/// The tests/go build whose e2e.test asks for these names.
pub const KUBERNETES: &str = "kubernetes-1.37";

const E2E: &str = "registry.k8s.io/e2e-test-images/";

/// What the stand-ins are made of, each built or installed by make.
#[derive(Clone, Debug)]
pub struct Inputs {
    /// busybox 1.35 from its source (tests/critest/build.sh), as critest's.
    pub busybox: PathBuf,
    /// agnhost and nonewprivs, from Kubernetes' module (`make deps-go`).
    pub agnhost: PathBuf,
    pub nonewprivs: PathBuf,
    /// The test certificate and key agnhost's TLS servers load, from its
    /// source (`localhost.crt`, `localhost.key`; `make deps-go`).
    pub agnhost_tls: PathBuf,
    /// CoreDNS, from its module (`make deps-go`, tests/go/coredns).
    pub coredns: PathBuf,
    /// The sample API server, from k8s.io/sample-apiserver (`make deps-go`).
    pub sample_apiserver: PathBuf,
    /// etcd, from its module (`make deps-go`, tests/go/etcd).
    pub etcd: PathBuf,
    /// Debian's nginx-light unpacked (tests/conformance/debian-rootfs.sh).
    pub nginx_rootfs: PathBuf,
    /// Debian's curl, dig, getent, ip, nc, bash and socat unpacked: the commands specs run in
    /// agnhost's containers (upstream's image installs them too).
    pub tools_rootfs: PathBuf,
    /// This project's image (`make oci`; PAUSE_OCI_ARCHIVE overrides it).
    pub pause: PathBuf,
}

impl Inputs {
    /// Where make puts each input.
    pub fn of_this_repo() -> Inputs {
        let repo = test_support::repo::path;
        let bin = repo(&format!("target/go/{KUBERNETES}/bin"));
        Inputs {
            busybox: crate::critest_images::busybox(),
            agnhost: bin.join("agnhost"),
            nonewprivs: bin.join("nonewprivs"),
            agnhost_tls: repo(&format!("target/go/{KUBERNETES}/agnhost")),
            coredns: repo("target/go/coredns/bin/coredns"),
            sample_apiserver: bin.join("sample-apiserver"),
            etcd: repo("target/go/etcd/bin/etcd"),
            nginx_rootfs: repo("target/conformance/nginx-rootfs.tar"),
            tools_rootfs: repo("target/conformance/tools-rootfs.tar"),
            pause: std::env::var_os("PAUSE_OCI_ARCHIVE")
                .map(PathBuf::from)
                .unwrap_or_else(|| repo("bin/pause-oci.tar")),
        }
    }

    /// The first input that is missing, with the make target that makes it.
    pub fn missing(&self) -> Option<String> {
        [
            (
                &self.busybox,
                "tests/critest/build.sh (make test-critest builds it)",
            ),
            (&self.agnhost, "make deps-go"),
            (&self.nonewprivs, "make deps-go"),
            (&self.agnhost_tls.join("localhost.key"), "make deps-go"),
            (&self.coredns, "make deps-go"),
            (&self.sample_apiserver, "make deps-go"),
            (&self.etcd, "make deps-go"),
            (&self.nginx_rootfs, "make conformance-inputs"),
            (&self.tools_rootfs, "make conformance-inputs"),
            (&self.pause, "make oci"),
        ]
        .into_iter()
        .find(|(path, _)| !path.is_file())
        .map(|(path, make)| format!("{} is missing: run {make}", path.display()))
    }
}

/// How a stand-in is made.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// busybox and its applets, users and groups, run as `user`.
    Busybox { user: &'static str },
    /// The busybox root with agnhost as /agnhost, its entrypoint.
    Agnhost,
    /// The busybox root under Debian's curl, dig, getent, ip, nc, bash and socat.
    Tools,
    /// agnhost serving a /data.json that names `jpg` (what the kitten and
    /// nautilus images hold; the specs read that file, not the picture),
    /// and an /etc/os-release (the image-volume spec reads it too).
    Picture { jpg: &'static str },
    /// The busybox root with nonewprivs, set-user-ID root, as its command.
    Nonewprivs,
    /// The busybox root under Debian's nginx-light, serving port 80.
    Nginx,
    /// This project's image.
    Pause,
    /// One program alone at `path` (its entrypoint), with /etc and /tmp.
    Program(Program),
}

/// One image the suite asks for.
#[derive(Clone, Debug)]
pub struct Image {
    pub name: String,
    pub tag: &'static str,
    /// What it is built from, for a person reading the list.
    pub built_from: &'static str,
    kind: Kind,
}

impl Image {
    pub fn reference(&self) -> String {
        format!("{}:{}", self.name, self.tag)
    }
}

fn image(name: &str, tag: &'static str, kind: Kind, built_from: &'static str) -> Image {
    Image {
        name: format!("{E2E}{name}"),
        tag,
        built_from,
        kind,
    }
}

const BUSYBOX: &str = "busybox 1.35 built from Debian 12's upstream tarball with its defconfig \
(tests/critest/build.sh), a link per applet, \
/etc/passwd and /etc/group (root, nobody, www-data, the uid 1000 and gid 50000 agnhost's image adds)";

/// Every image the `[sig-node]` conformance specs of e2e.test v1.37.2 pull
/// (found in the specs' sources and their framework helpers), and the other
/// tags of the same images the suite lists.
pub fn images() -> Vec<Image> {
    use Kind::*;
    vec![
        image("busybox", "1.37.0-2", Busybox { user: "" }, BUSYBOX),
        image("busybox", "1.36.1-1", Busybox { user: "" }, BUSYBOX),
        image(
            "agnhost",
            "2.66.1",
            Agnhost,
            "the busybox root, Debian 12's curl, dig, getent, ip, nc (OpenBSD's, as upstream), \
             bash and socat with their libraries \
             (tests/conformance/debian-rootfs.sh), and /agnhost built from \
             k8s.io/kubernetes/test/images/agnhost v1.37.2 (static) with its test certificate and key \
             (/localhost.crt, /localhost.key); entrypoint /agnhost, \
             command pause, as upstream",
        ),
        image(
            "agnhost",
            "2.55",
            Agnhost,
            "the same agnhost (v1.37.2's source; the spec only needs an image that differs \
             from 2.66.1's, which its /stand-in file makes it)",
        ),
        image(
            "kitten",
            "1.8",
            Picture { jpg: "kitten.jpg" },
            "the agnhost stand-in plus /data.json naming kitten.jpg and an /etc/os-release \
             that says it stands in for an Alpine Linux image (the two files the ImageVolume \
             spec reads); command test-webserver",
        ),
        image(
            "nautilus",
            "1.8",
            Picture {
                jpg: "nautilus.jpg",
            },
            "the agnhost stand-in plus /data.json naming nautilus.jpg (the file kubectl's \
             Update Demo specs fetch through the API server's pod proxy) and the same \
             /etc/os-release; command test-webserver, as upstream",
        ),
        image(
            "nonroot",
            "1.5",
            Busybox { user: "1234" },
            "the busybox root, user 1234, as upstream",
        ),
        image(
            "nonewprivs",
            "1.4",
            Nonewprivs,
            "the busybox root plus /usr/local/bin/nnp, set-user-ID root, built from \
             k8s.io/kubernetes/test/images/nonewprivs v1.37.2 (prints its effective uid); command nnp",
        ),
        image(
            "nginx",
            "1.27.0-2",
            Nginx,
            "the busybox root under Debian 12's nginx-light (1.22) and its libraries \
             (tests/conformance/debian-rootfs.sh), Debian's default site on port 80, \
             logs to stdout/stderr; command nginx -g 'daemon off;'",
        ),
        image("nginx", "1.28.0-2", Nginx, "the same nginx stand-in"),
        image(
            "glibc-dns-testing",
            "2.1.1",
            Tools,
            "the busybox root under Debian 12's dig and glibc's getent (bind9-dnsutils, \
             libc-bin; with curl and ip), the two commands the DNS specs' glibc prober runs; \
             upstream's is a Debian image with dnsutils",
        ),
        image(
            "sample-apiserver",
            "1.29.2",
            Program(self::Program::SampleApiserver),
            "/sample-apiserver built from k8s.io/sample-apiserver v0.37.2 (the release cut \
             with Kubernetes v1.37.2, tests/go/kubernetes-1.37; upstream's 1.29.2 is that \
             program of Kubernetes 1.29), static, alone; entrypoint /sample-apiserver, as upstream",
        ),
        Image {
            name: "registry.k8s.io/etcd".into(),
            tag: "3.7.0-0",
            kind: Program(self::Program::Etcd),
            built_from: "/usr/local/bin/etcd built from go.etcd.io/etcd v3.6.17 (tests/go/etcd, \
                         the control plane's own), static, alone; the aggregator spec names the \
                         command, as upstream's image places it",
        },
        Image {
            name: "registry.k8s.io/pause".into(),
            tag: "3.10.2",
            kind: Pause,
            built_from: "this project's image (bin/pause-oci.tar, every architecture), \
                         renamed; same digest",
        },
    ]
}

/// The cluster DNS kubeadm's CoreDNS addon runs: a cluster conformance
/// judges has one, though no spec names its image.
pub fn coredns() -> Image {
    Image {
        name: "registry.k8s.io/coredns/coredns".into(),
        tag: COREDNS_TAG,
        kind: Kind::Program(Program::Coredns),
        built_from: "/coredns built from github.com/coredns/coredns (tests/go/coredns, static), \
                     alone; entrypoint /coredns, run as root (upstream's runs as 65532 with a file \
                     capability to bind port 53, which this archive's layer does not carry)",
    }
}

/// The version tests/go/pins.txt pins and kubeadm v1.37.2 names
/// (tests/e2e/tests/conformance.rs holds it to both).
pub const COREDNS_TAG: &str = "v1.14.6";

/// Writes one OCI archive per image into `dir`; returns each image and its
/// archive.
pub fn build_all(inputs: &Inputs, dir: &Path) -> Result<Vec<(Image, PathBuf)>, String> {
    if let Some(missing) = inputs.missing() {
        return Err(missing);
    }
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let parts = Parts {
        busybox: busybox_layer(&read(&inputs.busybox)?),
        agnhost: agnhost_layer(
            &read(&inputs.agnhost)?,
            &read(&inputs.agnhost_tls.join("localhost.crt"))?,
            &read(&inputs.agnhost_tls.join("localhost.key"))?,
        ),
        nonewprivs: read(&inputs.nonewprivs)?,
        nginx: read(&inputs.nginx_rootfs)?,
        tools: read(&inputs.tools_rootfs)?,
    };
    let pause = read(&inputs.pause)?;
    let mut out = Vec::new();
    for (i, img) in images().into_iter().chain([coredns()]).enumerate() {
        let bytes = match img.kind {
            Kind::Pause => renamed(&pause, &img.name, img.tag),
            Kind::Program(p) => program_archive(&img, p.path(), &read(p.input(inputs))?),
            kind => {
                let (run, layers) = stand_in(kind, &img, &parts);
                let layers: Vec<&[u8]> = layers.iter().map(Vec::as_slice).collect();
                archive(&img.name, img.tag, &run, &layers)
            }
        };
        let path = dir.join(format!("conformance-{i}.tar"));
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push((img, path));
    }
    Ok(out)
}

const PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the stand-ins are built of, read once: layers, and nonewprivs.
struct Parts {
    busybox: Vec<u8>,
    agnhost: Vec<u8>,
    nonewprivs: Vec<u8>,
    nginx: Vec<u8>,
    tools: Vec<u8>,
}

/// The config and the layers of a stand-in (the shared layers cloned).
fn stand_in(kind: Kind, img: &Image, parts: &Parts) -> (RunConfig, Vec<Vec<u8>>) {
    let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut run = RunConfig {
        env: vec![PATH.into()],
        cmd: strs(&["sh"]),
        ..RunConfig::default()
    };
    let mut layers = vec![parts.busybox.clone()];
    let mut top = Layer::default();
    match kind {
        Kind::Busybox { user } => run.user = user.into(),
        Kind::Tools => tools(&mut layers, &mut top, parts),
        Kind::Agnhost | Kind::Picture { .. } => {
            run.entrypoint = strs(&["/agnhost"]);
            run.cmd = strs(&["pause"]);
            tools(&mut layers, &mut top, parts);
            layers.push(parts.agnhost.clone());
            if let Kind::Picture { jpg } = kind {
                run.cmd = strs(&["test-webserver"]);
                let data = format!("{{\"image\": \"{jpg}\", \"stand-in\": \"pause e2e\"}}\n");
                top.file("data.json", 0o644, data.as_bytes());
                top.dir("etc", 0o755);
                top.file("etc/os-release", 0o644, PICTURE_OS_RELEASE.as_bytes());
            }
        }
        Kind::Nonewprivs => {
            run.cmd = strs(&["nnp"]);
            top.dir("usr", 0o755).dir("usr/local", 0o755);
            top.dir("usr/local/bin", 0o755);
            top.file("usr/local/bin/nnp", 0o4755, &parts.nonewprivs);
        }
        Kind::Nginx => {
            run.cmd = strs(&["nginx", "-g", "daemon off;"]);
            layers.push(parts.nginx.clone());
            nginx_site(&mut top);
        }
        Kind::Pause | Kind::Program(_) => unreachable!("not built on busybox"),
    }
    let note = format!("{}:{}: {}\n", img.name, img.tag, img.built_from);
    top.file("stand-in", 0o644, note.as_bytes());
    layers.push(top.finish());
    (run, layers)
}

/// Debian's tools over the busybox root, with `nc` the OpenBSD netcat that
/// upstream's agnhost has (the Services specs run `nc -t`, which busybox's
/// lacks): Debian sets that link in a maintainer script, which the unpacked
/// root never ran.
fn tools(layers: &mut Vec<Vec<u8>>, top: &mut Layer, parts: &Parts) {
    layers.push(parts.tools.clone());
    top.dir("bin", 0o755);
    top.symlink("bin/nc", "nc.openbsd");
}

/// The programs an image holds alone.
#[derive(Clone, Copy, Debug)]
enum Program {
    Coredns,
    SampleApiserver,
    Etcd,
}

impl Program {
    /// Where make puts it.
    fn input(self, inputs: &Inputs) -> &Path {
        match self {
            Program::Coredns => &inputs.coredns,
            Program::SampleApiserver => &inputs.sample_apiserver,
            Program::Etcd => &inputs.etcd,
        }
    }

    /// Where upstream's image has it.
    fn path(self) -> &'static str {
        match self {
            Program::Coredns => "coredns",
            Program::SampleApiserver => "sample-apiserver",
            Program::Etcd => "usr/local/bin/etcd",
        }
    }
}

/// An image of one program at `path`, its entrypoint, with /etc (CoreDNS's
/// Corefile is mounted there) and /tmp.
fn program_archive(img: &Image, path: &str, program: &[u8]) -> Vec<u8> {
    let mut l = Layer::default();
    let parents = Path::new(path).ancestors().skip(1);
    let parents: Vec<&Path> = parents.filter(|p| !p.as_os_str().is_empty()).collect();
    for dir in parents.iter().rev() {
        l.dir(&dir.to_string_lossy(), 0o755);
    }
    l.file(path, 0o755, program);
    l.dir("etc", 0o755);
    l.dir("tmp", 0o1777);
    let note = format!("{}:{}: {}\n", img.name, img.tag, img.built_from);
    l.file("stand-in", 0o644, note.as_bytes());
    let run = RunConfig {
        entrypoint: vec![format!("/{path}")],
        ..RunConfig::default()
    };
    archive(&img.name, img.tag, &run, &[&l.finish()])
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/false\n\
user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh\n\
nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP: &str = "root:x:0:\nwww-data:x:33:\nusers:x:100:\nuser-defined-in-image:x:1000:\n\
group-defined-in-image:x:50000:user-defined-in-image\nnogroup:x:65534:\n";

/// busybox, a hard link to it per applet in /bin, users and groups.
fn busybox_layer(busybox: &[u8]) -> Vec<u8> {
    let mut l = Layer::default();
    for d in [
        "bin",
        "etc",
        "root",
        "home",
        "var",
        "usr",
        "usr/local",
        "usr/local/bin",
    ] {
        l.dir(d, 0o755);
    }
    l.dir("tmp", 0o1777);
    l.file("bin/busybox", 0o755, busybox);
    for applet in crate::critest_images::applets() {
        l.hard_link(&format!("bin/{applet}"), "bin/busybox");
    }
    l.file("etc/passwd", 0o644, PASSWD.as_bytes());
    l.file("etc/group", 0o644, GROUP.as_bytes());
    l.finish()
}

/// agnhost as upstream places it: /agnhost, /agnhost-2 a link to it,
/// /uploads (its netexec server's upload directory) and the certificate and
/// key its TLS servers load (a StatefulSet spec's readiness probe fetches
/// /localhost.crt through test-webserver).
fn agnhost_layer(agnhost: &[u8], crt: &[u8], key: &[u8]) -> Vec<u8> {
    let mut l = Layer::default();
    l.file("agnhost", 0o755, agnhost);
    l.file("localhost.crt", 0o644, crt);
    l.file("localhost.key", 0o644, key);
    l.symlink("agnhost-2", "agnhost");
    l.dir("uploads", 0o755);
    l.finish()
}

const PICTURE_OS_RELEASE: &str = "NAME=\"pause e2e stand-in\"\n\
PRETTY_NAME=\"busybox, standing in for an Alpine Linux image of registry.k8s.io/e2e-test-images\"\n";

/// What Debian's postinst would have made (no maintainer script runs in
/// the unpacked root): the default site enabled, its web root, and the logs
/// a container engine collects.
fn nginx_site(l: &mut Layer) {
    l.dir("etc", 0o755).dir("etc/nginx", 0o755);
    l.dir("etc/nginx/sites-enabled", 0o755);
    l.symlink(
        "etc/nginx/sites-enabled/default",
        "/etc/nginx/sites-available/default",
    );
    l.dir("var", 0o755)
        .dir("var/www", 0o755)
        .dir("var/www/html", 0o755);
    l.file(
        "var/www/html/index.html",
        0o644,
        b"<html>pause e2e nginx stand-in</html>\n",
    );
    l.dir("var/log", 0o755).dir("var/log/nginx", 0o755);
    l.symlink("var/log/nginx/access.log", "/dev/stdout");
    l.symlink("var/log/nginx/error.log", "/dev/stderr");
    l.dir("run", 0o755);
}
