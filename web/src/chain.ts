// The chain side of the widget, on @polkadot/api: connecting, the owner's accounts (a browser
// wallet extension, or on a development chain the well-known dev accounts), submitting the
// adjudicator's calls with their progress and their errors by the pallet's names, and reading
// what the chain holds of a key (`sessionKeys_keyState`).

import { merkleizeMetadata } from '@polkadot-api/merkleize-metadata';
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import { web3Accounts, web3Enable, web3FromAddress } from '@polkadot/extension-dapp';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Codec } from '@polkadot/types/types';
import type { DispatchError } from '@polkadot/types/interfaces';
import { u8aToHex } from '@polkadot/util';

import { type CallNames, type ExpectedCall, callNamesOf, checkCall } from './call-check.js';
import { sessionPublicHex } from './codec.js';
import { type KeyRecordJson, type KeyState, keyStateFromJson } from './key-state.js';

export { type KeyState, keyStateFromJson } from './key-state.js';

/** The provider of each connection, for RPC methods Polkadot-JS has no types for. */
const providers = new WeakMap<ApiPromise, WsProvider>();

/** How long a connection attempt may take before it is reported as failed. */
const CONNECT_TIMEOUT_MS = 10_000;

/** An account that can own session keys. */
export interface Owner {
  address: string;
  name: string;
  /** `dev` for the well-known dev accounts, else the extension's name. */
  source: string;
  /** The key pair of a dev account; extension accounts sign through the extension. */
  pair?: KeyringPair;
}

/** A refusal by the chain, named as the pallet names it (`Adjudicator.InsufficientBalance`). */
export class ChainError extends Error {
  constructor(
    message: string,
    /** Whether the call certainly had no effect (refused, or failed in a block). */
    readonly definite: boolean,
  ) {
    super(message);
    this.name = 'ChainError';
  }
}

/**
 * Connects to the node at `url`; refuses a chain other than the one whose genesis hash is
 * `genesis` (`0x`-hex, as the gateway's config.json pins it), and a chain without the adjudicator.
 */
export async function connect(url: string, genesis: string): Promise<ApiPromise> {
  if (!/^0x[0-9a-f]{64}$/.test(genesis)) throw new Error(`The pinned genesis hash "${genesis}" is not 0x and 64 lower-case hex digits.`);
  if (!/^wss?:\/\//.test(url)) throw new Error(`The node URL must start with ws:// or wss://, not "${url}".`);
  const provider = new WsProvider(url, false);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
  });
  let api: ApiPromise;
  try {
    await Promise.race([provider.connect(), timeout]);
    api = await Promise.race([
      ApiPromise.create({ provider, throwOnConnect: true, noInitWarn: true }),
      timeout,
    ]);
  } catch (error) {
    await provider.disconnect().catch(() => undefined);
    const reason = error instanceof Error ? error.message : 'the WebSocket connection failed (is the node running, and does it allow this origin?)';
    throw new Error(`Cannot connect to the node at ${url}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
  // The metadata that encodes what the owner signs comes from this node: it must be the
  // pinned chain's.
  const served = api.genesisHash.toHex();
  if (served !== genesis) {
    await api.disconnect();
    throw new Error(
      `The node at ${url} serves another chain (genesis ${served}), not the one the gateway pins (${genesis}): refusing to use it.`,
    );
  }
  if (!api.tx.adjudicator?.register) {
    await api.disconnect();
    throw new Error(`The chain at ${url} has no session-key adjudicator (no Adjudicator pallet).`);
  }
  providers.set(api, provider);
  return api;
}

/** Whether the chain calls itself a development or local chain. */
export async function isDevChain(api: ApiPromise): Promise<boolean> {
  const chainType = await api.rpc.system.chainType();
  return chainType.isDevelopment || chainType.isLocal;
}

const DEV_ACCOUNTS = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'];

/** The well-known dev accounts (`//Alice`, ...), for development chains only. */
export function devAccounts(api: ApiPromise): Owner[] {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 ?? 42 });
  return DEV_ACCOUNTS.map((name) => {
    const pair = keyring.addFromUri(`//${name}`);
    return { address: pair.address, name: `${name} (dev)`, source: 'dev', pair };
  });
}

/**
 * The owner accounts to choose from: the wallet extension's; on a development chain, the dev
 * accounts after them (the only ones when no extension is installed).
 */
export async function ownerAccounts(api: ApiPromise, appName: string): Promise<Owner[]> {
  const owners: Owner[] = [];
  try {
    const extensions = await web3Enable(appName);
    if (extensions.length > 0) {
      for (const account of await web3Accounts({ ss58Format: api.registry.chainSS58 })) {
        owners.push({ address: account.address, name: account.meta.name ?? account.address, source: account.meta.source });
      }
    }
  } catch {
    // No extension, or it refused this page: the dev accounts below, or none.
  }
  if (await isDevChain(api)) owners.push(...devAccounts(api));
  return owners;
}

/** How far a submitted call has come. */
export type Progress =
  | { stage: 'signing' }
  | { stage: 'submitted' }
  | { stage: 'inBlock'; blockNumber: number }
  | { stage: 'finalized'; blockNumber: number };

/** Where a call was included. */
export interface Included {
  blockHash: string;
  blockNumber: number;
}

/** `Adjudicator.InsufficientBalance: <the pallet's doc line>`, or the dispatch error's name. */
export function describeDispatchError(api: ApiPromise, error: DispatchError): string {
  if (error.isModule) {
    const { section, name, docs } = api.registry.findMetaError(error.asModule);
    const pallet = section.charAt(0).toUpperCase() + section.slice(1);
    const doc = docs.join(' ').trim();
    return doc ? `${pallet}.${name}: ${doc}` : `${pallet}.${name}`;
  }
  return JSON.stringify(error.toHuman());
}

/** What the widget signs against: the hash of a metadata, and its reader of encoded calls. */
export interface HashedMetadata {
  hash: `0x${string}`;
  callNames: CallNames;
}

/** Each metadata a connection encoded with, hashed (an upgrade brings a new object). */
const hashedMetadata = new WeakMap<object, Promise<HashedMetadata>>();

/** The chain's token (`tokenSymbol`, `tokenDecimals` of `system_properties`), as the node states it. */
function chainToken(api: ApiPromise): { decimals: number; tokenSymbol: string } {
  // Not `registry.chainDecimals` / `chainTokens`: those fall back to 12 and "Unit" when the
  // chain names no token, and the hash must be of what the chain states.
  const properties = api.registry.getChainProperties();
  const decimals = properties?.tokenDecimals.unwrapOr(undefined)?.[0]?.toNumber();
  const tokenSymbol = properties?.tokenSymbol.unwrapOr(undefined)?.[0]?.toString();
  if (decimals === undefined || tokenSymbol === undefined) {
    throw new Error('The chain names no token (tokenSymbol, tokenDecimals), which CheckMetadataHash needs.');
  }
  return { decimals, tokenSymbol };
}

/**
 * The hash of the runtime's metadata (RFC 78) for `CheckMetadataHash`: merkleized here from the
 * very metadata Polkadot-JS encodes calls with (`api.runtimeMetadata`), with the chain's token.
 * Every transaction signs it (`mode: 1`), and the runtime refuses one whose hash is not that of
 * its own metadata. Hashing metadata fetched apart from it would not catch a node that doctors
 * only the version Polkadot-JS uses. The hash leaves the pallet list out, which Polkadot-JS
 * encodes from, so `submit` also reads each call back with the hashed call type (`checkCall`).
 */
export function metadataHash(api: ApiPromise): Promise<HashedMetadata> {
  const metadata = api.runtimeMetadata;
  const cached = hashedMetadata.get(metadata);
  if (cached) return cached;
  const hashed = (async () => {
    // Polkadot-JS loads version 16 (or 15) at connection, but after a runtime upgrade it loads
    // the new metadata as version 14, which has too little to hash.
    if (metadata.version < 15) {
      throw new Error(
        `the node's metadata came as version ${metadata.version} (as Polkadot-JS loads it after a runtime upgrade, spec ${api.runtimeVersion.specVersion.toString()} now, or from a node that serves no newer one), which cannot be hashed: press Reconnect`,
      );
    }
    const bytes = metadata.toU8a();
    const merkleized = merkleizeMetadata(bytes, chainToken(api));
    return { hash: u8aToHex(merkleized.digest()), callNames: callNamesOf(bytes) };
  })();
  // A failure is not kept: the next transaction tries again.
  hashed.catch(() => {
    if (hashedMetadata.get(metadata) === hashed) hashedMetadata.delete(metadata);
  });
  hashedMetadata.set(metadata, hashed);
  return hashed;
}

/**
 * Signs `tx` as `owner`, submits it and resolves once it is finalized (or rejects, by name).
 * `expected` is the call `tx` must be, read with the metadata whose hash is signed: anything
 * else is refused before signing.
 */
export async function submit(
  api: ApiPromise,
  owner: Owner,
  tx: SubmittableExtrinsic<'promise'>,
  expected: ExpectedCall,
  onProgress: (progress: Progress) => void,
): Promise<Included> {
  onProgress({ stage: 'signing' });
  const signer = owner.pair ? undefined : (await web3FromAddress(owner.address)).signer;
  let hash: `0x${string}`;
  try {
    const hashed = await metadataHash(api);
    checkCall(hashed.callNames, tx.method.toU8a(), expected);
    hash = hashed.hash;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ChainError(`Refusing to sign: ${message}.`, true);
  }
  const blockNumber = async (hash: Codec) => (await api.rpc.chain.getHeader(hash.toHex())).number.toNumber();
  return new Promise<Included>((resolve, reject) => {
    let unsubscribe: (() => void) | undefined;
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      unsubscribe?.();
      outcome();
    };
    tx.signAndSend(owner.pair ?? owner.address, { signer, nonce: -1, mode: 1, metadataHash: hash }, (result) => {
      const { status, dispatchError } = result;
      if ((status.isInBlock || status.isFinalized) && dispatchError) {
        finish(() => reject(new ChainError(describeDispatchError(api, dispatchError), true)));
      } else if (status.isInBlock) {
        blockNumber(status.asInBlock).then((number) => onProgress({ stage: 'inBlock', blockNumber: number }), () => undefined);
      } else if (status.isFinalized) {
        const hash = status.asFinalized;
        blockNumber(hash).then(
          (number) => {
            onProgress({ stage: 'finalized', blockNumber: number });
            finish(() => resolve({ blockHash: hash.toHex(), blockNumber: number }));
          },
          (error) => finish(() => reject(new ChainError(`Finalized, but its block cannot be read: ${error}`, false))),
        );
      } else if (status.isReady || status.isBroadcast) {
        onProgress({ stage: 'submitted' });
      } else if (status.isInvalid || status.isDropped || status.isUsurped) {
        finish(() => reject(new ChainError(`The transaction was not included: ${status.type}.`, status.isInvalid)));
      } else if (status.isFinalityTimeout || status.isRetracted) {
        finish(() => reject(new ChainError(`The transaction's block was not finalized: ${status.type}.`, false)));
      }
    })
      .then((stop) => {
        if (settled) stop();
        else unsubscribe = stop;
      })
      .catch((error: unknown) => {
        // Refused before it reached a block: the pool's verdict (fees, bad proof of origin...).
        const message = error instanceof Error ? error.message : String(error);
        finish(() => reject(new ChainError(`Refused by the node: ${message}`, true)));
      });
  });
}

/** A key's state at the best block `best`: one `sessionKeys_keyState` call (its JSON, as is). */
export async function keyState(api: ApiPromise, publicKey: Uint8Array, best: number): Promise<KeyState> {
  const provider = providers.get(api);
  if (!provider) throw new Error('The connection was not made by connect(): no provider for sessionKeys_keyState.');
  let answer: KeyRecordJson;
  try {
    answer = await provider.send<KeyRecordJson>('sessionKeys_keyState', [sessionPublicHex(publicKey), null]);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`The node cannot answer sessionKeys_keyState (it needs SessionKeysApi version 5): ${message}`);
  }
  return keyStateFromJson(answer, best);
}

/** Milliseconds per block: the Aura slot (twice the timestamp pallet's minimum period). */
export function blockTimeMs(api: ApiPromise): number {
  const minimumPeriod = api.consts.timestamp?.minimumPeriod;
  const period = minimumPeriod ? Number(minimumPeriod.toPrimitive()) : 3000;
  return period > 0 ? period * 2 : 6000;
}

/** A chain constant of the adjudicator, as a number. */
export function adjudicatorConst(api: ApiPromise, name: string): number {
  const value = api.consts.adjudicator?.[name];
  if (value === undefined) throw new Error(`The chain has no Adjudicator.${name} constant.`);
  return Number(value.toPrimitive());
}

/**
 * The hash of a block recent enough for a request header at any verifier: two behind the best
 * (the Rust client's `header_block_hash`), the genesis block near genesis.
 */
export async function headerBlockHash(api: ApiPromise): Promise<Uint8Array> {
  const best = (await api.rpc.chain.getHeader()).number.toNumber();
  const hash = await api.rpc.chain.getBlockHash(Math.max(0, best - 2));
  return hash.toU8a();
}
