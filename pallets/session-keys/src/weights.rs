//! Weights for `pallet_session_keys`.
//!
//! ESTIMATES, NOT MEASUREMENTS. These figures are hand-written placeholders until the node's
//! `benchmark pallet` command can generate this file from the benchmarks in `benchmarking.rs`
//! (a later issue). The storage read/write counts follow the code paths; the ref_time figures
//! assume ~50 µs per signature verification and are deliberately generous.

#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use core::marker::PhantomData;
use frame_support::{
	traits::Get,
	weights::{constants::RocksDbWeight, Weight},
};

/// Weight functions needed for `pallet_session_keys`.
pub trait WeightInfo {
	fn register_sr25519() -> Weight;
	fn register_ed25519() -> Weight;
	fn register_ecdsa() -> Weight;
	fn renew() -> Weight;
	fn revoke() -> Weight;
	fn revoke_all(k: u32) -> Weight;
	fn rotate_sr25519() -> Weight;
	fn rotate_ed25519() -> Weight;
	fn rotate_ecdsa() -> Weight;
	fn checkpoint_sr25519() -> Weight;
	fn checkpoint_ed25519() -> Weight;
	fn checkpoint_ecdsa() -> Weight;
	fn top_up() -> Weight;
	fn set_spending_limit() -> Weight;
	fn liquidate() -> Weight;
	fn discontinue() -> Weight;
	fn on_initialize_idle() -> Weight;
	fn on_initialize_expire(k: u32, s: u32) -> Weight;
}

/// Estimated weights for `pallet_session_keys`, using the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);

macro_rules! estimates {
	($db:expr) => {
		fn register_sr25519() -> Weight {
			Weight::from_parts(80_000_000, 8_000).saturating_add($db.reads_writes(7, 7))
		}
		fn register_ed25519() -> Weight {
			Weight::from_parts(80_000_000, 8_000).saturating_add($db.reads_writes(7, 7))
		}
		fn register_ecdsa() -> Weight {
			Weight::from_parts(90_000_000, 8_000).saturating_add($db.reads_writes(7, 7))
		}
		fn renew() -> Weight {
			Weight::from_parts(30_000_000, 6_000).saturating_add($db.reads_writes(2, 4))
		}
		fn revoke() -> Weight {
			Weight::from_parts(50_000_000, 8_000).saturating_add($db.reads_writes(6, 7))
		}
		fn revoke_all(k: u32) -> Weight {
			Weight::from_parts(20_000_000, 4_000)
				.saturating_add(Weight::from_parts(45_000_000, 4_000).saturating_mul(k.into()))
				.saturating_add($db.reads_writes(3, 2))
				.saturating_add($db.reads_writes(3, 6).saturating_mul(k.into()))
		}
		fn rotate_sr25519() -> Weight {
			Weight::from_parts(90_000_000, 8_000).saturating_add($db.reads_writes(5, 7))
		}
		fn rotate_ed25519() -> Weight {
			Weight::from_parts(90_000_000, 8_000).saturating_add($db.reads_writes(5, 7))
		}
		fn rotate_ecdsa() -> Weight {
			Weight::from_parts(100_000_000, 8_000).saturating_add($db.reads_writes(5, 7))
		}
		fn checkpoint_sr25519() -> Weight {
			Weight::from_parts(110_000_000, 10_000).saturating_add($db.reads_writes(8, 9))
		}
		fn checkpoint_ed25519() -> Weight {
			Weight::from_parts(110_000_000, 10_000).saturating_add($db.reads_writes(8, 9))
		}
		fn checkpoint_ecdsa() -> Weight {
			Weight::from_parts(120_000_000, 10_000).saturating_add($db.reads_writes(8, 9))
		}
		fn top_up() -> Weight {
			Weight::from_parts(40_000_000, 6_000).saturating_add($db.reads_writes(3, 3))
		}
		fn set_spending_limit() -> Weight {
			Weight::from_parts(20_000_000, 4_000).saturating_add($db.reads_writes(1, 1))
		}
		fn liquidate() -> Weight {
			Weight::from_parts(70_000_000, 10_000).saturating_add($db.reads_writes(8, 9))
		}
		fn discontinue() -> Weight {
			Weight::from_parts(70_000_000, 10_000).saturating_add($db.reads_writes(8, 9))
		}
		fn on_initialize_idle() -> Weight {
			Weight::from_parts(2_000_000, 1_500).saturating_add($db.reads(1))
		}
		fn on_initialize_expire(k: u32, s: u32) -> Weight {
			Weight::from_parts(5_000_000, 1_500)
				.saturating_add($db.reads_writes(2, 1))
				.saturating_add(Weight::from_parts(70_000_000, 10_000).saturating_mul(k.into()))
				.saturating_add($db.reads_writes(7, 9).saturating_mul(k.into()))
				.saturating_add(Weight::from_parts(3_000_000, 1_500).saturating_mul(s.into()))
				.saturating_add($db.reads(1).saturating_mul(s.into()))
		}
	};
}

impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	estimates!(T::DbWeight::get());
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	estimates!(RocksDbWeight::get());
}
