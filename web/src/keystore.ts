// The encrypted local keystore. A session key's seed is kept in IndexedDB only as AES-256-GCM
// ciphertext (WebCrypto) under a key derived from the user's passphrase with PBKDF2-SHA256
// (600,000 iterations, OWASP's figure for it, and a random salt stored with the vault). The key
// is derived at each unlock and is non-extractable; each record has its own random IV, and the
// record's public key and owner are bound as associated data, so a ciphertext moved to another
// record fails to open. A vault check record tells a wrong passphrase from a damaged record.
// The vault key and the seeds live in the signing worker (`signer-core.ts`), never in the page.

import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { stringToU8a, u8aToHex } from '@polkadot/util';

import type { ChannelState, SignedHeaderV2 } from './codec.js';
import type { Signer } from './signer.js';
import type { SignRequest } from './signer-core.js';

/** PBKDF2 iterations for new vaults. */
export const PBKDF2_ITERATIONS = 600_000;
/** The fewest iterations a stored vault may name: below it, the vault is refused. */
export const MIN_PBKDF2_ITERATIONS = 600_000;
const SALT_LEN = 16;
const IV_LEN = 12;
const CHECK_PLAINTEXT = stringToU8a('session-keys-widget vault v1');
const CHECK_AAD = stringToU8a('session-keys-widget:v1:vault-check');

/** AES-GCM ciphertext with its IV. */
export interface Sealed {
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

/** The vault's parameters, stored once. */
export interface VaultRecord {
  id: 'vault';
  version: 1;
  kdf: 'PBKDF2-SHA256';
  iterations: number;
  salt: Uint8Array;
  check: Sealed;
}

/** A stored session key: the public parts in the clear, the seed sealed. */
export interface KeyRecord {
  /** `0x`-hex of the 32-byte sr25519 public key: the record's id. */
  public: string;
  /** The owner's SS58 address. */
  owner: string;
  /** What the user called the key. */
  name: string;
  /** When it was made (ms since the epoch). */
  createdAt: number;
  /** The sealed 32-byte seed. */
  sealed: Sealed;
}

/** The passphrase does not open the vault; nothing was changed. */
export class WrongPassphrase extends Error {
  constructor() {
    super('Wrong passphrase: the keystore stays locked and nothing was changed.');
    this.name = 'WrongPassphrase';
  }
}

/** A record's ciphertext does not open under the vault's key: it was damaged or swapped. */
export class DamagedRecord extends Error {
  constructor(readonly publicKey: string) {
    super(`The stored key ${publicKey} is damaged or was tampered with; the other keys are unaffected.`);
    this.name = 'DamagedRecord';
  }
}

/** WebCrypto takes buffers it may not share; every array here owns its plain buffer. */
const buffer = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

/** Associated data of a key record: its id and owner. */
export function recordAad(publicKey: string, owner: string): Uint8Array {
  return stringToU8a(`session-keys-widget:v1:key:${publicKey}:${owner}`);
}

/** Derives the vault key from a passphrase (non-extractable AES-256-GCM). */
export async function deriveKey(passphrase: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  if (iterations < MIN_PBKDF2_ITERATIONS) {
    throw new Error(`the vault names ${iterations} PBKDF2 iterations, fewer than ${MIN_PBKDF2_ITERATIONS}`);
  }
  const material = await crypto.subtle.importKey('raw', buffer(stringToU8a(passphrase)), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: buffer(salt), iterations },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** Seals `plaintext` under `key` with `aad` bound. */
export async function seal(key: CryptoKey, plaintext: Uint8Array, aad: Uint8Array): Promise<Sealed> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_LEN));
  const ciphertext = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: buffer(aad) }, key, buffer(plaintext));
  return { iv, ciphertext: new Uint8Array(ciphertext) };
}

/** Opens a sealed value; `undefined` when the key, the IV, the ciphertext or `aad` is wrong. */
export async function open(key: CryptoKey, sealed: Sealed, aad: Uint8Array): Promise<Uint8Array | undefined> {
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: buffer(sealed.iv), additionalData: buffer(aad) },
      key,
      buffer(sealed.ciphertext),
    );
    return new Uint8Array(plaintext);
  } catch {
    return undefined;
  }
}

/** A new vault record for `passphrase`, and its key. */
export async function newVault(passphrase: string): Promise<{ record: VaultRecord; key: CryptoKey }> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_LEN));
  const key = await deriveKey(passphrase, salt, PBKDF2_ITERATIONS);
  const check = await seal(key, CHECK_PLAINTEXT, CHECK_AAD);
  return { record: { id: 'vault', version: 1, kdf: 'PBKDF2-SHA256', iterations: PBKDF2_ITERATIONS, salt, check }, key };
}

/** The vault's key for `passphrase`, or `WrongPassphrase`. */
export async function unlockVault(record: VaultRecord, passphrase: string): Promise<CryptoKey> {
  if (record.version !== 1 || record.kdf !== 'PBKDF2-SHA256') {
    throw new Error(`this keystore was written by a newer widget (vault version ${record.version})`);
  }
  const key = await deriveKey(passphrase, record.salt, record.iterations);
  const check = await open(key, record.check, CHECK_AAD);
  if (!check || u8aToHex(check) !== u8aToHex(CHECK_PLAINTEXT)) throw new WrongPassphrase();
  return key;
}

interface Schema extends DBSchema {
  vault: { key: string; value: VaultRecord };
  keys: { key: string; value: KeyRecord; indexes: { owner: string } };
}

/** The IndexedDB database name. */
export const DB_NAME = 'session-keys-widget';

/** The keystore: one vault, any number of sealed keys, and the signing worker that opens them. */
export class Keystore {
  readonly #db: IDBPDatabase<Schema>;
  readonly #signer: Signer;

  private constructor(db: IDBPDatabase<Schema>, signer: Signer) {
    this.#db = db;
    this.#signer = signer;
  }

  /** Opens (and on first use creates) the database; `signer` holds the vault key and the seeds. */
  static async open(signer: Signer, name = DB_NAME): Promise<Keystore> {
    const db = await openDB<Schema>(name, 1, {
      upgrade(db) {
        db.createObjectStore('vault', { keyPath: 'id' });
        db.createObjectStore('keys', { keyPath: 'public' }).createIndex('owner', 'owner');
      },
    });
    return new Keystore(db, signer);
  }

  /** Whether a vault exists (a passphrase was chosen before). */
  async hasVault(): Promise<boolean> {
    return (await this.#db.get('vault', 'vault')) !== undefined;
  }

  /** Whether the signing worker holds the vault's key. */
  get unlocked(): boolean {
    return this.#signer.unlocked;
  }

  /** Creates the vault with `passphrase` and unlocks it; refused if one exists. */
  async create(passphrase: string): Promise<void> {
    // Derived before the transaction: an IndexedDB transaction ends at the first await on
    // anything else. `add` refuses to replace a vault made meanwhile (another tab).
    const record = await this.#signer.createVault(passphrase);
    try {
      await this.#db.add('vault', record);
    } catch {
      await this.#signer.lock();
      throw new Error('A keystore exists already: unlock it with its passphrase.');
    }
  }

  /** Unlocks the vault; `WrongPassphrase` leaves everything as it was. */
  async unlock(passphrase: string): Promise<void> {
    const record = await this.#db.get('vault', 'vault');
    if (!record) throw new Error('There is no keystore yet: create a key to choose its passphrase.');
    await this.#signer.unlock(record, passphrase);
  }

  /** Drops the vault key in the worker: nothing can be signed until the next unlock. */
  async lock(): Promise<void> {
    await this.#signer.lock();
  }

  /**
   * Makes a key for `owner` in the worker and stores its sealed seed: the secret is kept before
   * anything is sent. Returns its public key and ownership proof.
   */
  async createKey(owner: string, name: string): Promise<{ publicKey: string; proof: Uint8Array }> {
    const made = await this.#signer.newKey(owner);
    const record: KeyRecord = { public: made.publicKey, owner, name, createdAt: Date.now(), sealed: made.sealed };
    await this.#db.add('keys', record);
    return { publicKey: made.publicKey, proof: made.proof };
  }

  /** The stored keys of `owner`, oldest first. */
  async keysOf(owner: string): Promise<KeyRecord[]> {
    const records = await this.#db.getAllFromIndex('keys', 'owner', owner);
    return records.sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Has the worker sign a version 2 header with the stored key `publicKey`, as its owner. */
  async signRequest(publicKey: string, fields: Omit<SignRequest, 'publicKey' | 'owner' | 'sealed'>): Promise<SignedHeaderV2> {
    const record = await this.#db.get('keys', publicKey);
    if (!record) throw new Error(`No stored key ${publicKey}.`);
    return this.#signer.signRequest({ ...fields, publicKey, owner: record.owner, sealed: record.sealed });
  }

  /** The stored key `publicKey`'s signature over `state` (a metered call's next state). */
  async signState(publicKey: string, state: ChannelState): Promise<Uint8Array> {
    const record = await this.#db.get('keys', publicKey);
    if (!record) throw new Error(`No stored key ${publicKey}.`);
    return this.#signer.signState({ publicKey, owner: record.owner, sealed: record.sealed, state });
  }

  /** Wipes a key's record (its sealed seed with it). */
  async forget(publicKey: string): Promise<void> {
    await this.#db.delete('keys', publicKey);
  }
}
