// The edge example with the model bundled as a data module (config-bundled.capnp; on Cloudflare a `Data`
// module rule): no object storage to set up, at a price in memory. The module's ArrayBuffer lives in the
// isolate for its whole life beside the copy load() makes in wasm memory, so the model counts twice against
// the isolate's limit (and against the upload size limit of a Worker). worker.mjs streams it instead.

import { createWorker } from './handler.mjs';
import modelBytes from './model.gguf';

export default createWorker(async () => ({ source: modelBytes, size: modelBytes.byteLength, from: 'the bundled data module examples/edge/model.gguf' }));
