//! The state file: what a batch has done, one JSON line per document and
//! stage, so that a rerun skips finished documents and resumes submitted
//! jobs instead of uploading and billing them again.
//!
//! Lines, appended as each step happens (later lines win):
//!
//! ```text
//! {"key":"docs/a.pdf","stage":"uploaded","upload_id":"reducto://9f…"}
//! {"key":"docs/a.pdf","stage":"submitted","upload_id":"reducto://9f…","job_id":"3c…"}
//! {"key":"docs/a.pdf","stage":"done","job_id":"3c…","status":"Completed"}
//! {"key":"docs/b.pdf","stage":"failed","job_id":"7d…","status":"Failed","reason":"…"}
//! ```
//!
//! `done` and `failed` (the job ended `Failed` or `Cancelled`) are terminal:
//! a rerun skips the document. Other failures (a missing file, a transport
//! error, a wait that timed out, a result that could not be fetched) write
//! no line, so a rerun tries that document again from its last recorded
//! step: a submitted job is waited on again, an upload is reused.
//!
//! Each line is written with one `write` call to a file opened for
//! appending, so a kill loses at most the line being written. On opening,
//! a last line that is incomplete or not a record (what a kill mid-write
//! leaves) is dropped from the file with a warning; a bad line anywhere
//! else means the file was edited or damaged, and opening fails with
//! [`Error::StateFile`] rather than guess (guessing wrong re-bills
//! documents or skips them).

use std::{
    collections::HashMap,
    fs::{File, OpenOptions},
    io::{Read, Write},
    path::{Path, PathBuf},
    sync::Mutex,
};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One line of the state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) key: String,
    pub(crate) stage: RecordStage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) upload_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RecordStage {
    Uploaded,
    Submitted,
    Done,
    Failed,
}

/// Where a document stands according to the state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resume {
    /// Uploaded, never submitted: submit this upload.
    Uploaded { upload_id: String },
    /// Submitted: wait for this job.
    Submitted {
        upload_id: Option<String>,
        job_id: String,
    },
    /// Finished in an earlier run: skip.
    Finished,
}

/// The open state file: appends records, one line each.
#[derive(Debug)]
pub(crate) struct StateFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl StateFile {
    /// Opens (creating) the file and reads what earlier runs did.
    pub(crate) fn open(path: &Path) -> Result<(StateFile, HashMap<String, Resume>)> {
        let io = |e: std::io::Error| Error::StateFile {
            path: path.to_owned(),
            line: None,
            reason: e.to_string(),
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(io)?;
        let (index, keep) = read_records(path, &text)?;
        if keep < text.len() {
            // A kill mid-write: drop the partial line so appends start on a
            // line of their own.
            file.set_len(keep as u64).map_err(io)?;
        } else if text.last().is_some_and(|&b| b != b'\n') {
            // A whole record cut just before its newline: keep it, end it.
            file.write_all(b"\n").map_err(io)?;
        }
        Ok((
            StateFile {
                path: path.to_owned(),
                file: Mutex::new(file),
            },
            index,
        ))
    }

    /// Appends one record as one line.
    pub(crate) fn append(&self, record: &Record) -> Result<()> {
        let mut line = serde_json::to_vec(record).map_err(|e| Error::StateFile {
            path: self.path.clone(),
            line: None,
            reason: e.to_string(),
        })?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        // One write of a whole line (the file is opened for appending, so
        // lines never interleave); a line is a few hundred bytes, so this
        // blocks for microseconds.
        file.write_all(&line)
            .and_then(|()| file.flush())
            .map_err(|e| Error::StateFile {
                path: self.path.clone(),
                line: None,
                reason: format!("appending a record: {e}"),
            })
    }
}

/// The resume index of a state file's text, and how many bytes of it to
/// keep (everything but a damaged last line).
fn read_records(path: &Path, text: &[u8]) -> Result<(HashMap<String, Resume>, usize)> {
    let mut index = HashMap::new();
    let mut offset = 0;
    let mut number = 0;
    while offset < text.len() {
        number += 1;
        let end = text[offset..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| offset + i + 1);
        let line = &text[offset..end.unwrap_or(text.len())];
        let is_last = end.is_none_or(|end| text[end..].iter().all(u8::is_ascii_whitespace));
        if line.iter().all(u8::is_ascii_whitespace) {
            offset = end.unwrap_or(text.len());
            continue;
        }
        match serde_json::from_slice::<Record>(line) {
            Ok(record) => apply(&mut index, record),
            // The last line damaged: a kill mid-write. Its step will be
            // done again.
            Err(_) if is_last => {
                tracing::warn!(
                    path = %path.display(),
                    line = number,
                    "ignoring an incomplete last line in the batch state file"
                );
                return Ok((index, offset));
            }
            Err(e) => {
                return Err(Error::StateFile {
                    path: path.to_owned(),
                    line: Some(number),
                    reason: format!(
                        "not a batch state record ({e}); the file was edited or damaged: \
                         fix or remove that line, or use another state file"
                    ),
                })
            }
        }
        offset = end.unwrap_or(text.len());
    }
    Ok((index, text.len()))
}

fn apply(index: &mut HashMap<String, Resume>, record: Record) {
    let resume = match record.stage {
        RecordStage::Done | RecordStage::Failed => Resume::Finished,
        RecordStage::Submitted => match record.job_id {
            Some(job_id) => Resume::Submitted {
                upload_id: record.upload_id,
                job_id,
            },
            None => return,
        },
        RecordStage::Uploaded => match record.upload_id {
            Some(upload_id) => Resume::Uploaded { upload_id },
            None => return,
        },
    };
    index.insert(record.key, resume);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("reducto-state-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        dir
    }

    fn record(key: &str, stage: RecordStage, job: Option<&str>) -> Record {
        Record {
            key: key.into(),
            stage,
            upload_id: Some(format!("reducto://{key}")),
            job_id: job.map(Into::into),
            status: None,
            reason: None,
        }
    }

    #[test]
    fn later_lines_win_and_every_stage_resumes_from_its_step() {
        let path = temp_path("stages");
        {
            let (state, index) = StateFile::open(&path).unwrap();
            assert!(index.is_empty());
            state
                .append(&record("a", RecordStage::Uploaded, None))
                .unwrap();
            state
                .append(&record("b", RecordStage::Uploaded, None))
                .unwrap();
            state
                .append(&record("b", RecordStage::Submitted, Some("jb")))
                .unwrap();
            state
                .append(&record("c", RecordStage::Submitted, Some("jc")))
                .unwrap();
            state
                .append(&record("c", RecordStage::Done, Some("jc")))
                .unwrap();
            state
                .append(&record("d", RecordStage::Failed, Some("jd")))
                .unwrap();
        }
        let (_, index) = StateFile::open(&path).unwrap();
        assert_eq!(
            index["a"],
            Resume::Uploaded {
                upload_id: "reducto://a".into()
            }
        );
        assert_eq!(
            index["b"],
            Resume::Submitted {
                upload_id: Some("reducto://b".into()),
                job_id: "jb".into()
            }
        );
        assert_eq!(index["c"], Resume::Finished);
        assert_eq!(index["d"], Resume::Finished);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_truncated_last_line_is_dropped_and_appends_start_a_new_line() {
        let path = temp_path("truncated");
        let good = serde_json::to_string(&record("a", RecordStage::Submitted, Some("ja"))).unwrap();
        std::fs::write(&path, format!("{good}\n{{\"key\":\"b\",\"sta")).unwrap();
        {
            let (state, index) = StateFile::open(&path).unwrap();
            assert_eq!(index.len(), 1);
            state
                .append(&record("b", RecordStage::Uploaded, None))
                .unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        let (_, index) = StateFile::open(&path).unwrap();
        assert_eq!(index.len(), 2);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_whole_last_record_without_its_newline_is_kept() {
        let path = temp_path("no-newline");
        let good = serde_json::to_string(&record("a", RecordStage::Submitted, Some("ja"))).unwrap();
        std::fs::write(&path, &good).unwrap();
        {
            let (state, index) = StateFile::open(&path).unwrap();
            assert_eq!(index.len(), 1);
            state
                .append(&record("b", RecordStage::Uploaded, None))
                .unwrap();
        }
        let (_, index) = StateFile::open(&path).unwrap();
        assert_eq!(index.len(), 2);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_damaged_complete_last_line_is_ignored_too() {
        let path = temp_path("damaged-last");
        let good = serde_json::to_string(&record("a", RecordStage::Uploaded, None)).unwrap();
        std::fs::write(&path, format!("{good}\n\0\0garbage\n\n")).unwrap();
        let (_, index) = StateFile::open(&path).unwrap();
        assert_eq!(index.len(), 1);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{good}\n"));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_damaged_line_in_the_middle_is_a_typed_error() {
        let path = temp_path("damaged-middle");
        let good = serde_json::to_string(&record("a", RecordStage::Uploaded, None)).unwrap();
        std::fs::write(&path, format!("{good}\nnot json\n{good}\n")).unwrap();
        match StateFile::open(&path) {
            Err(Error::StateFile { line, .. }) => assert_eq!(line, Some(2)),
            other => panic!("{other:?}"),
        }
        // The file is left as it was for the user to look at.
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 3);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn an_unopenable_path_is_a_typed_error() {
        let path = temp_path("no-such-dir").join("state.jsonl");
        assert!(matches!(
            StateFile::open(&path),
            Err(Error::StateFile { line: None, .. })
        ));
    }
}
