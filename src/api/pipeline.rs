//! `POST /pipeline` and `/pipeline_async`: a pipeline built in Reducto
//! Studio (parse, split, extract, edit as it defines), run on a document.
//!
//! ```no_run
//! # async fn run(client: reducto::Reducto) -> Result<(), reducto::Error> {
//! let out = client.pipeline().run("https://example.com/packet.pdf", "my-pipeline-id").await?;
//! println!("{:?}", out.result.extract);
//! # Ok(()) }
//! ```

use super::{entry_point, result_of_kind, BoxFuture, Operation, Request};
use crate::{types::PipelineResponse, Reducto};

entry_point! {
    /// Pipeline calls: `client.pipeline()`: `run(input, pipeline_id)` and
    /// `run_job(input, pipeline_id)`.
    Pipelines => Pipeline, "pipeline", pipeline_id => "pipeline_id"
}

impl Operation for Pipeline {
    type Output = PipelineResponse;
    type Response = PipelineResponse;
    const NAME: &'static str = "pipeline";

    result_of_kind!(PipelineResponse);

    /// The steps' URL results fetched, as every operation hands them back.
    fn finish(client: Reducto, response: PipelineResponse) -> BoxFuture<PipelineResponse> {
        Box::pin(async move { super::resolve::resolve_pipeline(&client, response).await })
    }
}

impl<M> Request<Pipeline, M> {
    /// The password of an encrypted document.
    pub fn document_password(self, password: impl Into<String>) -> Self {
        self.set(&["settings", "document_password"], password.into())
    }
}
