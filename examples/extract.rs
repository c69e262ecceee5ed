//! Typed extraction: the schema sent to Reducto and the value that comes back
//! are one Rust type. Then the same parse reused for a classification.
//!
//! `cargo run --example extract` runs offline against the local Reducto
//! server (started in-process); with `REDUCTO_API_KEY` set it runs against
//! the real service instead (and spends credits).

use reducto::Error;
use schemars::JsonSchema;
use serde::Deserialize;

mod support;

const DOCUMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/invoice.md");

/// An invoice.
#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code)] // printed with Debug
struct Invoice {
    /// The invoice number, as printed.
    number: String,
    /// The total due.
    total: f64,
    /// The currency of the amounts.
    currency: Option<Currency>,
    /// One entry per line of the invoice.
    lines: Vec<Line>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(clippy::upper_case_acronyms)] // as printed on invoices
enum Currency {
    USD,
    EUR,
    GBP,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Line {
    description: String,
    quantity: u32,
    amount: f64,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Keep the local server alive for the whole run.
    let (client, _local_server) = support::client(reducto_mock::Server::builder()).await?;

    let schema = reducto::api::schema::extraction_schema::<Invoice>()?;
    println!(
        "Schema sent:\n{}\n",
        serde_json::to_string_pretty(&schema).unwrap_or_default()
    );

    let upload = client.upload(DOCUMENT).await?;
    let invoice: Invoice = client.extract().run::<Invoice>(&upload).await?.value;
    println!("Extracted: {invoice:#?}");

    // Parse once; extract with citations and classify from the same parse.
    let parsed = client.parse().run(&upload).await?;
    let cited = client
        .extract()
        .run_job::<Invoice>(parsed.reuse())
        .citations(true)
        .wait()
        .await?;
    if let Some(citations) = &cited.citations {
        println!(
            "Invoice number cited from: {}",
            citations["number"]["citations"]
        );
    }
    let kind = client
        .classify()
        .run(parsed.reuse())
        .category("invoice", ["invoice", "total due"])
        .category("receipt", ["receipt", "paid"])
        .await?;
    println!("Classified as: {}", kind.category);
    Ok(())
}
