//! Generates the low-level bindings from `openapi.yaml` into `OUT_DIR`.
//!
//! All the work is in the `reducto-codegen` crate (unit-tested there); this
//! file only says which spec, which handwritten types replace the enums a
//! newer API may extend, and where the output goes.

use std::{env, fs, path::PathBuf, process::ExitCode};

use reducto_codegen::{Config, OpenEnum};

const SPEC: &str = "openapi.yaml";

/// Enums whose values grow between API versions: the generated structs use
/// the handwritten types in `src/types.rs`, which keep unknown values.
const OPEN_ENUMS: &[OpenEnum] = &[
    OpenEnum {
        name: "JobStatus",
        rust_type: "crate::types::JobStatus",
        locations: &[
            ("AsyncJobResponse", "status"),
            ("EnhancedAsyncJobResponse", "status"),
            ("SingleJob", "status"),
        ],
    },
    OpenEnum {
        name: "JobType",
        rust_type: "crate::types::JobType",
        locations: &[("EnhancedAsyncJobResponse", "type"), ("SingleJob", "type")],
    },
    OpenEnum {
        name: "BlockType",
        rust_type: "crate::types::BlockType",
        locations: &[("ParseBlock", "type")],
    },
];

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
    let config = Config {
        open_enums: OPEN_ENUMS.to_vec(),
        inner_type: Some("crate::transport::CallContext".into()),
        derives: vec!["schemars::JsonSchema".into(), "PartialEq".into()],
    };
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
