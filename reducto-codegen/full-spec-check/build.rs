//! Generates bindings from Reducto's older published spec (v1.11.57, whole)
//! with the same kind of configuration the `reducto` crate uses, and writes
//! a report of what the generator did next to them, for the tests.

use std::{env, fmt::Write as _, fs, path::PathBuf};

use reducto_codegen::Config;

const SPEC: &str = "../fixtures/reducto-openapi-v1.11.57.json";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let spec_path = manifest_dir.join(SPEC);
    println!("cargo:rerun-if-changed={}", spec_path.display());
    println!("cargo:rerun-if-changed=build.rs");

    let spec = fs::read_to_string(&spec_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", spec_path.display()));
    let config = Config::reducto("crate::open", "crate::Inner");
    // A failure here fails the build, and so `cargo test --workspace`.
    let generated = reducto_codegen::generate(&spec, &config)
        .unwrap_or_else(|e| panic!("generating bindings from the whole published spec: {e}"));

    let mut report = String::from("// What reducto-codegen did with the whole published spec.\n");
    writeln!(
        report,
        "/// `(method, path)` of every operation generated.\n\
         pub const OPERATIONS: &[(&str, &str)] = &{:?};",
        generated.operations
    )
    .unwrap();
    writeln!(
        report,
        "/// `(rewrite, places changed)`, in the order applied.\n\
         pub const REWRITES: &[(&str, usize)] = &{:?};",
        generated.rewrites
    )
    .unwrap();
    let missing: Vec<&String> = generated
        .open_enums
        .iter()
        .flat_map(|e| &e.missing)
        .collect();
    writeln!(
        report,
        "/// Open-enum locations the spec lacks.\n\
         pub const MISSING_OPEN_ENUM_LOCATIONS: &[&str] = &{missing:?};"
    )
    .unwrap();
    let values: Vec<(&str, Vec<&String>)> = generated
        .open_enums
        .iter()
        .map(|e| (e.name, e.values.iter().collect()))
        .collect();
    writeln!(
        report,
        "/// The values the spec lists for each open enum.\n\
         pub const OPEN_ENUM_VALUES: &[(&str, &[&str])] = &["
    )
    .unwrap();
    for (name, listed) in values {
        writeln!(report, "    ({name:?}, &{listed:?}),").unwrap();
    }
    report.push_str("];\n");

    // The stand-ins for the open enums (src/lib.rs): one per entry of the
    // reviewed list, whichever this older spec has.
    let mut open_enums = String::from("open_string! {\n");
    for entry in reducto_codegen::REDUCTO_OPEN_ENUMS {
        writeln!(
            open_enums,
            "    /// Stands in for the `reducto` crate's open enum `{0}`.\n    {0};",
            entry.name
        )
        .unwrap();
    }
    open_enums.push_str("}\n");

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    for (name, text) in [
        ("reducto_api.rs", generated.code.as_str()),
        ("report.rs", report.as_str()),
        ("open_enums.rs", open_enums.as_str()),
    ] {
        fs::write(out.join(name), text).unwrap_or_else(|e| panic!("writing {name}: {e}"));
    }
}
