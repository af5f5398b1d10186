//! Rate limits by balance (KIP_9): each owner account gets a token bucket whose rate and burst
//! are those of the highest tier its free balance reaches. The buckets are governor's (GCRA).

use std::{
	net::{IpAddr, Ipv4Addr, Ipv6Addr},
	num::NonZeroU32,
	time::Duration,
};

use governor::{
	clock::{Clock, DefaultClock},
	state::keyed::DefaultKeyedStateStore,
	Quota, RateLimiter,
};
use serde::{Deserialize, Serialize};
use session_keys_client::{AccountId, Balance};

/// One rate tier: owners whose free balance is at least `min_balance` may make `per_second`
/// requests a second on average, and up to `burst` at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
	/// The tier's name, reported to the upstream and in refusals.
	pub name: String,
	/// The least free balance (in the chain's smallest unit) that reaches this tier.
	#[serde(with = "decimal")]
	pub min_balance: Balance,
	/// Requests a second, on average.
	pub per_second: NonZeroU32,
	/// Requests that may arrive at once after a quiet period.
	pub burst: NonZeroU32,
}

/// Balances in TOML as decimal strings or integers (TOML integers stop at `i64`).
mod decimal {
	use serde::{de::Error, Deserialize, Deserializer, Serializer};

	pub fn serialize<S: Serializer>(value: &u128, serializer: S) -> Result<S::Ok, S::Error> {
		serializer.serialize_str(&value.to_string())
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u128, D::Error> {
		#[derive(Deserialize)]
		#[serde(untagged)]
		enum Form {
			Text(String),
			Number(u64),
		}
		match Form::deserialize(deserializer)? {
			Form::Number(value) => Ok(value.into()),
			Form::Text(text) => text
				.replace('_', "")
				.parse()
				.map_err(|_| D::Error::custom(format!("`{text}` is not a balance"))),
		}
	}
}

impl Tier {
	/// The tier used when the configuration names none: every owner, 10 requests a second,
	/// bursts of 20.
	pub fn default_tiers() -> Vec<Tier> {
		vec![Tier {
			name: "default".into(),
			min_balance: 0,
			per_second: NonZeroU32::new(10).expect("not zero"),
			burst: NonZeroU32::new(20).expect("not zero"),
		}]
	}
}

type Bucket = RateLimiter<AccountId, DefaultKeyedStateStore<AccountId>, DefaultClock>;

/// Why a request was not let through by the limiter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Limited {
	/// The owner's bucket is empty; a token is back after this long.
	Wait {
		/// The owner's tier.
		tier: String,
		/// How long until the next request would pass.
		retry_after: Duration,
	},
	/// The owner's free balance is below every tier's minimum.
	BelowLowestTier {
		/// The lowest tier's minimum.
		min_balance: Balance,
	},
}

/// The buckets of every tier, one per owner account in each.
pub struct Limiter {
	/// Tiers with the highest minimum first, each with its buckets.
	tiers: Vec<(Tier, Bucket)>,
	clock: DefaultClock,
}

impl Limiter {
	/// Buckets for `tiers` (any order; an empty list means [`Tier::default_tiers`]).
	pub fn new(mut tiers: Vec<Tier>) -> Self {
		if tiers.is_empty() {
			tiers = Tier::default_tiers();
		}
		tiers.sort_by_key(|tier| std::cmp::Reverse(tier.min_balance));
		let clock = DefaultClock::default();
		let tiers = tiers
			.into_iter()
			.map(|tier| {
				let quota = Quota::per_second(tier.per_second).allow_burst(tier.burst);
				let bucket = RateLimiter::new(quota, DefaultKeyedStateStore::default(), &clock);
				(tier, bucket)
			})
			.collect();
		Self { tiers, clock }
	}

	/// The tier a free balance of `balance` reaches, if any.
	pub fn tier_of(&self, balance: Balance) -> Option<&Tier> {
		self.tier_and_bucket(balance).map(|(tier, _)| tier)
	}

	fn tier_and_bucket(&self, balance: Balance) -> Option<&(Tier, Bucket)> {
		self.tiers.iter().find(|(tier, _)| balance >= tier.min_balance)
	}

	/// The lowest tier's minimum balance.
	pub fn lowest_min_balance(&self) -> Balance {
		self.tiers.last().map_or(0, |(tier, _)| tier.min_balance)
	}

	/// Takes a token from `owner`'s bucket in the tier of `balance`; returns the tier's name.
	pub fn check(&self, owner: &AccountId, balance: Balance) -> Result<&str, Limited> {
		let Some((tier, bucket)) = self.tier_and_bucket(balance) else {
			return Err(Limited::BelowLowestTier { min_balance: self.lowest_min_balance() });
		};
		match bucket.check_key(owner) {
			Ok(()) => Ok(&tier.name),
			Err(not_until) => Err(Limited::Wait {
				tier: tier.name.clone(),
				retry_after: not_until.wait_time_from(self.clock.now()),
			}),
		}
	}

	/// Drops the buckets that are full again (their owners have been quiet), so memory follows
	/// the owners active recently, not every owner ever seen.
	pub fn forget_idle(&self) {
		for (_, bucket) in &self.tiers {
			bucket.retain_recent();
		}
	}

	/// How many owners have a bucket.
	pub fn tracked(&self) -> usize {
		self.tiers.iter().map(|(_, bucket)| bucket.len()).sum()
	}
}

/// Buckets per client address, for the requests that cost a node read (headers by keys the
/// gateway has not cached): one client sending made-up keys cannot make the node do more than
/// its bucket allows. An IPv6 client is counted by its /64, the block one host usually holds.
pub struct PeerLimiter {
	buckets: RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>,
	clock: DefaultClock,
}

impl PeerLimiter {
	/// `per_second` requests a second per address on average, `burst` at once.
	pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
		let clock = DefaultClock::default();
		let quota = Quota::per_second(per_second).allow_burst(burst);
		Self { buckets: RateLimiter::new(quota, DefaultKeyedStateStore::default(), &clock), clock }
	}

	/// Takes a token from `peer`'s bucket (`None`: the bucket every unnamed peer shares); when
	/// empty, how long until one is back.
	pub fn check(&self, peer: Option<IpAddr>) -> Result<(), Duration> {
		let key = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), bucket_of);
		self.buckets.check_key(&key).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
	}

	/// Drops the buckets that are full again.
	pub fn forget_idle(&self) {
		self.buckets.retain_recent();
	}

	/// How many addresses have a bucket.
	pub fn tracked(&self) -> usize {
		self.buckets.len()
	}
}

/// The bucket of an address: itself for IPv4 (and IPv4-mapped IPv6), its /64 for IPv6.
pub(crate) fn bucket_of(peer: IpAddr) -> IpAddr {
	match peer {
		IpAddr::V4(v4) => IpAddr::V4(v4),
		IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
			Some(v4) => IpAddr::V4(v4),
			None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
		},
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn tier(name: &str, min_balance: Balance, per_second: u32, burst: u32) -> Tier {
		Tier {
			name: name.into(),
			min_balance,
			per_second: NonZeroU32::new(per_second).unwrap(),
			burst: NonZeroU32::new(burst).unwrap(),
		}
	}

	#[test]
	fn the_highest_tier_reached_applies() {
		let limiter = Limiter::new(vec![tier("base", 10, 1, 2), tier("gold", 1_000, 100, 50)]);
		assert_eq!(limiter.tier_of(5_000).map(|t| t.name.as_str()), Some("gold"));
		assert_eq!(limiter.tier_of(1_000).map(|t| t.name.as_str()), Some("gold"));
		assert_eq!(limiter.tier_of(999).map(|t| t.name.as_str()), Some("base"));
		assert_eq!(limiter.tier_of(9), None);
		let owner = AccountId::new([1; 32]);
		assert_eq!(limiter.check(&owner, 9), Err(Limited::BelowLowestTier { min_balance: 10 }));
	}

	#[test]
	fn a_bucket_empties_after_its_burst_and_says_when_to_retry() {
		let limiter = Limiter::new(vec![tier("base", 0, 1, 3)]);
		let owner = AccountId::new([1; 32]);
		for _ in 0..3 {
			assert_eq!(limiter.check(&owner, 0), Ok("base"));
		}
		match limiter.check(&owner, 0) {
			Err(Limited::Wait { tier, retry_after }) => {
				assert_eq!(tier, "base");
				assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1));
			}
			other => panic!("expected a wait, got {other:?}"),
		}
		// Another owner has a bucket of its own.
		assert_eq!(limiter.check(&AccountId::new([2; 32]), 0), Ok("base"));
		assert_eq!(limiter.tracked(), 2);
	}

	#[test]
	fn no_tiers_means_the_default_tier() {
		let limiter = Limiter::new(Vec::new());
		assert_eq!(limiter.tier_of(0).map(|t| t.name.as_str()), Some("default"));
	}

	#[test]
	fn tiers_read_from_toml_with_large_balances() {
		let tier: Tier = toml::from_str(
			"name = 'gold'\nmin_balance = '1_000_000_000_000_000_000_000'\nper_second = 5\nburst = 10",
		)
		.unwrap();
		assert_eq!(tier.min_balance, 1_000_000_000_000_000_000_000);
		let small: Tier =
			toml::from_str("name = 'base'\nmin_balance = 7\nper_second = 1\nburst = 1").unwrap();
		assert_eq!(small.min_balance, 7);
		assert!(toml::from_str::<Tier>(
			"name = 'x'\nmin_balance = 'lots'\nper_second = 1\nburst = 1"
		)
		.is_err());
		assert!(toml::from_str::<Tier>("name = 'x'\nmin_balance = 1\nper_second = 0\nburst = 1")
			.is_err());
	}

	#[test]
	fn each_address_has_its_bucket_and_an_ipv6_host_its_64() {
		let limiter = PeerLimiter::new(NonZeroU32::new(1).unwrap(), NonZeroU32::new(2).unwrap());
		let a: IpAddr = "192.0.2.1".parse().unwrap();
		assert!(limiter.check(Some(a)).is_ok());
		assert!(limiter.check(Some(a)).is_ok());
		let wait = limiter.check(Some(a)).unwrap_err();
		assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
		assert!(limiter.check(Some("192.0.2.2".parse().unwrap())).is_ok());
		// Two addresses of one /64 share a bucket; the mapped form of an IPv4 address is it.
		let v6: IpAddr = "2001:db8::1".parse().unwrap();
		let same_64: IpAddr = "2001:db8::ffff:1".parse().unwrap();
		assert!(limiter.check(Some(v6)).is_ok());
		assert!(limiter.check(Some(same_64)).is_ok());
		assert!(limiter.check(Some(v6)).is_err());
		assert!(limiter.check(Some("::ffff:192.0.2.1".parse().unwrap())).is_err());
		assert_eq!(limiter.tracked(), 3);
	}
}
