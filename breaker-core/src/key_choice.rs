//! A guarded call whose breaker one of its arguments chooses (`key = model`): what the code
//! that `#[circuit_breaker]` generates calls into.
//!
//! The macro sees no types, so the choice between the two kinds of key is made where the
//! call is compiled, by method resolution (autoref specialisation):
//! `(&&KeyTag(&key)).key_kind()` finds [`DerivedKindOf`] when the key's type derives
//! `CircuitBreakers` (it implements [`DerivedKey`]), else [`HashedKindOf`] when it is a
//! [`HashedKey`], else [`NeitherKindOf`], whose `breaker` method requires a trait that no
//! type implements, so that a key of neither kind gets one message, which names both.
//!
//! The breakers live in a [`KeyBreakers`]: a static beside a guarded function, a field of
//! a trait's wrapper. It holds either kind without naming the key's type (the macro cannot
//! name it): the derived breakers as a slice indexed by the variant, the keyed registry
//! behind `dyn Any`, since a hashed lookup costs far more than the downcast.

use std::any::Any;
use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, OnceLock};

use crate::breaker::CircuitBreaker;
use crate::clock::Clock;
use crate::config::{BreakerConfig, BreakerSettings};
use crate::keyed::{BreakerRef, KeyedRegistry, RegistryKey, SharedClock};

/// How many breakers the registry of a guarded call keyed by a hashed argument holds
/// before it evicts (see [`KeyedRegistry`] for when it holds more, up to twice as many).
pub const KEYED_CALL_CAPACITY: usize = 1_024;

/// A key type whose breakers `#[derive(CircuitBreakers)]` generated: one per variant, in an
/// array. Implemented by the derive; not meant to be implemented by hand.
pub trait DerivedKey {
    /// The position of this key's breaker among the variants.
    fn index(&self) -> usize;

    /// The breakers, one per variant in declaration order, with the settings of the
    /// `#[breaker]` attributes, or those in `settings` under the variant's name.
    fn build_breakers(
        settings: &BreakerSettings,
        make: &mut dyn FnMut(&'static str, BreakerConfig) -> CircuitBreaker,
    ) -> Box<[CircuitBreaker]>;
}

impl<K: DerivedKey + ?Sized> DerivedKey for &K {
    #[inline(always)]
    fn index(&self) -> usize {
        K::index(self)
    }

    fn build_breakers(
        settings: &BreakerSettings,
        make: &mut dyn FnMut(&'static str, BreakerConfig) -> CircuitBreaker,
    ) -> Box<[CircuitBreaker]> {
        K::build_breakers(settings, make)
    }
}

/// A key that chooses a breaker in a bounded [`KeyedRegistry`]: `str`, `String`, integers,
/// any `Hash + Eq + Display` type whose owned form is `Clone + Send + Sync + 'static`.
pub trait HashedKey: Hash + Eq {
    /// The key as the registry stores it (`String` for `str`).
    type Owned: RegistryKey + Borrow<Self>;

    /// The owned key, for a breaker created on first use.
    fn to_owned_key(&self) -> Self::Owned;
}

impl<K> HashedKey for K
where
    K: ToOwned + Hash + Eq + fmt::Display + ?Sized,
    K::Owned: RegistryKey,
{
    type Owned = K::Owned;

    fn to_owned_key(&self) -> K::Owned {
        self.to_owned()
    }
}

/// The breakers of one guarded call keyed by an argument, created on first use.
pub struct KeyBreakers {
    derived: OnceLock<Box<[CircuitBreaker]>>,
    /// A `KeyedRegistry<K::Owned>`.
    hashed: OnceLock<Box<dyn Any + Send + Sync>>,
    clock: Option<Arc<dyn Clock>>,
}

impl KeyBreakers {
    /// None yet, to be created on the real clock: a guarded function's static.
    pub const fn new() -> Self {
        Self {
            derived: OnceLock::new(),
            hashed: OnceLock::new(),
            clock: None,
        }
    }

    /// None yet, to be created on `clock`: a trait wrapper's field.
    pub fn with_clock(clock: impl Clock) -> Self {
        Self {
            clock: Some(Arc::new(clock)),
            ..Self::new()
        }
    }

    fn make(&self, name: &'static str, config: BreakerConfig) -> CircuitBreaker {
        match &self.clock {
            Some(clock) => CircuitBreaker::with_clock(name, config, SharedClock(Arc::clone(clock))),
            None => CircuitBreaker::new(name, config),
        }
    }

    /// The derived breakers of `K`, if the call has been keyed by a derived enum.
    pub fn derived(&self) -> Option<&[CircuitBreaker]> {
        self.derived.get().map(|breakers| &**breakers)
    }

    /// The registry of a call keyed by `K`, if the call has been made.
    pub fn registry<K: RegistryKey>(&self) -> Option<&KeyedRegistry<K>> {
        self.hashed.get()?.downcast_ref()
    }

    /// The breaker that `key` chooses, if it exists yet: for dashboards and tests.
    pub fn get<Q>(&self, key: &Q) -> Option<&CircuitBreaker>
    where
        Q: DerivedKey + ?Sized,
    {
        self.derived().map(|breakers| &breakers[key.index()])
    }

    /// The breaker that `key` chooses, created now with the other variants' if no call
    /// has been made yet: to register listeners or read metrics before the first call.
    pub fn breaker<Q>(&self, key: &Q) -> &CircuitBreaker
    where
        Q: DerivedKey + ?Sized,
    {
        &self.derived_of::<Q>()[key.index()]
    }

    /// The derived breakers of `K`, created on first use.
    #[inline(always)]
    fn derived_of<K: DerivedKey + ?Sized>(&self) -> &[CircuitBreaker] {
        self.derived.get_or_init(|| {
            K::build_breakers(&BreakerSettings::new(), &mut |name, config| {
                self.make(name, config)
            })
        })
    }
}

impl Default for KeyBreakers {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for KeyBreakers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        if let Some(breakers) = self.derived.get() {
            map.entries(breakers.iter().map(|b| (b.name(), b.state())));
        }
        map.finish()
    }
}

/// The key of a guarded call, for method resolution to find its kind.
pub struct KeyTag<'k, K: ?Sized>(pub &'k K);

impl<K: ?Sized> Clone for KeyTag<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K: ?Sized> Copy for KeyTag<'_, K> {}

/// A key whose type derives `CircuitBreakers`.
pub struct DerivedKind;

/// A key chosen by hashing.
pub struct HashedKind;

/// A key of neither kind: its `breaker` method reports it, once.
pub struct NeitherKind;

/// Found first: the key's type derives `CircuitBreakers`.
pub trait DerivedKindOf {
    /// [`DerivedKind`].
    #[inline(always)]
    fn key_kind(&self) -> DerivedKind {
        DerivedKind
    }
}

impl<K: DerivedKey + ?Sized> DerivedKindOf for &KeyTag<'_, K> {}

/// Found second: the key is hashed.
pub trait HashedKindOf {
    /// [`HashedKind`].
    #[inline(always)]
    fn key_kind(&self) -> HashedKind {
        HashedKind
    }
}

impl<K: HashedKey + ?Sized> HashedKindOf for KeyTag<'_, K> {}

/// Found last: the key is of neither kind.
pub trait NeitherKindOf {
    /// [`NeitherKind`].
    #[inline(always)]
    fn key_kind(self) -> NeitherKind
    where
        Self: Sized,
    {
        NeitherKind
    }
}

impl<K: ?Sized> NeitherKindOf for KeyTag<'_, K> {}

/// What a key of neither kind lacks: implemented by no type, so that such a key gets this
/// one message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot choose a circuit breaker: it is neither an enum that derives `CircuitBreakers` nor a hashable key",
    label = "the `key` of a guarded call",
    note = "derive `CircuitBreakers` on it for one breaker per variant, or make it `Hash + Eq + Display` (and its owned form `Clone + Send + Sync + 'static`) for a breaker per value, in a bounded registry"
)]
pub trait ChoosesABreaker {}

impl NeitherKind {
    /// Never returns: a key of neither kind fails to compile here.
    pub fn breaker<'s, K: ChoosesABreaker + ?Sized>(
        self,
        _store: &'s KeyBreakers,
        _key: &K,
        _name: impl FnOnce() -> String,
        _config: impl FnOnce() -> BreakerConfig,
    ) -> &'s CircuitBreaker {
        unreachable!("no type implements `ChoosesABreaker`")
    }
}

impl DerivedKind {
    /// `key`'s breaker among the derived ones, created on the first call. The attribute's
    /// settings do not apply: each variant has its own.
    #[inline(always)]
    pub fn breaker<'s, K: DerivedKey + ?Sized>(
        self,
        store: &'s KeyBreakers,
        key: &K,
        _name: impl FnOnce() -> String,
        _config: impl FnOnce() -> BreakerConfig,
    ) -> &'s CircuitBreaker {
        &store.derived_of::<K>()[key.index()]
    }
}

impl HashedKind {
    /// `key`'s breaker in a bounded registry, created on the first call with `config` and
    /// named `name[key]` (the guarded function's or method's name, then the key).
    #[inline]
    pub fn breaker<'s, K: HashedKey + ?Sized>(
        self,
        store: &'s KeyBreakers,
        key: &K,
        name: impl FnOnce() -> String,
        config: impl FnOnce() -> BreakerConfig,
    ) -> BreakerRef<'s> {
        let registry: &KeyedRegistry<K::Owned> = store
            .hashed
            .get_or_init(|| {
                let config = config();
                let registry: KeyedRegistry<K::Owned> = match &store.clock {
                    Some(clock) => KeyedRegistry::with_clock(
                        KEYED_CALL_CAPACITY,
                        config,
                        SharedClock(Arc::clone(clock)),
                    ),
                    None => KeyedRegistry::new(KEYED_CALL_CAPACITY, config),
                };
                Box::new(registry.with_name_prefix(name()))
            })
            .downcast_ref()
            .expect("the macro refuses a key whose type is generic: one key type per store");
        match registry.get(key) {
            Some(breaker) => breaker,
            None => registry.get_or_insert_key(key.to_owned_key()),
        }
    }
}
