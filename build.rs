//! Generates the low-level bindings from `openapi.yaml` into `OUT_DIR`.
//!
//! All the work is in the `reducto-codegen` crate (unit-tested there); this
//! file only says which spec, which handwritten types replace the enums a
//! newer API may extend, and where the output goes.

use std::{env, fs, path::PathBuf, process::ExitCode};

use reducto_codegen::Config;

const SPEC: &str = "openapi.yaml";

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");

    let spec = match fs::read_to_string(SPEC) {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("error: cannot read {SPEC}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Job status, job type and block type grow between API versions: the
    // generated structs use the handwritten open enums in src/types.rs.
    let config = Config::reducto("crate::types", "crate::transport::CallContext");
    let generated = match reducto_codegen::generate(&spec, &config) {
        Ok(generated) => generated,
        Err(e) => {
            eprintln!("error: generating bindings from {SPEC}: {e}");
            return ExitCode::FAILURE;
        }
    };
    for open in &generated.open_enums {
        for location in &open.missing {
            println!(
                "cargo:warning={SPEC} has no {location}: {} there is no longer forward-compatible",
                open.name
            );
        }
    }

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut spec_values = String::from(
        "// The values openapi.yaml lists for each open enum; tests check that the\n\
         // handwritten enums know every one.\n",
    );
    for open in &generated.open_enums {
        spec_values.push_str(&format!(
            "#[allow(dead_code)]\npub(crate) const {}: &[&str] = &{:?};\n",
            open.name.to_uppercase(),
            open.values.iter().collect::<Vec<_>>()
        ));
    }
    let writes = [
        ("reducto_api.rs", generated.code.as_str()),
        ("spec_enum_values.rs", spec_values.as_str()),
    ];
    for (name, text) in writes {
        if let Err(e) = fs::write(out.join(name), text) {
            eprintln!("error: writing {name}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
