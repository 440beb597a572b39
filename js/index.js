// xlmr-wasm for browsers and Web Workers: load() runs the model in a module Web Worker where one can
// be started, else in this thread.
import { platform } from './platform-web.js';
import { makeLoad } from './api.js';
import { makePipeline } from './pipeline.js';

export const load = makeLoad(platform);
export const pipeline = makePipeline(load);
export { Model } from './api.js';
export {
  XlmrError, ModelFormatError, NoMaskError, TooLongError, AbortError, NetworkError, FileError,
  OutOfMemoryError, InvalidArgumentError, InvalidStateError, UnsupportedError, InternalError,
} from './errors.js';
export { DEFAULT_HUB_URL } from './sources.js';
export { hasSimd, hasRelaxedSimd, autoThreads } from './wasm.js';
export { lexicalMatchingScore, colbertScore } from './tasks/bge-m3.js';
