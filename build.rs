//! Links the pause binary with link.ld as a static executable with no C
//! library, no start files and no dynamic section. The test harness and
//! fixtures are linked normally.

fn main() {
    let script =
        std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("link.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");

    let lld_flags = [
        "-T".to_string(),
        script.display().to_string(),
        "--no-pie".into(),
        "--no-dynamic-linker".into(),
        "--build-id=none".into(),
        "-z".into(),
        "norelro".into(),
        "-z".into(),
        "noexecstack".into(),
        "--gc-sections".into(),
    ];
    // Cross targets link with rust-lld directly (see .cargo/config.toml); the
    // host target links through `cc`, which needs its own flags and `-Wl,`.
    let direct_lld = std::env::var("RUSTC_LINKER").is_ok_and(|l| l.ends_with("rust-lld"));
    if direct_lld {
        println!("cargo:rustc-link-arg-bin=pause=-static");
        for flag in lld_flags {
            println!("cargo:rustc-link-arg-bin=pause={flag}");
        }
    } else {
        for flag in ["-nostartfiles", "-nostdlib", "-static", "-no-pie"] {
            println!("cargo:rustc-link-arg-bin=pause={flag}");
        }
        println!("cargo:rustc-link-arg-bin=pause=-Wl,{}", lld_flags.join(","));
    }
}
