//! The price of generating the bindings at build time: a clean build of the
//! crate against clean builds of
//! - the same crate without build.rs: its sources and the code the build
//!   script generated (copied from the crate's own build), no build
//!   dependencies; the difference is what generating at build time costs;
//! - an empty crate with the same runtime dependencies (the dependencies'
//!   own share);
//! - the crate without build.rs plus a build script that only links
//!   progenitor: the least any crate generating with progenitor at build
//!   time can cost, since progenitor's dependencies (regex, typify,
//!   regress, schemars 0.8, openapiv3) are not optional;
//!
//! then the rebuild after a change to openapi.yaml.
//!
//! `cargo bench --bench build_cost` (takes several minutes: four clean
//! builds). `BUILD_COST_ROUNDS=N` repeats the three builds that are compared
//! (without build.rs, the floor, reducto) N times, in a rotating order, and
//! reports each one's median and the spread of the per-round ratios: one
//! clean build on a shared machine moves by several seconds.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

/// Wall time and CPU time (user + system, of every process the build ran).
#[derive(Clone, Copy)]
struct Cost {
    wall: Duration,
    cpu: Duration,
}

/// CPU time used so far by the children this process has waited for
/// (cargo, and through it every rustc and build script).
#[cfg(unix)]
fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Not measured off Unix (the CPU columns then read 0).
#[cfg(not(unix))]
fn children_cpu() -> Duration {
    Duration::ZERO
}

fn cargo_build(manifest: &Path, target_dir: &Path, package: &str) -> Cost {
    let cpu_before = children_cpu();
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
    Cost {
        wall: started.elapsed(),
        cpu: children_cpu() - cpu_before,
    }
}

/// A table of the crate's manifest (`[dependencies]`), verbatim.
fn table(manifest: &str, header: &str) -> String {
    let start = manifest
        .find(&format!("\n{header}"))
        .unwrap_or_else(|| panic!("{header}"));
    let rest = &manifest[start + 1..];
    let end = rest[1..].find("\n[").map_or(rest.len(), |i| i + 1);
    rest[..end].to_owned()
}

/// Copies the `.rs` files under `from` to `to`, with the build script's
/// `OUT_DIR` replaced by `out` (where its output was copied).
fn copy_sources(from: &Path, to: &Path, out: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_sources(&path, &target, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            let out = format!("{:?}", out.display().to_string());
            std::fs::write(target, text.replace("env!(\"OUT_DIR\")", &out)).unwrap();
        }
    }
}

/// The `out` directory of the crate's build script run under `target`.
fn build_script_out(target: &Path) -> PathBuf {
    std::fs::read_dir(target.join("debug/build"))
        .unwrap()
        .map(|e| e.unwrap().path().join("out"))
        .find(|out| out.join("reducto_api.rs").exists())
        .expect("the build script wrote reducto_api.rs")
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let rounds: usize = std::env::var("BUILD_COST_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    let work = std::env::temp_dir().join(format!("reducto-build-cost-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("baseline/src")).unwrap();

    // The baseline: same runtime dependencies, an empty library, no build.rs.
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    std::fs::write(
        work.join("baseline/Cargo.toml"),
        format!(
            "[package]\nname = \"baseline\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n{}\n[workspace]\n",
            table(&manifest, "[dependencies]")
        ),
    )
    .unwrap();
    std::fs::write(work.join("baseline/src/lib.rs"), "").unwrap();
    // Same dependency versions as the crate.
    std::fs::copy(root.join("Cargo.lock"), work.join("baseline/Cargo.lock")).unwrap();

    // Each target directory is removed once measured: several clean builds
    // at once would need several GB.
    let baseline = cargo_build(
        &work.join("baseline/Cargo.toml"),
        &work.join("target-baseline"),
        "baseline",
    );
    let _ = std::fs::remove_dir_all(work.join("target-baseline"));
    let crate_target = work.join("target-reducto");
    let first_full = cargo_build(&root.join("Cargo.toml"), &crate_target, "reducto");

    // The same crate without build.rs: what the build script generated is
    // copied in, and there are no build dependencies.
    let pregenerated = work.join("pregenerated");
    let out = work.join("pregenerated-out");
    std::fs::create_dir_all(&out).unwrap();
    for entry in std::fs::read_dir(build_script_out(&crate_target)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, out.join(path.file_name().unwrap())).unwrap();
    }
    copy_sources(&root.join("src"), &pregenerated.join("src"), &out);
    std::fs::copy(root.join("README.md"), pregenerated.join("README.md")).unwrap();
    std::fs::write(
        pregenerated.join("Cargo.toml"),
        format!(
            "[package]\nname = \"reducto\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n{}\n{}\n[workspace]\n",
            table(&manifest, "[dependencies]"),
            table(&manifest, "[features]"),
        ),
    )
    .unwrap();
    std::fs::copy(root.join("Cargo.lock"), pregenerated.join("Cargo.lock")).unwrap();

    // The floor: the same pregenerated crate, plus a build script that
    // links progenitor (as reducto-codegen depends on it) and generates
    // nothing. Its difference to the crate without build.rs is what
    // progenitor's own dependency tree costs, whoever calls it.
    let floor = work.join("progenitor-floor");
    copy_sources(&pregenerated.join("src"), &floor.join("src"), &out);
    std::fs::copy(root.join("README.md"), floor.join("README.md")).unwrap();
    let codegen_manifest =
        std::fs::read_to_string(root.join("reducto-codegen/Cargo.toml")).unwrap();
    let progenitor = codegen_manifest
        .lines()
        .find(|line| line.starts_with("progenitor ="))
        .expect("reducto-codegen depends on progenitor");
    std::fs::write(
        floor.join("Cargo.toml"),
        format!(
            "[package]\nname = \"reducto\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n{}\n{}\n\
             [build-dependencies]\n{progenitor}\n\n[workspace]\n",
            table(&manifest, "[dependencies]"),
            table(&manifest, "[features]"),
        ),
    )
    .unwrap();
    // Calls into the generator's settings so that it is linked, as a real
    // build script's is, but generates nothing.
    std::fs::write(
        floor.join("build.rs"),
        "fn main() {\n    std::hint::black_box(progenitor::GenerationSettings::new());\n}\n",
    )
    .unwrap();
    std::fs::copy(root.join("Cargo.lock"), floor.join("Cargo.lock")).unwrap();

    // Regeneration: the spec changes (touching it is enough for cargo).
    let spec = root.join("openapi.yaml");
    let text = std::fs::read(&spec).unwrap();
    std::fs::write(&spec, &text).unwrap();
    let regenerate = cargo_build(&root.join("Cargo.toml"), &crate_target, "reducto");
    let _ = std::fs::remove_dir_all(&crate_target);

    // The compared builds, round by round, each starting in a different
    // place of the cycle so that a slow stretch of the machine does not
    // always fall on the same build. The first round's reducto build is
    // the one above.
    const WITHOUT: usize = 0;
    const FLOOR: usize = 1;
    const FULL: usize = 2;
    let mut costs: [Vec<Cost>; 3] = [Vec::new(), Vec::new(), vec![first_full]];
    for round in 0..rounds {
        for step in 0..3 {
            let which = (round + step) % 3;
            if round == 0 && which == FULL {
                continue;
            }
            let target = work.join(format!("target-{round}-{which}"));
            let cost = match which {
                WITHOUT => cargo_build(&pregenerated.join("Cargo.toml"), &target, "reducto"),
                FLOOR => cargo_build(&floor.join("Cargo.toml"), &target, "reducto"),
                _ => cargo_build(&root.join("Cargo.toml"), &target, "reducto"),
            };
            costs[which].push(cost);
            let _ = std::fs::remove_dir_all(&target);
        }
    }

    let median = |v: &[Cost], f: fn(&Cost) -> Duration| {
        let mut d: Vec<Duration> = v.iter().map(f).collect();
        d.sort();
        d[d.len() / 2]
    };
    let without_build_rs = Cost {
        wall: median(&costs[WITHOUT], |c| c.wall),
        cpu: median(&costs[WITHOUT], |c| c.cpu),
    };
    println!(
        "## Clean debug build, {} cores, median of {rounds} round(s)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "| build | wall time | vs the crate without build.rs | vs its dependencies alone \
         | CPU time | vs the crate without build.rs | vs its dependencies alone |"
    );
    println!("|---|---|---|---|---|---|---|");
    let rows = [
        ("its runtime dependencies alone (empty lib)", baseline),
        (
            "the same crate without build.rs (code pregenerated)",
            without_build_rs,
        ),
        (
            "the same crate + progenitor linked by an empty build script (the floor)",
            Cost {
                wall: median(&costs[FLOOR], |c| c.wall),
                cpu: median(&costs[FLOOR], |c| c.cpu),
            },
        ),
        (
            "reducto (progenitor at build time)",
            Cost {
                wall: median(&costs[FULL], |c| c.wall),
                cpu: median(&costs[FULL], |c| c.cpu),
            },
        ),
        ("reducto after an openapi.yaml change", regenerate),
    ];
    for (name, d) in rows {
        let ratio = |f: fn(&Cost) -> Duration| {
            format!(
                "{:.1} s | {:.2}x | {:.2}x",
                f(&d).as_secs_f64(),
                f(&d).as_secs_f64() / f(&without_build_rs).as_secs_f64(),
                f(&d).as_secs_f64() / f(&baseline).as_secs_f64()
            )
        };
        println!("| {name} | {} | {} |", ratio(|c| c.wall), ratio(|c| c.cpu));
    }
    if rounds > 1 {
        // Each round's CPU ratio to that round's build without build.rs.
        let spread = |which: usize| {
            let ratios: Vec<String> = costs[which]
                .iter()
                .zip(&costs[WITHOUT])
                .map(|(c, w)| format!("{:.2}x", c.cpu.as_secs_f64() / w.cpu.as_secs_f64()))
                .collect();
            ratios.join(", ")
        };
        println!("\nCPU ratio per round, the floor: {}", spread(FLOOR));
        println!("CPU ratio per round, reducto: {}", spread(FULL));
    }
    let _ = std::fs::remove_dir_all(&work);
}
