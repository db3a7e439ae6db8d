//! `fork()`: a forked child must not reuse its parent's owner ids, runtime
//! threads or handles. One `pthread_atfork` counter tells every part of the
//! process (and the bindings) which generation it lives in.

use std::sync::atomic::Ordering;

/// A fresh owner id: 128 bits from a per-thread CSPRNG (ChaCha12) seeded
/// from the operating system once per thread, and again after `fork()`: a
/// forked child inherits its parent's generator state, and must not hand
/// out the same ids as its parent or its siblings.
pub(crate) fn new_owner() -> [u8; 16] {
    use rand::{RngCore as _, SeedableRng as _};
    thread_local! {
        static RNG: std::cell::RefCell<(u64, rand::rngs::StdRng)> =
            std::cell::RefCell::new((fork_generation(), rand::rngs::StdRng::from_os_rng()));
    }
    let mut owner = [0u8; 16];
    RNG.with(|r| {
        let mut r = r.borrow_mut();
        let generation = fork_generation();
        if r.0 != generation {
            *r = (generation, rand::rngs::StdRng::from_os_rng());
        }
        r.1.fill_bytes(&mut owner)
    });
    owner
}

/// How many `fork()`s separate this process from the one that first asked:
/// bumped in the child by a `pthread_atfork` handler (one atomic load per call).
pub(crate) fn fork_generation() -> u64 {
    use std::sync::atomic::AtomicU64;
    static GENERATION: AtomicU64 = AtomicU64::new(0);
    #[cfg(unix)]
    {
        extern "C" fn in_child() {
            GENERATION.fetch_add(1, Ordering::SeqCst);
        }
        static REGISTER: std::sync::Once = std::sync::Once::new();
        REGISTER.call_once(|| unsafe {
            libc::pthread_atfork(None, None, Some(in_child));
        });
    }
    GENERATION.load(Ordering::Acquire)
}

