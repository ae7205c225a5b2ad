//! The keyed registry's integration tests, in one test binary: its concurrency and hot-path
//! allocations (`keyed`) and its eviction rules (`eviction`).

// The binary's global allocator: it counts each thread's allocations, for `keyed`'s check
// that a lookup allocates nothing. The counts are per thread, so the other tests running
// in parallel do not disturb them.
#[path = "../support/counting_alloc.rs"]
mod counting_alloc;

mod eviction;
mod keyed;
