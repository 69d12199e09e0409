//! `task_local!`, the async form of the seeds' `threading.local()`: each task sees its own
//! value of `REQUEST_ID`, even though all of them run interleaved on one thread.
//!
//! Run: `cargo run --example task_local`

use std::time::Duration;

corio::task_local! {
    static REQUEST_ID: u32;
}

/// Deep inside the "request handling", with no parameter passed down.
fn log(message: &str) {
    let id = REQUEST_ID
        .try_with(|id| *id)
        .map_or("-".to_string(), |id| id.to_string());
    println!("[request {id}] {message}");
}

async fn handle() {
    log("started");
    corio::time::sleep(Duration::from_millis(10)).await; // other tasks run meanwhile
    log("still sees its own id after the await");
}

fn main() {
    corio::run(async {
        let tasks: Vec<_> = (1..=3)
            .map(|id| corio::spawn(REQUEST_ID.scope(id, handle())))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        log("outside any scope there is no id");
    });
}
