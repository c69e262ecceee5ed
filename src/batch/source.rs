//! What a batch reads: documents, one at a time, from an iterator, a stream
//! or a directory walk. Nothing is read ahead of the pipeline's demand, so
//! 100,000 inputs never sit in memory.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
};

use futures::{stream, stream::BoxStream, Stream, StreamExt};

use crate::{error::Error, upload::Document};

/// One document of a batch: a key that names it in outcomes and in the
/// state file, and what to send.
///
/// The key must be stable across runs for a state file to resume the batch,
/// and unique within a batch: a path's key is the path as given, a URL's
/// the URL.
///
/// ```
/// use reducto::{batch::BatchDocument, Document};
///
/// let from_disk = BatchDocument::path("contracts/a.pdf");
/// assert_eq!(from_disk.key(), "contracts/a.pdf");
/// let remote = BatchDocument::url("https://example.com/b.pdf"); // no upload
/// let in_memory = BatchDocument::new("invoice-17", Document::bytes(b"%PDF".to_vec(), "17.pdf"));
/// # let _ = (remote, in_memory);
/// ```
pub struct BatchDocument {
    pub(crate) key: String,
    pub(crate) input: Input,
}

pub(crate) enum Input {
    /// Uploaded first.
    Document(Document),
    /// Sent as is: a public or presigned URL, `reducto://`, `jobid://`.
    Url(String),
}

impl BatchDocument {
    /// A file on disk, uploaded (streamed) before processing; keyed by its
    /// path.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        BatchDocument {
            key: path.to_string_lossy().into_owned(),
            input: Input::Document(Document::Path(path)),
        }
    }

    /// A URL Reducto fetches itself (public or presigned, `reducto://` or
    /// `jobid://`): nothing is uploaded. Keyed by the URL.
    pub fn url(url: impl Into<String>) -> Self {
        let url = url.into();
        BatchDocument {
            key: url.clone(),
            input: Input::Url(url),
        }
    }

    /// Any [`Document`] (bytes, a reader, a path) under a key of your
    /// choosing. A one-shot reader is sent once: a 429 on its upload is not
    /// retried.
    pub fn new(key: impl Into<String>, document: Document) -> Self {
        BatchDocument {
            key: key.into(),
            input: Input::Document(document),
        }
    }

    /// The key naming this document in outcomes and the state file.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Debug for BatchDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("BatchDocument");
        s.field("key", &self.key);
        match &self.input {
            Input::Document(d) => s.field("document", d),
            Input::Url(u) => s.field("url", u),
        };
        s.finish()
    }
}

impl From<PathBuf> for BatchDocument {
    fn from(path: PathBuf) -> Self {
        BatchDocument::path(path)
    }
}
impl From<&Path> for BatchDocument {
    fn from(path: &Path) -> Self {
        BatchDocument::path(path)
    }
}
/// A path, as with [`Document`]: use [`BatchDocument::url`] for URLs.
impl From<&str> for BatchDocument {
    fn from(path: &str) -> Self {
        BatchDocument::path(path)
    }
}
/// A path, as with [`Document`]: use [`BatchDocument::url`] for URLs.
impl From<String> for BatchDocument {
    fn from(path: String) -> Self {
        BatchDocument::path(path)
    }
}

/// A document the source could not produce (an unreadable directory): it
/// becomes a failed outcome under `key`.
pub(crate) struct SourceError {
    pub(crate) key: String,
    pub(crate) error: Error,
}

pub(crate) type SourceItem = Result<BatchDocument, SourceError>;
pub(crate) type Source = BoxStream<'static, SourceItem>;

/// Which files of a directory walk are documents.
pub(crate) type FileFilter = Arc<dyn Fn(&Path) -> bool + Send + Sync>;

pub(crate) fn from_iter<I>(documents: I) -> Source
where
    I: IntoIterator + Send + 'static,
    I::IntoIter: Send + 'static,
    I::Item: Into<BatchDocument>,
{
    stream::iter(documents).map(|d| Ok(d.into())).boxed()
}

pub(crate) fn from_stream<S>(documents: S) -> Source
where
    S: Stream + Send + 'static,
    S::Item: Into<BatchDocument>,
{
    documents.map(|d| Ok(d.into())).boxed()
}

/// The walk's position: directories still to read, and the one being read.
struct Walk {
    pending: Vec<PathBuf>,
    current: Option<(PathBuf, tokio::fs::ReadDir)>,
    filter: FileFilter,
}

/// Every file under `root` that `filter` accepts, recursively, read one
/// directory entry at a time. Symbolic links to files are followed; links
/// to directories are not (no cycles). An unreadable directory is one
/// failed item, keyed by its path; the walk goes on.
pub(crate) fn walk(root: PathBuf, filter: FileFilter) -> Source {
    let state = Walk {
        pending: vec![root],
        current: None,
        filter,
    };
    stream::unfold(state, |mut walk| async move {
        loop {
            let Some((dir, entries)) = walk.current.as_mut() else {
                let dir = walk.pending.pop()?;
                match tokio::fs::read_dir(&dir).await {
                    Ok(entries) => walk.current = Some((dir, entries)),
                    Err(e) => return Some((Err(unreadable(&dir, e)), walk)),
                }
                continue;
            };
            let entry = match entries.next_entry().await {
                Ok(Some(entry)) => entry,
                Ok(None) => {
                    walk.current = None;
                    continue;
                }
                Err(e) => {
                    let error = unreadable(dir, e);
                    walk.current = None;
                    return Some((Err(error), walk));
                }
            };
            let path = entry.path();
            let file_type = match entry.file_type().await {
                Ok(t) => t,
                Err(e) => return Some((Err(unreadable(&path, e)), walk)),
            };
            let is_file = if file_type.is_symlink() {
                // Followed to a file only; a broken link fails at upload.
                tokio::fs::metadata(&path)
                    .await
                    .map_or(true, |m| m.is_file())
            } else {
                file_type.is_file()
            };
            if file_type.is_dir() {
                walk.pending.push(path);
            } else if is_file && (walk.filter)(&path) {
                return Some((Ok(BatchDocument::path(path)), walk));
            }
        }
    })
    .boxed()
}

fn unreadable(path: &Path, source: std::io::Error) -> SourceError {
    SourceError {
        key: path.to_string_lossy().into_owned(),
        error: Error::File {
            path: path.to_owned(),
            source,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn walks_recursively_lazily_and_filters() {
        let root = std::env::temp_dir().join(format!("reducto-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        for f in ["x.pdf", "a/y.pdf", "a/b/z.pdf", "a/b/skip.txt"] {
            std::fs::write(root.join(f), "x").unwrap();
        }
        let pdf: FileFilter = Arc::new(|p: &Path| p.extension().is_some_and(|e| e == "pdf"));
        let mut keys: Vec<String> = walk(root.clone(), pdf)
            .map(|item| item.ok().unwrap().key)
            .collect()
            .await;
        keys.sort();
        let expected: Vec<String> = ["a/b/z.pdf", "a/y.pdf", "x.pdf"]
            .iter()
            .map(|f| root.join(f).to_string_lossy().into_owned())
            .collect();
        assert_eq!(keys, expected);

        // A missing root is one failed item, not a panic or a silent end.
        let items: Vec<SourceItem> = walk(root.join("missing"), Arc::new(|_: &Path| true))
            .collect()
            .await;
        assert_eq!(items.len(), 1);
        assert!(matches!(
            &items[0],
            Err(SourceError {
                error: Error::File { .. },
                ..
            })
        ));
        let _ = std::fs::remove_dir_all(&root);
    }
}
