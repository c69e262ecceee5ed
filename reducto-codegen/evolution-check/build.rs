//! Applies every mutation of `reducto_codegen::evolve` (but the pending ones)
//! to the workspace's CURRENT `openapi.yaml`, generates bindings from the
//! result with the same configuration as the `reducto` crate, and writes the
//! evolved spec and a report next to them for the tests.

use std::{env, fmt::Write as _, fs, path::PathBuf};

use reducto_codegen::{evolve, Config};

/// Read, never copied: when `openapi.yaml` is replaced by a newer spec, the
/// evolution check follows.
const SPEC: &str = "../../openapi.yaml";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let spec_path = manifest_dir.join(SPEC);
    println!("cargo:rerun-if-changed={}", spec_path.display());
    println!("cargo:rerun-if-changed=build.rs");

    let text = fs::read_to_string(&spec_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", spec_path.display()));
    let mut doc = reducto_codegen::parse_spec(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", spec_path.display()));
    let mutations = evolve::evolve(&mut doc);
    // JSON is YAML: the generator reads it as it reads openapi.yaml.
    let evolved = doc.to_string();
    // The open enums are the `reducto` crate's own types, as in its build.
    let config = Config::reducto("reducto::types", "crate::Inner");
    // A failure here fails the build, and so `cargo test --workspace`.
    let generated = reducto_codegen::generate(&evolved, &config)
        .unwrap_or_else(|e| panic!("generating bindings from the evolved openapi.yaml: {e}"));

    let mut report = String::from("// What the evolution check did with openapi.yaml.\n");
    writeln!(
        report,
        "/// `(mutation, places changed)`, in the order applied.\n\
         pub const MUTATIONS: &[(&str, usize)] = &{mutations:?};\n\
         /// `(method, path)` of every operation generated.\n\
         pub const OPERATIONS: &[(&str, &str)] = &{:?};\n\
         /// `(rewrite, places changed)`, in the order applied.\n\
         pub const REWRITES: &[(&str, usize)] = &{:?};",
        generated.operations, generated.rewrites,
    )
    .expect("writing to a String");

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    for (name, text) in [
        ("evolved_api.rs", generated.code.as_str()),
        ("evolved_openapi.json", evolved.as_str()),
        ("report.rs", report.as_str()),
    ] {
        fs::write(out.join(name), text).unwrap_or_else(|e| panic!("writing {name}: {e}"));
    }
}
