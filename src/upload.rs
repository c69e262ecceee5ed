//! `POST /upload`: sending a document to Reducto.
//!
//! Written by hand because progenitor cannot generate multipart bodies. The
//! request goes through the same retry loop as every other call; a path or
//! bytes are sent again on a retry, a one-shot reader is not (it cannot be
//! rewound), so an upload from a reader is attempted exactly once.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use bytes::Bytes;
use reqwest::multipart::{Form, Part};
use tokio::io::AsyncRead;

use crate::{
    error::{Error, Result},
    transport::{RequestOptions, SendError},
    types::UploadResponse,
    Reducto,
};

/// A document to upload: a file on disk (streamed, never read whole into
/// memory), bytes in memory, or any async reader.
///
/// A `&str`, `String`, `&Path` or `PathBuf` converts into [`Document::Path`].
/// More kinds of source may be added: a `match` needs a `_` arm.
#[non_exhaustive]
pub enum Document {
    /// A file, streamed from disk; reopened for each retry.
    Path(PathBuf),
    /// Bytes in memory, with the file name to report.
    Bytes {
        /// The content.
        data: Bytes,
        /// The file name sent with the upload (its extension tells Reducto
        /// the format).
        file_name: String,
    },
    /// A one-shot async reader, streamed; never retried.
    Reader {
        /// The content.
        reader: Box<dyn AsyncRead + Send + Sync + Unpin>,
        /// The file name sent with the upload.
        file_name: String,
    },
}

impl Document {
    /// A document from bytes in memory.
    pub fn bytes(data: impl Into<Bytes>, file_name: impl Into<String>) -> Document {
        Document::Bytes {
            data: data.into(),
            file_name: file_name.into(),
        }
    }

    /// A document streamed from an async reader (sent once: not retried).
    pub fn reader(
        reader: impl AsyncRead + Send + Sync + Unpin + 'static,
        file_name: impl Into<String>,
    ) -> Document {
        Document::Reader {
            reader: Box::new(reader),
            file_name: file_name.into(),
        }
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Document::Path(path) => f.debug_tuple("Path").field(path).finish(),
            Document::Bytes { data, file_name } => f
                .debug_struct("Bytes")
                .field("len", &data.len())
                .field("file_name", file_name)
                .finish(),
            Document::Reader { file_name, .. } => f
                .debug_struct("Reader")
                .field("file_name", file_name)
                .finish_non_exhaustive(),
        }
    }
}

impl From<&str> for Document {
    fn from(path: &str) -> Self {
        Document::Path(path.into())
    }
}
impl From<String> for Document {
    fn from(path: String) -> Self {
        Document::Path(path.into())
    }
}
impl From<&Path> for Document {
    fn from(path: &Path) -> Self {
        Document::Path(path.into())
    }
}
impl From<PathBuf> for Document {
    fn from(path: PathBuf) -> Self {
        Document::Path(path)
    }
}
impl From<&PathBuf> for Document {
    fn from(path: &PathBuf) -> Self {
        Document::Path(path.clone())
    }
}

/// An upload, ready to send: await it, or set options first.
///
/// ```no_run
/// # async fn run(client: reducto::Reducto) -> Result<(), reducto::Error> {
/// use reducto::Document;
///
/// let from_disk = client.upload("scan.pdf").await?;
/// let from_memory = client
///     .upload(Document::bytes(b"# Title\n\nBody".to_vec(), "notes.md"))
///     .await?;
/// let with_extension = client.upload("scan").extension("pdf").await?;
/// # let _ = (from_disk, from_memory, with_extension); Ok(()) }
/// ```
#[must_use = "an upload does nothing until awaited"]
pub struct Upload {
    client: Reducto,
    document: Document,
    extension: Option<String>,
    options: RequestOptions,
}

impl Upload {
    pub(crate) fn new(client: Reducto, document: Document) -> Self {
        Upload {
            client,
            document,
            extension: None,
            options: RequestOptions::default(),
        }
    }

    /// The file extension to report (`extension` query parameter), for a
    /// file name that lacks one.
    pub fn extension(mut self, extension: impl Into<String>) -> Self {
        self.extension = Some(extension.into());
        self
    }

    request_options!();

    /// Sends the upload.
    pub async fn send(self) -> Result<UploadResponse> {
        let call = self.client.call(&self.options);
        let url = format!("{}/upload", call.shared().base_url);
        let extension = self.extension;
        let build = |part: Part| {
            let mut builder = call
                .shared()
                .http
                .post(&url)
                .header(reqwest::header::ACCEPT, "application/json")
                .multipart(Form::new().part("file", part));
            if let Some(ext) = &extension {
                builder = builder.query(&[("extension", ext)]);
            }
            builder.build().map_err(Error::from_transport)
        };

        let response = match self.document {
            Document::Path(path) => {
                let first = build(file_part(&path).await?)?;
                let replay = || async { Ok(Some(build(file_part(&path).await?)?)) };
                call.send("upload", first, replay).await
            }
            Document::Bytes { data, file_name } => {
                let part = || {
                    named(
                        Part::stream_with_length(data.clone(), data.len() as u64),
                        &file_name,
                    )
                };
                let first = build(part()?)?;
                let replay = || std::future::ready(part().and_then(build).map(Some));
                call.send("upload", first, replay).await
            }
            Document::Reader { reader, file_name } => {
                let stream = tokio_util::io::ReaderStream::new(reader);
                let part = named(Part::stream(reqwest::Body::wrap_stream(stream)), &file_name)?;
                let first = build(part)?;
                let replay = || std::future::ready(Ok::<_, Error>(None));
                call.send("upload", first, replay).await
            }
        };
        let response = match response {
            Ok(response) => response,
            Err(SendError::Transport(e)) => return Err(Error::from_transport(e)),
            Err(SendError::Prepare(e)) => return Err(e),
        };
        crate::transport::decode_json(response).await
    }
}

into_future!(Upload => UploadResponse);

/// Opens `path` as a streamed multipart part named after the file.
async fn file_part(path: &Path) -> Result<Part> {
    let file_error = |source| Error::File {
        path: path.to_owned(),
        source,
    };
    let file = tokio::fs::File::open(path).await.map_err(file_error)?;
    let len = file.metadata().await.map_err(file_error)?.len();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "document".to_owned());
    named(
        Part::stream_with_length(reqwest::Body::from(file), len),
        &name,
    )
}

/// Gives a part its file name and a `Content-Type` guessed from it
/// (`application/octet-stream` when unknown): multipart parsers may require
/// one, and RFC 7578 would otherwise read the file as `text/plain`.
fn named(part: Part, file_name: &str) -> Result<Part> {
    let mime = mime_guess::from_path(file_name).first_or_octet_stream();
    part.file_name(file_name.to_owned())
        .mime_str(mime.essence_str())
        .map_err(|e| Error::invalid("file_name", format!("content type {mime}: {e}")))
}

impl Reducto {
    /// Uploads a document; pass the result straight to
    /// [`parse().run`](crate::parse::Parses::run) or `run_job`.
    ///
    /// A path is streamed from disk, so memory use does not grow with the
    /// file. See [`Document`] for bytes and readers.
    pub fn upload(&self, document: impl Into<Document>) -> Upload {
        Upload::new(self.clone(), document.into())
    }
}
