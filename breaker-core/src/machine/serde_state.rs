#[cfg(feature = "serde")]
use super::StateMachine;

/// A machine's state as serde writes it: its name, as declared. What the `Serialize` impl
/// that `state_machine!` generates (with the `serde` feature) calls.
#[cfg(feature = "serde")]
pub fn serialize_state<M: StateMachine, S: serde::Serializer>(
    state: &M::StateKind,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(state)
}

/// A machine's state read back from its name; an unknown name is an error that names the
/// machine and lists its states. What the `Deserialize` impl that `state_machine!` generates
/// (with the `serde` feature) calls.
#[cfg(feature = "serde")]
pub fn deserialize_state<'de, M: StateMachine, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<M::StateKind, D::Error> {
    use serde::Deserialize as _;
    use serde::de::Error as _;
    let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
    M::STATES
        .iter()
        .copied()
        .find(|state| state.to_string() == *name)
        .ok_or_else(|| {
            let known: Vec<String> = M::STATES.iter().map(|s| format!("`{s}`")).collect();
            D::Error::custom(format!(
                "unknown state `{name}` of the machine `{}`: expected one of {}",
                M::NAME,
                known.join(", ")
            ))
        })
}

/// The serde impls of a machine's state type, emitted by `state_machine!` through this
/// macro so that the crate's `serde` feature decides whether they exist.
#[doc(hidden)]
#[cfg(feature = "serde")]
#[macro_export]
macro_rules! __serde_state {
    ($machine:ty, $state:ty) => {
        #[automatically_derived]
        impl $crate::__private::serde::Serialize for $state {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> $crate::__private::Result<S::Ok, S::Error> {
                $crate::__private::serialize_state::<$machine, S>(self, serializer)
            }
        }

        #[automatically_derived]
        impl<'de> $crate::__private::serde::Deserialize<'de> for $state {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> $crate::__private::Result<Self, D::Error> {
                $crate::__private::deserialize_state::<$machine, D>(deserializer)
            }
        }
    };
}

/// Without the `serde` feature: nothing.
#[doc(hidden)]
#[cfg(not(feature = "serde"))]
#[macro_export]
macro_rules! __serde_state {
    ($machine:ty, $state:ty) => {};
}

/// The state enum of a machine whose states carry data, with serde's derives when the
/// crate's `serde` feature is on: a state without data is written as its name, a state with
/// data as `{"Name": data}`. `$serde` is the path of this crate's serde, as a string, for
/// serde's `crate` attribute.
#[doc(hidden)]
#[cfg(feature = "serde")]
#[macro_export]
macro_rules! __serde_data_state {
    ($serde:literal, $item:item) => {
        #[derive($crate::__private::serde::Serialize, $crate::__private::serde::Deserialize)]
        #[serde(crate = $serde)]
        $item
    };
}

/// Without the `serde` feature: the enum as it is.
#[doc(hidden)]
#[cfg(not(feature = "serde"))]
#[macro_export]
macro_rules! __serde_data_state {
    ($serde:literal, $item:item) => {
        $item
    };
}
