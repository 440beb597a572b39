// A pool thread of the threaded build (browsers): see runPoolThread in wasm.js.
import { runPoolThread } from './wasm.js';

self.addEventListener('message', (ev) => runPoolThread(ev.data, () => self.postMessage('ready')), { once: true });
