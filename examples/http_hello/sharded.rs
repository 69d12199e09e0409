//! `--shards N`: the server on N loops, one per thread and core, each with its own
//! `SO_REUSEPORT` listener on the one address and its own connections (`../shards/mod.rs`).
//! Every shard runs [`server::serve_until`] with the same settings and the same stop token,
//! so one cancel drains them all.

use std::io;

use corio::sync::CancellationToken;

use super::server::{self, Config};
use crate::shards::{self, Shards};

/// Serve `addr` from `n` shards until `stop` is cancelled, then drain each; once they are
/// done, [`Shards::wait`] gives how many requests each shard answered.
pub async fn start(
    n: usize,
    addr: &str,
    config: Config,
    stop: CancellationToken,
) -> io::Result<Shards<u64>> {
    shards::start(n, addr, move |_shard, listener| {
        let (config, stop) = (config.clone(), stop.clone());
        async move {
            server::serve_until(listener, config, stop)
                .await
                .map(|()| server::answered())
        }
    })
    .await
}
