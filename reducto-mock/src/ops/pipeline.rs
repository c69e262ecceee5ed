//! `POST /pipeline` (`/pipeline_async`): run a pipeline registered with
//! `ServerBuilder::pipeline` (Reducto's are built in its Studio).
//!
//! A pipeline parses the document, then runs the steps its definition
//! configures, each with the same options as its endpoint (see
//! `ServerBuilder::pipeline`): `split`, then `extract` (once per split
//! category with pages, on those pages only, when the pipeline splits;
//! else on the whole document), then `edit`. The `PipelineResponse` holds
//! each step's response (`null` for steps not configured). An unknown
//! `pipeline_id` is a 404.

use serde_json::{json, Value};

use super::{edit, extract, split, Body, Op, Work};
use crate::results;
use crate::state::{AppState, Finished};

/// The pipeline operation.
pub(crate) struct Pipeline;

/// Validated pipeline request options.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pipeline_id: String,
}

/// The steps of a pipeline definition.
struct Steps {
    split: Option<split::Config>,
    extract: Option<extract::Config>,
    edit: Option<edit::Config>,
}

/// Keys a pipeline definition may have.
const STEPS: &[&str] = &["parse", "split", "extract", "edit"];

/// Read a pipeline definition; `Err` lists what is wrong with it.
fn steps(definition: &Value) -> Result<Steps, Vec<Value>> {
    let mut outer = Body::from_value(definition.clone());
    if !definition.is_object() {
        outer.error(
            &[],
            "A pipeline definition must be a JSON object",
            "dict_type",
            definition.clone(),
        );
    }
    outer.only(&[], STEPS);
    outer.object(&["parse"]);
    let mut errors = outer.finish().err().unwrap_or_default();
    let mut step = |key: &str| -> Option<Body> {
        match definition.get(key) {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(Body::from_value(v.clone())),
            Some(v) => {
                errors.push(crate::routes::verr(
                    json!(["body", key]),
                    "Input should be a valid dictionary or object to extract fields from",
                    "model_attributes_type",
                    v.clone(),
                ));
                None
            }
        }
    };
    let (split_body, extract_body, edit_body) = (step("split"), step("extract"), step("edit"));
    let split = split_body.map(|b| read(b, split::Split::config, &mut errors));
    let extract = extract_body.map(|b| read(b, extract::Extract::config, &mut errors));
    let edit = edit_body.map(|b| read(b, edit::Edit::config, &mut errors));
    if errors.is_empty() {
        Ok(Steps {
            split,
            extract,
            edit,
        })
    } else {
        Err(errors)
    }
}

/// One step's options, read with its endpoint's validation.
fn read<C>(mut body: Body, config: fn(&mut Body) -> C, errors: &mut Vec<Value>) -> C {
    let c = config(&mut body);
    if let Err(e) = body.finish() {
        errors.extend(e);
    }
    c
}

/// Check a pipeline definition (for `ServerBuilder::start`): the first
/// problem, as `<where>: <what>`.
pub(crate) fn validate(definition: &Value) -> Result<(), String> {
    steps(definition).map(|_| ()).map_err(|errors| {
        errors
            .iter()
            .map(|e| {
                let at: Vec<String> = e["loc"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .skip(1)
                            .map(|p| p.to_string().trim_matches('"').to_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                format!("{}: {}", at.join("."), e["msg"].as_str().unwrap_or(""))
            })
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// A parse-only pipeline's response (for seeded jobs).
pub(crate) fn seeded(work: &Work<'_>) -> Option<Finished> {
    let steps = Steps {
        split: None,
        extract: None,
        edit: None,
    };
    run_steps(&steps, work).ok()
}

impl Op for Pipeline {
    const JOB_TYPE: &'static str = "Pipeline";
    type Config = Config;

    fn config(body: &mut Body) -> Config {
        let pipeline_id = match body.require(&["pipeline_id"]) {
            Some(_) => body.string(&["pipeline_id"]).unwrap_or_default(),
            None => String::new(),
        };
        body.object(&["settings"]);
        body.only(&["settings"], &["document_password"]);
        body.string(&["settings", "document_password"]);
        Config { pipeline_id }
    }

    fn check(config: &Config, state: &AppState) -> Result<(), String> {
        if state.config.pipelines.contains_key(&config.pipeline_id) {
            Ok(())
        } else {
            Err(format!("Pipeline not found: {}", config.pipeline_id))
        }
    }

    fn run(config: &Config, work: &Work<'_>) -> Result<Finished, String> {
        let state = work.state;
        let definition = state
            .config
            .pipelines
            .get(&config.pipeline_id)
            .ok_or_else(|| format!("Pipeline not found: {}", config.pipeline_id))?;
        // Checked when the server started.
        let steps = steps(definition).map_err(|_| "Invalid pipeline definition".to_owned())?;
        run_steps(&steps, work)
    }
}

/// Parse, then the configured steps.
fn run_steps(steps: &Steps, work: &Work<'_>) -> Result<Finished, String> {
    let state = work.state;
    let parsed = work.parse()?;
    let pages = parsed.num_pages;
    let full = state.inline_or_url(parsed.full_result.clone(), false);
    let stamp = |response: Value| Finished { response, pages }.stamp(&super::new_id(), 0.0);
    let parse = stamp(results::parse_response("", 0.0, pages, full));
    let split = steps.split.as_ref().map(|c| {
        (
            c,
            split::assign(c, &parsed),
            stamp(split::respond(c, state, &parsed)),
        )
    });
    let extract = steps.extract.as_ref().map(|c| match &split {
        Some((_, assigned, _)) => Value::Array(
            assigned
                .iter()
                .filter(|a| !a.pages.is_empty())
                .map(|a| {
                    let blocks = extract::blocks_on(&parsed, &a.pages);
                    let pages_in = a.pages.len() as u64;
                    json!({
                        "split_name": a.name,
                        "page_range": a.pages,
                        "partition": null,
                        "result": stamp(extract::respond(c, state, &blocks, pages_in)),
                    })
                })
                .collect(),
        ),
        None => stamp(extract::respond(c, state, &parsed.blocks, pages)),
    });
    let edit = match &steps.edit {
        Some(c) => Some(stamp(edit::respond(c, state, work.docs)?)),
        None => None,
    };
    Ok(Finished {
        response: json!({
            "response_type": "pipeline",
            "job_id": "",
            "usage": super::parse_usage(pages),
            "result": {
                "parse": parse,
                "extract": extract,
                "split": split.map(|(_, _, r)| r),
                "edit": edit,
            },
        }),
        pages,
    })
}
