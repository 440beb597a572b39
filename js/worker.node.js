// Entry of the worker_threads worker (Node): the engine runs here, never in the calling thread.
import { parentPort } from 'node:worker_threads';
import { platform } from './platform-node.js';
import { serve } from './worker-core.js';

serve(platform, {
  post: (msg, transfer) => parentPort.postMessage(msg, transfer),
  onMessage: (fn) => parentPort.on('message', fn),
});
