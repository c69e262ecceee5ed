//! Reading parsed text: words, `Label: value` lines, pages.
//!
//! - **Words** are runs of letters and digits, lower-cased; a camelCase
//!   name splits at its humps (`invoiceNumber` -> `invoice`, `number`).
//! - **Key words** (what classify and split count) are words of at least 3
//!   characters, so `a`, `of`, `to` never decide anything.
//! - **Labelled lines**: a line (after any `#`, `-` or `*` marker) holding
//!   `Label: value`, or several such pairs separated by `;` or `|`. The
//!   label has at most 8 words; `https://...` is not a label.

use std::collections::HashMap;

use crate::results::Block;

/// Lower-cased words of `s` (see the module docs).
pub(crate) fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && prev_lower && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = c.is_lowercase() || c.is_numeric();
            cur.extend(c.to_lowercase());
        } else {
            prev_lower = false;
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Distinct key words of `s`, in order.
pub(crate) fn key_words(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words(s) {
        if w.chars().count() >= 3 && !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// How often each word occurs.
pub(crate) fn word_counts<'a>(texts: impl IntoIterator<Item = &'a str>) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for text in texts {
        for w in words(text) {
            *counts.entry(w).or_insert(0) += 1;
        }
    }
    counts
}

/// Occurrences of `key` words in `counts`.
pub(crate) fn score(counts: &HashMap<String, usize>, key: &[String]) -> usize {
    key.iter()
        .map(|w| counts.get(w).copied().unwrap_or(0))
        .sum()
}

/// A `Label: value` pair found in a parsed document.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    /// The label's words.
    pub(crate) label: Vec<String>,
    /// The value, trimmed.
    pub(crate) value: String,
    /// The pair as written (`Invoice number: INV-7`).
    pub(crate) text: String,
    /// Index of its block.
    pub(crate) block: usize,
    /// Its record: a new one starts with each block and each list-item
    /// line, so every list item (or paragraph) is one record.
    pub(crate) record: usize,
}

/// Every labelled pair of `blocks`, in document order.
pub(crate) fn fields(blocks: &[Block]) -> Vec<Field> {
    let mut out = Vec::new();
    let mut record = 0usize;
    for (b, block) in blocks.iter().enumerate() {
        record += 1;
        for (i, line) in block.content.lines().enumerate() {
            let trimmed = line.trim_start();
            let item = trimmed.starts_with("- ") || trimmed.starts_with("* ");
            if item && i > 0 {
                record += 1;
            }
            let line = trimmed.trim_start_matches(['#', '-', '*', ' ', '\t']);
            for pair in line.split([';', '|']) {
                if let Some(field) = pair_of(pair, b, record) {
                    out.push(field);
                }
            }
        }
    }
    out
}

fn pair_of(pair: &str, block: usize, record: usize) -> Option<Field> {
    let (label, value) = pair.split_once(':')?;
    let value = value.trim();
    if value.is_empty() || value.starts_with("//") {
        return None;
    }
    let label_words = words(label);
    if label_words.is_empty() || label_words.len() > 8 {
        return None;
    }
    Some(Field {
        label: label_words,
        value: value.to_owned(),
        text: pair.trim().to_owned(),
        block,
        record,
    })
}

/// Whether `needle` occurs as consecutive items of `hay`.
pub(crate) fn contains_run(hay: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The text of each page, 1-based (`pages[0]` is page 1), for
/// `num_pages` pages.
pub(crate) fn page_texts(blocks: &[Block], num_pages: u64) -> Vec<String> {
    let mut pages = vec![String::new(); usize::try_from(num_pages).unwrap_or(0)];
    for block in blocks {
        let i = usize::try_from(block.page.saturating_sub(1)).unwrap_or(usize::MAX);
        if let Some(page) = pages.get_mut(i) {
            page.push_str(&block.content);
            page.push('\n');
        }
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_case_and_punctuation() {
        assert_eq!(words("invoice_number"), ["invoice", "number"]);
        assert_eq!(words("invoiceNumber"), ["invoice", "number"]);
        assert_eq!(words("Invoice number:"), ["invoice", "number"]);
        assert_eq!(words("VAT ID2"), ["vat", "id2"]);
        assert_eq!(
            key_words("a list of the items, of items"),
            ["list", "the", "items"]
        );
    }

    #[test]
    fn labelled_pairs() {
        let block = |content: &str| {
            crate::results::parse(
                &[crate::results::Source::File {
                    file_id: "reducto://x.md".into(),
                    filename: None,
                    ext: Some("md".into()),
                    bytes: bytes::Bytes::from(content.to_owned()),
                }],
                1000,
                None,
            )
            .expect("parses")
            .blocks
        };
        let blocks = block(
            "Invoice number: INV-7\nSee https://e.com\n\n- Item: A; Qty: 2\n- Item: B | Qty: 3",
        );
        let f = fields(&blocks);
        let texts: Vec<&str> = f.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Invoice number: INV-7",
                "Item: A",
                "Qty: 2",
                "Item: B",
                "Qty: 3"
            ]
        );
        assert_eq!(f[0].label, ["invoice", "number"]);
        let records: Vec<usize> = f.iter().map(|f| f.record).collect();
        assert_eq!(records[1], records[2]);
        assert_eq!(records[3], records[4]);
        assert!(records[0] < records[1] && records[2] < records[3]);
    }
}
