//! The tables, functions and statements, written for one schema. What each
//! operation runs is listed in docs/backends/postgres.md; keep the two
//! together.
//!
//! Keys are `text COLLATE "C"` so that `list` orders them byte-wise, as the
//! other backends do. Modes: 0 exclusive, 1 shared. Lease expiries are by
//! the server's clock (`clock_timestamp()`).

/// Bumped when the DDL below changes: a schema whose marker differs is
/// (re)created under the DDL lock.
pub(crate) const VERSION: &str = "ferrolock schema 3";

/// The functions' setting. A lease or queue row lives for one acquisition,
/// so a hot key leaves dead versions of its rows behind until autovacuum
/// comes (a minute or more). A plain index scan marks the dead ones it
/// meets in the index and skips them from then on; a bitmap scan, which a
/// session's cached (generic) plan picks for a table that was new or small
/// when it was planned, visits every one of them at each call, so each
/// acquire and release slowed down with the number of acquisitions since the
/// last vacuum (a pair from 0.4 ms to 1.4 ms over 12 000 pairs on one key).
const PLAIN_INDEX_SCANS: &str = "SET enable_bitmapscan = off";

/// A prepared statement, by what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stmt {
    Acquire,
    Release,
    Refresh,
    ForceRelease,
    Inspect,
    List,
    Enqueue,
    Leave,
    AdvisoryAcquire,
    AdvisoryAcquireShared,
    AdvisoryRelease,
    AdvisoryReleaseShared,
    AdvisoryRefresh,
    AdvisoryInspect,
    AdvisoryList,
    AdvisoryForceRelease,
    AdvisoryHeld,
    Ping,
}

impl Stmt {
    pub(crate) const COUNT: usize = Stmt::Ping as usize + 1;

    /// Its name as a prepared statement (wire.rs prepares by name).
    pub(crate) fn name(self) -> &'static str {
        const NAMES: [&str; Stmt::COUNT] = [
            "fl0", "fl1", "fl2", "fl3", "fl4", "fl5", "fl6", "fl7", "fl8", "fl9", "fl10", "fl11", "fl12", "fl13", "fl14", "fl15",
            "fl16", "fl17",
        ];
        NAMES[self as usize]
    }
}

/// The statements of one schema, and its notification channel.
pub(crate) struct Sql {
    texts: Vec<String>,
    pub schema: String,
    /// `ferrolock_<schema>`: releases notify it with the key as payload.
    pub channel: String,
}

/// The advisory locks of `key` held in this database (a 64-bit key shows
/// as classid = high half, objid = low half, objsubid = 1).
const ADVISORY_LOCKS_OF: &str = "pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(a.key, 0)";

impl Sql {
    pub(crate) fn new(schema: &str) -> Sql {
        let s = format!("\"{schema}\"");
        let channel = format!("ferrolock_{schema}");
        let ms = |col: &str| format!("floor(extract(epoch FROM {col}) * 1000)::bigint");
        let texts = [
            (Stmt::Acquire, format!("SELECT * FROM {s}.ferrolock_acquire($1, $2, $3, $4, $5, $6)")),
            (Stmt::Release, format!("SELECT {s}.ferrolock_release($1, $2)")),
            (
                Stmt::Refresh,
                format!(
                    "UPDATE {s}.ferrolock_leases SET expires_at = clock_timestamp() + $3::bigint * interval '1 millisecond'
                     WHERE key = $1 AND owner = $2 AND expires_at > clock_timestamp()
                     RETURNING {}",
                    ms("expires_at")
                ),
            ),
            (Stmt::ForceRelease, format!("SELECT {s}.ferrolock_force_release($1)")),
            (
                Stmt::Inspect,
                format!(
                    "SELECT key, mode, fence, holder, {} FROM {s}.ferrolock_leases
                     WHERE key = $1 AND expires_at > clock_timestamp()",
                    ms("expires_at")
                ),
            ),
            (
                Stmt::List,
                format!(
                    "SELECT key, mode, fence, holder, {} FROM {s}.ferrolock_leases
                     WHERE starts_with(key, $1) AND expires_at > clock_timestamp() ORDER BY key",
                    ms("expires_at")
                ),
            ),
            (
                Stmt::Enqueue,
                format!(
                    "WITH stale AS (DELETE FROM {s}.ferrolock_waiters WHERE key = $1 AND expires_at <= clock_timestamp())
                     INSERT INTO {s}.ferrolock_waiters(key, mode, expires_at, owner, holder, ttl_ms, channel)
                     VALUES ($1, $2, clock_timestamp() + interval '5 seconds', $3, $4, $5, $6) RETURNING ticket"
                ),
            ),
            (Stmt::Leave, format!("SELECT {s}.ferrolock_leave($1, $2, $3)")),
            (Stmt::AdvisoryAcquire, advisory_acquire(&s, "pg_try_advisory_lock")),
            (Stmt::AdvisoryAcquireShared, advisory_acquire(&s, "pg_try_advisory_lock_shared")),
            (Stmt::AdvisoryRelease, format!("SELECT pg_advisory_unlock(hashtextextended($1, 0)), pg_notify('{channel}', $1)")),
            (
                Stmt::AdvisoryReleaseShared,
                format!("SELECT pg_advisory_unlock_shared(hashtextextended($1, 0)), pg_notify('{channel}', $1)"),
            ),
            (
                Stmt::AdvisoryRefresh,
                format!(
                    "UPDATE {s}.ferrolock_advisory SET expires_at = clock_timestamp() + $3::bigint * interval '1 millisecond'
                     WHERE key = $1 AND fence = $2"
                ),
            ),
            (Stmt::AdvisoryInspect, advisory_inspect(&s, "a.key = $1")),
            (Stmt::AdvisoryList, advisory_inspect(&s, "starts_with(a.key, $1)")),
            (
                Stmt::AdvisoryForceRelease,
                // Terminating the holders' sessions is the one way to free
                // another session's advisory lock; waits up to 5 s for each.
                format!(
                    "WITH a AS (SELECT $1::text AS key),
                     killed AS (SELECT pg_terminate_backend(l.pid, 5000) AS done FROM a, {ADVISORY_LOCKS_OF})
                     SELECT count(*) FILTER (WHERE done), pg_notify('{channel}', $1) FROM killed"
                ),
            ),
            (
                Stmt::AdvisoryHeld,
                // Whether the key's lock is held (exclusively, or at all): a
                // hint only, to spare opening a connection for a busy lock.
                format!(
                    "WITH a AS (SELECT $1::text AS key)
                     SELECT count(*) FILTER (WHERE l.mode = 'ExclusiveLock'), count(*) FROM a, {ADVISORY_LOCKS_OF}"
                ),
            ),
            (Stmt::Ping, "SELECT 1".to_owned()),
        ];
        debug_assert!(texts.iter().enumerate().all(|(i, (s, _))| *s as usize == i));
        Sql { texts: texts.into_iter().map(|(_, t)| t).collect(), schema: schema.to_owned(), channel }
    }

    pub(crate) fn text(&self, s: Stmt) -> &str {
        &self.texts[s as usize]
    }

    /// Whether the schema is there at this version: one query when it is.
    pub(crate) fn check(&self) -> String {
        format!(
            "SELECT obj_description(to_regprocedure('\"{}\".ferrolock_acquire(text,bytea,smallint,bigint,text,bigint)')::oid, 'pg_proc')",
            self.schema
        )
    }

    /// The DDL, in one transaction under a transaction-level advisory lock,
    /// so that processes starting at once create it once.
    pub(crate) fn ddl(&self) -> String {
        let s = format!("\"{}\"", self.schema);
        let channel = &self.channel;
        let create_schema =
            if self.schema == "public" { String::new() } else { format!("CREATE SCHEMA IF NOT EXISTS {s};") };
        format!(
            r#"BEGIN;
SELECT pg_advisory_xact_lock(hashtextextended('ferrolock ddl', 0));
{create_schema}
CREATE TABLE IF NOT EXISTS {s}.ferrolock_leases(
    key text COLLATE "C" NOT NULL,
    owner bytea NOT NULL,
    mode smallint NOT NULL,
    fence bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    holder text NOT NULL,
    PRIMARY KEY (key, owner)
);
CREATE TABLE IF NOT EXISTS {s}.ferrolock_fences(
    key text COLLATE "C" PRIMARY KEY,
    fence bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.ferrolock_waiters(
    ticket bigserial PRIMARY KEY,
    key text COLLATE "C" NOT NULL,
    mode smallint NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ferrolock_waiters_by_key ON {s}.ferrolock_waiters(key, ticket);
-- Schema 2: what a release needs to hand the lock to a waiter (NULL: the
-- waiter is only told, and takes it with an attempt of its own).
ALTER TABLE {s}.ferrolock_waiters
    ADD COLUMN IF NOT EXISTS owner bytea,
    ADD COLUMN IF NOT EXISTS holder text,
    ADD COLUMN IF NOT EXISTS ttl_ms bigint,
    ADD COLUMN IF NOT EXISTS channel text;
CREATE TABLE IF NOT EXISTS {s}.ferrolock_advisory(
    key text COLLATE "C" PRIMARY KEY,
    fence bigint NOT NULL,
    mode smallint NOT NULL,
    holder text NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE OR REPLACE FUNCTION {s}.ferrolock_acquire(
    p_key text, p_owner bytea, p_mode smallint, p_ttl_ms bigint, p_holder text, p_ticket bigint)
RETURNS TABLE(o_fence bigint, o_expires_ms bigint, o_retry_ms bigint)
LANGUAGE plpgsql {PLAIN_INDEX_SCANS} AS $fn$
DECLARE
    v_now timestamptz;
    v_fence bigint;
    v_expires timestamptz;
    v_soonest timestamptz;
BEGIN
    -- One attempt at a time per key (the lease mode's own lock space, seed 1).
    PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 1));
    v_now := clock_timestamp();
    DELETE FROM {s}.ferrolock_leases l WHERE l.key = p_key AND l.expires_at <= v_now;
    IF p_ticket IS NOT NULL THEN
        -- A release handed the lock to this waiter (its notice not heard yet).
        SELECT l.fence, l.expires_at INTO v_fence, v_expires
        FROM {s}.ferrolock_leases l WHERE l.key = p_key AND l.owner = p_owner;
        IF FOUND THEN
            DELETE FROM {s}.ferrolock_waiters w WHERE w.ticket = p_ticket;
            o_fence := v_fence;
            o_expires_ms := floor(extract(epoch FROM v_expires) * 1000)::bigint;
            RETURN NEXT;
            RETURN;
        END IF;
        -- The attempt is the queued waiter's heartbeat.
        INSERT INTO {s}.ferrolock_waiters AS w (ticket, key, mode, expires_at, owner, holder, ttl_ms)
        VALUES (p_ticket, p_key, p_mode, v_now + interval '5 seconds', p_owner, p_holder, p_ttl_ms)
        ON CONFLICT (ticket) DO UPDATE SET expires_at = excluded.expires_at;
    END IF;
    IF EXISTS (SELECT 1 FROM {s}.ferrolock_leases l WHERE l.key = p_key AND (p_mode = 0 OR l.mode = 0))
       OR EXISTS (SELECT 1 FROM {s}.ferrolock_waiters w
                  WHERE w.key = p_key AND w.expires_at > v_now
                    AND (p_ticket IS NULL OR w.ticket < p_ticket) AND (p_mode = 0 OR w.mode = 0)) THEN
        SELECT min(l.expires_at) INTO v_soonest FROM {s}.ferrolock_leases l WHERE l.key = p_key;
        IF v_soonest IS NOT NULL THEN
            o_retry_ms := ceil(greatest(0, extract(epoch FROM v_soonest - v_now) * 1000))::bigint;
        END IF;
        RETURN NEXT;
        RETURN;
    END IF;
    INSERT INTO {s}.ferrolock_fences AS f (key, fence) VALUES (p_key, 1)
    ON CONFLICT (key) DO UPDATE SET fence = f.fence + 1
    RETURNING f.fence INTO v_fence;
    v_expires := v_now + p_ttl_ms * interval '1 millisecond';
    INSERT INTO {s}.ferrolock_leases(key, owner, mode, fence, expires_at, holder)
    VALUES (p_key, p_owner, p_mode, v_fence, v_expires, p_holder);
    IF p_ticket IS NOT NULL THEN
        DELETE FROM {s}.ferrolock_waiters w WHERE w.ticket = p_ticket;
    END IF;
    o_fence := v_fence;
    o_expires_ms := floor(extract(epoch FROM v_expires) * 1000)::bigint;
    RETURN NEXT;
END
$fn$;

-- The lock of p_key was just given up: hand it to the head of the queue
-- (an exclusive waiter, or every shared waiter at the head) by writing
-- their lease and telling their provider on its own channel (payload: the
-- key, a newline, owner hex|fence|expiry ms); else notify the key, so that
-- waiters try. Nobody queued: only the notice (cheap, no lock taken).
CREATE OR REPLACE FUNCTION {s}.ferrolock_handoff(p_key text)
RETURNS void LANGUAGE plpgsql {PLAIN_INDEX_SCANS} AS $fn$
DECLARE
    v_now timestamptz;
    v_held_x boolean;
    v_held boolean;
    v_handed boolean := false;
    v_fence bigint;
    v_expires timestamptz;
    v_w record;
BEGIN
    IF EXISTS (SELECT 1 FROM {s}.ferrolock_waiters q WHERE q.key = p_key) THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 1));
        v_now := clock_timestamp();
        DELETE FROM {s}.ferrolock_leases l WHERE l.key = p_key AND l.expires_at <= v_now;
        DELETE FROM {s}.ferrolock_waiters q WHERE q.key = p_key AND q.expires_at <= v_now;
        SELECT coalesce(bool_or(l.mode = 0), false), count(*) > 0 INTO v_held_x, v_held
        FROM {s}.ferrolock_leases l WHERE l.key = p_key;
        IF NOT v_held_x THEN
            FOR v_w IN SELECT * FROM {s}.ferrolock_waiters q WHERE q.key = p_key ORDER BY q.ticket LIMIT 32 LOOP
                EXIT WHEN v_w.mode = 0 AND (v_held OR v_handed);
                EXIT WHEN v_w.owner IS NULL OR v_w.channel IS NULL OR v_w.ttl_ms IS NULL;
                -- Gone meanwhile (it left the queue: ferrolock_leave takes no
                -- lock of the key): nothing to hand it.
                DELETE FROM {s}.ferrolock_waiters q WHERE q.ticket = v_w.ticket;
                CONTINUE WHEN NOT FOUND;
                INSERT INTO {s}.ferrolock_fences AS f (key, fence) VALUES (p_key, 1)
                ON CONFLICT (key) DO UPDATE SET fence = f.fence + 1
                RETURNING f.fence INTO v_fence;
                v_expires := v_now + v_w.ttl_ms * interval '1 millisecond';
                INSERT INTO {s}.ferrolock_leases AS l (key, owner, mode, fence, expires_at, holder)
                VALUES (p_key, v_w.owner, v_w.mode, v_fence, v_expires, coalesce(v_w.holder, ''))
                ON CONFLICT (key, owner) DO UPDATE
                    SET mode = excluded.mode, fence = excluded.fence, expires_at = excluded.expires_at;
                PERFORM pg_notify(v_w.channel, p_key || E'\n' || encode(v_w.owner, 'hex') || '|' || v_fence
                                  || '|' || floor(extract(epoch FROM v_expires) * 1000)::bigint);
                v_handed := true;
                EXIT WHEN v_w.mode = 0;
            END LOOP;
        END IF;
    END IF;
    IF NOT v_handed THEN
        PERFORM pg_notify('{channel}', p_key);
    END IF;
END
$fn$;

CREATE OR REPLACE FUNCTION {s}.ferrolock_release(p_key text, p_owner bytea)
RETURNS boolean LANGUAGE plpgsql {PLAIN_INDEX_SCANS} AS $fn$
DECLARE
    v_live boolean;
BEGIN
    DELETE FROM {s}.ferrolock_leases l WHERE l.key = p_key AND l.owner = p_owner
    RETURNING l.expires_at > clock_timestamp() INTO v_live;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM {s}.ferrolock_handoff(p_key);
    RETURN v_live;
END
$fn$;

CREATE OR REPLACE FUNCTION {s}.ferrolock_force_release(p_key text)
RETURNS boolean LANGUAGE plpgsql {PLAIN_INDEX_SCANS} AS $fn$
DECLARE
    v_live bigint;
BEGIN
    WITH gone AS (DELETE FROM {s}.ferrolock_leases l WHERE l.key = p_key RETURNING l.expires_at)
    SELECT count(*) FILTER (WHERE gone.expires_at > clock_timestamp()) INTO v_live FROM gone;
    PERFORM {s}.ferrolock_handoff(p_key);
    RETURN v_live > 0;
END
$fn$;

-- A waiter leaves the queue (its wait ended without the lock). If a release
-- handed it the lock meanwhile (p_owner: its owner id, if known), that lease
-- is withdrawn and handed on; its fence is never issued again. 1: left the
-- queue; 2: gave a handed lease back; 0: neither.
CREATE OR REPLACE FUNCTION {s}.ferrolock_leave(p_ticket bigint, p_key text, p_owner bytea)
RETURNS integer LANGUAGE plpgsql {PLAIN_INDEX_SCANS} AS $fn$
BEGIN
    DELETE FROM {s}.ferrolock_waiters w WHERE w.ticket = p_ticket;
    IF FOUND THEN
        -- Those queued behind it may take the lock now.
        PERFORM pg_notify('{channel}', p_key);
        RETURN 1;
    END IF;
    IF p_owner IS NOT NULL THEN
        DELETE FROM {s}.ferrolock_leases l WHERE l.key = p_key AND l.owner = p_owner;
        IF FOUND THEN
            PERFORM {s}.ferrolock_handoff(p_key);
            RETURN 2;
        END IF;
    END IF;
    RETURN 0;
END
$fn$;

COMMENT ON FUNCTION {s}.ferrolock_acquire(text, bytea, smallint, bigint, text, bigint) IS '{VERSION}';
COMMIT;"#
        )
    }
}

/// Take the advisory lock of `$1` (a 64-bit hash of the key) and, only if
/// it was had, bump the key's fence and record who holds it: one statement.
fn advisory_acquire(s: &str, take: &str) -> String {
    format!(
        "INSERT INTO {s}.ferrolock_advisory AS a (key, fence, mode, holder, expires_at)
         SELECT $1, 1, $2, $3, clock_timestamp() + $4::bigint * interval '1 millisecond'
         WHERE {take}(hashtextextended($1, 0))
         ON CONFLICT (key) DO UPDATE
             SET fence = a.fence + 1, mode = excluded.mode, holder = excluded.holder, expires_at = excluded.expires_at
         RETURNING a.fence, floor(extract(epoch FROM a.expires_at) * 1000)::bigint"
    )
}

/// The advisory locks held now, with the fence, holder and expiry of their
/// latest acquisition; `filter` on `a.key`.
fn advisory_inspect(s: &str, filter: &str) -> String {
    format!(
        "SELECT a.key, a.fence, a.holder, floor(extract(epoch FROM a.expires_at) * 1000)::bigint,
                held.exclusive, held.shared
         FROM {s}.ferrolock_advisory a
         CROSS JOIN LATERAL (
             SELECT count(*) FILTER (WHERE l.mode = 'ExclusiveLock') AS exclusive,
                    count(*) FILTER (WHERE l.mode = 'ShareLock') AS shared
             FROM {ADVISORY_LOCKS_OF}) held
         WHERE {filter} AND (held.exclusive > 0 OR held.shared > 0)
         ORDER BY a.key"
    )
}
