//! A panicking task is caught: the runtime and the other tasks go on.

use std::cell::Cell;
use std::rc::Rc;

use corio::task::yield_now;

#[test]
fn a_panicking_task_beside_healthy_ones() {
    corio::run(async {
        let progress = Rc::new(Cell::new(0));
        let mut healthy = Vec::new();
        for _ in 0..10 {
            let p = progress.clone();
            healthy.push(corio::spawn(async move {
                for _ in 0..5 {
                    p.set(p.get() + 1);
                    yield_now().await;
                }
                7
            }));
        }
        let bad = corio::spawn(async {
            yield_now().await;
            panic!("task exploded on purpose");
        });
        let err = bad.await.unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        assert!(err.to_string().contains("task exploded on purpose"));
        let payload = err.into_panic();
        assert_eq!(
            *payload.downcast_ref::<&str>().unwrap(),
            "task exploded on purpose"
        );
        for h in healthy {
            assert_eq!(h.await.unwrap(), 7);
        }
        assert_eq!(progress.get(), 50);
    });
}

#[test]
fn a_detached_panicking_task_does_not_stop_the_loop() {
    corio::run(async {
        drop(corio::spawn(async { panic!("nobody is listening") }));
        for _ in 0..3 {
            yield_now().await;
        }
        assert_eq!(corio::spawn(async { 1 }).await.unwrap(), 1);
    });
}

#[test]
fn a_panic_with_a_string_payload_is_handed_over() {
    corio::run(async {
        let err = corio::spawn(async {
            let n = 3;
            panic!("formatted {n}");
        })
        .await
        .unwrap_err();
        let payload = err.into_panic();
        assert_eq!(payload.downcast_ref::<String>().unwrap(), "formatted 3");
    });
}

#[test]
fn a_panic_in_the_main_future_propagates_out_of_block_on() {
    let rt = corio::Runtime::new().unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { panic!("main failed") })
    }));
    assert!(result.is_err());
    // The runtime is still usable afterwards.
    assert_eq!(rt.block_on(async { 3 }), 3);
}

struct PanicsOnDrop;
impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("destructor panicked");
    }
}

#[test]
fn a_destructor_panic_while_aborting_is_reported_as_a_panic() {
    corio::run(async {
        let h = corio::spawn(async {
            let _guard = PanicsOnDrop;
            std::future::pending::<()>().await;
        });
        yield_now().await;
        h.abort();
        assert!(h.await.unwrap_err().is_panic());
        assert_eq!(corio::spawn(async { 2 }).await.unwrap(), 2);
    });
}

#[test]
fn join_error_is_send_and_sync_so_question_mark_reaches_boxed_errors() {
    fn send_sync<T: Send + Sync + 'static>(_: &T) {}
    fn join(
        h: corio::task::JoinHandle<()>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        corio::run(async move {
            h.await?;
            Ok(())
        })
    }
    let rt = corio::Runtime::new().unwrap();
    let h = rt.spawn(async { std::panic::panic_any(format!("kaboom {}", 7)) });
    let err = rt.block_on(h).unwrap_err();
    send_sync(&err);
    assert_eq!(err.to_string(), "task panicked: kaboom 7");
    assert_eq!(format!("{err:?}"), "JoinError::Panic(\"kaboom 7\")");
    let payload = err.into_panic();
    assert_eq!(payload.downcast_ref::<String>().unwrap(), "kaboom 7");
    drop(rt);
    // `?` from a JoinError into Box<dyn Error + Send + Sync>.
    let rt = corio::Runtime::new().unwrap();
    let h = rt.spawn(std::future::pending::<()>());
    h.abort();
    let _ = join; // the function above compiles: that is the check
    let err = rt.block_on(h).unwrap_err();
    let boxed: Box<dyn std::error::Error + Send + Sync> = err.into();
    assert_eq!(boxed.to_string(), "task was cancelled");
}
