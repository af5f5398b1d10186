// What the chain holds of a session key, as the `sessionKeys_keyState` RPC answers it (runtime
// API version 5: one read per key), turned into what the widget shows. Apart from chain.ts so
// that Node's test runner can load it (the wallet extension's library needs a window).

import { hexToU8a } from '@polkadot/util';

/** What the chain says of a session key. */
export interface KeyState {
  /** `unknown`: never registered; `live`; `closing` (revoked or expired); `ended`. */
  phase: 'unknown' | 'live' | 'closing' | 'ended';
  revoked: boolean;
  /** Why it ended (`Revoked`, `Expired`, `Rotated`, `Discontinued`, `Liquidated`). */
  reason?: string;
  counterpart?: string;
  /** The delegate that registered it for the owner, if any. */
  delegate?: string;
  registeredAt?: number;
  expiresAt?: number;
  settlesAt?: number;
  endedAt?: number;
  duration?: number;
  /** The limit that applies at the best block (a pending decrease folded in once due). */
  spendingLimit?: bigint;
  /** A lower limit still waiting for its block. */
  pendingLimit?: { limit: bigint; appliesAt: number };
  collateral?: bigint;
  owed?: bigint;
  description?: Uint8Array;
  scope?: Uint8Array[];
}

/** `sessionKeys_keyState`'s answer (serde's JSON of `KeyRecord`). */
export type KeyRecordJson =
  | 'unknown'
  | { registered: Record<string, unknown> & { state: Record<string, unknown> } }
  | { retired: Record<string, unknown> };

const integer = (value: unknown, name: string): number => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new Error(`sessionKeys_keyState: ${name} is not a block number`);
  return value;
};
const amount = (value: unknown, name: string): bigint => {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new Error(`sessionKeys_keyState: ${name} is not a decimal amount`);
  return BigInt(value);
};
const bytesOf = (value: unknown, name: string): Uint8Array => {
  if (typeof value !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(value)) throw new Error(`sessionKeys_keyState: ${name} is not hex`);
  return hexToU8a(value);
};
const text = (value: unknown, name: string): string => {
  if (typeof value !== 'string') throw new Error(`sessionKeys_keyState: ${name} is not a string`);
  return value;
};

/** A key's state at the best block `best`, from `sessionKeys_keyState`. */
export function keyStateFromJson(record: KeyRecordJson, best: number): KeyState {
  if (record === 'unknown') return { phase: 'unknown', revoked: false };
  if ('registered' in record) {
    const r = record.registered;
    const expiresAt = integer(r.expiresAt, 'expiresAt');
    const revoked = r.revoked === true;
    const live = best < expiresAt;
    const owed = amount(r.state.owed, 'state.owed');
    let spendingLimit = amount(r.spendingLimit, 'spendingLimit');
    let pendingLimit: KeyState['pendingLimit'];
    const pending = r.pendingLimit as { limit: unknown; appliesAt: unknown } | null | undefined;
    if (pending) {
      const limit = amount(pending.limit, 'pendingLimit.limit');
      const appliesAt = integer(pending.appliesAt, 'pendingLimit.appliesAt');
      // The pallet's `limit_at`: a due decrease applies, never below what is owed.
      if (appliesAt <= best) spendingLimit = limit > owed ? limit : owed;
      else pendingLimit = { limit, appliesAt };
    }
    if (!Array.isArray(r.scope)) throw new Error('sessionKeys_keyState: scope is not a list');
    return {
      phase: live ? 'live' : 'closing',
      revoked,
      reason: live ? undefined : revoked ? 'Revoked' : 'Expired',
      counterpart: text(r.counterpart, 'counterpart'),
      delegate: r.delegate == null ? undefined : text(r.delegate, 'delegate'),
      registeredAt: integer(r.registeredAt, 'registeredAt'),
      expiresAt,
      settlesAt: integer(r.settlesAt, 'settlesAt'),
      duration: integer(r.duration, 'duration'),
      spendingLimit,
      pendingLimit,
      collateral: amount(r.collateral, 'collateral'),
      owed,
      description: bytesOf(r.description, 'description'),
      scope: r.scope.map((item, index) => bytesOf(item, `scope[${index}]`)),
    };
  }
  if ('retired' in record) {
    const r = record.retired;
    const reason = text(r.reason, 'reason');
    return {
      phase: 'ended',
      revoked: reason === 'Revoked',
      reason,
      counterpart: text(r.counterpart, 'counterpart'),
      delegate: r.delegate == null ? undefined : text(r.delegate, 'delegate'),
      registeredAt: integer(r.registeredAt, 'registeredAt'),
      endedAt: integer(r.endedAt, 'endedAt'),
      owed: amount(r.owed, 'owed'),
    };
  }
  throw new Error(`sessionKeys_keyState answered ${JSON.stringify(record)}, not a key record`);
}

