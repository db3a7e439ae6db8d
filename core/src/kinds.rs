//! The plain kinds every module names: a lock's mode, a backend's kind.

/// Exclusive or shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// One holder at a time.
    #[default]
    Exclusive,
    /// Many shared holders, and no exclusive one meanwhile.
    Shared,
}

impl Mode {
    /// `exclusive` or `shared`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Exclusive => "exclusive",
            Mode::Shared => "shared",
        }
    }
}

/// The kinds of backend, as tokens record them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// `memory://`
    Memory,
    /// `sqlite://`
    Sqlite,
    /// `redis://`, `rediss://`, `redis+cluster://`
    Redis,
    /// `postgres://`
    Postgres,
    /// `couchbase://`
    Couchbase,
}

impl BackendKind {
    /// The backend's name: `memory`, `sqlite`, `redis`…
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Memory => "memory",
            BackendKind::Sqlite => "sqlite",
            BackendKind::Redis => "redis",
            BackendKind::Postgres => "postgres",
            BackendKind::Couchbase => "couchbase",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            BackendKind::Memory => 1,
            BackendKind::Sqlite => 2,
            BackendKind::Redis => 3,
            BackendKind::Postgres => 4,
            BackendKind::Couchbase => 5,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => BackendKind::Memory,
            2 => BackendKind::Sqlite,
            3 => BackendKind::Redis,
            4 => BackendKind::Postgres,
            5 => BackendKind::Couchbase,
            _ => return None,
        })
    }
}
