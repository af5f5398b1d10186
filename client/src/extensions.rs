//! What the client signs besides the call: Substrate's transaction extensions, with
//! `CheckMetadataHash` enabled (RFC 78).
//!
//! The client merkleizes the metadata the node serves and signs that hash with every
//! transaction. The runtime embeds the hash of its own metadata and refuses a transaction signed
//! against any other, so a node that serves doctored metadata (to make one call encode as
//! another) gets nothing signed through: the transaction fails instead.

use codec::{Decode, Encode};
use scale_info::PortableRegistry;
use sp_core::H256;
use subxt::{
	config::{
		transaction_extensions::{
			ChargeAssetTxPayment, ChargeTransactionPayment, CheckGenesis, CheckMetadataHashMode,
			CheckMortality, CheckNonce, CheckSpecVersion, CheckTxVersion, VerifySignature,
		},
		ClientState, Config, DefaultExtrinsicParamsBuilder, HashFor, SubstrateConfig,
		TransactionExtension, TransactionExtensions,
	},
	error::TransactionExtensionError,
	ext::{
		frame_decode,
		frame_metadata::{RuntimeMetadata, RuntimeMetadataPrefixed},
	},
	ArcMetadata,
};

use crate::{connection::LegacyRpc, Error, Result};

/// The chain's subxt configuration: [`SubstrateConfig`]'s types and caches, signing with
/// [`Extensions`].
#[derive(Clone, Debug, Default)]
pub struct ChainConfig(SubstrateConfig);

impl Config for ChainConfig {
	type AccountId = <SubstrateConfig as Config>::AccountId;
	type Address = <SubstrateConfig as Config>::Address;
	type Signature = <SubstrateConfig as Config>::Signature;
	type Header = <SubstrateConfig as Config>::Header;
	type TransactionExtensions = Extensions;
	type AssetId = <SubstrateConfig as Config>::AssetId;
	type Hasher = <SubstrateConfig as Config>::Hasher;

	fn genesis_hash(&self) -> Option<HashFor<Self>> {
		self.0.genesis_hash()
	}

	fn spec_and_transaction_version_for_block_number(
		&self,
		block_number: u64,
	) -> Option<(u32, u32)> {
		self.0.spec_and_transaction_version_for_block_number(block_number)
	}

	fn metadata_for_spec_version(&self, spec_version: u32) -> Option<ArcMetadata> {
		self.0.metadata_for_spec_version(spec_version)
	}

	fn set_metadata_for_spec_version(&self, spec_version: u32, metadata: ArcMetadata) {
		self.0.set_metadata_for_spec_version(spec_version, metadata)
	}
}

/// Substrate's default transaction extensions, with [`CheckMetadataHash`] enabled.
pub type Extensions = (
	VerifySignature<ChainConfig>,
	CheckSpecVersion,
	CheckTxVersion,
	CheckNonce,
	CheckGenesis<ChainConfig>,
	CheckMortality<ChainConfig>,
	ChargeAssetTxPayment<ChainConfig>,
	ChargeTransactionPayment,
	CheckMetadataHash,
);

/// The parameters of [`Extensions`]: the nonce (or the node's next one), an immortal or mortal
/// era as subxt's default, no tip, and the metadata hash.
pub(crate) fn params(
	nonce: u64,
	metadata_hash: MetadataHash,
) -> <Extensions as TransactionExtensions<ChainConfig>>::Params {
	let (signature, spec, tx, nonce, genesis, mortality, asset_tip, tip, ()) =
		DefaultExtrinsicParamsBuilder::<ChainConfig>::new().nonce(nonce).build();
	(signature, spec, tx, nonce, genesis, mortality, asset_tip, tip, metadata_hash)
}

/// The hash of a runtime's metadata that `CheckMetadataHash` checks, with the runtime version it
/// belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetadataHash {
	/// The runtime version whose metadata was merkleized.
	pub spec_version: u32,
	/// The metadata digest's hash.
	pub hash: [u8; 32],
}

impl<T: Config> subxt::config::transaction_extensions::Params<T> for MetadataHash {}

impl MetadataHash {
	/// Merkleizes the metadata (version 15) the node serves at block `at`, with the runtime's
	/// version and the chain's token properties, as the runtime's build does for its own.
	pub(crate) async fn of_block(legacy: &LegacyRpc, at: H256) -> Result<MetadataHash> {
		let version = legacy
			.state_get_runtime_version(Some(at))
			.await
			.map_err(|e| Error::rpc("state_getRuntimeVersion", e))?;
		let spec_name = version
			.other
			.get("specName")
			.and_then(|name| name.as_str())
			.ok_or(Error::MetadataHash("the runtime version names no specName"))?
			.to_string();
		let properties =
			legacy.system_properties().await.map_err(|e| Error::rpc("system_properties", e))?;
		let decimals = properties
			.get("tokenDecimals")
			.and_then(|decimals| decimals.as_u64())
			.and_then(|decimals| u8::try_from(decimals).ok())
			.ok_or(Error::MetadataHash("the chain's properties name no tokenDecimals"))?;
		let token_symbol = properties
			.get("tokenSymbol")
			.and_then(|symbol| symbol.as_str())
			.ok_or(Error::MetadataHash("the chain's properties name no tokenSymbol"))?
			.to_string();
		let answer = legacy
			.state_call("Metadata_metadata_at_version", Some(&15u32.encode()), Some(at))
			.await
			.map_err(|e| Error::rpc("state_call(Metadata_metadata_at_version)", e))?;
		let metadata = Option::<Vec<u8>>::decode(&mut &answer[..])
			.map_err(|source| Error::Decode { what: "the metadata answer", source })?
			.ok_or(Error::MetadataHash("the node serves no metadata version 15"))?;
		let metadata = RuntimeMetadataPrefixed::decode(&mut &metadata[..])
			.map_err(|source| Error::Decode { what: "the metadata", source })?
			.1;
		let base58_prefix = ss58_prefix(&metadata)
			.ok_or(Error::MetadataHash("the metadata has no System.SS58Prefix constant"))?;
		let info = merkleized_metadata::ExtraInfo {
			spec_version: version.spec_version,
			spec_name,
			base58_prefix,
			decimals,
			token_symbol,
		};
		let digest = merkleized_metadata::generate_metadata_digest(&metadata, info)
			.map_err(Error::MerkleizeMetadata)?;
		Ok(MetadataHash { spec_version: version.spec_version, hash: digest.hash() })
	}
}

/// `System.SS58Prefix` from version 15 metadata.
fn ss58_prefix(metadata: &RuntimeMetadata) -> Option<u16> {
	let RuntimeMetadata::V15(metadata) = metadata else {
		return None;
	};
	let system = metadata.pallets.iter().find(|pallet| pallet.name == "System")?;
	let constant = system.constants.iter().find(|constant| constant.name == "SS58Prefix")?;
	u16::decode(&mut &constant.value[..]).ok()
}

/// What an offline signature covers besides the call and the nonce: the runtime's versions, the
/// chain, and the hash of the runtime's metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfflineChain {
	/// The runtime's `spec_version`.
	pub spec_version: u32,
	/// The runtime's `transaction_version`.
	pub transaction_version: u32,
	/// The chain's genesis hash (also the block an immortal era names).
	pub genesis: H256,
	/// The hash of the runtime's metadata, signed with `CheckMetadataHash` enabled.
	pub metadata_hash: [u8; 32],
}

/// `call` signed by `signer` with `nonce` as an immortal extrinsic, offline, with the runtime's
/// own types, and encoded for `author_submitExtrinsic` (see [`crate::Client::presign`]).
pub fn sign_immortal(
	signer: &sp_core::sr25519::Pair,
	call: session_keys_runtime::RuntimeCall,
	nonce: session_keys_runtime::Nonce,
	chain: &OfflineChain,
) -> Vec<u8> {
	use sp_core::Pair;
	let mut extension = session_keys_runtime::immortal_tx_extension(nonce);
	extension.8 = frame_metadata_hash_extension::CheckMetadataHash::new(true);
	// What the extensions add to the signed payload, in their order: versions, genesis, the
	// era's block, and the metadata hash.
	let implicit = (
		(),
		chain.spec_version,
		chain.transaction_version,
		chain.genesis,
		chain.genesis,
		(),
		(),
		(),
		Some(chain.metadata_hash),
		(),
	);
	let payload = session_keys_runtime::SignedPayload::from_raw(call, extension, implicit);
	let signature = payload.using_encoded(|bytes| signer.sign(bytes));
	let (call, extension, _) = payload.deconstruct();
	let sender = crate::AccountId::from(signer.public());
	session_keys_runtime::UncheckedExtrinsic::new_signed(
		call,
		sender.into(),
		signature.into(),
		extension,
	)
	.encode()
}

/// The `CheckMetadataHash` extension, enabled: the mode byte 1 in the extrinsic, and the hash in
/// what is signed.
pub struct CheckMetadataHash {
	hash: [u8; 32],
}

impl<T: Config> TransactionExtension<T> for CheckMetadataHash {
	type Decoded = CheckMetadataHashMode;
	type Params = MetadataHash;

	fn new(
		client: &ClientState<T>,
		params: MetadataHash,
	) -> std::result::Result<Self, TransactionExtensionError> {
		// Signing a stale hash would only have the transaction refused as a bad proof.
		if client.spec_version != params.spec_version {
			return Err(TransactionExtensionError::custom(format!(
				"the metadata hash is for runtime version {}, the block's runtime is version {}",
				params.spec_version, client.spec_version
			)));
		}
		Ok(CheckMetadataHash { hash: params.hash })
	}
}

impl frame_decode::extrinsics::TransactionExtension<PortableRegistry> for CheckMetadataHash {
	const NAME: &str = "CheckMetadataHash";

	fn encode_value_to(
		&self,
		_type_id: u32,
		_type_resolver: &PortableRegistry,
		out: &mut Vec<u8>,
	) -> std::result::Result<(), frame_decode::extrinsics::TransactionExtensionError> {
		// `Mode::Enabled`.
		1u8.encode_to(out);
		Ok(())
	}

	fn encode_implicit_to(
		&self,
		_type_id: u32,
		_type_resolver: &PortableRegistry,
		out: &mut Vec<u8>,
	) -> std::result::Result<(), frame_decode::extrinsics::TransactionExtensionError> {
		Some(self.hash).encode_to(out);
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_extension_is_the_enabled_mode_and_signs_the_hash() {
		let extension = CheckMetadataHash { hash: [7; 32] };
		let registry = PortableRegistry::from(scale_info::Registry::new());
		let (mut value, mut implicit) = (Vec::new(), Vec::new());
		frame_decode::extrinsics::TransactionExtension::encode_value_to(
			&extension, 0, &registry, &mut value,
		)
		.unwrap();
		frame_decode::extrinsics::TransactionExtension::encode_implicit_to(
			&extension,
			0,
			&registry,
			&mut implicit,
		)
		.unwrap();
		// As the runtime's own extension encodes them.
		let runtime = frame_metadata_hash_extension::CheckMetadataHash::<
			session_keys_runtime::Runtime,
		>::new_with_custom_hash([7; 32]);
		assert_eq!(value, runtime.encode());
		assert_eq!(implicit, Some([7u8; 32]).encode());
	}
}
