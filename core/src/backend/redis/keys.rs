//! The keys of one lock in Redis: the lease hash at `__lock:<ns>:<name>`
//! and its companions (fence counter, queue, heartbeats, waiter details,
//! ticket sequence), all in the lock key's Cluster hash slot.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// The keys of one lock. Companion keys carry a hash tag chosen to hash to
/// the lock key's own slot, so all of them live on one Cluster node whatever
/// the name contains (braces included).
pub(crate) struct Keys {
    pub lock: String,
    pub fence: String,
    pub queue: String,
    pub beat: String,
    pub seq: String,
    pub wait: String,
}

impl Keys {
    pub(crate) fn of(lock: &str) -> Keys {
        let tag = slot_tag(slot(lock.as_bytes()));
        // `{tag}kind:lock`, in one allocation each (every operation makes these).
        let companion = |kind: &str| {
            let mut k = String::with_capacity(tag.len() + kind.len() + lock.len() + 3);
            k.push('{');
            k.push_str(tag);
            k.push('}');
            k.push_str(kind);
            k.push(':');
            k.push_str(lock);
            k
        };
        Keys {
            lock: lock.to_owned(),
            fence: companion("fence"),
            queue: companion("queue"),
            beat: companion("beat"),
            seq: companion("seq"),
            wait: companion("wait"),
        }
    }
}

/// The keys of the locks a provider used, each made once: every acquire
/// and release of a lock names the same six keys.
#[derive(Default)]
pub(crate) struct KeysMemo(Mutex<HashMap<Box<str>, Arc<Keys>>>);

impl KeysMemo {
    /// The keys of lock `key` (remembered for the next operations on it).
    pub(crate) fn of(&self, key: &str) -> Arc<Keys> {
        let mut known = self.0.lock();
        if let Some(k) = known.get(key) {
            return k.clone();
        }
        if known.len() >= 4096 {
            known.clear();
        }
        let k = Arc::new(Keys::of(key));
        known.insert(key.into(), k.clone());
        k
    }
}

/// The Redis Cluster hash slot of `key` (CRC16/XMODEM of its hash tag).
pub(crate) fn slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16(hashed) % 16384
}

/// CRC16/XMODEM, a byte at a time from a table (every acquire and release
/// computes one).
fn crc16(data: &[u8]) -> u16 {
    const TABLE: [u16; 256] = {
        let mut t = [0u16; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = (i as u16) << 8;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
                bit += 1;
            }
            t[i] = crc;
            i += 1;
        }
        t
    };
    data.iter().fold(0u16, |crc, &b| (crc << 8) ^ TABLE[((crc >> 8) as u8 ^ b) as usize])
}

/// A short string that hashes to `slot`: the smallest base-36 counter that does.
fn slot_tag(slot: u16) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    &TAGS.get_or_init(|| {
        let mut tags: Vec<Option<String>> = vec![None; 16384];
        let mut missing = 16384;
        let mut n: u64 = 0;
        while missing > 0 {
            let s = radix36(n);
            let sl = (crc16(s.as_bytes()) % 16384) as usize;
            if tags[sl].is_none() {
                tags[sl] = Some(s);
                missing -= 1;
            }
            n += 1;
        }
        tags.into_iter().map(|t| t.expect("every slot filled")).collect()
    })[slot as usize]
}

fn radix36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companion_keys_share_the_lock_slot() {
        for name in ["__lock:default:plain", "__lock:ns:{braces}", "__lock:ns:}{", "__lock:ns:{}x{y}", "__lock:n:ünï"] {
            let k = Keys::of(name);
            let s = slot(k.lock.as_bytes());
            for c in [&k.fence, &k.queue, &k.beat, &k.seq, &k.wait] {
                assert_eq!(slot(c.as_bytes()), s, "{c}");
            }
        }
        // The reference values of the Redis Cluster specification.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(slot(b"{user1000}.following"), slot(b"{user1000}.followers"));
    }
}
