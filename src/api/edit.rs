//! `POST /edit` and `/edit_async`: a document changed by instructions (text
//! edits, form filling), returned as a downloadable document.
//!
//! ```no_run
//! # async fn run(client: reducto::Reducto) -> Result<(), reducto::Error> {
//! let upload = client.upload("form.pdf").await?;
//! let edited = client.edit().run(&upload, "Name: Ada Lovelace").flatten(true).await?;
//! println!("download it from {}", edited.document_url);
//! # Ok(()) }
//! ```

use super::{entry_point, ready, result_of_kind, BoxFuture, Operation, Request};
use crate::{
    types::{EditOptions, EditResponse, EditWidget},
    Reducto,
};

entry_point! {
    /// Edit calls: `client.edit()`: `run(document, instructions)` (one
    /// document, not a list) and `run_job(document, instructions)`.
    Edits => Edit, "edit", instructions => "edit_instructions"
}

impl Operation for Edit {
    type Output = EditResponse;
    type Response = EditResponse;
    const NAME: &'static str = "edit";
    const INPUT_FIELD: &'static str = "document_url";
    const TAKES_LISTS: bool = false;
    const FLAT_ASYNC: bool = true;

    result_of_kind!(EditResponse);

    fn finish(_client: Reducto, response: EditResponse) -> BoxFuture<EditResponse> {
        // The edited document is binary, at `document_url`: not fetched.
        ready(response)
    }
}

impl<M> Request<Edit, M> {
    /// Flatten the PDF's form fields into its content.
    pub fn flatten(self, on: bool) -> Self {
        self.set(&["edit_options", "flatten"], on)
    }

    /// The colour of inserted text (e.g. `#FF0000`).
    pub fn color(self, color: impl Into<String>) -> Self {
        self.set(&["edit_options", "color"], color.into())
    }

    /// Every edit option at once, as the generated type.
    pub fn options(self, options: EditOptions) -> Self {
        self.set_group("edit_options", options)
    }

    /// The form's widgets, as an earlier edit's `form_schema` returned them.
    pub fn form_schema(self, widgets: Vec<EditWidget>) -> Self {
        self.set_group("form_schema", widgets)
    }
}
