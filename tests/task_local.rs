//! `task_local!`: values scoped to a future, invisible to other tasks.

use corio::task::yield_now;

corio::task_local! {
    static REQUEST: u32;
    static NAME: String;
}

#[test]
fn scope_sets_the_value_across_awaits() {
    corio::run(async {
        REQUEST
            .scope(7, async {
                assert_eq!(REQUEST.get(), 7);
                yield_now().await;
                assert_eq!(REQUEST.with(|v| *v), 7);
            })
            .await;
    });
}

#[test]
fn interleaved_tasks_each_see_their_own_value() {
    corio::run(async {
        let handles: Vec<_> = (0..10u32)
            .map(|i| {
                corio::spawn(REQUEST.scope(i, async move {
                    for _ in 0..5 {
                        assert_eq!(REQUEST.get(), i);
                        yield_now().await;
                    }
                    REQUEST.get()
                }))
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.await.unwrap(), i as u32);
        }
    });
}

#[test]
fn try_with_outside_a_scope_is_an_error_and_spawned_tasks_do_not_inherit() {
    corio::run(async {
        assert!(REQUEST.try_with(|_| ()).is_err());
        NAME.scope("outer".to_string(), async {
            let child = corio::spawn(async { NAME.try_with(|n| n.clone()).is_err() });
            assert!(child.await.unwrap());
            assert_eq!(NAME.with(|n| n.clone()), "outer");
        })
        .await;
        assert!(NAME.try_with(|_| ()).is_err());
    });
}

#[test]
fn nested_scopes_shadow_and_restore() {
    corio::run(async {
        REQUEST
            .scope(1, async {
                REQUEST
                    .scope(2, async {
                        yield_now().await;
                        assert_eq!(REQUEST.get(), 2);
                    })
                    .await;
                assert_eq!(REQUEST.get(), 1);
            })
            .await;
    });
}

#[test]
#[should_panic(expected = "task-local value not set")]
fn with_outside_a_scope_panics_with_a_clear_message() {
    corio::run(async {
        REQUEST.with(|_| ());
    });
}

#[test]
fn the_value_is_in_scope_while_the_inner_future_is_dropped() {
    struct ReadsOnDrop(std::rc::Rc<std::cell::Cell<Option<u32>>>);
    impl Drop for ReadsOnDrop {
        fn drop(&mut self) {
            self.0.set(REQUEST.try_with(|v| *v).ok());
        }
    }
    corio::run(async {
        let seen = std::rc::Rc::new(std::cell::Cell::new(None));
        let guard = ReadsOnDrop(seen.clone());
        let h = corio::spawn(REQUEST.scope(42, async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }));
        yield_now().await;
        h.abort();
        let _ = h.await;
        assert_eq!(seen.get(), Some(42));
    });
}
