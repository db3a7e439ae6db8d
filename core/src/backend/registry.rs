//! The machinery behind the one list of backends in `backend/mod.rs`: from
//! each row come the backend's module, its variants of [`Target`] (what its
//! URL says) and [`AnyBackend`] (an enum rather than trait objects, so that
//! no call allocates a boxed future), its schemes, and the cargo feature
//! that builds it (a scheme whose backend is not built is `UNSUPPORTED`,
//! naming the feature).
//!
//! A row: `Variant => module::BackendType, cfg(…), "feature", ["scheme", …]`;
//! `Variant(Kind) => …` when its locks are of another backend's kind (its
//! tokens say `Kind`).
//! The module provides `Target`, `parse(&mut UrlParts) -> Result<Target>`
//! and `BackendType::open(&Target, &Arc<Notices>) -> Result<BackendType>`,
//! and `BackendType` implements [`Backend`](super::contract::Backend).

/// What a scheme whose backend is not built says. A row whose cfg is
/// `any()` (never true) is a planned backend: no cargo feature builds it, so
/// "rebuild with it" would send the user after a feature that does not exist.
pub(crate) fn compiled_out(feature: &str, cfg: &str) -> String {
    if cfg.replace(' ', "") == "any()" {
        format!("anything yet: it is planned, not written (ferrolock has no cargo feature `{feature}` to rebuild with)")
    } else {
        format!("builds without the cargo feature `{feature}` (rebuild with it: --features {feature})")
    }
}

macro_rules! backends {
    ($($variant:ident $(($kind:ident))? => $module:ident :: $backend:ident, cfg($cfg:meta), $feature:literal, [$($scheme:literal),+]);+ $(;)?) => {
        $( #[cfg($cfg)] pub(crate) mod $module; )+

        /// What a provider URL says, by backend.
        #[derive(Debug)]
        pub(crate) enum Target {
            $( #[cfg($cfg)] $variant($module::Target), )+
        }

        impl Target {
            /// Parse the backend's part of a URL (the common part is parsed by `url::parse`).
            pub(crate) fn parse(url: &mut $crate::url::UrlParts) -> $crate::error::Result<Target> {
                #[allow(unreachable_patterns)]
                match url.scheme.as_str() {
                    $( #[cfg($cfg)] $($scheme)|+ => Ok(Target::$variant($module::parse(url)?)), )+
                    $( #[cfg(not($cfg))] $($scheme)|+ => Err($crate::error::Error::Unsupported {
                        backend: $feature,
                        operation: $crate::backend::registry::compiled_out($feature, stringify!($cfg)),
                    }), )+
                    other => Err(url.invalid(format_args!(
                        "unknown scheme {other:?}; expected {}",
                        [$($($scheme),+),+].join(", ")
                    ))),
                }
            }

            pub(crate) fn kind(&self) -> $crate::kinds::BackendKind {
                match self {
                    $( #[cfg($cfg)] Target::$variant(_) => kind_of!($variant $($kind)?), )+
                }
            }

            /// How the backend's operations complete (known before it opens).
            pub(crate) fn drive(&self) -> Drive {
                match self {
                    $( #[cfg($cfg)] Target::$variant(_) => <$module::$backend as Backend>::DRIVE, )+
                }
            }
        }

        /// Every compiled-in backend, and `bypass=true`.
        pub(crate) enum AnyBackend {
            Bypass(bypass::BypassBackend),
            $( #[cfg($cfg)] $variant($module::$backend), )+
        }

        impl AnyBackend {
            pub(crate) async fn open(
                target: &Target,
                bypass: bool,
                notices: &std::sync::Arc<$crate::notices::Notices>,
            ) -> $crate::error::Result<AnyBackend> {
                if bypass {
                    return Ok(AnyBackend::Bypass(bypass::BypassBackend));
                }
                Ok(match target {
                    $( #[cfg($cfg)] Target::$variant(t) => AnyBackend::$variant($module::$backend::open(t, notices).await?), )+
                })
            }
        }

        impl AnyBackend {
            pub(crate) fn drive(&self) -> Drive {
                match self {
                    AnyBackend::Bypass(_) => <bypass::BypassBackend as Backend>::DRIVE,
                    $( #[cfg($cfg)] AnyBackend::$variant(_) => <$module::$backend as Backend>::DRIVE, )+
                }
            }
            pub(crate) fn capabilities(&self) -> Capabilities {
                match self {
                    AnyBackend::Bypass(b) => b.capabilities(),
                    $( #[cfg($cfg)] AnyBackend::$variant(b) => b.capabilities(), )+
                }
            }
            pub(crate) fn refresh_unsupported(&self) -> Option<&'static str> {
                match self {
                    AnyBackend::Bypass(b) => b.refresh_unsupported(),
                    $( #[cfg($cfg)] AnyBackend::$variant(b) => b.refresh_unsupported(), )+
                }
            }
            pub(crate) async fn try_acquire(&self, req: &AcquireRequest<'_>) -> Result<Attempt> {
                match self {
                    AnyBackend::Bypass(b) => b.try_acquire(req).await,
                    $( #[cfg($cfg)] AnyBackend::$variant(b) => b.try_acquire(req).await, )+
                }
            }
            pub(crate) async fn release(&self, key: &str, owner: &[u8; 16], proof: &[u8]) -> Result<bool> {
                match self {
                    AnyBackend::Bypass(b) => b.release(key, owner, proof).await,
                    $( #[cfg($cfg)] AnyBackend::$variant(b) => b.release(key, owner, proof).await, )+
                }
            }
            pub(crate) async fn refresh(&self, key: &str, owner: &[u8; 16], proof: &[u8], ttl: Duration) -> Result<Option<u64>> {
                match self {
                    AnyBackend::Bypass(b) => b.refresh(key, owner, proof, ttl).await,
                    $( #[cfg($cfg)] AnyBackend::$variant(b) => b.refresh(key, owner, proof, ttl).await, )+
                }
            }
            pub(crate) async fn force_release(&self, key: &str) -> Result<bool> {
                match self {
                    AnyBackend::Bypass(b) => b.force_release(key).await,
                    $( #[cfg($cfg)] AnyBackend::$variant(b) => b.force_release(key).await, )+
                }
            }
            pub(crate) async fn inspect(&self, key: &str) -> Result<Option<LeaseInfo>> {
                match self {
                    AnyBackend::Bypass(b) => b.inspect(key).await,
                    $( #[cfg($cfg)] AnyBackend::$variant(b) => b.inspect(key).await, )+
                }
            }
            pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<(String, LeaseInfo)>> {
                match self {
                    AnyBackend::Bypass(b) => b.list(prefix).await,
                    $( #[cfg($cfg)] AnyBackend::$variant(b) => b.list(prefix).await, )+
                }
            }
            pub(crate) async fn enqueue(&self, key: &str, owner: &[u8; 16], mode: Mode) -> Result<u64> {
                match self {
                    AnyBackend::Bypass(b) => b.enqueue(key, owner, mode).await,
                    $( #[cfg($cfg)] AnyBackend::$variant(b) => b.enqueue(key, owner, mode).await, )+
                }
            }
            pub(crate) async fn leave(&self, key: &str, ticket: u64) -> Result<()> {
                match self {
                    AnyBackend::Bypass(b) => b.leave(key, ticket).await,
                    $( #[cfg($cfg)] AnyBackend::$variant(b) => b.leave(key, ticket).await, )+
                }
            }
            pub(crate) async fn ping(&self) -> Result<()> {
                match self {
                    AnyBackend::Bypass(b) => b.ping().await,
                    $( #[cfg($cfg)] AnyBackend::$variant(b) => b.ping().await, )+
                }
            }
            pub(crate) fn close(&self) {
                match self {
                    AnyBackend::Bypass(b) => b.close(),
                    $( #[cfg($cfg)] AnyBackend::$variant(b) => b.close(), )+
                }
            }
        }
    };
}

/// The kind of a row: its own variant's, or the one it names.
macro_rules! kind_of {
    ($variant:ident) => {
        $crate::kinds::BackendKind::$variant
    };
    ($variant:ident $kind:ident) => {
        $crate::kinds::BackendKind::$kind
    };
}

pub(crate) use backends;
