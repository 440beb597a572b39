// A pool thread of the threaded build (Node): see runPoolThread in wasm.js.
import { workerData, parentPort } from 'node:worker_threads';
import { runPoolThread } from './wasm.js';

runPoolThread(workerData, () => parentPort.postMessage('ready'));
