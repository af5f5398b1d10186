// The signing worker: a dedicated module worker (served from the page's own origin) that owns
// the vault key and every seed while the keystore is unlocked. The page holds only the Worker
// (in a private field of its `Signer`), sends sealed records and request fields, and gets back
// public keys, proofs and signatures; no message returns a seed or the vault key.

import { SignerCore } from './signer-core.js';
import type { SignerCall, SignerReply } from './signer.js';

const scope = self as unknown as {
  postMessage(message: SignerReply): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<SignerCall>) => void): void;
};

const core = new SignerCore((reason) => scope.postMessage({ event: 'locked', reason }));

async function handle(call: SignerCall): Promise<unknown> {
  switch (call.op) {
    case 'configure':
      return core.configure(call.genesis, call.audience, call.lockAfterMinutes);
    case 'createVault':
      return core.createVault(call.passphrase);
    case 'unlock':
      return core.unlock(call.record, call.passphrase);
    case 'lock':
      return core.lock();
    case 'touch':
      return core.touch();
    case 'newKey':
      return core.newKey(call.owner);
    case 'signRequest':
      return core.signRequest(call.request);
    case 'signState':
      return core.signState(call.request);
    default:
      throw new Error(`unknown signer operation ${(call as { op: string }).op}`);
  }
}

scope.addEventListener('message', (event) => {
  const call = event.data;
  handle(call).then(
    (value) => scope.postMessage({ id: call.id, ok: true, value, unlocked: core.unlocked }),
    (error: unknown) =>
      scope.postMessage({
        id: call.id,
        ok: false,
        name: error instanceof Error ? error.name : 'Error',
        message: error instanceof Error ? error.message : String(error),
        unlocked: core.unlocked,
      }),
  );
});
