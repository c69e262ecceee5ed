//! Building parse results (`FullResult` objects) from documents.
//!
//! `.txt`/`.md` documents are split into blocks by blank-line-separated
//! paragraphs and grouped into chunks; anything else yields one block that
//! names the document and its size. The marker [`FAIL_MARKER`] anywhere in a
//! document (or in a remote reference) makes the parse fail.

use bytes::Bytes;
use serde_json::{json, Value};

/// Content marker that makes a parse job fail.
pub const FAIL_MARKER: &str = "REDUCTO_MOCK_FAIL";

/// Failure reason reported for documents containing [`FAIL_MARKER`].
pub(crate) const FAIL_REASON: &str = "Mock failure requested by document content";

/// Blocks per page before a new page starts (a form feed also starts one).
const BLOCKS_PER_PAGE: usize = 40;

/// One document a parse job works on.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    /// An uploaded file (`reducto://...`).
    File {
        file_id: String,
        filename: Option<String>,
        ext: Option<String>,
        bytes: Bytes,
    },
    /// Something the mock cannot fetch (an http(s) URL, or a `jobid://` of a
    /// seeded job that has no document): the result just names it.
    Remote { reference: String },
}

/// A successful parse: the `FullResult` object and its page count.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) full_result: Value,
    pub(crate) num_pages: u64,
    /// The blocks of every document, in order (what extract, split and
    /// classify read).
    pub(crate) blocks: Vec<Block>,
}

/// Parse all documents into one `FullResult`; `Err(reason)` if any asks to
/// fail. `ext_override` is `settings.force_file_extension`.
pub(crate) fn parse(
    docs: &[Source],
    chunk_size: usize,
    ext_override: Option<&str>,
) -> Result<Parsed, String> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut pages_before = 0u64;
    for doc in docs {
        let (doc_blocks, pages) = parse_one(doc, ext_override)?;
        blocks.extend(doc_blocks.into_iter().map(|mut b| {
            b.page += pages_before;
            b
        }));
        pages_before += pages;
    }
    let chunks = chunk(&blocks, chunk_size.max(1));
    Ok(Parsed {
        full_result: json!({
            "type": "full",
            "chunks": chunks,
            "ocr": null,
            "custom": null,
        }),
        num_pages: pages_before.max(1),
        blocks,
    })
}

/// A parsed block.
#[derive(Clone, Debug)]
pub(crate) struct Block {
    /// `Title`, `Section Header`, `List Item` or `Text`.
    pub(crate) kind: &'static str,
    pub(crate) content: String,
    /// 1-based page number.
    pub(crate) page: u64,
    /// Position on its page (0-based), for a plausible bounding box.
    slot: usize,
}

impl Block {
    /// Its `BoundingBox` object.
    pub(crate) fn bbox(&self) -> Value {
        // Made-up but plausible layout: one block per line band, top to
        // bottom, inside the page margins; all numbers in 0..1.
        // Rounded so the JSON shows 0.0725, not 0.07250000000000001.
        let top = ((0.05 + self.slot as f64 * 0.0225) * 10_000.0).round() / 10_000.0;
        let width = if self.kind == "Title" { 0.6 } else { 0.8 };
        json!({
            "left": 0.1,
            "top": top,
            "width": width,
            "height": 0.02,
            "page": self.page,
            "original_page": self.page,
        })
    }

    fn to_json(&self) -> Value {
        json!({
            "type": self.kind,
            "bbox": self.bbox(),
            "content": self.content,
            "image_url": null,
            "chart_data": null,
            "confidence": "high",
            "granular_confidence": null,
            "extra": null,
        })
    }
}

/// Blocks of one document (pages numbered from 1) and its page count.
fn parse_one(doc: &Source, ext_override: Option<&str>) -> Result<(Vec<Block>, u64), String> {
    match doc {
        Source::Remote { reference } => {
            if reference.contains(FAIL_MARKER) {
                return Err(FAIL_REASON.to_owned());
            }
            let content = format!(
                "Mock parse of remote document {reference}. The mock server does not fetch remote documents."
            );
            Ok((vec![single(content)], 1))
        }
        Source::File {
            file_id,
            filename,
            ext,
            bytes,
        } => {
            if memchr::memmem::find(bytes, FAIL_MARKER.as_bytes()).is_some() {
                return Err(FAIL_REASON.to_owned());
            }
            let ext = ext_override.or(ext.as_deref()).unwrap_or("");
            if is_text_ext(ext) {
                Ok(text_blocks(&String::from_utf8_lossy(bytes)))
            } else {
                let name = filename.as_deref().unwrap_or(file_id);
                let content = format!(
                    "Mock parse of {name} ({file_id}): {} bytes. The mock server only extracts text from .txt and .md files.",
                    bytes.len()
                );
                Ok((vec![single(content)], 1))
            }
        }
    }
}

fn single(content: String) -> Block {
    Block {
        kind: "Text",
        content,
        page: 1,
        slot: 0,
    }
}

fn is_text_ext(ext: &str) -> bool {
    // `tar.gz`-style extensions: the last part decides.
    let ext = ext.rsplit('.').next().unwrap_or(ext);
    ["txt", "md", "markdown", "text"]
        .iter()
        .any(|e| e.eq_ignore_ascii_case(ext))
}

/// Split text into paragraph blocks; a form feed or every
/// [`BLOCKS_PER_PAGE`] blocks starts a new page.
fn text_blocks(text: &str) -> (Vec<Block>, u64) {
    let mut blocks = Vec::new();
    let mut page = 1u64;
    let mut slot = 0usize;
    for (i, page_text) in text.split('\u{c}').enumerate() {
        if i > 0 {
            page += 1;
            slot = 0;
        }
        for para in paragraphs(page_text) {
            if slot == BLOCKS_PER_PAGE {
                page += 1;
                slot = 0;
            }
            blocks.push(Block {
                kind: classify(&para),
                content: para,
                page,
                slot,
            });
            slot += 1;
        }
    }
    (blocks, page)
}

/// Blank-line-separated paragraphs, lines trimmed of `\r` and trailing
/// whitespace.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(cur.join("\n"));
                cur.clear();
            }
        } else {
            cur.push(line);
        }
    }
    if !cur.is_empty() {
        out.push(cur.join("\n"));
    }
    out
}

fn classify(para: &str) -> &'static str {
    let p = para.trim_start();
    let hashes = p.bytes().take_while(|&b| b == b'#').count();
    if hashes > 0 && p[hashes..].starts_with(' ') {
        if hashes == 1 {
            "Title"
        } else {
            "Section Header"
        }
    } else if p.starts_with("- ") || p.starts_with("* ") {
        "List Item"
    } else {
        "Text"
    }
}

/// Group blocks into chunks of at most `size` characters (a longer block
/// gets a chunk of its own).
fn chunk(blocks: &[Block], size: usize) -> Vec<Value> {
    let mut chunks = Vec::new();
    let mut cur: Vec<&Block> = Vec::new();
    let mut cur_len = 0usize;
    for b in blocks {
        let len = b.content.chars().count();
        // +2 for the blank line joining blocks.
        if !cur.is_empty() && cur_len + 2 + len > size {
            chunks.push(chunk_json(&cur));
            cur.clear();
            cur_len = 0;
        }
        cur_len += if cur.is_empty() { len } else { len + 2 };
        cur.push(b);
    }
    if !cur.is_empty() {
        chunks.push(chunk_json(&cur));
    }
    chunks
}

fn chunk_json(blocks: &[&Block]) -> Value {
    let content = blocks
        .iter()
        .map(|b| b.content.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    json!({
        "content": content,
        "embed": content,
        "enriched": null,
        "enrichment_success": false,
        "blocks": blocks.iter().map(|b| b.to_json()).collect::<Vec<_>>(),
    })
}

/// A `ParseResponse` object.
///
/// `response_type` is not in the v1.11.57 spec: newer API versions add it
/// and the official Python SDK (0.25) uses it to tell a `ParseResponse` from
/// an `AsyncParseResponse`. The spec allows extra properties, and a client
/// built on the older spec must ignore it anyway.
pub(crate) fn parse_response(job_id: &str, duration: f64, num_pages: u64, result: Value) -> Value {
    json!({
        "response_type": "parse",
        "job_id": job_id,
        "duration": duration,
        "pdf_url": null,
        "studio_link": null,
        "usage": {
            "num_pages": num_pages,
            "credits": num_pages as f64,
            "credit_breakdown": null,
        },
        "result": result,
    })
}

/// A `UrlResult` object pointing at `GET /results/{result_id}`.
pub(crate) fn url_result(base_url: &str, result_id: &str) -> Value {
    json!({
        "type": "url",
        "url": format!("{base_url}/results/{result_id}"),
        "result_id": result_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> Source {
        Source::File {
            file_id: format!("reducto://x.{}", name.rsplit('.').next().unwrap_or("")),
            filename: Some(name.to_owned()),
            ext: name.rsplit('.').next().map(str::to_owned),
            bytes: Bytes::from(text.to_owned()),
        }
    }

    #[test]
    fn markdown_blocks_are_classified() {
        let doc = file(
            "a.md",
            "# Title\n\n## Sub\nmore\n\n- item\n\n* star\n\nplain text\r\n",
        );
        let p = parse(&[doc], 1000, None).expect("parses");
        let blocks = &p.full_result["chunks"][0]["blocks"];
        let kinds: Vec<&str> = blocks
            .as_array()
            .expect("array")
            .iter()
            .map(|b| b["type"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            kinds,
            ["Title", "Section Header", "List Item", "List Item", "Text"]
        );
        assert_eq!(blocks[1]["content"], "## Sub\nmore");
        assert_eq!(p.num_pages, 1);
    }

    #[test]
    fn pages_break_on_form_feed_and_every_40_blocks() {
        let text = (0..85).map(|i| format!("p{i}")).collect::<Vec<_>>();
        let doc = file("a.txt", &(text.join("\n\n") + "\u{c}last"));
        let p = parse(&[doc], 10, None).expect("parses");
        // 85 paragraphs -> pages 1,2,3 (40+40+5), then the form feed -> 4.
        assert_eq!(p.num_pages, 4);
        let pages: Vec<u64> = p.full_result["chunks"]
            .as_array()
            .expect("array")
            .iter()
            .flat_map(|c| c["blocks"].as_array().expect("blocks").iter())
            .map(|b| b["bbox"]["page"].as_u64().expect("page"))
            .collect();
        assert_eq!(pages.len(), 86);
        assert_eq!((pages[0], pages[39], pages[40], pages[80]), (1, 1, 2, 3));
        assert_eq!((pages[84], pages[85]), (3, 4));
    }

    #[test]
    fn chunks_respect_size() {
        let doc = file("a.txt", "aaaa\n\nbbbb\n\ncccc");
        let p = parse(&[doc], 10, None).expect("parses");
        let chunks = p.full_result["chunks"].as_array().expect("array");
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0]["content"], "aaaa\n\nbbbb");
        assert_eq!(chunks[0]["embed"], "aaaa\n\nbbbb");
        assert_eq!(chunks[1]["content"], "cccc");
    }

    #[test]
    fn binary_and_failure() {
        let doc = file("a.pdf", "%PDF-1.4 binary");
        let p = parse(&[doc], 1000, None).expect("parses");
        let content = p.full_result["chunks"][0]["content"].as_str().unwrap_or("");
        assert!(content.contains("a.pdf") && content.contains("15 bytes"));
        let bad = file("b.pdf", "xx REDUCTO_MOCK_FAIL yy");
        assert_eq!(
            parse(&[bad], 1000, None).err().as_deref(),
            Some(FAIL_REASON)
        );
    }
}
