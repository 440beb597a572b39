// xlmr-wasm for Node: load() runs the model in a worker_threads worker by default.
import { platform } from './platform-node.js';
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
