// `<session-key-widget>`: one element that connects to a node, picks the owner account, and
// creates, registers, renews, re-creates and revokes the owner's sr25519 session keys, kept
// sealed in the browser's keystore; its `authorize` method signs a request header for a
// gateway with the newest live key.
//
// Attributes: `node` (ws:// URL of a node, default ws://127.0.0.1:9944), `audience` (the
// gateway's name, for `authorize`), `app-name` (shown by a wallet extension).
// Events: `session-key-change` (detail: the owner's keys and their states) after every update.

import type { ApiPromise } from '@polkadot/api';
import { decodeAddress } from '@polkadot/util-crypto';
import { formatBalance, stringToU8a, u8aToHex, u8aToString, hexToU8a } from '@polkadot/util';

import { encodeHeader } from './codec.js';
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
import { generateSeed, ownershipProof, publicOf, randomNonce, signHeader } from './keys.js';
import { Keystore, type KeyRecord } from './keystore.js';
import { describeDuration, parseUnits, resourceOf } from './format.js';

/** The use case every key made here is registered with (KIRA KIP_9). */
export const USE_CASE = 'frontend_session_key';

/** A stored key and what the chain says of it. */
export interface WidgetKey {
  record: KeyRecord;
  state: KeyState;
}

const TEMPLATE = `
<section class="sk-row">
  <label>Node <input data-part="node-url" size="28" spellcheck="false"></label>
  <button data-part="connect">Connect</button>
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
    <label>Duration (hours) <input data-part="duration" type="number" min="0.01" step="any" value="24"></label>
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
  private keystore: Keystore | undefined;
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
    this.input('node-url').value = this.getAttribute('node') ?? 'ws://127.0.0.1:9944';
    this.el('connect').addEventListener('click', () => void this.run(() => this.connectNode()));
    this.el('owner').addEventListener('change', () => void this.run(() => this.refresh()));
    this.el('lock').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.run(() => this.unlock());
    });
    this.el('lock-now').addEventListener('click', () => {
      this.keystore?.lock();
      void this.run(() => this.refresh());
    });
    this.el('create').addEventListener('click', () => void this.run(() => this.create()));
    this.input('duration').addEventListener('input', () => this.previewExpiry());
    void this.run(async () => {
      await this.openKeystore();
      if (this.hasAttribute('autoconnect')) await this.connectNode();
    });
  }

  disconnectedCallback(): void {
    this.unsubscribeHeads?.();
    void this.api?.disconnect();
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
   * The `x-session-auth` value for `method path` at this widget's audience, signed by the
   * owner's newest live key.
   */
  async authorize(method: string, path: string): Promise<string> {
    const api = this.requireApi();
    const owner = this.requireOwner();
    const keystore = this.requireUnlocked();
    const live = [...this.keys].reverse().find((key) => key.state.phase === 'live');
    if (!live) throw new Error('No live session key: create one first.');
    const audience = this.getAttribute('audience');
    if (!audience) throw new Error('The widget has no audience attribute: the gateway to sign for is unknown.');
    const blockHash = await headerBlockHash(api);
    const header = await keystore.withSeed(live.record.public, (seed) =>
      signHeader(seed, api.genesisHash.toU8a(), {
        account: decodeAddress(owner.address),
        blockHash,
        nonce: randomNonce(),
        audience: stringToU8a(audience),
        resource: resourceOf(method, path),
      }),
    );
    return encodeHeader(header);
  }

  // ---- actions -------------------------------------------------------------------------

  private async openKeystore(): Promise<void> {
    this.keystore = await Keystore.open();
    await this.showLock();
  }

  private async connectNode(): Promise<void> {
    this.unsubscribeHeads?.();
    await this.api?.disconnect();
    this.api = undefined;
    const url = this.input('node-url').value.trim();
    this.text('chain-status', `connecting to ${url}…`);
    let api: ApiPromise;
    try {
      api = await connect(url);
    } catch (error) {
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
    const seed = generateSeed();
    let publicHex: string;
    let proof: Uint8Array;
    try {
      const publicKey = publicOf(seed);
      publicHex = u8aToHex(publicKey);
      proof = ownershipProof(seed, decodeAddress(owner.address));
      await keystore.add(publicHex, owner.address, name, seed);
    } finally {
      seed.fill(0);
    }
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
    try {
      await this.track('register', submit(api, owner, tx, (progress) => this.showProgress('register', progress)));
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
    const tx = api.tx.adjudicator.renew({ Sr25519: key.record.public }, key.state.duration ?? null);
    await this.track('renew', submit(api, this.requireOwner(), tx, (p) => this.showProgress('renew', p)));
    await this.refresh();
  }

  private async revoke(key: WidgetKey): Promise<void> {
    const api = this.requireApi();
    const tx = api.tx.adjudicator.revoke({ Sr25519: key.record.public });
    await this.track('revoke', submit(api, this.requireOwner(), tx, (p) => this.showProgress('revoke', p)));
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
    const keystore = this.keystore;
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
    const keystore = this.keystore;
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
      dd.dataset.field = name.toLowerCase();
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
    const unlocked = this.keystore?.unlocked ?? false;
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
    const ready = !!this.api && !!this.owner && !!this.keystore?.unlocked && !this.busy;
    (this.el('create') as HTMLButtonElement).disabled = !ready;
    (this.el('connect') as HTMLButtonElement).disabled = this.busy;
  }

  private previewExpiry(): void {
    if (!this.api) return;
    try {
      const blocks = this.durationBlocks();
      const at = new Date(Date.now() + blocks * blockTimeMs(this.api));
      this.text('expires-preview', `${blocks} blocks: expires about ${at.toLocaleString()}`);
    } catch (error) {
      this.text('expires-preview', error instanceof Error ? error.message : String(error));
    }
  }

  private durationBlocks(): number {
    const api = this.requireApi();
    const hours = Number(this.input('duration').value);
    if (!Number.isFinite(hours) || hours <= 0) throw new Error('The duration must be a positive number of hours.');
    const blocks = Math.round((hours * 3_600_000) / blockTimeMs(api));
    const max = adjudicatorConst(api, 'maxDuration');
    if (blocks < 1) throw new Error('The duration is shorter than one block.');
    if (blocks > max) throw new Error(`The duration is ${blocks} blocks; the chain allows at most ${max}.`);
    return blocks;
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

  private requireKeystore(): Keystore {
    if (!this.keystore) throw new Error('The keystore is not open yet (IndexedDB unavailable?).');
    return this.keystore;
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
  options: { node?: string; audience?: string; appName?: string; autoconnect?: boolean } = {},
): SessionKeyWidget {
  defineSessionKeyWidget();
  const widget = document.createElement('session-key-widget') as SessionKeyWidget;
  if (options.node) widget.setAttribute('node', options.node);
  if (options.audience) widget.setAttribute('audience', options.audience);
  if (options.appName) widget.setAttribute('app-name', options.appName);
  if (options.autoconnect) widget.setAttribute('autoconnect', '');
  container.append(widget);
  return widget;
}
