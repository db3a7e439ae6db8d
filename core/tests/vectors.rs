//! The shared vectors of `tests/vectors/`: every language's suite reads them.

use ferrolock::{ErrorKind, Mode};
use serde_json::Value;

fn vectors(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors").join(file);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn error_table_matches_errors_json() {
    let table = vectors("errors.json");
    let rows = table["errors"].as_array().unwrap();
    assert_eq!(rows.len(), ErrorKind::ALL.len());
    for (row, kind) in rows.iter().zip(ErrorKind::ALL) {
        assert_eq!(row["kind"], format!("{kind:?}"));
        assert_eq!(row["code"], kind.code(), "{kind:?}");
        assert_eq!(row["cli_exit"], kind.exit_code(), "{kind:?}");
    }
}

#[test]
fn valid_tokens_decode_to_their_fields() {
    let v = vectors("tokens.json");
    let valid = v["valid"].as_array().unwrap();
    assert!(valid.len() >= 5);
    for case in valid {
        let info = ferrolock::token::decode(case["token"].as_str().unwrap()).unwrap();
        assert_eq!(info.backend.name(), case["backend"]);
        assert_eq!(info.namespace, case["namespace"]);
        assert_eq!(info.name, case["name"]);
        assert_eq!(info.fence.to_string(), case["fence"]);
        assert_eq!(info.mode.as_str(), case["mode"]);
        assert_eq!(info.expires_at_ms.to_string(), case["expires_at_ms"]);
        assert_eq!(info.ttl_ms.to_string(), case["ttl_ms"]);
        assert_eq!(info.holder, case["holder"]);
    }
}

#[test]
fn invalid_tokens_give_their_error() {
    let v = vectors("tokens.json");
    for case in v["invalid"].as_array().unwrap() {
        let err = ferrolock::token::decode(case["token"].as_str().unwrap())
            .expect_err(case["why"].as_str().unwrap());
        assert_eq!(err.code(), case["error"], "{}", case["why"]);
    }
}

/// The Rust encoder writes the layout of docs/TOKEN.md (the one the vector
/// generator implements independently).
#[test]
fn tokens_written_by_rust_follow_the_documented_layout() {
    use base64::Engine as _;
    let locks = ferrolock::blocking::Locks::connect("memory://vectors-layout?namespace=ns1").unwrap();
    let held = locks.lock("layout").holder("h").shared().acquire(std::time::Duration::from_secs(1)).unwrap();
    let fence = held.fence();
    let token = held.into_token().unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&token["flk1.".len()..]).unwrap();
    assert_eq!(&raw[..4], &[1, 1, 1, 0]); // version, backend memory, mode shared, flags
    assert_eq!(u64::from_be_bytes(raw[20..28].try_into().unwrap()), fence);
    assert_eq!(u64::from_be_bytes(raw[36..44].try_into().unwrap()), 30_000);
    assert_eq!(raw[44] as usize, 3);
    assert_eq!(&raw[45..48], b"ns1");
    assert_eq!(&raw[48..50], &[0, 6]);
    assert_eq!(&raw[50..56], b"layout");
    let info = ferrolock::token::decode(&token).unwrap();
    assert_eq!((info.mode, info.holder.as_str()), (Mode::Shared, "h"));
    assert!(locks.resume(&token).unwrap().release().unwrap());
}

/// `ferrolock::duration`, which the CLI and C read strings with, against
/// the shared table: a bare number string is refused (C) or seconds (CLI).
#[test]
fn duration_strings_follow_durations_json() {
    use ferrolock::duration::{parse, Bare};
    let v = vectors("durations.json");
    for case in v["strings"].as_array().unwrap() {
        let input = case["input"].as_str().unwrap();
        let ms = case["ms"].as_f64().unwrap();
        for bare in [Bare::Refused, Bare::Seconds] {
            let d = parse(input, bare).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert!((d.as_secs_f64() * 1000.0 - ms).abs() < 1e-6, "{input:?}: {d:?}");
        }
    }
    for case in v["bare_strings"].as_array().unwrap() {
        let input = case["input"].as_str().unwrap();
        let e = parse(input, Bare::Refused).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().contains(&format!("{input:?} has no unit")), "{e}");
        let seconds = case["cli_seconds"].as_f64().unwrap();
        assert_eq!(parse(input, Bare::Seconds).unwrap().as_secs_f64(), seconds, "{input:?}");
    }
    for bad in v["invalid"].as_array().unwrap() {
        let bad = bad.as_str().unwrap();
        for bare in [Bare::Refused, Bare::Seconds] {
            let e = parse(bad, bare).expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }
}
