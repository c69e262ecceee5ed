//! `POST /pipeline` and `/pipeline_async`: a pipeline built in Reducto
//! Studio (parse, split, extract, edit as it defines), run on a document.
//!
//! ```no_run
//! # async fn run(client: reducto::Reducto) -> Result<(), reducto::Error> {
//! let out = client.pipeline().run("https://example.com/packet.pdf", "my-pipeline-id").await?;
//! println!("{:?}", out.result.extract);
//! # Ok(()) }
//! ```

use super::{result_of_kind, BoxFuture, Operation, Request, Run, RunJob};
use crate::{types::PipelineResponse, DocumentInput, Reducto};

/// Pipeline calls: `client.pipeline()`.
#[derive(Debug, Clone)]
pub struct Pipelines {
    client: Reducto,
}

impl Pipelines {
    pub(crate) fn new(client: &Reducto) -> Self {
        Pipelines {
            client: client.clone(),
        }
    }

    /// Runs pipeline `pipeline_id` synchronously (`POST /pipeline`).
    pub fn run(
        &self,
        input: impl Into<DocumentInput>,
        pipeline_id: impl Into<String>,
    ) -> Run<Pipeline> {
        Request::new(&self.client, input.into()).set(&["pipeline_id"], pipeline_id.into())
    }

    /// Starts pipeline `pipeline_id` as a job (`POST /pipeline_async`).
    pub fn run_job(
        &self,
        input: impl Into<DocumentInput>,
        pipeline_id: impl Into<String>,
    ) -> RunJob<Pipeline> {
        Request::new(&self.client, input.into()).set(&["pipeline_id"], pipeline_id.into())
    }
}

/// The pipeline operation.
#[derive(Debug)]
pub struct Pipeline;

impl super::sealed::Sealed for Pipeline {}

impl Operation for Pipeline {
    type Output = PipelineResponse;
    type Response = PipelineResponse;
    const NAME: &'static str = "pipeline";

    result_of_kind!(PipelineResponse);

    fn finish(_client: Reducto, response: PipelineResponse) -> BoxFuture<PipelineResponse> {
        Box::pin(async move { Ok(response) })
    }
}

impl<M> Request<Pipeline, M> {
    /// The password of an encrypted document.
    pub fn document_password(self, password: impl Into<String>) -> Self {
        self.set(&["settings", "document_password"], password.into())
    }
}
