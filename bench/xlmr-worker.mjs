// A pool worker for the threaded build (dist/xlmr-mt.wasm): the same module on the same shared memory, its
// own stack, running xlmr_thread_main until the main instance calls xlmr_threads_stop (see src/threads.h).
import { workerData, parentPort } from 'node:worker_threads';
import { importsFor } from './xlmr-driver.mjs';

const { module, memory, stackTop, id } = workerData;
const instance = new WebAssembly.Instance(module, importsFor(module, () => memory, memory));
instance.exports.__stack_pointer.value = stackTop;
parentPort.postMessage('ready');
instance.exports.xlmr_thread_main(id);
