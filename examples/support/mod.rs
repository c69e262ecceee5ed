//! What the examples share: a client of Reducto when `REDUCTO_API_KEY` is
//! set, else of the local Reducto server started in-process.

use reducto::{Error, Reducto};
use reducto_mock::{Server, ServerBuilder};

/// The client, and the local server to keep alive while it is used (`None`
/// against the real service).
pub async fn client(local: ServerBuilder) -> Result<(Reducto, Option<Server>), Error> {
    if std::env::var_os(reducto::API_KEY_ENV).is_some() {
        let client = Reducto::from_env()?;
        println!("Using Reducto at {}", client.base_url());
        return Ok((client, None));
    }
    let server = local
        .start()
        .await
        .map_err(|e| Error::Config(format!("starting the local server: {e}")))?;
    let client = Reducto::builder()
        .read_env(false)
        .api_key("local-test-key")
        .base_url(server.url())
        .build()?;
    println!(
        "REDUCTO_API_KEY is not set: using the local Reducto server at {}",
        server.url()
    );
    Ok((client, Some(server)))
}
