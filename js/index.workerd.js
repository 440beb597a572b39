// xlmr-wasm for edge runtimes (Cloudflare workerd): no Worker, no compiling wasm from bytes at run time.
// Pass the module your bundler gives for dist/xlmr.wasm (`import wasmModule from 'xlmr-wasm/xlmr.wasm'`)
// as { wasmModule } (or dist/xlmr-relaxed.wasm's: workerd has relaxed SIMD); the model runs in the calling isolate.
import { platform } from './platform-web.js';
import { makeLoad } from './api.js';
import { makePipeline } from './pipeline.js';

const edge = { ...platform, canSpawnWorker: false, spawnThread: undefined }; // no Worker: one thread, also under threads 'auto'
export const load = makeLoad(edge, { worker: false });
export const pipeline = makePipeline(load);
export { Model } from './api.js';
export {
  XlmrError, ModelFormatError, NoMaskError, TooLongError, AbortError, NetworkError, FileError,
  OutOfMemoryError, InvalidArgumentError, InvalidStateError, UnsupportedError, InternalError,
} from './errors.js';
export { DEFAULT_HUB_URL } from './sources.js';
export { hasSimd, hasRelaxedSimd, autoThreads } from './wasm.js';
export { lexicalMatchingScore, colbertScore } from './tasks/bge-m3.js';
