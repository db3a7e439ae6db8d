//! The URL parser: `url::parse` and each backend's `parse` (memory, sqlite,
//! redis, rediss, the quorum and cluster forms), through the public
//! `Locks::drive_of`, which parses a URL fully and opens nothing (so no
//! Redis URL here makes a connection), and `redact`.
//!
//! Checked: no panic; an error is `INVALID_ARGUMENT` (or `UNSUPPORTED`);
//! redaction is idempotent, and a password never shows in the redacted URL
//! or in an error message; a URL that parses names the drive its scheme has.
#![no_main]

use ferrolock::{redact, Drive, ErrorKind, Locks};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(url) = std::str::from_utf8(data) else { return };
    let redacted = redact(url);
    assert_eq!(redact(&redacted), redacted, "redaction is idempotent");
    let secret = password(url);
    if let Some(p) = secret {
        assert!(!redacted.contains(p), "{url:?} redacted as {redacted:?}");
    }
    match Locks::drive_of(url) {
        Ok(drive) => {
            let scheme = url.split("://").next().unwrap_or("").to_ascii_lowercase();
            let bypass = url.contains("bypass=");
            let expected = match scheme.as_str() {
                "memory" => Drive::Inline,
                "sqlite" => Drive::Blocking,
                _ => Drive::Io,
            };
            assert!(drive == expected || (bypass && drive == Drive::Inline), "{url:?}: {drive:?}");
        }
        Err(e) => {
            assert!(matches!(e.kind(), ErrorKind::InvalidArgument | ErrorKind::Unsupported), "{url:?}: {e}");
            if let Some(p) = secret {
                // The message may contain the password's text by chance (a
                // word of its own): compare with the same URL whose password
                // is another text of the same length.
                let shown = format!("{e} {e:?}");
                let other = if p.chars().all(|c| c == '~') { "!" } else { "~" }.repeat(p.len());
                if let Err(e2) = Locks::drive_of(&url.replacen(p, &other, 1)) {
                    let base = format!("{e2} {e2:?}");
                    assert!(shown.matches(p).count() <= base.matches(p).count(), "{url:?}: the error shows the password: {shown}");
                }
            }
        }
    }
});

/// The password of `scheme://user:PASS@host…` as the Redis backend reads
/// it (the authority ends at the first `/` or `?`; the user info at its
/// last `@`), when it is long enough and written once, so that finding it
/// in a message is a leak rather than a coincidence (and without `*`, `@`
/// or `:`, which the redacted form adds around `***`).
///
/// Without `://` (a typo such as `redis:/user:pass@host`) the password is
/// what follows the last `:` before the last `@`.
fn password(url: &str) -> Option<&str> {
    let p = match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
            let userinfo = &authority[..authority.rfind('@')?];
            userinfo.split_once(':')?.1
        }
        None => {
            let userinfo = &url[..url.rfind('@')?];
            userinfo.rsplit_once(':')?.1
        }
    };
    let plain = !p.contains(['*', '@', ':']);
    // Once regardless of case: the scheme is shown lowercased.
    let once = url.to_lowercase().matches(&p.to_lowercase()).count() == 1;
    (p.len() >= 4 && plain && once).then_some(p)
}
