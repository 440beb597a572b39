// Entry of the module Web Worker (browsers): the engine runs here, never on the page's thread.
import { platform } from './platform-web.js';
import { serve } from './worker-core.js';

serve(platform, {
  post: (msg, transfer) => self.postMessage(msg, transfer ?? []),
  onMessage: (fn) => self.addEventListener('message', (ev) => fn(ev.data)),
});
