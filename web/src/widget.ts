// `<session-key-widget>`: one element that connects to a node, picks the owner account, and
// creates, registers, renews, re-creates and revokes the owner's sr25519 session keys, kept
// sealed in the browser's keystore; its `authorize` method signs a version 2 request header
// (method, path, query and body) for a gateway with the newest live key. Seeds and the vault
// key live in a dedicated worker (`signer-worker.ts`); the page only sends what to sign.
//
// Attributes: `node` (ws:// or wss:// URL of the node), `genesis` (the chain's genesis hash:
// a node of another chain is refused), `audience` (the gateway's name, for `authorize`),
// `lock-after` (minutes without user input before the keystore locks itself, default 5),
// `app-name` (shown by a wallet extension). The page served by the gateway sets them from
// its config.json only.
// Events: `session-key-change` (detail: the owner's keys and their states) after every update.

import type { ApiPromise } from '@polkadot/api';
import { decodeAddress } from '@polkadot/util-crypto';
import { formatBalance, stringToU8a, u8aToHex, u8aToString, hexToU8a } from '@polkadot/util';

import { type ChannelState, encodeHeaderV2, encodeStateHeader } from './codec.js';
import { expectedRegister, expectedRenew, expectedRevoke } from './call-check.js';
import {
  ChainError,
  type KeyState,
  type Owner,
  type Progress,
  adjudicatorConst,
  blockTimeMs,
  connect,
  headerBlockHash,
  isDevChain,
  keyState,
  ownerAccounts,
  submit,
} from './chain.js';
import { randomNonce } from './keys.js';
import { Keystore, type KeyRecord } from './keystore.js';
import { describeDuration, describeSpan, durationToBlocks, parseUnits } from './format.js';
import { bindRequest } from './request.js';
import { Signer } from './signer.js';
import { DEFAULT_LOCK_AFTER_MINUTES } from './signer-core.js';

/** The use case every key made here is registered with (KIRA KIP_9). */
export const USE_CASE = 'frontend_session_key';

/** How often user input may reset the worker's idle timer. */
const TOUCH_EVERY_MS = 5_000;

/** A stored key and what the chain says of it. */
export interface WidgetKey {
  record: KeyRecord;
  state: KeyState;
}

const TEMPLATE = `
<section class="sk-row">
  <span class="sk-muted">Node</span> <code data-part="node-url"></code>
  <button data-part="connect">Reconnect</button>
  <span data-part="chain-status" class="sk-muted">not connected</span>
</section>
<section class="sk-row">
  <label>Owner <select data-part="owner" disabled><option>connect first</option></select></label>
</section>
<form class="sk-row" data-part="lock">
  <input type="text" name="username" value="session-keys-widget" autocomplete="username" hidden>
  <label><span data-part="passphrase-label">Passphrase</span>
    <input data-part="passphrase" type="password" autocomplete="current-password" size="20"></label>
  <button data-part="unlock" type="submit">Unlock</button>
  <button data-part="lock-now" type="button" hidden>Lock</button>
  <span data-part="lock-status" class="sk-muted"></span>
</form>
<details class="sk-create" open>
  <summary>New session key</summary>
  <div class="sk-grid">
    <label>Description <input data-part="name" value="browser session"></label>
    <label>Duration <span class="sk-row sk-tight"><input data-part="duration" type="number" min="0" step="any" value="24" size="6">
      <select data-part="duration-unit"><option value="minutes">minutes</option><option value="hours" selected>hours</option><option value="days">days</option></select></span></label>
    <span data-part="expires-preview" class="sk-muted"></span>
    <label>Counterpart <input data-part="counterpart" size="50" spellcheck="false"></label>
    <label>Spending limit <input data-part="spending-limit" value="10"></label>
    <label>Collateral <input data-part="collateral" value="1"></label>
    <label>Scope <input data-part="scope" value="GET /*, POST /*" title="comma-separated resources; * at the end matches any rest"></label>
  </div>
  <button data-part="create" disabled>Create and register</button>
</details>
<div data-part="progress" class="sk-progress" aria-live="polite"></div>
<div data-part="error" class="sk-error" role="alert"></div>
<div data-part="keys" class="sk-keys"></div>
`;

/** The custom element. */
export class SessionKeyWidget extends HTMLElement {
  private api: ApiPromise | undefined;
  // Private (#) fields: no other script on the page reaches the keystore or its worker
  // through the element.
  #keystore: Keystore | undefined;
  #signer: Signer | undefined;
  /** The last channel state signed per key (`0x` public key), for metered calls. */
  #lastStates = new Map<string, ChannelState>();
  #lastTouch = 0;
  #onActivity = (event: Event) => {
    // Only the user's own input keeps the keystore open; a script's calls do not.
    if (!event.isTrusted || !this.#signer?.unlocked) return;
    const now = Date.now();
    if (now - this.#lastTouch < TOUCH_EVERY_MS) return;
    this.#lastTouch = now;
    this.#signer.touch();
  };
  private owners: Owner[] = [];
  private keys: WidgetKey[] = [];
  private best = 0;
  private unsubscribeHeads: (() => void) | undefined;
  private busy = false;
  private refreshing: Promise<void> | undefined;

  connectedCallback(): void {
    if (this.el('connect', true)) return;
    this.classList.add('sk-widget');
    this.innerHTML = TEMPLATE;
    this.text('node-url', this.getAttribute('node') ?? '(no node attribute)');
    for (const type of ['pointerdown', 'keydown']) document.addEventListener(type, this.#onActivity, { capture: true });
    this.el('connect').addEventListener('click', () => void this.run(() => this.connectNode()));
    this.el('owner').addEventListener('change', () => void this.run(() => this.refresh()));
    this.el('lock').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.run(() => this.unlock());
    });
    this.el('lock-now').addEventListener('click', () => {
      void this.run(async () => {
        await this.#keystore?.lock();
        await this.refresh();
      });
    });
    this.el('create').addEventListener('click', () => void this.run(() => this.create()));
    this.input('duration').addEventListener('input', () => this.previewExpiry());
    this.el('duration-unit').addEventListener('change', () => this.previewExpiry());
    void this.run(async () => {
      await this.openKeystore();
      if (this.hasAttribute('autoconnect')) await this.connectNode();
    });
  }

  disconnectedCallback(): void {
    this.unsubscribeHeads?.();
    void this.api?.disconnect();
    for (const type of ['pointerdown', 'keydown']) document.removeEventListener(type, this.#onActivity, { capture: true });
    // The worker goes with the element, and whatever it held with it.
    this.#signer?.terminate();
    this.#signer = undefined;
    this.#keystore = undefined;
  }

  /** The selected owner, if any. */
  get owner(): Owner | undefined {
    const address = (this.el('owner') as HTMLSelectElement).value;
    return this.owners.find((owner) => owner.address === address);
  }

  /** The owner's stored keys and their states, newest last. */
  get sessionKeys(): WidgetKey[] {
    return this.keys;
  }

  /**
   * The `x-session-auth` value (version 2) for the request `method url` with `body`, at this
   * widget's audience, signed by the owner's newest live key. `url` is resolved against the
   * page's address as `fetch` resolves it: send the request to that same `url`, with exactly
   * these body bytes (a string is sent as UTF-8), and a fresh header for every request.
   */
  async authorize(method: string, url: string | URL, body: Uint8Array | string = new Uint8Array()): Promise<string> {
    const api = this.requireApi();
    this.requireOwner();
    const keystore = this.requireUnlocked();
    if (!this.getAttribute('audience')) throw new Error('The widget has no audience attribute: the gateway to sign for is unknown.');
    const live = [...this.keys].reverse().find((key) => key.state.phase === 'live');
    if (!live) throw new Error('No live session key: create one first.');
    const bytes = typeof body === 'string' ? stringToU8a(body) : body;
    const bound = await bindRequest(method, url, bytes, document.baseURI);
    const blockHash = await headerBlockHash(api);
    const header = await keystore.signRequest(live.record.public, {
      blockHash,
      nonce: randomNonce(),
      resource: bound.resource,
      query: bound.query,
      contentDigest: bound.contentDigest,
    });
    return encodeHeaderV2(header);
  }

  /**
   * A metered call's two header values for the request `method url` with `body`, as
   * `authorize` signs them, by the same key: `auth` (`x-session-auth`) and `state`
   * (`x-session-state`), the key's next channel state (nonce one above the last this widget
   * signed, owed `price` more), which then becomes the last. After a 402, `resumeMetered` sets
   * the last state from the gateway's `expectedNonce` and `minOwed`.
   */
  async authorizeMetered(
    method: string,
    url: string | URL,
    body: Uint8Array | string,
    price: bigint,
  ): Promise<{ auth: string; state: string; channelState: ChannelState }> {
    const live = [...this.keys].reverse().find((key) => key.state.phase === 'live');
    if (!live) throw new Error('No live session key: create one first.');
    const publicKey = live.record.public;
    const auth = await this.authorize(method, url, body);
    if ([...this.keys].reverse().find((key) => key.state.phase === 'live')?.record.public !== publicKey) {
      throw new Error('The live key changed while signing: try again.');
    }
    const last = this.#lastStates.get(publicKey) ?? { nonce: 0n, owed: 0n, margin: 0n };
    const next = { nonce: last.nonce + 1n, owed: last.owed + price, margin: last.margin };
    const signature = await this.requireUnlocked().signState(publicKey, next);
    this.#lastStates.set(publicKey, next);
    return { auth, state: encodeStateHeader(next, signature), channelState: next };
  }

  /**
   * After a 402 naming `expectedNonce` and `minOwed` for a call at `price`: the newest live
   * key's last state is the one before them, so the next call carries what the gateway expects.
   */
  resumeMetered(expectedNonce: bigint, minOwed: bigint, price: bigint): void {
    const live = [...this.keys].reverse().find((key) => key.state.phase === 'live');
    if (!live || expectedNonce < 1n || minOwed < price) return;
    const margin = this.#lastStates.get(live.record.public)?.margin ?? 0n;
    this.#lastStates.set(live.record.public, { nonce: expectedNonce - 1n, owed: minOwed - price, margin });
  }

  // ---- actions -------------------------------------------------------------------------

  private async openKeystore(): Promise<void> {
    this.#signer = new Signer(() => {
      this.text('error', '');
      void this.refresh().then(() => this.text('lock-status', `keystore locked after ${this.lockAfterMinutes()} min without input`));
    });
    this.#keystore = await Keystore.open(this.#signer);
    await this.showLock();
  }

  /** The `lock-after` attribute: minutes without user input before the keystore locks. */
  private lockAfterMinutes(): number {
    const attribute = this.getAttribute('lock-after');
    if (attribute === null) return DEFAULT_LOCK_AFTER_MINUTES;
    const minutes = Number(attribute);
    if (!Number.isFinite(minutes) || minutes <= 0) {
      throw new Error(`The lock-after attribute must be a positive number of minutes, not "${attribute}".`);
    }
    return minutes;
  }

  private async connectNode(): Promise<void> {
    this.unsubscribeHeads?.();
    await this.api?.disconnect();
    this.api = undefined;
    const url = this.getAttribute('node');
    if (!url) throw new Error('The widget has no node attribute: the node to connect to is unknown.');
    const genesis = this.getAttribute('genesis');
    if (!genesis) throw new Error('The widget has no genesis attribute: the chain to trust is unknown.');
    const audience = this.getAttribute('audience');
    this.text('chain-status', `connecting to ${url}…`);
    let api: ApiPromise | undefined;
    try {
      api = await connect(url, genesis.toLowerCase());
      // The worker signs for this chain and audience only, from now on.
      if (audience) await this.requireSigner().configure(api.genesisHash.toU8a(), stringToU8a(audience), this.lockAfterMinutes());
    } catch (error) {
      await api?.disconnect();
      this.text('chain-status', 'not connected');
      throw error;
    }
    this.api = api;
    const [chain, dev] = await Promise.all([api.rpc.system.chain(), isDevChain(api)]);
    formatBalance.setDefaults({ decimals: api.registry.chainDecimals[0], unit: api.registry.chainTokens[0] });
    this.owners = await ownerAccounts(api, this.getAttribute('app-name') ?? 'Session keys');
    const select = this.el('owner') as HTMLSelectElement;
    select.replaceChildren(
      ...this.owners.map((owner) => new Option(`${owner.name} — ${owner.address}`, owner.address)),
    );
    select.disabled = this.owners.length === 0;
    if (this.owners.length === 0) {
      throw new Error('No owner account: install a wallet extension (Polkadot.js, Talisman, SubWallet) and allow this page.');
    }
    if (dev && !this.input('counterpart').value) {
      this.input('counterpart').value = this.owners.find((owner) => owner.name.startsWith('Bob'))?.address ?? '';
    }
    this.unsubscribeHeads = await api.rpc.chain.subscribeNewHeads((header) => {
      this.best = header.number.toNumber();
      this.text('chain-status', `${chain.toString()} · best #${this.best}`);
      void this.refresh().catch((error: unknown) => this.showError(error));
    });
    this.previewExpiry();
  }

  private async unlock(): Promise<void> {
    const keystore = this.requireKeystore();
    const passphrase = this.input('passphrase').value;
    if (await keystore.hasVault()) {
      await keystore.unlock(passphrase);
    } else {
      await keystore.create(passphrase);
    }
    this.input('passphrase').value = '';
    await this.refresh();
  }

  private async create(): Promise<void> {
    const api = this.requireApi();
    const owner = this.requireOwner();
    const decimals = api.registry.chainDecimals[0] ?? 12;
    const counterpart = this.input('counterpart').value.trim();
    try {
      decodeAddress(counterpart);
    } catch {
      throw new Error(`The counterpart "${counterpart}" is not an account address.`);
    }
    const terms = {
      duration: this.durationBlocks(),
      counterpart,
      spendingLimit: parseUnits(this.input('spending-limit').value, decimals),
      collateral: parseUnits(this.input('collateral').value, decimals),
      description: this.description(this.input('name').value.trim()),
      scope: this.scope(this.input('scope').value),
    };
    await this.registerNew(owner, this.input('name').value.trim() || 'session key', terms);
  }

  /** Makes a key, seals and stores it, then registers it: the secret is kept before anything is sent. */
  private async registerNew(
    owner: Owner,
    name: string,
    terms: {
      duration: number;
      counterpart: string;
      spendingLimit: bigint;
      collateral: bigint;
      description: Uint8Array;
      scope: Uint8Array[];
    },
  ): Promise<string> {
    const api = this.requireApi();
    const keystore = this.requireUnlocked();
    // Made and sealed in the worker: the seed never reaches this page.
    const { publicKey: publicHex, proof } = await keystore.createKey(owner.address, name);
    await this.refresh();
    const tx = api.tx.adjudicator.register(
      { Sr25519: publicHex },
      // Raw bytes go in as hex: a `Uint8Array` would be read as already length-prefixed.
      u8aToHex(proof),
      terms.counterpart,
      terms.duration,
      terms.spendingLimit,
      terms.collateral,
      u8aToHex(terms.description),
      terms.scope.map((item) => u8aToHex(item)),
    );
    const expected = expectedRegister({
      publicKey: hexToU8a(publicHex),
      proof,
      counterpart: decodeAddress(terms.counterpart),
      duration: terms.duration,
      spendingLimit: terms.spendingLimit,
      collateral: terms.collateral,
      description: terms.description,
      scope: terms.scope,
    });
    try {
      await this.track('register', submit(api, owner, tx, expected, (progress) => this.showProgress('register', progress)));
    } catch (error) {
      // Certainly not registered: the sealed secret is worth nothing, so it goes. Otherwise it
      // stays, so a key that did get registered keeps its secret.
      if (error instanceof ChainError && error.definite) await keystore.forget(publicHex);
      throw error;
    }
    await this.refresh();
    return publicHex;
  }

  private async renew(key: WidgetKey): Promise<void> {
    const api = this.requireApi();
    const duration = key.state.duration ?? null;
    const tx = api.tx.adjudicator.renew({ Sr25519: key.record.public }, duration);
    const expected = expectedRenew(hexToU8a(key.record.public), duration);
    await this.track('renew', submit(api, this.requireOwner(), tx, expected, (p) => this.showProgress('renew', p)));
    await this.refresh();
  }

  private async revoke(key: WidgetKey): Promise<void> {
    const api = this.requireApi();
    const tx = api.tx.adjudicator.revoke({ Sr25519: key.record.public });
    const expected = expectedRevoke(hexToU8a(key.record.public));
    await this.track('revoke', submit(api, this.requireOwner(), tx, expected, (p) => this.showProgress('revoke', p)));
    await this.refresh();
  }

  /** A new key with the old one's terms; the old one is revoked only once the new one is live. */
  private async recreate(old: WidgetKey): Promise<void> {
    const api = this.requireApi();
    const owner = this.requireOwner();
    const state = old.state;
    if (state.phase !== 'live' || !state.counterpart || state.duration === undefined) {
      throw new Error('Only a live key can be re-created.');
    }
    const created = await this.registerNew(owner, old.record.name, {
      duration: state.duration,
      counterpart: state.counterpart,
      spendingLimit: state.spendingLimit ?? 0n,
      collateral: state.collateral ?? 0n,
      description: state.description ?? new Uint8Array(),
      scope: state.scope ?? [],
    });
    const fresh = await keyState(api, hexToU8a(created), this.best);
    if (fresh.phase !== 'live') throw new Error('The new key is not live yet; the old one was left as it is.');
    await this.revoke(old);
    await this.requireKeystore().forget(old.record.public);
    await this.refresh();
  }

  private async forget(key: WidgetKey): Promise<void> {
    await this.requireKeystore().forget(key.record.public);
    await this.refresh();
  }

  // ---- state and rendering -------------------------------------------------------------

  /** Re-reads the owner's stored keys and their chain states, then redraws. */
  async refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    this.refreshing = this.reload().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async reload(): Promise<void> {
    await this.showLock();
    const owner = this.owner;
    const keystore = this.#keystore;
    if (!owner || !keystore) {
      this.keys = [];
    } else {
      const records = await keystore.keysOf(owner.address);
      const api = this.api;
      this.keys = await Promise.all(
        records.map(async (record) => ({
          record,
          state: api ? await keyState(api, hexToU8a(record.public), this.best) : { phase: 'unknown' as const, revoked: false },
        })),
      );
    }
    this.renderKeys();
    this.updateButtons();
    this.dispatchEvent(new CustomEvent('session-key-change', { detail: this.keys }));
  }

  private async showLock(): Promise<void> {
    const keystore = this.#keystore;
    if (!keystore) return;
    const hasVault = await keystore.hasVault();
    const unlocked = keystore.unlocked;
    this.text('passphrase-label', hasVault ? 'Passphrase' : 'Choose a passphrase');
    this.el('unlock').textContent = hasVault ? 'Unlock' : 'Set passphrase';
    this.el('unlock').hidden = unlocked;
    this.input('passphrase').hidden = unlocked;
    this.el('passphrase-label').hidden = unlocked;
    this.el('lock-now').hidden = !unlocked;
    this.text(
      'lock-status',
      unlocked
        ? 'keystore unlocked'
        : hasVault
          ? 'keystore locked: enter the passphrase to use the keys'
          : 'no keystore yet: choose the passphrase that will seal your keys',
    );
    this.el('lock').dataset.state = unlocked ? 'unlocked' : hasVault ? 'locked' : 'new';
  }

  private renderKeys(): void {
    const container = this.el('keys');
    container.replaceChildren(...this.keys.map((key) => this.card(key)));
  }

  private card(key: WidgetKey): HTMLElement {
    const { record, state } = key;
    const card = document.createElement('article');
    card.className = 'sk-card';
    card.dataset.public = record.public;
    card.dataset.phase = state.phase;
    const ms = this.api ? blockTimeMs(this.api) : 3000;
    const lines: [string, string][] = [
      ['Key', record.public],
      ['State', this.describePhase(state)],
    ];
    if (state.expiresAt !== undefined && state.phase === 'live') {
      lines.push(['Expires', `block #${state.expiresAt}, ${describeDuration((state.expiresAt - this.best) * ms)}`]);
    }
    if (state.settlesAt !== undefined && state.phase === 'closing') lines.push(['Settles', `block #${state.settlesAt}`]);
    // The terms, so the owner can check what was registered.
    if (state.counterpart !== undefined) lines.push(['Counterpart', state.counterpart]);
    if (state.delegate !== undefined) lines.push(['Delegate', state.delegate]);
    if (state.spendingLimit !== undefined) {
      const pending = state.pendingLimit
        ? ` (lowered to ${formatBalance(state.pendingLimit.limit)} at block #${state.pendingLimit.appliesAt})`
        : '';
      lines.push(['Spending limit', `${formatBalance(state.spendingLimit)}${pending}`]);
    }
    if (state.scope !== undefined) {
      lines.push(['Scope', state.scope.length ? state.scope.map((item) => u8aToString(item)).join(', ') : '(empty: no request)']);
    }
    if (state.collateral !== undefined) lines.push(['Collateral', formatBalance(state.collateral)]);
    if (state.owed !== undefined) lines.push(['Owed', formatBalance(state.owed)]);
    const title = document.createElement('h4');
    title.textContent = record.name;
    const list = document.createElement('dl');
    for (const [name, value] of lines) {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = value;
      dd.dataset.field = name.toLowerCase().replace(/ /g, '-');
      list.append(dt, dd);
    }
    const actions = document.createElement('div');
    actions.className = 'sk-actions';
    const button = (label: string, action: string, enabled: boolean, run: () => Promise<void>) => {
      const element = document.createElement('button');
      element.textContent = label;
      element.dataset.action = action;
      element.disabled = !enabled || this.busy;
      element.addEventListener('click', () => void this.run(run));
      actions.append(element);
    };
    const live = state.phase === 'live';
    const unlocked = this.#keystore?.unlocked ?? false;
    button('Renew', 'renew', live, () => this.renew(key));
    button('Re-create', 'recreate', live && unlocked, () => this.recreate(key));
    button('Revoke', 'revoke', live, () => this.revoke(key));
    button('Forget this key', 'forget', true, () => this.forget(key));
    card.append(title, list, actions);
    if (live) {
      const note = document.createElement('p');
      note.className = 'sk-muted';
      note.textContent = 'Forgetting a live key wipes its secret here; revoke it first if it should stop working.';
      card.append(note);
    }
    return card;
  }

  private describePhase(state: KeyState): string {
    switch (state.phase) {
      case 'live':
        return 'live';
      case 'closing':
        return `closing (${state.revoked ? 'revoked' : 'expired'})`;
      case 'ended':
        return `ended: ${state.reason ?? 'unknown reason'}`;
      default:
        return 'not on chain';
    }
  }

  private updateButtons(): void {
    const ready = !!this.api && !!this.owner && !!this.#keystore?.unlocked && !this.busy;
    (this.el('create') as HTMLButtonElement).disabled = !ready;
    (this.el('connect') as HTMLButtonElement).disabled = this.busy;
  }

  private previewExpiry(): void {
    if (!this.api) return;
    try {
      const blocks = this.durationBlocks();
      const ms = blocks * blockTimeMs(this.api);
      const at = new Date(Date.now() + ms);
      this.text('expires-preview', `${blocks} blocks (${describeSpan(ms)}): expires about ${at.toLocaleString()}, block #${this.best + blocks}`);
      this.el('expires-preview').dataset.blocks = String(blocks);
    } catch (error) {
      this.text('expires-preview', error instanceof Error ? error.message : String(error));
      this.el('expires-preview').dataset.blocks = '';
    }
  }

  private durationBlocks(): number {
    const api = this.requireApi();
    const unit = (this.el('duration-unit') as HTMLSelectElement).value;
    return durationToBlocks(this.input('duration').value, unit, blockTimeMs(api), adjudicatorConst(api, 'maxDuration'));
  }

  /** `{"name":…,"use_case":"frontend_session_key"}`, within the chain's bound. */
  private description(name: string): Uint8Array {
    const bytes = stringToU8a(JSON.stringify({ name, use_case: USE_CASE }));
    const max = adjudicatorConst(this.requireApi(), 'maxDescriptionLen');
    if (bytes.length > max) {
      throw new Error(`The description takes ${bytes.length} bytes; the chain keeps at most ${max}: shorten it.`);
    }
    return bytes;
  }

  private scope(text: string): Uint8Array[] {
    const api = this.requireApi();
    const items = text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0)
      .map((item) => stringToU8a(item));
    const maxItems = adjudicatorConst(api, 'maxScopeItems');
    const maxLen = adjudicatorConst(api, 'maxResourceLen');
    if (items.length === 0) throw new Error('The scope is empty: such a key authenticates no request. Use * for all.');
    if (items.length > maxItems) throw new Error(`The scope has ${items.length} items; the chain allows ${maxItems}.`);
    const long = items.find((item) => item.length > maxLen);
    if (long) throw new Error(`The scope item "${u8aToString(long)}" is longer than ${maxLen} bytes.`);
    return items;
  }

  private showProgress(action: string, progress: Progress): void {
    const text = {
      signing: `${action}: signing…`,
      submitted: `${action}: submitted, waiting for a block…`,
      inBlock: `${action}: in block #${'blockNumber' in progress ? progress.blockNumber : ''}, waiting for finality…`,
      finalized: `${action}: finalized in block #${'blockNumber' in progress ? progress.blockNumber : ''}`,
    }[progress.stage];
    this.text('progress', text);
    this.el('progress').dataset.stage = progress.stage;
    this.el('progress').dataset.action = action;
  }

  private async track<T>(action: string, work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      this.el('progress').dataset.stage = 'failed';
      this.text('progress', `${action}: failed`);
      throw error;
    }
  }

  /** Runs one user action at a time; its error is shown, not thrown. */
  private async run(action: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    // Pages (and tests) can tell when the widget takes clicks again.
    this.toggleAttribute('busy', true);
    this.updateButtons();
    this.renderKeys();
    this.text('error', '');
    try {
      await action();
    } catch (error) {
      this.showError(error);
    } finally {
      this.busy = false;
      this.toggleAttribute('busy', false);
      this.updateButtons();
      this.renderKeys();
    }
  }

  private showError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.text('error', message);
    this.el('error').dataset.name = error instanceof Error ? error.name : 'Error';
  }

  private requireApi(): ApiPromise {
    if (!this.api) throw new Error('Connect to a node first.');
    return this.api;
  }

  private requireOwner(): Owner {
    const owner = this.owner;
    if (!owner) throw new Error('Choose an owner account first.');
    return owner;
  }

  private requireSigner(): Signer {
    if (!this.#signer) throw new Error('The signing worker is not running (the widget is not on the page).');
    return this.#signer;
  }

  private requireKeystore(): Keystore {
    if (!this.#keystore) throw new Error('The keystore is not open yet (IndexedDB unavailable?).');
    return this.#keystore;
  }

  private requireUnlocked(): Keystore {
    const keystore = this.requireKeystore();
    if (!keystore.unlocked) throw new Error('Unlock the keystore with its passphrase first.');
    return keystore;
  }

  private el(name: string): HTMLElement;
  private el(name: string, optional: true): HTMLElement | null;
  private el(name: string, optional?: true): HTMLElement | null {
    const element = this.querySelector<HTMLElement>(`[data-part="${name}"]`);
    if (!element && !optional) throw new Error(`widget part ${name} missing`);
    return element;
  }

  private input(name: string): HTMLInputElement {
    return this.el(name) as HTMLInputElement;
  }

  private text(name: string, value: string): void {
    this.el(name).textContent = value;
  }
}

/** Defines `<session-key-widget>` (once). */
export function defineSessionKeyWidget(): void {
  if (!customElements.get('session-key-widget')) customElements.define('session-key-widget', SessionKeyWidget);
}

/** Mounts a widget into `container`, with the given attributes. */
export function mountSessionKeyWidget(
  container: HTMLElement,
  options: { node?: string; genesis?: string; audience?: string; lockAfterMinutes?: number; appName?: string; autoconnect?: boolean } = {},
): SessionKeyWidget {
  defineSessionKeyWidget();
  const widget = document.createElement('session-key-widget') as SessionKeyWidget;
  if (options.node) widget.setAttribute('node', options.node);
  if (options.genesis) widget.setAttribute('genesis', options.genesis);
  if (options.audience) widget.setAttribute('audience', options.audience);
  if (options.lockAfterMinutes !== undefined) widget.setAttribute('lock-after', String(options.lockAfterMinutes));
  if (options.appName) widget.setAttribute('app-name', options.appName);
  if (options.autoconnect) widget.setAttribute('autoconnect', '');
  container.append(widget);
  return widget;
}
