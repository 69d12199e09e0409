//! `#[corio::main]` and `#[corio::test]`.

use std::cell::RefCell;
use std::rc::Rc;

#[corio::test]
async fn test_attribute_runs_an_async_body() {
    let h = corio::spawn(async { 21 * 2 });
    assert_eq!(h.await.unwrap(), 42);
}

#[corio::test]
async fn test_attribute_allows_result_returns() -> Result<(), std::io::Error> {
    corio::time::sleep(std::time::Duration::from_millis(1)).await;
    Ok(())
}

#[corio::test(seed = 7)]
async fn test_attribute_with_a_seed_shuffles_reproducibly() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let hs: Vec<_> = (0..6)
        .map(|i| {
            let l = log.clone();
            corio::spawn(async move { l.borrow_mut().push(i) })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    let seeded = log.borrow().clone();
    // The same program under the same seed, run by hand, must give the same order.
    let again = corio::spawn_blocking(|| {
        corio::Runtime::builder()
            .seed(7)
            .build()
            .unwrap()
            .block_on(async {
                let log = Rc::new(RefCell::new(Vec::new()));
                let hs: Vec<_> = (0..6)
                    .map(|i| {
                        let l = log.clone();
                        corio::spawn(async move { l.borrow_mut().push(i) })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
                log.borrow().clone()
            })
    })
    .await
    .unwrap();
    assert_eq!(seeded, again);
    assert_ne!(
        seeded,
        (0..6).collect::<Vec<_>>(),
        "seed 7 should not be FIFO"
    );
}

mod main_attribute {
    #[corio::main]
    pub async fn main() -> u32 {
        corio::task::yield_now().await;
        5
    }
}

#[test]
fn main_attribute_turns_an_async_fn_into_a_sync_one() {
    assert_eq!(main_attribute::main(), 5);
}

/// corio reached through a re-export, as a crate that wraps it would.
mod wrapper {
    pub use ::corio as runtime;
}

#[corio::test(crate = "crate::wrapper::runtime", start_paused = true)]
async fn the_crate_argument_names_a_re_exported_corio() {
    let t0 = wrapper::runtime::time::now();
    wrapper::runtime::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(
        wrapper::runtime::time::now() - t0,
        std::time::Duration::from_secs(5)
    );
}
