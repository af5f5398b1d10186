// The demo page's pure parts, testable in Node: reading the gateway's config.json and saying
// what an API answer means.

/** What the gateway tells the page. */
export interface PageConfig {
  node: string;
  audience: string;
  genesis: string;
  /** The price of a call when the gateway meters calls (then each carries a signed state). */
  price?: bigint;
}

/** Checks config.json's fields; every bad one is named. */
export function parseConfig(json: unknown): PageConfig {
  const config = (json ?? {}) as Record<string, unknown>;
  const { node, audience, genesis, price } = config;
  if (typeof node !== 'string' || !/^wss?:\/\/[^\s/?#]+/.test(node)) {
    throw new Error(`config.json's node must be a ws:// or wss:// URL, not ${JSON.stringify(node)}.`);
  }
  if (typeof audience !== 'string' || audience.length === 0) {
    throw new Error(`config.json's audience must be a non-empty string, not ${JSON.stringify(audience)}.`);
  }
  if (typeof genesis !== 'string' || !/^0x[0-9a-f]{64}$/.test(genesis)) {
    throw new Error(`config.json's genesis must be 0x and 64 lower-case hex digits, not ${JSON.stringify(genesis)}.`);
  }
  if (price === undefined) return { node, audience, genesis };
  if (typeof price !== 'string' || !/^[0-9]{1,39}$/.test(price)) {
    throw new Error(`config.json's price must be a decimal string, not ${JSON.stringify(price)}.`);
  }
  return { node, audience, genesis, price: BigInt(price) };
}

/** What a 402 answer says the next state must be: `expectedNonce` and `minOwed`, if given. */
export function expectedState(body: string): { nonce: bigint; minOwed: bigint } | undefined {
  try {
    const json = JSON.parse(body) as { expectedNonce?: unknown; minOwed?: unknown };
    if (typeof json.expectedNonce !== 'number' || typeof json.minOwed !== 'string' || !/^[0-9]+$/.test(json.minOwed)) {
      return undefined;
    }
    return { nonce: BigInt(json.expectedNonce), minOwed: BigInt(json.minOwed) };
  } catch {
    return undefined;
  }
}

/** The answer's status line: `401 Unauthorized: KeyRevoked (the key was revoked)`. */
export function describeAnswer(status: number, statusText: string, body: string): string {
  let reason = '';
  try {
    const json = JSON.parse(body) as { reason?: unknown; error?: unknown };
    if (status >= 400 && json && typeof json === 'object') {
      const name = json.reason === undefined ? '' : typeof json.reason === 'string' ? json.reason : JSON.stringify(json.reason);
      const error = typeof json.error === 'string' ? json.error : '';
      reason = [name, error && name ? `(${error})` : error].filter(Boolean).join(' ');
    }
  } catch {
    // Not JSON: the status alone.
  }
  return `${status} ${statusText}${reason ? `: ${reason}` : ''}`;
}

