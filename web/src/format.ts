// Small conversions the widget needs: amounts typed in whole units, durations typed in minutes,
// hours or days and said in words, and the resource a gateway derives from a request (its
// `resource_of`).

import { stringToU8a } from '@polkadot/util';

/** `"1.5"` in a chain with `decimals` decimals, as the smallest unit; throws on anything else. */
export function parseUnits(text: string, decimals: number): bigint {
  const value = text.trim().replace(/_/g, '');
  const match = /^(\d+)(?:\.(\d*))?$/.exec(value);
  if (!match) throw new Error(`"${text}" is not an amount (digits, optionally a decimal point).`);
  const [, whole, fraction = ''] = match;
  if (fraction.length > decimals) throw new Error(`"${text}" has more than ${decimals} decimals.`);
  return BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0');
}

/** `"in 23 h 59 min"`, `"in 40 s"`, `"now"` for a span of milliseconds. */
export function describeDuration(ms: number): string {
  if (ms <= 0) return 'now';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `in ${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `in ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `in ${hours} h ${minutes % 60} min`;
  return `in ${Math.floor(hours / 24)} days ${hours % 24} h`;
}

/** Time units a duration is entered in, in milliseconds. */
export const DURATION_UNITS = { minutes: 60_000, hours: 3_600_000, days: 86_400_000 } as const;

/** The number of blocks of `amount` `unit`s at `blockMs` per block; throws on a bad amount. */
export function durationToBlocks(amount: string, unit: string, blockMs: number, maxBlocks: number): number {
  const ms = DURATION_UNITS[unit as keyof typeof DURATION_UNITS];
  if (ms === undefined) throw new Error(`"${unit}" is not a duration unit (minutes, hours or days).`);
  const value = Number(amount.trim());
  if (amount.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new Error(`The duration must be a positive number of ${unit}, not "${amount}".`);
  }
  const blocks = Math.round((value * ms) / blockMs);
  if (blocks < 1) throw new Error(`${amount} ${unit} is shorter than one block (${blockMs / 1000} s).`);
  if (blocks > maxBlocks) {
    throw new Error(`${amount} ${unit} is ${blocks} blocks; the chain allows at most ${maxBlocks} (${describeSpan(maxBlocks * blockMs)}).`);
  }
  return blocks;
}

/** `"3 days 4 h"`, `"2 h 5 min"`, `"40 min"` for a span of milliseconds. */
export function describeSpan(ms: number): string {
  return describeDuration(ms).replace(/^in /, '');
}

const STAYS_ENCODED = new Set([0x2f, 0x5c, 0x25]);

/** The methods `fetch` upper-cases whatever their case (the Fetch standard's "normalize"). */
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

/**
 * `method` as `fetch` sends it: these six in capitals, whatever their case, and every other
 * (`patch`, say) exactly as given, so what is signed is the method the gateway receives.
 */
export function fetchMethod(method: string): string {
  const upper = method.toUpperCase();
  return NORMALIZED_METHODS.has(upper) ? upper : method;
}

/**
 * The resource a gateway checks for `method` (as `fetch` sends it) and `path`: `METHOD /path`, the path as the
 * browser sends it (resolved, percent-encoded), then percent-decoded except `%2F`, `%5C` and
 * `%25`, which stay encoded (the gateway's `resource_of`). The query string is not part of it.
 */
export function resourceOf(method: string, path: string): Uint8Array {
  const sent = new URL(path, 'http://gateway.invalid').pathname;
  const bytes: number[] = [...stringToU8a(`${fetchMethod(method)} `)];
  const raw = stringToU8a(sent);
  for (let index = 0; index < raw.length; index += 1) {
    const hex = raw[index] === 0x25 ? String.fromCharCode(raw[index + 1] ?? 0, raw[index + 2] ?? 0) : '';
    const decoded = /^[0-9A-Fa-f]{2}$/.test(hex) ? parseInt(hex, 16) : undefined;
    if (decoded === undefined || STAYS_ENCODED.has(decoded)) {
      bytes.push(raw[index]);
    } else {
      bytes.push(decoded);
      index += 2;
    }
  }
  return new Uint8Array(bytes);
}
