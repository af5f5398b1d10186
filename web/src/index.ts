// The widget package: `<session-key-widget>` and the pieces it is made of, for pages that
// embed it or build their own UI on the same keys, keystore and signing.

export * from './codec.js';
export * from './keys.js';
export * from './keystore.js';
export * from './chain.js';
export * from './format.js';
export * from './request.js';
export * from './widget.js';

import { defineSessionKeyWidget } from './widget.js';

defineSessionKeyWidget();
