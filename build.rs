//! Generates the low-level bindings from `openapi.yaml` into `OUT_DIR`.
//!
//! All the work is in the `reducto-codegen` crate (unit-tested there); this
//! file only says which spec, where the open enums (the enums a newer API may
//! extend) live, and where the output goes.

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
    // Job status, job type, block type and error code grow between API
    // versions: the generated structs use the open enums generated below.
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

    // The open enums (src/types.rs includes them): one variant per value
    // the spec lists, so a new value needs no hand edit.
    let open_enums = match reducto_codegen::open_enum::source_file(
        &generated.open_enums,
        reducto_codegen::REDUCTO_OPEN_ENUMS,
        "reducto::types",
    ) {
        Ok(source) => source,
        Err(e) => {
            eprintln!("error: generating the open enums from {SPEC}: {e}");
            return ExitCode::FAILURE;
        }
    };

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let writes = [
        ("reducto_api.rs", generated.code.as_str()),
        ("open_enums.rs", open_enums.as_str()),
    ];
    for (name, text) in writes {
        if let Err(e) = fs::write(out.join(name), text) {
            eprintln!("error: writing {name}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
