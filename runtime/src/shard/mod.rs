//! Many cores: shards. N independent loops, one per core, sharing nothing but what is sent:
//! the seeds' "one process per CPU core" (Nginx), glommio's and monoio's thread-per-core.
//!
//! * [`Pool`] runs one corio runtime per OS thread, each running its own `!Send` future.
//! * [`Handle`](crate::Handle) spawns onto any shard from any thread.
//! * To share a port, each shard binds its own listener (`TcpListener::bind_reuseport`) and
//!   the kernel spreads connections, or one shard hands accepted streams to others
//!   (`TcpStream::into_std` / `from_std`).

mod affinity;
mod pool;

pub use pool::{current, Builder, Pool, ShardError, ShardId};
