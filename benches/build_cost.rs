//! The price of generating the bindings at build time: a clean build of the
//! crate against a clean build of a crate with the same runtime dependencies
//! and no build.rs, then the rebuild after a change to openapi.yaml.
//!
//! `cargo bench --bench build_cost` (takes a few minutes: two clean builds)

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

fn cargo_build(manifest: &Path, target_dir: &Path, package: &str) -> Duration {
    let started = Instant::now();
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--lib",
            "-p",
            package,
            "--manifest-path",
        ])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building {package} failed");
    started.elapsed()
}

/// The `[dependencies]` table of the crate's manifest, verbatim.
fn runtime_dependencies(manifest: &str) -> String {
    let start = manifest.find("\n[dependencies]").expect("[dependencies]");
    let rest = &manifest[start + 1..];
    let end = rest[1..].find("\n[").map_or(rest.len(), |i| i + 1);
    rest[..end].to_owned()
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let work = std::env::temp_dir().join(format!("reducto-build-cost-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("baseline/src")).unwrap();

    // The baseline: same runtime dependencies, an empty library, no build.rs.
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    std::fs::write(
        work.join("baseline/Cargo.toml"),
        format!(
            "[package]\nname = \"baseline\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n{}\n[workspace]\n",
            runtime_dependencies(&manifest)
        ),
    )
    .unwrap();
    std::fs::write(work.join("baseline/src/lib.rs"), "").unwrap();
    // Same dependency versions as the crate.
    std::fs::copy(root.join("Cargo.lock"), work.join("baseline/Cargo.lock")).unwrap();

    let baseline = cargo_build(
        &work.join("baseline/Cargo.toml"),
        &work.join("target-baseline"),
        "baseline",
    );
    let crate_target = work.join("target-reducto");
    let full = cargo_build(&root.join("Cargo.toml"), &crate_target, "reducto");

    // Regeneration: the spec changes (touching it is enough for cargo).
    let spec = root.join("openapi.yaml");
    let text = std::fs::read(&spec).unwrap();
    std::fs::write(&spec, &text).unwrap();
    let regenerate = cargo_build(&root.join("Cargo.toml"), &crate_target, "reducto");

    println!(
        "## Clean debug build, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| build | time | vs baseline |");
    println!("|---|---|---|");
    for (name, d) in [
        ("same runtime dependencies, no build.rs", baseline),
        ("reducto (progenitor at build time)", full),
        ("reducto after an openapi.yaml change", regenerate),
    ] {
        println!(
            "| {name} | {:.1} s | {:.2}x |",
            d.as_secs_f64(),
            d.as_secs_f64() / baseline.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&work);
}
