// The page's side of the signing worker (`signer-worker.ts`): one `Signer` per widget, holding
// its Worker in a private field, so no other script on the page can reach it through the
// widget. Seeds and the vault key stay in the worker.

import type { SignedHeaderV2 } from './codec.js';
import { WrongPassphrase, type VaultRecord } from './keystore.js';
import type { NewKey, SignRequest, SignStateRequest } from './signer-core.js';

/** A request to the worker. */
export type SignerCall = { id: number } & (
  | { op: 'configure'; genesis: Uint8Array; audience: Uint8Array; lockAfterMinutes: number }
  | { op: 'createVault'; passphrase: string }
  | { op: 'unlock'; record: VaultRecord; passphrase: string }
  | { op: 'lock' }
  | { op: 'touch' }
  | { op: 'newKey'; owner: string }
  | { op: 'signRequest'; request: SignRequest }
  | { op: 'signState'; request: SignStateRequest }
);

/** An answer from the worker, or an event it sends by itself. */
export type SignerReply =
  | { id: number; ok: true; value: unknown; unlocked: boolean }
  | { id: number; ok: false; name: string; message: string; unlocked: boolean }
  | { event: 'locked'; reason: 'idle' };

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

// Spreads a call's arguments without its id, for each operation.
type Args<Op extends SignerCall['op']> = Omit<Extract<SignerCall, { op: Op }>, 'id' | 'op'>;

/** The signing worker, as the page sees it. */
export class Signer {
  #worker: Worker;
  #pending = new Map<number, Pending>();
  #next = 1;
  #unlocked = false;

  /**
   * Starts the worker (`signer-worker.js` beside this bundle, from the page's origin).
   * `onLock` hears of an idle lock.
   */
  constructor(onLock: () => void, url = new URL('./signer-worker.js', import.meta.url)) {
    this.#worker = new Worker(url, { type: 'module', name: 'session-key-signer' });
    this.#worker.addEventListener('message', (event: MessageEvent<SignerReply>) => {
      const reply = event.data;
      if ('event' in reply) {
        this.#unlocked = false;
        onLock();
        return;
      }
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      this.#unlocked = reply.unlocked;
      if (reply.ok) {
        pending.resolve(reply.value);
      } else {
        const error = reply.name === 'WrongPassphrase' ? new WrongPassphrase() : new Error(reply.message);
        if (reply.name !== 'WrongPassphrase') error.name = reply.name;
        pending.reject(error);
      }
    });
    this.#worker.addEventListener('error', (event) => {
      const error = new Error(`The signing worker failed: ${event.message || 'it could not be loaded'}.`);
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    });
  }

  /** Whether the worker holds the vault key (as of its last answer). */
  get unlocked(): boolean {
    return this.#unlocked;
  }

  #call<Op extends SignerCall['op']>(op: Op, args: Args<Op>): Promise<unknown> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, op, ...args });
    });
  }

  async configure(genesis: Uint8Array, audience: Uint8Array, lockAfterMinutes: number): Promise<void> {
    await this.#call('configure', { genesis, audience, lockAfterMinutes });
  }

  async createVault(passphrase: string): Promise<VaultRecord> {
    return (await this.#call('createVault', { passphrase })) as VaultRecord;
  }

  async unlock(record: VaultRecord, passphrase: string): Promise<void> {
    await this.#call('unlock', { record, passphrase });
  }

  async lock(): Promise<void> {
    this.#unlocked = false;
    await this.#call('lock', {});
  }

  touch(): void {
    void this.#call('touch', {});
  }

  async newKey(owner: string): Promise<NewKey> {
    return (await this.#call('newKey', { owner })) as NewKey;
  }

  async signRequest(request: SignRequest): Promise<SignedHeaderV2> {
    return (await this.#call('signRequest', { request })) as SignedHeaderV2;
  }

  async signState(request: SignStateRequest): Promise<Uint8Array> {
    return (await this.#call('signState', { request })) as Uint8Array;
  }

  /** Stops the worker: whatever it held is gone. */
  terminate(): void {
    this.#worker.terminate();
    this.#unlocked = false;
  }
}
