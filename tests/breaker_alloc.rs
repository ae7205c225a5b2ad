//! The hot paths do not allocate: a call in Closed (acquire + success) and a call rejected
//! while Open, counted by a global allocator that tallies this thread's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use breaker::{BreakerConfig, CircuitBreaker, ManualClock};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn closed_calls_and_open_rejections_do_not_allocate() {
    let clock = ManualClock::new();
    let config = BreakerConfig::default()
        .with_threshold(3)
        .with_cooldown(Duration::from_secs(30));
    let named_at_run_time = String::from("gpt-4o");
    let breakers = [
        CircuitBreaker::with_clock("static-name", config.clone(), clock.clone()),
        CircuitBreaker::with_clock(named_at_run_time, config, clock.clone()),
    ];
    for breaker in &breakers {
        // Warm up: the thread's counter slot and its arc-swap debt list are set up on its
        // first call and first failure.
        breaker.acquire().unwrap().failure();
        breaker.acquire().unwrap().success();

        let closed = allocations_in(|| {
            for _ in 0..10_000 {
                breaker.acquire().unwrap().success();
            }
            breaker.acquire().unwrap().failure();
            breaker.acquire().unwrap().success();
            drop(breaker.acquire().unwrap());
        });
        assert_eq!(closed, 0, "{}: allocations in Closed", breaker.name());

        for _ in 0..3 {
            breaker.acquire().unwrap().failure(); // the trip allocates the Open snapshot
        }
        let open = allocations_in(|| {
            for _ in 0..10_000 {
                let rejected = breaker.acquire().unwrap_err();
                assert!(rejected.retry_after().is_some());
            }
        });
        assert_eq!(open, 0, "{}: allocations in Open", breaker.name());
    }
}
