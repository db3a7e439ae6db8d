//! The C ABI driven by random call sequences within its contract: NULLs,
//! handles used after release or `into_token` (never after free), providers
//! closed or freed under their handles, huge and odd names and holders,
//! options of a wrong size, bad ttls and URLs; on `memory://` and a SQLite
//! file in a temporary directory.
//!
//! Checked after every call: the status is a status and never
//! `FERROLOCK_INTERNAL` (a caught panic); out-parameters are NULL on error;
//! what the header promises for NULLs, released and handed-off handles and
//! closed providers; two holders of a long lease never overlap; fences of
//! exclusive acquisitions strictly increase. At the end of each input every
//! handle is released and freed, and a fresh provider lists no lock.
#![no_main]

use arbitrary::Arbitrary;
use ferrolock_c::*;
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::{Mutex, OnceLock};

use FerrolockStatus::*;

/// A string argument.
#[derive(Arbitrary, Debug, Clone)]
enum Text {
    Null,
    /// One of a few plain names, so that calls meet on the same lock.
    Plain(u8),
    Empty,
    /// `len` copies of `fill` (at least 1 byte; NULs become `x`).
    Repeat { fill: u8, len: u16 },
    /// Bytes as given, cut at the first NUL (a C string).
    Raw(Vec<u8>),
}

const PLAIN: [&str; 4] = ["a", "b", "fuzz:c", "{odd} ünïcode/ñame"];

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Ttl {
    Zero,
    /// 1..=256 ms: expires during the input.
    Short(u8),
    /// 60 s: outlives the input.
    Long,
    OverMax,
    Max,
}

/// A lease at least this long outlives any input.
const LONG_TTL: u64 = 30_000;
const MAX_TTL: u64 = 365 * 24 * 3600 * 1000;

impl Ttl {
    fn ms(self) -> u64 {
        match self {
            Ttl::Zero => 0,
            Ttl::Short(n) => n as u64 + 1,
            Ttl::Long => 2 * LONG_TTL,
            Ttl::OverMax => MAX_TTL + 1,
            Ttl::Max => u64::MAX,
        }
    }
}

/// Waits stay short: a busy lock costs its whole timeout.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Wait {
    Zero,
    Ms(u8),
}

impl Wait {
    fn ms(self) -> u64 {
        match self {
            Wait::Zero => 0,
            Wait::Ms(n) => (n % 8) as u64,
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Size {
    Right,
    Zero,
    Smaller(u8),
    /// A struct from a newer header: `extra` more bytes, all zero (read) or
    /// not (refused).
    Larger { extra: u8, dirty: bool },
}

#[derive(Arbitrary, Debug, Clone)]
enum Options {
    Null,
    Init,
    Set { size: Size, ttl: Ttl, shared: bool, holder: Text, auto_renew: bool },
}

#[derive(Arbitrary, Debug, Clone)]
enum UrlKind {
    Memory,
    Sqlite,
    /// `memory://fuzz-c?namespace=…&holder=…`, perhaps with an unknown parameter.
    MemoryWith { namespace: u8, holder: Text, unknown: bool },
    /// A URL that cannot parse or names nothing reachable without I/O.
    Bad(u8),
}

const NAMESPACES: [&str; 4] = ["default", "other", "a/b", ""];

/// A provider or handle slot: an index into the live ones, or NULL.
type Slot = Option<u8>;

#[derive(Arbitrary, Debug, Clone)]
enum Op {
    Connect(UrlKind),
    Close(Slot),
    FreeProvider(u8),
    Ping(Slot),
    Capabilities { p: Slot, null_out: bool },
    TryAcquire { p: Slot, name: Text, ttl: Ttl, null_out: bool },
    Acquire { p: Slot, name: Text, ttl: Ttl, wait: Wait },
    TryAcquireWith { p: Slot, name: Text, options: Options },
    AcquireWith { p: Slot, name: Text, options: Options, wait: Wait },
    Run { p: Slot, name: Text, ttl: Ttl, wait: Wait, callback: bool },
    RunWith { p: Slot, name: Text, options: Options, wait: Wait },
    Release { h: Slot, null_out: bool },
    Refresh { h: Slot, ttl: Ttl },
    Fence(Slot),
    IsLost(Slot),
    IntoToken { h: Slot, null_out: bool },
    Resume { p: Slot, token: u8 },
    ResumeRaw { p: Slot, token: Text },
    FreeHeld(u8),
    State { p: Slot, name: Text },
    List { p: Slot, prefix: Text },
    ForceRelease { p: Slot, name: Text },
    DecodeToken(u8),
    Subscribe(Slot),
    NextEvent(u8),
    FreeEvents(u8),
    StatusCode(i32),
    /// Two calls on one handle from two threads at once (the header lets
    /// several threads use a handle).
    Race { h: u8, a: RaceOp, b: RaceOp },
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum RaceOp {
    Release,
    IntoToken,
    Refresh(Ttl),
    Fence,
}

/// What a raced call returned: its status, `was_held` or the token.
struct Raced {
    op: RaceOp,
    status: FerrolockStatus,
    was_held: bool,
    token: usize,
}

/// # Safety
/// `held` is a live handle that outlives the call.
unsafe fn race_call(held: *const FerrolockHeld, op: RaceOp) -> Raced {
    let mut r = Raced { op, status: FerrolockOk, was_held: false, token: 0 };
    match op {
        RaceOp::Release => r.status = check(ferrolock_release(held, &mut r.was_held), "release (raced)"),
        RaceOp::IntoToken => {
            let mut t: *mut c_char = null_mut();
            r.status = check(ferrolock_into_token(held, &mut t), "into_token (raced)");
            assert_eq!(r.status == FerrolockOk, !t.is_null());
            r.token = t as usize;
        }
        RaceOp::Refresh(ttl) => r.status = check(ferrolock_refresh(held, ttl.ms()), "refresh (raced)"),
        RaceOp::Fence => {
            let _ = ferrolock_fence(held);
        }
    }
    r
}

#[derive(Arbitrary, Debug)]
struct Input {
    ops: Vec<Op>,
}

/// Which store a provider's locks live in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Store {
    sqlite: bool,
    namespace: String,
}

struct Provider {
    ptr: *mut FerrolockLocks,
    /// Never reused, unlike addresses.
    id: usize,
    store: Store,
    closed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeldState {
    /// Still holds its lease, as far as this model knows.
    Armed,
    Released,
    HandedOff,
}

struct Held {
    ptr: *mut FerrolockHeld,
    state: HeldState,
    lease: usize,
    /// The id of its provider (closed or freed: operations answer CLOSED).
    provider: usize,
}

/// One acquisition, shared by the handles resumed from its tokens.
struct Lease {
    store: Store,
    name: String,
    shared: bool,
    /// Known to outlive the input (a long ttl, not since shortened, never
    /// ended, never seen lost).
    live: bool,
    /// A handle of it was armed when its provider closed: the lock stays
    /// held until its ttl, as the header says.
    orphaned: bool,
}

struct Token {
    ptr: *mut c_char,
    lease: usize,
}

struct World {
    providers: Vec<Provider>,
    helds: Vec<Held>,
    leases: Vec<Lease>,
    tokens: Vec<Token>,
    events: Vec<*mut FerrolockEvents>,
    /// The stores this input connected to, to check at its end.
    stores: Vec<(Store, String)>,
    /// The ids of providers closed or freed.
    closed: Vec<usize>,
    next_id: usize,
}

fn sqlite_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ferrolock-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        format!("sqlite://{}/locks.db", dir.display())
    })
}

/// The highest fence of an exclusive acquisition seen, per store and name,
/// across inputs (the stores outlive them).
fn fences() -> &'static Mutex<HashMap<(Store, String), u64>> {
    static F: OnceLock<Mutex<HashMap<(Store, String), u64>>> = OnceLock::new();
    F.get_or_init(Default::default)
}

fn text(t: &Text) -> Option<CString> {
    match t {
        Text::Null => None,
        Text::Plain(i) => Some(CString::new(PLAIN[*i as usize % PLAIN.len()]).unwrap()),
        Text::Empty => Some(CString::default()),
        Text::Repeat { fill, len } => {
            let fill = if *fill == 0 { b'x' } else { *fill };
            Some(CString::new(vec![fill; *len as usize + 1]).unwrap())
        }
        Text::Raw(bytes) => {
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            Some(CString::new(&bytes[..end]).unwrap())
        }
    }
}

fn ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(null(), |s| s.as_ptr())
}

/// A status is one of the table's and never a caught panic; its code and
/// the last error read fine.
fn check(status: FerrolockStatus, what: &str) -> FerrolockStatus {
    let n = status as c_int;
    assert!((0..=8).contains(&n), "{what}: status {n}");
    if status != FerrolockOk {
        // SAFETY: static or thread-local strings, never NULL.
        let msg = unsafe { CStr::from_ptr(ferrolock_last_error()) };
        assert!(!msg.to_bytes().is_empty(), "{what}: an error without a message");
        let code = unsafe { CStr::from_ptr(ferrolock_status_code(n)) };
        assert_ne!(code.to_bytes(), b"UNKNOWN");
    }
    assert_ne!(status, FerrolockInternal, "{what}: {}", last_error());
    status
}

fn last_error() -> String {
    // SAFETY: never NULL.
    unsafe { CStr::from_ptr(ferrolock_last_error()) }.to_string_lossy().into_owned()
}

/// The raw options struct, as large as `size` says.
struct OptionsBuf {
    bytes: Vec<u64>,
    _holder: Option<CString>,
    ttl: u64,
    shared: bool,
    /// Whether the library must take these options (else INVALID_ARGUMENT).
    valid: bool,
}

fn options(o: &Options) -> Option<OptionsBuf> {
    let ours = std::mem::size_of::<FerrolockLockOptions>();
    let (size, ttl, shared, holder, auto_renew) = match o {
        Options::Null => return None,
        Options::Init => (Size::Right, Ttl::Long, false, Text::Null, true),
        Options::Set { size, ttl, shared, holder, auto_renew } => (*size, *ttl, *shared, holder.clone(), *auto_renew),
    };
    let holder = text(&holder);
    let holder_ok = holder.as_ref().is_none_or(|h| h.to_str().is_ok_and(|s| s.len() <= 256 && !s.chars().any(char::is_control)));
    let mut opts = ferrolock_lock_options_init();
    opts.ttl_ms = if matches!(o, Options::Init) { opts.ttl_ms } else { ttl.ms() };
    opts.shared = shared;
    opts.holder = ptr(&holder);
    opts.auto_renew = auto_renew;
    let (declared, extra, dirty) = match size {
        Size::Right => (ours, 0, false),
        Size::Zero => (0, 0, false),
        Size::Smaller(n) => (ours.saturating_sub(n as usize % ours + 1), 0, false),
        Size::Larger { extra, dirty } => (ours + extra as usize + 1, extra as usize + 1, dirty),
    };
    opts.size = declared;
    let mut bytes = vec![0u64; (ours + extra).div_ceil(8)];
    // SAFETY: the buffer holds at least `ours` bytes, 8-aligned.
    unsafe { bytes.as_mut_ptr().cast::<FerrolockLockOptions>().write(opts) };
    if dirty {
        // SAFETY: the last byte of the declared size, inside the buffer.
        unsafe { *bytes.as_mut_ptr().cast::<u8>().add(declared - 1) = 1 };
    }
    let ttl_ok = (1..=MAX_TTL).contains(&opts.ttl_ms);
    let valid = declared >= ours && !dirty && holder_ok && ttl_ok;
    Some(OptionsBuf { bytes, _holder: holder, ttl: opts.ttl_ms, shared, valid })
}

impl OptionsBuf {
    fn ptr(&self) -> *const FerrolockLockOptions {
        self.bytes.as_ptr().cast()
    }
}

fn name_ok(name: &Option<CString>) -> bool {
    name.as_ref().is_some_and(|n| n.to_str().is_ok_and(|s| !s.is_empty() && s.len() <= 512 && !s.chars().any(char::is_control)))
}

impl World {
    fn provider(&self, slot: Slot) -> Option<&Provider> {
        let i = slot? as usize;
        (!self.providers.is_empty()).then(|| &self.providers[i % self.providers.len()])
    }

    fn provider_ptr(&self, slot: Slot) -> *const FerrolockLocks {
        self.provider(slot).map_or(null(), |p| p.ptr)
    }

    fn held_index(&self, slot: Slot) -> Option<usize> {
        let i = slot? as usize;
        (!self.helds.is_empty()).then(|| i % self.helds.len())
    }

    /// A live lease of another holder that an acquisition of `name` in
    /// `mode` must wait for.
    fn conflicting(&self, store: &Store, name: &str, shared: bool) -> bool {
        self.leases.iter().any(|l| l.live && l.store == *store && l.name == name && !(l.shared && shared))
    }

    /// The provider `id` closed: its armed handles' locks stay held.
    fn orphan(&mut self, id: usize) {
        if !self.closed.contains(&id) {
            self.closed.push(id);
        }
        for h in &self.helds {
            if h.provider == id && h.state == HeldState::Armed {
                self.leases[h.lease].orphaned = true;
            }
        }
    }

    /// What the handle's lease no longer is: live.
    fn end_lease(&mut self, lease: usize) {
        self.leases[lease].live = false;
    }

    /// A new handle from an acquire call that returned OK.
    fn acquired(&mut self, status: FerrolockStatus, held: *mut FerrolockHeld, p: &Provider, name: &Option<CString>, shared: bool, ttl: u64, waited: bool) {
        if status != FerrolockOk {
            assert!(held.is_null(), "an error leaves *held NULL");
            return;
        }
        let name = name.as_ref().unwrap().to_str().unwrap().to_owned();
        if held.is_null() {
            assert!(!waited, "a wait that succeeded gives a handle");
            return;
        }
        assert!(!p.closed, "a closed provider acquired");
        assert!(!self.conflicting(&p.store, &name, shared), "{name:?} acquired while another holds it: two holders");
        // SAFETY: a live handle.
        let fence = unsafe { ferrolock_fence(held) };
        if !shared {
            let mut f = fences().lock().unwrap();
            let last = f.entry((p.store.clone(), name.clone())).or_insert(0);
            assert!(fence > *last, "{name:?}: fence {fence} after {last}");
            *last = fence;
        }
        self.leases.push(Lease { store: p.store.clone(), name, shared, live: ttl >= LONG_TTL, orphaned: false });
        self.helds.push(Held { ptr: held, state: HeldState::Armed, lease: self.leases.len() - 1, provider: p.id });
    }

    fn run(&mut self, op: &Op) {
        unsafe { self.run_unsafe(op) }
    }

    /// # Safety
    /// Every pointer passed is NULL or live: the model frees each thing once.
    unsafe fn run_unsafe(&mut self, op: &Op) {
        match op {
            Op::Connect(kind) => {
                let (url, store) = match kind {
                    UrlKind::Memory => ("memory://fuzz-c".to_owned(), Some(Store { sqlite: false, namespace: "default".into() })),
                    UrlKind::Sqlite => (sqlite_url().to_owned(), Some(Store { sqlite: true, namespace: "default".into() })),
                    UrlKind::MemoryWith { namespace, holder, unknown } => {
                        let ns = NAMESPACES[*namespace as usize % NAMESPACES.len()];
                        let mut url = format!("memory://fuzz-c?namespace={ns}");
                        if let Some(h) = text(holder) {
                            // Percent-encoded whole, so that it stays one parameter.
                            url.push_str("&holder=");
                            h.as_bytes().iter().for_each(|b| url.push_str(&format!("%{b:02X}")));
                        }
                        if *unknown {
                            url.push_str("&nope=1");
                        }
                        // Whether it parses is the URL target's business; here the provider's store matters.
                        (url, Some(Store { sqlite: false, namespace: ns.into() }))
                    }
                    UrlKind::Bad(i) => {
                        let bad = ["", "memory", "ftp://x", "sqlite://", "memory://?bypass=maybe", "sqlite://x.db?ca=1", "redis://h:notaport", "rediss://h?cert=c"];
                        (bad[*i as usize % bad.len()].to_owned(), None)
                    }
                };
                let c = CString::new(url.clone()).unwrap();
                let mut locks = null_mut();
                let status = check(ferrolock_connect(c.as_ptr(), &mut locks), "connect");
                match (status, store) {
                    (FerrolockOk, Some(store)) => {
                        assert!(!locks.is_null());
                        if !self.stores.iter().any(|(s, _)| *s == store) {
                            self.stores.push((store.clone(), url));
                        }
                        self.next_id += 1;
                        self.providers.push(Provider { ptr: locks, id: self.next_id, store, closed: false });
                    }
                    (FerrolockOk, None) => panic!("{url:?} connected"),
                    (s, _) => {
                        assert!(locks.is_null());
                        assert!(matches!(s, FerrolockInvalidArgument | FerrolockUnsupported), "{url:?}: {s:?}");
                    }
                }
                // A NULL URL or out-parameter is refused.
                assert_eq!(check(ferrolock_connect(null(), &mut locks), "connect"), FerrolockInvalidArgument);
                assert!(locks.is_null());
                assert_eq!(check(ferrolock_connect(c.as_ptr(), null_mut()), "connect"), FerrolockInvalidArgument);
            }
            Op::Close(slot) => {
                let status = check(ferrolock_close(self.provider_ptr(*slot)), "close");
                match self.provider(*slot) {
                    None => assert_eq!(status, FerrolockInvalidArgument),
                    Some(_) => {
                        assert_eq!(status, FerrolockOk);
                        let i = slot.unwrap() as usize % self.providers.len();
                        self.providers[i].closed = true;
                        let id = self.providers[i].id;
                        self.orphan(id);
                    }
                }
            }
            Op::FreeProvider(i) => {
                if self.providers.is_empty() {
                    ferrolock_locks_free(null_mut());
                    return;
                }
                let p = self.providers.remove(*i as usize % self.providers.len());
                ferrolock_locks_free(p.ptr);
                self.orphan(p.id);
            }
            Op::Ping(slot) => {
                let status = check(ferrolock_ping(self.provider_ptr(*slot)), "ping");
                match self.provider(*slot) {
                    None => assert_eq!(status, FerrolockInvalidArgument),
                    Some(p) if p.closed => assert_eq!(status, FerrolockClosed),
                    Some(_) => assert_eq!(status, FerrolockOk),
                }
            }
            Op::Capabilities { p, null_out } => {
                let mut caps = FerrolockBackendCapabilities::default();
                let out = if *null_out { null_mut() } else { &mut caps as *mut _ };
                let status = check(ferrolock_capabilities(self.provider_ptr(*p), out), "capabilities");
                if self.provider(*p).is_none() || *null_out {
                    assert_eq!(status, FerrolockInvalidArgument);
                } else if status == FerrolockOk {
                    assert_eq!(caps.max_ttl_ms, MAX_TTL);
                    assert!(caps.shared && caps.handoff);
                }
            }
            Op::TryAcquire { p, name, ttl, null_out } => {
                let n = text(name);
                let mut held = null_mut();
                let out = if *null_out { null_mut() } else { &mut held as *mut _ };
                let status = check(ferrolock_try_acquire(self.provider_ptr(*p), ptr(&n), ttl.ms(), out), "try_acquire");
                self.after_acquire(status, held, *p, &n, false, ttl.ms(), *null_out, false, true);
            }
            Op::Acquire { p, name, ttl, wait } => {
                let n = text(name);
                let mut held = null_mut();
                let status = check(ferrolock_acquire(self.provider_ptr(*p), ptr(&n), ttl.ms(), wait.ms(), &mut held), "acquire");
                self.after_acquire(status, held, *p, &n, false, ttl.ms(), false, true, true);
            }
            Op::TryAcquireWith { p, name, options: o } => {
                let n = text(name);
                let buf = options(o);
                let mut held = null_mut();
                let optr = buf.as_ref().map_or(null(), |b| b.ptr());
                let status = check(ferrolock_try_acquire_with(self.provider_ptr(*p), ptr(&n), optr, &mut held), "try_acquire_with");
                let (shared, ttl, valid) = buf.as_ref().map_or((false, 0, false), |b| (b.shared, b.ttl, b.valid));
                self.after_acquire(status, held, *p, &n, shared, ttl, false, false, valid);
            }
            Op::AcquireWith { p, name, options: o, wait } => {
                let n = text(name);
                let buf = options(o);
                let mut held = null_mut();
                let optr = buf.as_ref().map_or(null(), |b| b.ptr());
                let status = check(ferrolock_acquire_with(self.provider_ptr(*p), ptr(&n), optr, wait.ms(), &mut held), "acquire_with");
                let (shared, ttl, valid) = buf.as_ref().map_or((false, 0, false), |b| (b.shared, b.ttl, b.valid));
                self.after_acquire(status, held, *p, &n, shared, ttl, false, true, valid);
            }
            Op::Run { p, name, ttl, wait, callback } => {
                extern "C" fn body(user: *mut c_void) -> c_int {
                    // SAFETY: the counter passed below.
                    unsafe { *user.cast::<c_int>() += 1 };
                    7
                }
                let n = text(name);
                let mut calls: c_int = 0;
                let mut result: c_int = -1;
                let cb: FerrolockCallback = if *callback { Some(body) } else { None };
                let status = check(
                    ferrolock_run(self.provider_ptr(*p), ptr(&n), ttl.ms(), wait.ms(), cb, (&mut calls as *mut c_int).cast(), &mut result),
                    "run",
                );
                self.after_run(status, *p, &n, false, ttl.ms(), *callback && ttl.ms() <= MAX_TTL && ttl.ms() > 0, calls, result);
            }
            Op::RunWith { p, name, options: o, wait } => {
                extern "C" fn body(held: *const FerrolockHeld, user: *mut c_void) -> c_int {
                    // SAFETY: the handle is valid during the callback; the counter is passed below.
                    unsafe {
                        assert!(ferrolock_fence(held) > 0);
                        let _ = ferrolock_is_lost(held);
                        *user.cast::<c_int>() += 1;
                    }
                    9
                }
                let n = text(name);
                let buf = options(o);
                let optr = buf.as_ref().map_or(null(), |b| b.ptr());
                let mut calls: c_int = 0;
                let mut result: c_int = -1;
                let status = check(
                    ferrolock_run_with(self.provider_ptr(*p), ptr(&n), optr, wait.ms(), Some(body), (&mut calls as *mut c_int).cast(), &mut result),
                    "run_with",
                );
                let (shared, ttl, valid) = buf.as_ref().map_or((false, 0, false), |b| (b.shared, b.ttl, b.valid));
                self.after_run(status, *p, &n, shared, ttl, valid, calls, result);
            }
            Op::Release { h, null_out } => {
                let hi = self.held_index(*h);
                let hp = hi.map_or(null(), |i| self.helds[i].ptr);
                let mut was = true;
                let out = if *null_out { null_mut() } else { &mut was as *mut bool };
                let status = check(ferrolock_release(hp, out), "release");
                let Some(i) = hi else {
                    assert_eq!(status, FerrolockInvalidArgument);
                    return;
                };
                let held = &self.helds[i];
                if held.state != HeldState::Armed {
                    // Idempotent: a second release is OK with false.
                    assert!(matches!(status, FerrolockOk | FerrolockClosed), "release of a {:?} handle: {status:?}", held.state);
                    if status == FerrolockOk && !*null_out {
                        assert!(!was, "a {:?} handle released a lock", held.state);
                    }
                } else if self.closed.contains(&held.provider) {
                    assert_eq!(status, FerrolockClosed);
                } else {
                    assert!(matches!(status, FerrolockOk | FerrolockUnavailable), "release: {status:?} {}", last_error());
                    if status == FerrolockOk && !*null_out && self.leases[held.lease].live {
                        assert!(was, "a live lease was not held at release");
                    }
                }
                if status == FerrolockOk {
                    let lease = self.helds[i].lease;
                    if self.helds[i].state == HeldState::Armed {
                        self.end_lease(lease);
                    }
                    self.helds[i].state = HeldState::Released;
                }
            }
            Op::Refresh { h, ttl } => {
                let hi = self.held_index(*h);
                let hp = hi.map_or(null(), |i| self.helds[i].ptr);
                let status = check(ferrolock_refresh(hp, ttl.ms()), "refresh");
                let Some(i) = hi else {
                    assert_eq!(status, FerrolockInvalidArgument);
                    return;
                };
                let held = &self.helds[i];
                let lease = held.lease;
                match held.state {
                    HeldState::Released | HeldState::HandedOff => {
                        assert!(matches!(status, FerrolockNotHeld | FerrolockClosed | FerrolockInvalidArgument), "refresh of a {:?} handle: {status:?}", held.state)
                    }
                    HeldState::Armed if self.closed.contains(&held.provider) => {
                        assert!(matches!(status, FerrolockClosed | FerrolockInvalidArgument), "{status:?}")
                    }
                    HeldState::Armed => {
                        let ttl_ok = (1..=MAX_TTL).contains(&ttl.ms());
                        if !ttl_ok {
                            assert_eq!(status, FerrolockInvalidArgument);
                        } else if self.leases[lease].live {
                            assert_eq!(status, FerrolockOk, "refresh of a live lease: {}", last_error());
                        } else {
                            assert!(matches!(status, FerrolockOk | FerrolockLost), "{status:?}");
                        }
                        if (status == FerrolockOk && ttl.ms() < LONG_TTL) || status == FerrolockLost {
                            self.end_lease(lease);
                        }
                    }
                }
            }
            Op::Fence(h) => {
                let hp = self.held_index(*h).map_or(null(), |i| self.helds[i].ptr);
                let fence = ferrolock_fence(hp);
                if hp.is_null() {
                    assert_eq!(fence, 0);
                }
            }
            Op::IsLost(h) => {
                let hi = self.held_index(*h);
                let hp = hi.map_or(null(), |i| self.helds[i].ptr);
                let lost = ferrolock_is_lost(hp);
                match hi {
                    None => assert!(!lost),
                    Some(i) => {
                        if lost {
                            let lease = self.helds[i].lease;
                            self.end_lease(lease);
                        }
                    }
                }
            }
            Op::IntoToken { h, null_out } => {
                let hi = self.held_index(*h);
                let hp = hi.map_or(null(), |i| self.helds[i].ptr);
                let mut token: *mut c_char = null_mut();
                let out = if *null_out { null_mut() } else { &mut token as *mut _ };
                let status = check(ferrolock_into_token(hp, out), "into_token");
                let Some(i) = hi.filter(|_| !*null_out) else {
                    assert_eq!(status, FerrolockInvalidArgument);
                    return;
                };
                let held = &self.helds[i];
                match held.state {
                    HeldState::Released | HeldState::HandedOff => {
                        assert!(matches!(status, FerrolockNotHeld | FerrolockClosed), "into_token of a {:?} handle: {status:?}", held.state)
                    }
                    HeldState::Armed if self.closed.contains(&held.provider) => assert_eq!(status, FerrolockClosed),
                    HeldState::Armed => assert!(matches!(status, FerrolockOk | FerrolockLost), "{status:?} {}", last_error()),
                }
                if status == FerrolockOk {
                    assert!(!token.is_null());
                    let lease = held.lease;
                    self.helds[i].state = HeldState::HandedOff;
                    self.tokens.push(Token { ptr: token, lease });
                } else {
                    assert!(token.is_null());
                }
            }
            Op::Resume { p, token } => {
                if self.tokens.is_empty() {
                    return;
                }
                let t = &self.tokens[*token as usize % self.tokens.len()];
                let (tp, lease) = (t.ptr, t.lease);
                let mut held = null_mut();
                let status = check(ferrolock_resume(self.provider_ptr(*p), tp, &mut held), "resume");
                let Some(prov) = self.provider(*p) else {
                    assert_eq!(status, FerrolockInvalidArgument);
                    return;
                };
                let l = &self.leases[lease];
                if prov.closed {
                    assert_eq!(status, FerrolockClosed);
                } else if prov.store.sqlite != l.store.sqlite {
                    assert_eq!(status, FerrolockInvalidToken, "a token of another backend");
                } else if l.live {
                    assert_eq!(status, FerrolockOk, "resume of a live lease: {}", last_error());
                } else {
                    assert!(matches!(status, FerrolockOk | FerrolockLost), "{status:?}");
                }
                if status == FerrolockOk {
                    assert!(!held.is_null());
                    let id = prov.id;
                    self.helds.push(Held { ptr: held, state: HeldState::Armed, lease, provider: id });
                } else {
                    assert!(held.is_null());
                }
            }
            Op::ResumeRaw { p, token } => {
                let t = text(token);
                let mut held = null_mut();
                let status = check(ferrolock_resume(self.provider_ptr(*p), ptr(&t), &mut held), "resume");
                assert_ne!(status, FerrolockOk, "a made-up token resumed");
                assert!(held.is_null());
                if self.provider(*p).is_some_and(|p| !p.closed) {
                    // A string that is not UTF-8 is a bad argument before it is a bad token.
                    let expected = match &t {
                        Some(t) if t.to_str().is_ok() => FerrolockInvalidToken,
                        _ => FerrolockInvalidArgument,
                    };
                    assert_eq!(status, expected, "{}", last_error());
                }
            }
            Op::FreeHeld(i) => {
                if self.helds.is_empty() {
                    ferrolock_held_free(null_mut());
                    return;
                }
                let held = self.helds.remove(*i as usize % self.helds.len());
                if held.state == HeldState::Armed {
                    // Freed armed: released, perhaps in the background;
                    // not at all if its provider is closed.
                    self.end_lease(held.lease);
                    if self.closed.contains(&held.provider) {
                        self.leases[held.lease].orphaned = true;
                    }
                }
                ferrolock_held_free(held.ptr);
            }
            Op::State { p, name } => {
                let n = text(name);
                let mut info = null_mut();
                let status = check(ferrolock_state(self.provider_ptr(*p), ptr(&n), &mut info), "state");
                self.after_query(status, *p, &n, true);
                if status == FerrolockOk {
                    let nm = n.as_ref().unwrap().to_str().unwrap();
                    let store = &self.provider(*p).unwrap().store;
                    if self.leases.iter().any(|l| l.live && l.store == *store && l.name == nm) {
                        assert!(!info.is_null(), "{nm:?} is held but state says free");
                    }
                    ferrolock_lock_info_free(info);
                } else {
                    assert!(info.is_null());
                }
            }
            Op::List { p, prefix } => {
                let n = text(prefix);
                let mut list = null_mut();
                let status = check(ferrolock_list(self.provider_ptr(*p), ptr(&n), &mut list), "list");
                self.after_query(status, *p, &n, false);
                if status == FerrolockOk {
                    let l = &*list;
                    assert_eq!(l.items.is_null(), l.len == 0);
                    ferrolock_lock_list_free(list);
                } else {
                    assert!(list.is_null());
                }
            }
            Op::ForceRelease { p, name } => {
                let n = text(name);
                let mut was = false;
                let status = check(ferrolock_force_release(self.provider_ptr(*p), ptr(&n), &mut was), "force_release");
                self.after_query(status, *p, &n, true);
                if status == FerrolockOk {
                    let nm = n.as_ref().unwrap().to_str().unwrap().to_owned();
                    let store = self.provider(*p).unwrap().store.clone();
                    for l in &mut self.leases {
                        if l.store == store && l.name == nm {
                            assert!(was || !l.live, "{nm:?} was held, force_release says not");
                            l.live = false;
                        }
                    }
                }
            }
            Op::DecodeToken(i) => {
                let tp = if self.tokens.is_empty() { null() } else { self.tokens[*i as usize % self.tokens.len()].ptr.cast_const() };
                let mut info = null_mut();
                let status = check(ferrolock_decode_token(tp, &mut info), "decode_token");
                if tp.is_null() {
                    assert_eq!(status, FerrolockInvalidArgument);
                } else {
                    assert_eq!(status, FerrolockOk);
                    let lease = &self.leases[self.tokens[*i as usize % self.tokens.len()].lease];
                    assert_eq!(CStr::from_ptr((*info).name).to_str().unwrap(), lease.name);
                    assert_eq!((*info).shared, lease.shared);
                }
                ferrolock_token_info_free(info);
            }
            Op::Subscribe(p) => {
                let mut ev = null_mut();
                let status = check(ferrolock_events_subscribe(self.provider_ptr(*p), &mut ev), "events_subscribe");
                match self.provider(*p) {
                    None => assert_eq!(status, FerrolockInvalidArgument),
                    Some(pr) if pr.closed => assert!(matches!(status, FerrolockClosed | FerrolockOk), "{status:?}"),
                    Some(_) => assert_eq!(status, FerrolockOk),
                }
                if status == FerrolockOk {
                    self.events.push(ev);
                } else {
                    assert!(ev.is_null());
                }
            }
            Op::NextEvent(i) => {
                let ev = if self.events.is_empty() { null() } else { self.events[*i as usize % self.events.len()].cast_const() };
                let mut event = null_mut();
                let status = check(ferrolock_events_next(ev, 0, &mut event), "events_next");
                if ev.is_null() {
                    assert_eq!(status, FerrolockInvalidArgument);
                } else {
                    assert!(matches!(status, FerrolockOk | FerrolockTimeout | FerrolockClosed), "{status:?}");
                }
                assert_eq!(status == FerrolockOk, !event.is_null());
                ferrolock_event_free(event);
            }
            Op::FreeEvents(i) => {
                if self.events.is_empty() {
                    ferrolock_events_free(null_mut());
                    return;
                }
                let ev = self.events.remove(*i as usize % self.events.len());
                ferrolock_events_free(ev);
            }
            Op::Race { h, a, b } => {
                if self.helds.is_empty() {
                    return;
                }
                let i = *h as usize % self.helds.len();
                let hp = self.helds[i].ptr as usize;
                let barrier = std::sync::Barrier::new(2);
                let (ra, rb) = std::thread::scope(|scope| {
                    let run = |op: RaceOp| {
                        let barrier = &barrier;
                        scope.spawn(move || {
                            barrier.wait();
                            // SAFETY: the handle is freed only after both threads end.
                            unsafe { race_call(hp as *const FerrolockHeld, op) }
                        })
                    };
                    let (ta, tb) = (run(*a), run(*b));
                    (ta.join().unwrap(), tb.join().unwrap())
                });
                let results = [ra, rb];
                if std::env::var_os("FERROLOCK_FUZZ_TRACE").is_some() {
                    for r in &results {
                        eprintln!("  {:?}: {:?} (held: {})", r.op, r.status, r.was_held);
                    }
                }
                // One lease ends once: at most one release says it held the
                // lock, at most one hand-off succeeds, and not both.
                let released = results.iter().filter(|r| matches!(r.op, RaceOp::Release) && r.status == FerrolockOk && r.was_held).count();
                let handed = results.iter().filter(|r| matches!(r.op, RaceOp::IntoToken) && r.status == FerrolockOk).count();
                assert!(released + handed <= 1, "a handle released or handed off twice at once ({released} releases, {handed} tokens)");
                let lease = self.helds[i].lease;
                for r in &results {
                    match (r.op, r.status) {
                        (RaceOp::Release, FerrolockOk) => {
                            if self.helds[i].state == HeldState::Armed {
                                self.end_lease(lease);
                                self.helds[i].state = HeldState::Released;
                            }
                        }
                        (RaceOp::IntoToken, FerrolockOk) => {
                            self.helds[i].state = HeldState::HandedOff;
                            self.tokens.push(Token { ptr: r.token as *mut c_char, lease });
                        }
                        (RaceOp::Refresh(ttl), FerrolockOk) if ttl.ms() < LONG_TTL => self.end_lease(lease),
                        (RaceOp::Refresh(_), FerrolockLost) => self.end_lease(lease),
                        _ => {}
                    }
                }
            }
            Op::StatusCode(n) => {
                let code = CStr::from_ptr(ferrolock_status_code(*n));
                assert_eq!(code.to_bytes() == b"UNKNOWN", !(0..=9).contains(n), "{n}");
            }
        }
    }

    /// The statuses an acquire call may give, and the model's new handle.
    #[allow(clippy::too_many_arguments)]
    fn after_acquire(&mut self, status: FerrolockStatus, held: *mut FerrolockHeld, p: Slot, name: &Option<CString>, shared: bool, ttl: u64, null_out: bool, waited: bool, options_ok: bool) {
        let Some(prov) = self.provider(p) else {
            assert_eq!(status, FerrolockInvalidArgument);
            return;
        };
        if null_out || !options_ok || !name_ok(name) || !(1..=MAX_TTL).contains(&ttl) {
            assert!(matches!(status, FerrolockInvalidArgument | FerrolockClosed), "bad input: {status:?}");
            assert!(held.is_null());
            return;
        }
        if prov.closed {
            assert_eq!(status, FerrolockClosed);
        } else {
            let allowed = if waited { matches!(status, FerrolockOk | FerrolockTimeout) } else { status == FerrolockOk };
            assert!(allowed, "acquire: {status:?} {}", last_error());
        }
        if status == FerrolockTimeout {
            assert!(held.is_null());
        }
        let prov = Provider { ptr: prov.ptr, id: prov.id, store: prov.store.clone(), closed: prov.closed };
        self.acquired(status, held, &prov, name, shared, ttl, waited);
    }

    #[allow(clippy::too_many_arguments)]
    fn after_run(&mut self, status: FerrolockStatus, p: Slot, name: &Option<CString>, shared: bool, ttl: u64, valid: bool, calls: c_int, result: c_int) {
        assert!(calls <= 1, "the body ran {calls} times");
        if calls == 1 {
            assert!(matches!(status, FerrolockOk | FerrolockLost), "{status:?}");
            assert!(result == 7 || result == 9, "callback_result {result}");
        } else {
            assert_ne!(status, FerrolockOk, "run returned OK without running its body");
            assert!(result == 0 || result == -1, "callback_result {result} without a call");
            if status == FerrolockTimeout {
                // Past argument checks, *callback_result says 0 when the body did not run.
                assert_eq!(result, 0, "callback_result after a timeout");
            }
        }
        let Some(prov) = self.provider(p) else {
            assert_eq!(status, FerrolockInvalidArgument);
            return;
        };
        if !valid || !name_ok(name) || !(1..=MAX_TTL).contains(&ttl) {
            assert!(matches!(status, FerrolockInvalidArgument | FerrolockClosed), "bad input: {status:?} {}", last_error());
            return;
        }
        if prov.closed {
            assert_eq!(status, FerrolockClosed);
            return;
        }
        let nm = name.as_ref().unwrap().to_str().unwrap();
        if self.conflicting(&prov.store, nm, shared) {
            assert_eq!(status, FerrolockTimeout, "run got {nm:?} while another holds it");
        } else {
            assert!(matches!(status, FerrolockOk | FerrolockTimeout | FerrolockLost), "run: {status:?} {}", last_error());
        }
    }

    fn after_query(&self, status: FerrolockStatus, p: Slot, name: &Option<CString>, is_name: bool) {
        let Some(prov) = self.provider(p) else {
            assert_eq!(status, FerrolockInvalidArgument);
            return;
        };
        let ok = if is_name {
            name_ok(name)
        } else {
            name.as_ref().is_some_and(|n| n.to_str().is_ok_and(|s| !s.chars().any(char::is_control)))
        };
        if !ok {
            assert!(matches!(status, FerrolockInvalidArgument | FerrolockClosed), "{status:?}");
        } else if prov.closed {
            assert_eq!(status, FerrolockClosed);
        } else {
            assert_eq!(status, FerrolockOk, "{}", last_error());
        }
    }

    /// Release and free everything; then every store this input used must
    /// list no lock.
    fn finish(mut self) {
        unsafe {
            for h in std::mem::take(&mut self.helds) {
                let mut was = false;
                if check(ferrolock_release(h.ptr, &mut was), "release at the end") == FerrolockOk {
                    // Its tokens (or those of the handle it was resumed from) now resume LOST.
                    self.end_lease(h.lease);
                }
                ferrolock_held_free(h.ptr);
            }
            let stores = std::mem::take(&mut self.stores);
            let mut cleaners: Vec<(Store, *mut FerrolockLocks)> = Vec::new();
            for (store, url) in &stores {
                let c = CString::new(url.as_str()).unwrap();
                let mut locks = null_mut();
                assert_eq!(check(ferrolock_connect(c.as_ptr(), &mut locks), "connect at the end"), FerrolockOk);
                cleaners.push((store.clone(), locks));
            }
            for t in std::mem::take(&mut self.tokens) {
                let lease = &self.leases[t.lease];
                if let Some((_, locks)) = cleaners.iter().find(|(s, _)| s.sqlite == lease.store.sqlite) {
                    let mut held = null_mut();
                    let status = check(ferrolock_resume(*locks, t.ptr, &mut held), "resume at the end");
                    if lease.live {
                        assert_eq!(status, FerrolockOk, "{}", last_error());
                    }
                    if status == FerrolockOk {
                        check(ferrolock_release(held, null_mut()), "release at the end");
                        // A lease handed off twice (a token resumed, then
                        // handed off again) has two tokens: the second now
                        // resumes LOST.
                        self.end_lease(t.lease);
                    }
                    ferrolock_held_free(held);
                }
                ferrolock_string_free(t.ptr);
            }
            for ev in self.events.drain(..) {
                ferrolock_events_free(ev);
            }
            for p in self.providers.drain(..) {
                ferrolock_locks_free(p.ptr);
            }
            for l in self.leases.iter().filter(|l| l.orphaned) {
                let (_, locks) = cleaners.iter().find(|(s, _)| *s == l.store).unwrap();
                let name = CString::new(l.name.as_str()).unwrap();
                check(ferrolock_force_release(*locks, name.as_ptr(), null_mut()), "force_release at the end");
            }
            for (store, locks) in cleaners {
                // A handle freed while armed may release in the background: wait a little.
                let mut left = usize::MAX;
                for _ in 0..200 {
                    let mut list = null_mut();
                    assert_eq!(check(ferrolock_list(locks, c"".as_ptr(), &mut list), "list at the end"), FerrolockOk);
                    left = (*list).len;
                    ferrolock_lock_list_free(list);
                    if left == 0 {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                assert_eq!(left, 0, "{store:?}: locks still held at the end");
                ferrolock_locks_free(locks);
            }
        }
    }
}

fuzz_target!(|input: Input| {
    let mut world = World {
        providers: Vec::new(),
        helds: Vec::new(),
        leases: Vec::new(),
        tokens: Vec::new(),
        events: Vec::new(),
        stores: Vec::new(),
        closed: Vec::new(),
        next_id: 0,
    };
    // FERROLOCK_FUZZ_TRACE=1 prints each call before it runs (fuzz/README.md).
    let trace = std::env::var_os("FERROLOCK_FUZZ_TRACE").is_some();
    for op in input.ops.iter().take(48) {
        if trace {
            eprintln!("{op:?}");
        }
        world.run(op);
    }
    world.finish();
});
