//! pause-bench: measures the project's pause side by side with what users
//! run today (catatonit in pause mode, and any reference pause binary given
//! with REF_PAUSE), in the same run on the same machine, and writes the table
//! the README shows (Markdown, JSON and an SVG chart).
//!
//! Needs root: every peer runs as PID 1 of a fresh PID namespace.

mod image;
mod proc;
mod reap;
mod report;
mod sandbox;
mod stats;

use nix::unistd::geteuid;
use serde::Serialize;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How much of each measurement a run does.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub mode: &'static str,
    pub latency_runs: usize,
    pub warmup_runs: usize,
    pub memory_samples: usize,
    pub callgrind_runs: usize,
    pub orphans: usize,
    pub reap_rounds: usize,
    pub idle_seconds: u64,
    pub sandbox_runs: usize,
}

impl Plan {
    fn full() -> Self {
        Plan {
            mode: "full",
            latency_runs: 1000,
            warmup_runs: 50,
            memory_samples: 25,
            callgrind_runs: 3,
            orphans: 10_000,
            reap_rounds: 5,
            idle_seconds: 10,
            sandbox_runs: 50,
        }
    }
    fn quick() -> Self {
        Plan {
            mode: "quick",
            latency_runs: 40,
            warmup_runs: 5,
            memory_samples: 4,
            callgrind_runs: 1,
            orphans: 300,
            reap_rounds: 1,
            idle_seconds: 1,
            sandbox_runs: 2,
        }
    }
}

/// A program measured: the project's pause, catatonit -P, a reference pause.
#[derive(Debug, Clone, Serialize)]
pub struct Peer {
    pub key: String,
    pub label: String,
    pub path: PathBuf,
    pub args: Vec<String>,
    /// File name of the binary inside its image.
    pub image_name: String,
    /// What file(1) says about the binary.
    pub kind: String,
}

impl Peer {
    fn argv(&self) -> Vec<String> {
        std::iter::once(self.path.to_string_lossy().into_owned())
            .chain(self.args.iter().cloned())
            .collect()
    }
    fn entrypoint(&self) -> Vec<String> {
        std::iter::once(format!("/{}", self.image_name))
            .chain(self.args.iter().cloned())
            .collect()
    }
}

/// Everything measured for one peer; a figure is None when it could not be
/// measured, with the reason in `errors`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Measured {
    pub binary_bytes: Option<u64>,
    pub image: Option<image::ImageBytes>,
    pub vmrss_kb: Option<stats::Summary>,
    pub rss_kb: Option<stats::Summary>,
    pub pss_kb: Option<stats::Summary>,
    pub instructions: Option<stats::Summary>,
    pub start: Option<stats::Latency>,
    pub stop: Option<stats::Latency>,
    /// The system call the peer waits in once ready.
    pub ready_syscall: Option<String>,
    /// SigBlk, SigIgn, SigCgt while ready.
    pub signal_masks: Option<[String; 3]>,
    pub stop_status: Option<String>,
    pub reap_last_exit_ms: Option<stats::Summary>,
    pub reap_release_ms: Option<stats::Summary>,
    pub zombies_left: Option<usize>,
    pub idle_switches: Option<u64>,
    pub idle_ticks: Option<u64>,
    pub sandbox: Option<sandbox::Figures>,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    pub os: String,
    pub date: String,
    pub revision: String,
    /// /proc/loadavg (1, 5, 15 min) when the run started and when it ended:
    /// other work on the machine shows up in the latencies.
    pub load_start: String,
    pub load_end: String,
}

#[derive(Debug, Serialize)]
pub struct Results {
    pub command: String,
    pub machine: Machine,
    pub plan: Plan,
    pub peers: Vec<Peer>,
    pub measured: Vec<Measured>,
    /// Sizes of the project's binaries for every architecture.
    pub arch_sizes: Vec<(String, u64)>,
    /// The project's `make oci` archive, when there is one.
    pub oci_archive: Option<(String, Result<image::ImageBytes, String>)>,
    /// How the sandbox lifecycle was measured, or why it was not.
    pub sandbox_note: String,
    /// Whether the sandbox lifecycle had to be measured (runtime present, or CI).
    pub sandbox_required: bool,
}

struct Args {
    quick: bool,
    out: PathBuf,
    bin_dir: PathBuf,
    arch: String,
    catatonit: PathBuf,
    reference: Option<PathBuf>,
    oci_archive: PathBuf,
    command: String,
    sandbox_only: Option<PathBuf>,
}

fn usage() -> ! {
    eprintln!(
        "usage: pause-bench [--quick] [--out DIR] [--bin-dir DIR] [--arch ARCH] [--catatonit PATH]\n\
         \x20                  [--ref PATH] [--oci-archive PATH] [--command TEXT]\n\
         REF_PAUSE=/path/to/pause in the environment is the same as --ref."
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        quick: false,
        out: PathBuf::from("tests/bench/results"),
        bin_dir: PathBuf::from("bin"),
        arch: "amd64".into(),
        catatonit: PathBuf::from("/usr/bin/catatonit"),
        reference: std::env::var_os("REF_PAUSE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        oci_archive: PathBuf::from("bin/pause-oci.tar"),
        command: "pause-bench".into(),
        sandbox_only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--out" => a.out = val().into(),
            "--bin-dir" => a.bin_dir = val().into(),
            "--arch" => a.arch = val(),
            "--catatonit" => a.catatonit = val().into(),
            "--ref" => {
                a.reference = Some(val().into()).filter(|p: &PathBuf| !p.as_os_str().is_empty())
            }
            "--oci-archive" => a.oci_archive = val().into(),
            "--command" => a.command = val(),
            "--sandbox-only" => a.sandbox_only = Some(val().into()),
            _ => usage(),
        }
    }
    a
}

fn file_kind(path: &Path) -> String {
    std::process::Command::new("file")
        .arg("-b")
        .arg(path)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown (file(1) not installed)".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn machine(load_start: String) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
        })
        .unwrap_or_default();
    let date = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default();
    let revision = std::env::var("BENCH_REVISION").unwrap_or_else(|_| "unknown".into());
    Machine {
        load_start,
        load_end: loadavg(),
        cpu,
        cores,
        kernel,
        os,
        date,
        revision,
    }
}

/// The environment every peer gets, as a container runtime would give it.
pub fn container_env() -> Vec<(String, String)> {
    vec![
        (
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        ),
        ("HOSTNAME".into(), "bench".into()),
    ]
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

fn devnull() -> OwnedFd {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .expect("open /dev/null")
        .into()
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Exact user-space instruction count of a whole lifecycle under callgrind:
/// exec, set-up, wait, SIGTERM, exit.
fn callgrind(peer: &Peer, tmp: &Path, run: usize, null: &OwnedFd) -> Result<u64, String> {
    let out = tmp.join(format!("callgrind.{}.{run}", peer.key));
    let log = tmp.join(format!("valgrind.{}.{run}.log", peer.key));
    let mut argv = vec![
        "/usr/bin/valgrind".to_string(),
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", out.display()),
        format!("--log-file={}", log.display()),
    ];
    argv.extend(peer.argv());
    let mut cmd = proc::Command::new(&argv, &container_env());
    let pid = cmd
        .spawn_pid1(null, null)
        .map_err(|e| format!("spawn valgrind: {e}"))?;
    let mut guard = proc::Guard(Some(pid));
    proc::wait_ready(pid, Duration::from_secs(120)).map_err(|e| {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        format!("under valgrind: {e}; {log}")
    })?;
    guard.stop()?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("read {}: {e}", out.display()))?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no totals in {}", out.display()))
}

fn status_text(s: nix::sys::wait::WaitStatus) -> String {
    use nix::sys::wait::WaitStatus::*;
    match s {
        Exited(_, c) => format!("exit {c}"),
        Signaled(_, sig, _) => format!("killed by {sig}"),
        other => format!("{other:?}"),
    }
}

fn peers_of(args: &Args) -> Vec<Peer> {
    let project = args.bin_dir.join(format!("pause-linux-{}", args.arch));
    let mut peers = vec![Peer {
        key: "pause".into(),
        label: "pause (this project)".into(),
        path: project.clone(),
        args: vec![],
        image_name: "pause".into(),
        kind: String::new(),
    }];
    peers.push(Peer {
        key: "catatonit".into(),
        label: "catatonit -P".into(),
        path: args.catatonit.clone(),
        args: vec!["-P".into()],
        image_name: "catatonit".into(),
        kind: String::new(),
    });
    if let Some(r) = &args.reference {
        peers.push(Peer {
            key: "ref".into(),
            label: "reference pause (REF_PAUSE)".into(),
            path: r.clone(),
            args: vec![],
            image_name: "pause".into(),
            kind: String::new(),
        });
    }
    peers
}

fn main() {
    let args = parse_args();
    if !geteuid().is_root() {
        eprintln!("pause-bench: needs root (every peer runs as PID 1 of a new PID namespace)");
        std::process::exit(1);
    }
    let plan = if args.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    if let Some(out) = &args.sandbox_only {
        // The child process of the sandbox phase (see sandbox.rs).
        let peers = peers_of(&args);
        let figures = sandbox::measure(&peers, &args.arch, plan.sandbox_runs);
        std::fs::write(out, serde_json::to_vec(&figures).expect("json")).expect("write");
        return;
    }
    let null = devnull();
    let tmp = std::env::temp_dir().join(format!("pause-bench.{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("create temp dir");

    let mut peers = peers_of(&args);
    let mut fatal = Vec::new();
    for p in &mut peers {
        if !p.path.is_file() {
            fatal.push(format!("{}: {} not found", p.label, p.path.display()));
        }
        p.kind = file_kind(&p.path);
    }
    if !Path::new("/usr/bin/valgrind").is_file() {
        fatal.push("valgrind not installed (make deps-bench)".into());
    }
    if !fatal.is_empty() {
        for f in &fatal {
            eprintln!("pause-bench: {f}");
        }
        std::process::exit(1);
    }
    let n = peers.len();
    let mut m: Vec<Measured> = vec![Measured::default(); n];
    let t_all = Instant::now();
    let load_start = loadavg();
    let step = |what: &str| eprintln!("[{:6.1}s] {what}", t_all.elapsed().as_secs_f64());

    // Sizes and images.
    step("binary and image bytes");
    let arch_sizes: Vec<(String, u64)> = ["amd64", "arm64", "arm", "ppc64le", "s390x", "riscv64"]
        .iter()
        .filter_map(|a| {
            let f = args.bin_dir.join(format!("pause-linux-{a}"));
            std::fs::metadata(&f)
                .ok()
                .map(|md| (a.to_string(), md.len()))
        })
        .collect();
    for (p, r) in peers.iter().zip(m.iter_mut()) {
        r.binary_bytes = std::fs::metadata(&p.path).ok().map(|md| md.len());
        match image::pack(&p.path, &p.image_name, &p.entrypoint(), &args.arch) {
            Ok((bytes, archive)) => {
                r.image = Some(bytes);
                let _ = std::fs::write(tmp.join(format!("{}-oci.tar", p.key)), archive);
            }
            Err(e) => r.errors.push(format!("image: {e}")),
        }
    }
    let oci_archive = args.oci_archive.is_file().then(|| {
        (
            args.oci_archive.display().to_string(),
            image::inspect_archive(&args.oci_archive, &args.arch),
        )
    });

    // Lifecycle instructions under callgrind.
    step("lifecycle instructions (valgrind --tool=callgrind)");
    let mut instr: Vec<Vec<f64>> = vec![vec![]; n];
    for run in 0..plan.callgrind_runs {
        for (i, p) in peers.iter().enumerate() {
            match callgrind(p, &tmp, run, &null) {
                Ok(count) => instr[i].push(count as f64),
                Err(e) => m[i].errors.push(format!("callgrind: {e}")),
            }
        }
    }
    for i in 0..n {
        m[i].instructions = stats::summary(&instr[i]);
    }

    // Start and stop latency, and idle memory, interleaved run by run.
    step(&format!(
        "start/stop latency: {} runs per peer (+{} warm-up), memory sampled {} times",
        plan.latency_runs, plan.warmup_runs, plan.memory_samples
    ));
    let mut cmds: Vec<proc::Command> = peers
        .iter()
        .map(|p| proc::Command::new(&p.argv(), &container_env()))
        .collect();
    let mut starts: Vec<Vec<f64>> = vec![vec![]; n];
    let mut stops: Vec<Vec<f64>> = vec![vec![]; n];
    let mut mem: Vec<[Vec<f64>; 3]> = vec![Default::default(); n];
    let mut failed = vec![false; n];
    let mem_every = (plan.latency_runs / plan.memory_samples.max(1)).max(1);
    for run in 0..plan.warmup_runs + plan.latency_runs {
        let measured = run >= plan.warmup_runs;
        let k = run - run.min(plan.warmup_runs);
        for j in 0..n {
            let i = (run + j) % n;
            if failed[i] {
                continue;
            }
            let once = (|| -> Result<(), String> {
                let t0 = Instant::now();
                let pid = cmds[i]
                    .spawn_pid1(&null, &null)
                    .map_err(|e| format!("spawn: {e}"))?;
                let mut guard = proc::Guard(Some(pid));
                let (ready, nr) = proc::wait_ready(pid, Duration::from_secs(10))?;
                let start = ready - t0;
                if measured && k % mem_every == 0 {
                    let (vmrss, rss, pss) = proc::memory(pid)?;
                    mem[i][0].push(vmrss as f64);
                    mem[i][1].push(rss as f64);
                    mem[i][2].push(pss as f64);
                }
                if m[i].ready_syscall.is_none() {
                    m[i].ready_syscall = Some(proc::syscall_name(nr).into());
                    m[i].signal_masks = proc::signal_masks(pid).ok();
                }
                let (stop, status) = guard.stop()?;
                m[i].stop_status = Some(status_text(status));
                if measured {
                    starts[i].push(us(start));
                    stops[i].push(us(stop));
                }
                Ok(())
            })();
            if let Err(e) = once {
                m[i].errors.push(format!("start/stop: {e}"));
                failed[i] = true;
            }
        }
    }
    for i in 0..n {
        m[i].start = stats::latency(&starts[i]);
        m[i].stop = stats::latency(&stops[i]);
        m[i].vmrss_kb = stats::summary(&mem[i][0]);
        m[i].rss_kb = stats::summary(&mem[i][1]);
        m[i].pss_kb = stats::summary(&mem[i][2]);
    }
    drop(cmds);

    // Reaping.
    step(&format!(
        "reaping: {} orphans per peer, {} round(s)",
        plan.orphans, plan.reap_rounds
    ));
    let mut reap_last: Vec<Vec<f64>> = vec![vec![]; n];
    let mut reap_release: Vec<Vec<f64>> = vec![vec![]; n];
    for round in 0..plan.reap_rounds {
        for j in 0..n {
            let i = (round + j) % n;
            let once = (|| -> Result<(), String> {
                let mut cmd = proc::Command::new(&peers[i].argv(), &container_env());
                let pid = cmd
                    .spawn_pid1(&null, &null)
                    .map_err(|e| format!("spawn: {e}"))?;
                let mut guard = proc::Guard(Some(pid));
                proc::wait_ready(pid, Duration::from_secs(10))?;
                let r = reap::run(pid, plan.orphans, Duration::from_secs(30))?;
                reap_last[i].push(r.last_exit_to_clear_ns as f64 / 1e6);
                reap_release[i].push(r.release_to_clear_ns as f64 / 1e6);
                let left = m[i].zombies_left.unwrap_or(0).max(r.zombies_left);
                m[i].zombies_left = Some(left);
                guard.stop()?;
                Ok(())
            })();
            if let Err(e) = once {
                m[i].errors.push(format!("reaping: {e}"));
            }
        }
    }
    for i in 0..n {
        m[i].reap_last_exit_ms = stats::summary(&reap_last[i]);
        m[i].reap_release_ms = stats::summary(&reap_release[i]);
    }

    // Idle cost: every peer idles in the same window.
    step(&format!(
        "idle cost: {} s, all peers at once",
        plan.idle_seconds
    ));
    let idle = (|| -> Result<Vec<(u64, u64)>, String> {
        let mut cmds: Vec<proc::Command> = peers
            .iter()
            .map(|p| proc::Command::new(&p.argv(), &container_env()))
            .collect();
        let mut guards = Vec::new();
        for c in cmds.iter_mut() {
            let pid = c
                .spawn_pid1(&null, &null)
                .map_err(|e| format!("spawn: {e}"))?;
            guards.push(proc::Guard(Some(pid)));
        }
        for g in &guards {
            proc::wait_ready(g.pid(), Duration::from_secs(10))?;
        }
        let before: Vec<(u64, u64)> = guards
            .iter()
            .map(|g| proc::activity(g.pid()))
            .collect::<Result<_, _>>()?;
        // The measurement window itself, not a synchronisation.
        std::thread::sleep(Duration::from_secs(plan.idle_seconds));
        let after: Vec<(u64, u64)> = guards
            .iter()
            .map(|g| proc::activity(g.pid()))
            .collect::<Result<_, _>>()?;
        for g in &mut guards {
            g.stop()?;
        }
        Ok(before
            .iter()
            .zip(&after)
            .map(|(b, a)| (a.0 - b.0, a.1 - b.1))
            .collect())
    })();
    match idle {
        Ok(v) => {
            for (i, (sw, ticks)) in v.into_iter().enumerate() {
                m[i].idle_switches = Some(sw);
                m[i].idle_ticks = Some(ticks);
            }
        }
        Err(e) => {
            for r in m.iter_mut() {
                r.errors.push(format!("idle: {e}"));
            }
        }
    }

    // Sandbox lifecycle through containerd's CRI, in a child process.
    let runtime = sandbox::runtime_version();
    let (sandbox_note, sandbox_required) = match sandbox::unavailable() {
        Some(why) => (format!("not measured: {why}"), in_ci()),
        None => {
            step(&format!(
                "sandbox lifecycle through containerd's CRI: {} pods per peer (+1 warm-up)",
                plan.sandbox_runs
            ));
            // The phase's temp dirs (containerd's state) live under ours, so
            // whatever it leaves behind, even after an abort, is found.
            let sandbox_tmp = tmp.join("sandbox");
            std::fs::create_dir_all(&sandbox_tmp).expect("create temp dir");
            let json = tmp.join("sandbox.json");
            let log = tmp.join("sandbox.log");
            let mut cmd = std::process::Command::new(std::env::current_exe().expect("own path"));
            cmd.env("RUST_BACKTRACE", "0")
                .env("TMPDIR", &sandbox_tmp)
                .arg("--sandbox-only")
                .arg(&json)
                .arg("--bin-dir")
                .arg(&args.bin_dir)
                .arg("--arch")
                .arg(&args.arch)
                .arg("--catatonit")
                .arg(&args.catatonit)
                .arg("--ref")
                .arg(args.reference.clone().unwrap_or_default());
            if args.quick {
                cmd.arg("--quick");
            }
            let ran = std::fs::File::create(&log).and_then(|f| {
                cmd.stdin(std::process::Stdio::null())
                    .stdout(f.try_clone()?)
                    .stderr(f)
                    .status()
            });
            let left = sandbox::cleanup(&sandbox_tmp);
            let _ = std::fs::remove_dir_all(&sandbox_tmp);
            if !left.is_empty() {
                eprintln!(
                    "pause-bench: removed what the sandbox phase left: {}",
                    left.join("; ")
                );
            }
            let got: Result<Vec<sandbox::Lifecycle>, String> = match ran {
                Ok(st) if st.success() => std::fs::read(&json)
                    .map_err(|e| e.to_string())
                    .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string())),
                Ok(st) => {
                    // The panic message, or else the end of the log.
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    let lines: Vec<&str> = text.lines().collect();
                    let at = lines
                        .iter()
                        .position(|l| l.contains("panicked at"))
                        .unwrap_or(lines.len().saturating_sub(6));
                    let why = lines[at..(at + 6).min(lines.len())].join(" / ");
                    Err(format!("{st}: {why} (log: {})", log.display()))
                }
                Err(e) => Err(e.to_string()),
            };
            match got {
                Ok(v) => {
                    for (i, l) in v.iter().enumerate() {
                        m[i].sandbox = l.figures();
                    }
                    (
                        format!(
                            "{runtime}, runc, CNI bridge; each peer packed by the project's packer \
                             (pause-oci) as the configured sandbox image; {} pods per peer, interleaved",
                            plan.sandbox_runs
                        ),
                        true,
                    )
                }
                Err(e) => {
                    for r in m.iter_mut() {
                        r.errors.push(format!("sandbox lifecycle: {e}"));
                    }
                    ("not measured: the CRI run failed (see Errors)".into(), true)
                }
            }
        }
    };
    step("done");
    if m.iter().all(|x| x.errors.is_empty()) {
        let _ = std::fs::remove_dir_all(&tmp);
    } else {
        eprintln!("pause-bench: kept {} for inspection", tmp.display());
    }

    let results = Results {
        command: args.command.clone(),
        machine: machine(load_start),
        plan,
        peers,
        measured: m,
        arch_sizes,
        oci_archive,
        sandbox_note,
        sandbox_required,
    };
    let markdown = report::markdown(&results);
    print!("{markdown}");
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(&args.out)?;
        std::fs::write(args.out.join("latest.md"), &markdown)?;
        std::fs::write(
            args.out.join("latest.json"),
            serde_json::to_string_pretty(&results)? + "\n",
        )?;
        std::fs::write(args.out.join("size-memory.svg"), report::svg(&results))?;
        // What machines read must parse back.
        let back: serde_json::Value =
            serde_json::from_slice(&std::fs::read(args.out.join("latest.json"))?)?;
        if back["measured"].as_array().map(Vec::len) != Some(results.peers.len()) {
            return Err(std::io::Error::other(
                "latest.json does not hold every peer",
            ));
        }
        Ok(())
    };
    if let Err(e) = write() {
        eprintln!("pause-bench: writing {}: {e}", args.out.display());
        std::process::exit(1);
    }
    eprintln!(
        "pause-bench: wrote {}/latest.md, latest.json, size-memory.svg",
        args.out.display()
    );
    let missing = report::missing(&results);
    if !missing.is_empty() {
        for x in &missing {
            eprintln!("pause-bench: not measured: {x}");
        }
        std::process::exit(1);
    }
}
