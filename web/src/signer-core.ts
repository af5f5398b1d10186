// What the signing worker (`signer-worker.ts`) does, without the messaging: it holds the vault
// key while unlocked, makes new keys, and signs version 2 request headers for the one chain and
// audience it was pinned to. Seeds are generated, opened and wiped here only: the page sends
// sealed records and request fields, and gets back public keys, proofs and signatures.
// Kept apart from the worker's message loop so that Node's test runner can exercise it.

import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady, decodeAddress } from '@polkadot/util-crypto';

import { type ChannelState, type SignedHeaderV2 } from './codec.js';
import { generateSeed, ownershipProof, publicOf, signHeaderV2, signState } from './keys.js';
import { type Sealed, type VaultRecord, newVault, open, recordAad, seal, unlockVault } from './keystore.js';

/** The default idle time before the worker forgets the vault key. */
export const DEFAULT_LOCK_AFTER_MINUTES = 5;

/** What the page asks to have signed: a version 2 header's request-specific fields. */
export interface SignRequest {
  /** The stored key's id (`0x`-hex public key) and its owner's address: its record's binding. */
  publicKey: string;
  owner: string;
  sealed: Sealed;
  blockHash: Uint8Array;
  nonce: bigint;
  resource: Uint8Array;
  query: Uint8Array;
  contentDigest: Uint8Array;
}

/** What the page asks to have signed for a metered call: the next channel state. */
export interface SignStateRequest {
  /** The stored key's id (`0x`-hex public key) and its owner's address: its record's binding. */
  publicKey: string;
  owner: string;
  sealed: Sealed;
  state: ChannelState;
}

/** A key made in the worker: what the page stores and registers. */
export interface NewKey {
  publicKey: string;
  proof: Uint8Array;
  sealed: Sealed;
}

/** The worker's state. */
export class SignerCore {
  #vaultKey: CryptoKey | undefined;
  #genesis: Uint8Array | undefined;
  #audience: Uint8Array | undefined;
  #lockAfterMs = DEFAULT_LOCK_AFTER_MINUTES * 60_000;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `onLock` hears of every lock the worker makes by itself (idle). */
  constructor(private readonly onLock: (reason: 'idle') => void = () => undefined) {}

  /**
   * Pins the chain and the audience every request signature is for. Set once: a worker serves
   * one chain and one gateway, so a page script cannot have it sign for another.
   */
  async configure(genesis: Uint8Array, audience: Uint8Array, lockAfterMinutes: number): Promise<void> {
    if (genesis.length !== 32) throw new Error(`a genesis hash is 32 bytes, not ${genesis.length}`);
    if (audience.length === 0) throw new Error('the audience is empty');
    if (!(lockAfterMinutes > 0) || !Number.isFinite(lockAfterMinutes)) {
      throw new Error(`the idle lock must be a positive number of minutes, not ${lockAfterMinutes}`);
    }
    if (this.#genesis) {
      if (u8aToHex(this.#genesis) !== u8aToHex(genesis) || u8aToHex(this.#audience) !== u8aToHex(audience)) {
        throw new Error('this signer is pinned to another chain or audience');
      }
      return;
    }
    await cryptoWaitReady();
    this.#genesis = genesis.slice();
    this.#audience = audience.slice();
    this.#lockAfterMs = lockAfterMinutes * 60_000;
  }

  get unlocked(): boolean {
    return this.#vaultKey !== undefined;
  }

  /** A new vault for `passphrase`, unlocked; the page stores the record. */
  async createVault(passphrase: string): Promise<VaultRecord> {
    if (passphrase.length < 8) throw new Error('Choose a passphrase of at least 8 characters.');
    const { record, key } = await newVault(passphrase);
    this.#setKey(key);
    return record;
  }

  /** Unlocks with `passphrase` (or throws `WrongPassphrase`, leaving the state as it was). */
  async unlock(record: VaultRecord, passphrase: string): Promise<void> {
    this.#setKey(await unlockVault(record, passphrase));
  }

  /** Forgets the vault key: nothing opens until the next unlock. */
  lock(): void {
    this.#vaultKey = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The user did something: the idle lock starts over. */
  touch(): void {
    if (this.#vaultKey) this.#arm();
  }

  /** A fresh key for `owner` (SS58): its public key, its ownership proof, its sealed seed. */
  async newKey(owner: string): Promise<NewKey> {
    const key = this.#requireKey();
    const account = decodeAddress(owner);
    const seed = generateSeed();
    try {
      const publicKey = u8aToHex(publicOf(seed));
      const proof = ownershipProof(seed, account);
      const sealed = await seal(key, seed, recordAad(publicKey, owner));
      return { publicKey, proof, sealed };
    } finally {
      seed.fill(0);
    }
  }

  /** Signs a version 2 header for the pinned chain and audience, as the record's owner. */
  async signRequest(request: SignRequest): Promise<SignedHeaderV2> {
    const key = this.#requireKey();
    if (!this.#genesis || !this.#audience) throw new Error('the signer is not configured with a chain and an audience');
    const seed = await open(key, request.sealed, recordAad(request.publicKey, request.owner));
    if (!seed) throw new Error(`The stored key ${request.publicKey} is damaged or was tampered with; the other keys are unaffected.`);
    try {
      const header = signHeaderV2(seed, this.#genesis, {
        account: decodeAddress(request.owner),
        blockHash: request.blockHash,
        nonce: request.nonce,
        audience: this.#audience,
        resource: request.resource,
        query: request.query,
        contentDigest: request.contentDigest,
      });
      if (u8aToHex(header.public) !== request.publicKey) throw new Error(`The sealed seed is not the key ${request.publicKey}.`);
      return header;
    } finally {
      seed.fill(0);
    }
  }

  /**
   * Signs a channel state (`sadj:state:v1\0\0\0` domain) for the pinned chain with the stored
   * key: the state a metered call carries in `x-session-state`. Returns the signature.
   */
  async signState(request: SignStateRequest): Promise<Uint8Array> {
    const key = this.#requireKey();
    if (!this.#genesis) throw new Error('the signer is not configured with a chain');
    const { nonce, owed, margin } = request.state;
    if (nonce < 0n || owed < 0n || margin < 0n) throw new Error('a channel state has no negative field');
    const seed = await open(key, request.sealed, recordAad(request.publicKey, request.owner));
    if (!seed) throw new Error(`The stored key ${request.publicKey} is damaged or was tampered with; the other keys are unaffected.`);
    try {
      if (u8aToHex(publicOf(seed)) !== request.publicKey) throw new Error(`The sealed seed is not the key ${request.publicKey}.`);
      return signState(seed, this.#genesis, { nonce, owed, margin });
    } finally {
      seed.fill(0);
    }
  }

  #requireKey(): CryptoKey {
    if (!this.#vaultKey) throw new Error('Unlock the keystore with its passphrase first.');
    return this.#vaultKey;
  }

  #setKey(key: CryptoKey): void {
    this.#vaultKey = key;
    this.#arm();
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.lock();
      this.onLock('idle');
    }, this.#lockAfterMs);
  }
}
