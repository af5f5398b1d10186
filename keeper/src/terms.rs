//! The owner's terms for the keeper's delegate, as the keeper reads them from the chain: whether
//! a profile's keys are within them (the one rule the pallet applies too,
//! [`DelegateTerms::check_key`](session_keys_client::DelegateTerms)), each refusal named by its
//! term, and what `status` shows of the terms and their use.

use session_keys_client::{
	AccountId, Balance, BlockNumber, DelegateTerms, DelegateUsage, Delegation, KeyRequest,
	TermRefusal,
};
use session_keys_runtime::{TOKEN_DECIMALS, TOKEN_SYMBOL, UNIT};
use sp_core::crypto::Ss58Codec;

use crate::store::Profile;

/// An amount as the chain counts it, and in whole units: `5000000000000 (5 UNIT)`.
pub fn amount(value: Balance) -> String {
	if value == 0 {
		return "0".into();
	}
	let mut units = (value / UNIT).to_string();
	let fraction = value % UNIT;
	if fraction != 0 {
		let digits = format!("{fraction:0width$}", width = usize::from(TOKEN_DECIMALS));
		units.push('.');
		units.push_str(digits.trim_end_matches('0'));
	}
	format!("{value} ({units} {TOKEN_SYMBOL})")
}

/// Why the owner's terms do not allow a profile's keys now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
	/// The owner never authorized the delegate (or revoked it and no key it made counts any
	/// more).
	#[error(
		"the owner {owner} has not authorized this delegate {delegate}: have the owner run \
		 `session-keys-keeper authorize --delegate {delegate} --counterpart … --max-collateral … \
		 --max-spending-limit … --max-total-collateral … --max-duration … --max-keys …` where its \
		 key lives (or adjudicator.authorizeDelegate in Polkadot-JS Apps)"
	)]
	NotAuthorized {
		/// The owner, SS58.
		owner: String,
		/// The delegate, SS58.
		delegate: String,
	},
	/// The owner revoked the authorization; keys the delegate made still count.
	#[error(
		"the owner {owner} revoked this delegate's authorization ({keys} key(s) it made still \
		 count until they settle): nothing can be registered or renewed for the owner until it \
		 authorizes {delegate} again"
	)]
	Revoked {
		/// The owner, SS58.
		owner: String,
		/// The delegate, SS58.
		delegate: String,
		/// The delegate's live and closing keys.
		keys: u32,
	},
	/// A term refuses the profile's keys.
	#[error(
		"the owner's terms refuse this profile: {term}: {detail} (change the profile, or have \
		 the owner widen its terms with `session-keys-keeper authorize`)",
		term = .refusal.term()
	)]
	Refused {
		/// The term.
		refusal: TermRefusal,
		/// What the term is and what the profile asks.
		detail: String,
	},
}

impl TermsError {
	/// Whether the refusal is about what the delegate's keys already hold (`maxKeys`,
	/// `maxTotalCollateral`), which changes as keys settle, rather than about the profile.
	pub fn is_about_usage(&self) -> bool {
		matches!(
			self,
			TermsError::Refused {
				refusal: TermRefusal::TooManyDelegateKeys | TermRefusal::TotalCollateralAboveTerms,
				..
			}
		)
	}
}

/// The request a registration of `profile`'s next key makes.
fn request(profile: &Profile) -> KeyRequest<'_, AccountId, Balance, BlockNumber> {
	KeyRequest {
		counterpart: &profile.counterpart,
		duration: profile.duration,
		spending_limit: profile.spending_limit,
		collateral: profile.collateral,
		new_key: true,
	}
}

/// The terms in force in `delegation` (of `owner` for `delegate`), or why there are none.
pub fn terms_of<'a>(
	delegation: Option<&'a Delegation>,
	owner: &AccountId,
	delegate: &AccountId,
) -> Result<(&'a DelegateTerms, &'a DelegateUsage<Balance>), TermsError> {
	let Some(delegation) = delegation else {
		return Err(TermsError::NotAuthorized {
			owner: owner.to_ss58check(),
			delegate: delegate.to_ss58check(),
		});
	};
	match &delegation.terms {
		Some(terms) => Ok((terms, &delegation.usage)),
		None => Err(TermsError::Revoked {
			owner: owner.to_ss58check(),
			delegate: delegate.to_ss58check(),
			keys: delegation.usage.keys,
		}),
	}
}

/// Whether `delegation` lets the delegate register a new key of `profile` at block `now` (the
/// block the registration would be in): the same rule the pallet applies to `register_for`.
pub fn check_profile(
	delegation: Option<&Delegation>,
	owner: &AccountId,
	delegate: &AccountId,
	profile: &Profile,
	now: BlockNumber,
) -> Result<(), TermsError> {
	let (terms, usage) = terms_of(delegation, owner, delegate)?;
	terms
		.check_key(now, request(profile), usage)
		.map_err(|refusal| refused(refusal, terms, usage, profile, now))
}

/// Why a rotation of `profile`'s key would be refused once its first key holds what it asks:
/// the keeper registers a successor while its predecessor is live (and a revoked key counts
/// until it settles), so the terms need room for a second key. `None` if there is room.
pub fn rotation_refusal(
	delegation: Option<&Delegation>,
	owner: &AccountId,
	delegate: &AccountId,
	profile: &Profile,
	now: BlockNumber,
) -> Option<TermsError> {
	let (terms, usage) = terms_of(delegation, owner, delegate).ok()?;
	let mut with_first = *usage;
	with_first.add_key(profile.collateral);
	terms
		.check_key(now, request(profile), &with_first)
		.err()
		.map(|refusal| refused(refusal, terms, &with_first, profile, now))
}

fn refused(
	refusal: TermRefusal,
	terms: &DelegateTerms,
	usage: &DelegateUsage<Balance>,
	profile: &Profile,
	now: BlockNumber,
) -> TermsError {
	let detail = match refusal {
		TermRefusal::Ended => format!(
			"the authorization ended at block #{} (a registration now would be in #{now})",
			terms.ends_at.unwrap_or_default()
		),
		TermRefusal::CounterpartNotAllowed => format!(
			"the counterpart {} is not among the owner's counterparts ({})",
			profile.counterpart.to_ss58check(),
			counterparts(terms)
		),
		TermRefusal::DurationAboveTerms if profile.duration > terms.max_duration => format!(
			"at most {} blocks, and the profile's duration is {}",
			terms.max_duration, profile.duration
		),
		// No key of a delegate outlives the authorization.
		TermRefusal::DurationAboveTerms => format!(
			"no key may outlive the authorization, which ends at block #{}, and a key of the \
			 profile's {} blocks registered in #{now} would expire at #{} (shorten the duration, \
			 or have the owner move endsAt)",
			terms.ends_at.unwrap_or_default(),
			profile.duration,
			now.saturating_add(profile.duration)
		),
		TermRefusal::SpendingLimitAboveTerms => format!(
			"at most {} per key, and the profile's spending limit is {}",
			amount(terms.max_spending_limit),
			amount(profile.spending_limit)
		),
		TermRefusal::CollateralAboveTerms => format!(
			"at most {} per key, and the profile's collateral is {}",
			amount(terms.max_collateral),
			amount(profile.collateral)
		),
		TermRefusal::TooManyDelegateKeys => format!(
			"at most {} live and closing keys, and this delegate has {} for the owner already (a \
			 revoked key counts until it settles)",
			terms.max_keys, usage.keys
		),
		TermRefusal::TotalCollateralAboveTerms => format!(
			"at most {} in all, and this delegate's live and closing keys hold {}; a key of this \
			 profile would add {}",
			amount(terms.max_total_collateral),
			amount(usage.collateral),
			amount(profile.collateral)
		),
	};
	TermsError::Refused { refusal, detail }
}

/// The counterparts of `terms`, SS58, comma-separated.
pub fn counterparts(terms: &DelegateTerms) -> String {
	if terms.counterparts.is_empty() {
		return "none".into();
	}
	terms.counterparts.iter().map(Ss58Codec::to_ss58check).collect::<Vec<_>>().join(", ")
}

/// What `status` shows of `delegation` at block `now`: one `(what, value)` row each.
/// `blocks` says how long a number of blocks is, for people.
pub fn status_rows(
	delegation: Option<&Delegation>,
	owner: &AccountId,
	delegate: &AccountId,
	now: BlockNumber,
	blocks: impl Fn(BlockNumber) -> String,
) -> Vec<(&'static str, String)> {
	let mut rows = vec![(
		"delegate",
		format!("{} of owner {}", delegate.to_ss58check(), owner.to_ss58check()),
	)];
	let terms =
		match terms_of(delegation, owner, delegate) {
			Ok((terms, _)) => terms,
			Err(error) => {
				rows.push(("terms", match error {
				TermsError::NotAuthorized { .. } => {
					"none: the owner has not authorized this delegate (see `authorize --help`)".into()
				}
				_ => "revoked by the owner: nothing can be registered or renewed".into(),
			}));
				if let Some(delegation) = delegation {
					rows.push((
						"keys",
						format!(
							"{} live or closing, holding {} (they count until they settle)",
							delegation.usage.keys,
							amount(delegation.usage.collateral)
						),
					));
				}
				return rows;
			}
		};
	let Some(delegation) = delegation else { return rows };
	let usage = &delegation.usage;
	rows.push((
		"terms",
		match terms.ends_at {
			None => "in force, no end".into(),
			Some(ends_at) if terms.is_in_force_at(now) => {
				format!("in force until #{ends_at} (in {})", blocks(ends_at - now))
			}
			Some(ends_at) => format!("ended at #{ends_at}: nothing can be registered or renewed"),
		},
	));
	rows.push(("counterparts", counterparts(terms)));
	rows.push((
		"keys",
		format!(
			"{} of at most {} (live and closing keys this delegate made)",
			usage.keys, terms.max_keys
		),
	));
	rows.push((
		"collateral",
		format!(
			"{} held of at most {} in total; at most {} per key",
			amount(usage.collateral),
			amount(terms.max_total_collateral),
			amount(terms.max_collateral)
		),
	));
	rows.push(("spending limit", format!("at most {} per key", amount(terms.max_spending_limit))));
	rows.push((
		"duration",
		format!("at most {} blocks per registration or renewal", terms.max_duration),
	));
	rows.push((
		"deposit",
		format!("{} held from the owner for the terms", amount(delegation.deposit)),
	));
	rows
}

#[cfg(test)]
mod tests {
	use session_keys_client::CryptoKind;

	use super::*;

	fn owner() -> AccountId {
		AccountId::from([1; 32])
	}

	fn delegate() -> AccountId {
		AccountId::from([4; 32])
	}

	fn profile() -> Profile {
		Profile {
			name: "api".into(),
			counterpart: AccountId::from([2; 32]),
			duration: 100,
			spending_limit: 50,
			collateral: 10,
			scope: vec![],
			description: String::new(),
			crypto: CryptoKind::Sr25519,
			renew_margin: 25,
			rotation_interval: 100,
		}
	}

	fn delegation(keys: u32, collateral: Balance) -> Delegation {
		Delegation {
			terms: Some(DelegateTerms {
				counterparts: vec![AccountId::from([2; 32]), AccountId::from([3; 32])],
				max_collateral: 10,
				max_spending_limit: 50,
				max_total_collateral: 30,
				max_duration: 100,
				max_keys: 3,
				ends_at: Some(900),
			}),
			deposit: 7,
			usage: DelegateUsage { keys, collateral },
		}
	}

	fn check(delegation: Option<&Delegation>, profile: &Profile) -> Result<(), TermsError> {
		check_profile(delegation, &owner(), &delegate(), profile, 5)
	}

	#[test]
	fn amounts_read_in_units_too() {
		assert_eq!(amount(0), "0");
		assert_eq!(amount(5 * UNIT), "5000000000000 (5 UNIT)");
		assert_eq!(amount(UNIT / 4 + 2 * UNIT), "2250000000000 (2.25 UNIT)");
		assert_eq!(amount(7), "7 (0.000000000007 UNIT)");
	}

	#[test]
	fn a_profile_within_the_terms_passes() {
		assert_eq!(check(Some(&delegation(0, 0)), &profile()), Ok(()));
		assert_eq!(
			rotation_refusal(Some(&delegation(0, 0)), &owner(), &delegate(), &profile(), 5),
			None
		);
	}

	#[test]
	fn each_refusal_names_its_term_and_what_the_profile_asks() {
		let cases = [
			(Profile { counterpart: AccountId::from([9; 32]), ..profile() }, "counterparts"),
			(Profile { collateral: 11, ..profile() }, "maxCollateral: at most 10 ("),
			(Profile { spending_limit: 51, ..profile() }, "maxSpendingLimit: at most 50 ("),
			(Profile { duration: 101, ..profile() }, "maxDuration: at most 100 blocks"),
		];
		for (profile, expected) in cases {
			let error = check(Some(&delegation(0, 0)), &profile).unwrap_err();
			assert!(!error.is_about_usage());
			let text = error.to_string();
			assert!(text.starts_with("the owner's terms refuse this profile: "), "{text}");
			assert!(text.contains(expected), "{text}");
		}
		let full = check(Some(&delegation(3, 0)), &profile()).unwrap_err();
		assert!(full.is_about_usage());
		assert!(
			full.to_string()
				.contains("maxKeys: at most 3 live and closing keys, and this delegate has 3"),
			"{full}"
		);
		let held = check(Some(&delegation(1, 25)), &profile()).unwrap_err();
		assert!(held.to_string().contains("maxTotalCollateral: at most 30 ("), "{held}");
		let ended = check_profile(Some(&delegation(0, 0)), &owner(), &delegate(), &profile(), 900);
		assert!(ended
			.unwrap_err()
			.to_string()
			.contains("endsAt: the authorization ended at block #900"));
		// A key of 100 blocks from block 801 would expire at 901, after the end.
		let outliving =
			check_profile(Some(&delegation(0, 0)), &owner(), &delegate(), &profile(), 801);
		let text = outliving.unwrap_err().to_string();
		assert!(text.contains("maxDuration: no key may outlive the authorization"), "{text}");
		assert!(text.contains("ends at block #900") && text.contains("expire at #901"), "{text}");
		assert_eq!(
			check_profile(Some(&delegation(0, 0)), &owner(), &delegate(), &profile(), 800),
			Ok(())
		);
	}

	#[test]
	fn no_or_revoked_authorization_is_said_plainly() {
		let error = check(None, &profile()).unwrap_err();
		assert!(matches!(error, TermsError::NotAuthorized { .. }));
		assert!(error.to_string().contains("has not authorized this delegate"), "{error}");
		let revoked = Delegation { terms: None, ..delegation(2, 20) };
		let error = check(Some(&revoked), &profile()).unwrap_err();
		assert!(error.to_string().contains("revoked") && error.to_string().contains("2 key(s)"));
	}

	#[test]
	fn terms_that_leave_no_room_for_a_successor_are_told() {
		// Two keys of 10 are in; a third fits, a successor beside it does not (maxKeys 3).
		let refusal =
			rotation_refusal(Some(&delegation(2, 20)), &owner(), &delegate(), &profile(), 5);
		assert!(refusal.is_some_and(|refusal| refusal.is_about_usage()));
	}

	#[test]
	fn status_shows_the_terms_and_their_use() {
		let rows =
			status_rows(Some(&delegation(1, 10)), &owner(), &delegate(), 5, |n| format!("{n} b"));
		let text: Vec<String> =
			rows.iter().map(|(what, value)| format!("{what}: {value}")).collect();
		let text = text.join("\n");
		for expected in [
			"keys: 1 of at most 3",
			"collateral: 10 (0.00000000001 UNIT) held of at most 30 (0.00000000003 UNIT) in total; \
			 at most 10 (0.00000000001 UNIT) per key",
			"spending limit: at most 50 (0.00000000005 UNIT) per key",
			"duration: at most 100 blocks",
			"terms: in force until #900 (in 895 b)",
			&AccountId::from([3; 32]).to_ss58check(),
		] {
			assert!(text.contains(expected), "{expected}: {text}");
		}
		let none = status_rows(None, &owner(), &delegate(), 5, |n| n.to_string());
		assert!(none.iter().any(|(_, value)| value.contains("has not authorized")));
	}
}
