// The model operations, written once. Both backends run every call through this table: api.js's in-thread
// backend directly, worker-core.js inside the Worker, which adds only what crossing the thread boundary needs
// (sources streamed from the calling thread, progress as messages, transferred result buffers, GGUF export).

import { Engine } from './engine.js';
import { classify, rerank, zeroShot } from './tasks/text-classification.js';
import { tokenClassify } from './tasks/token-classification.js';
import { answer } from './tasks/question-answering.js';

/** op -> (session, args, { platform, onProgress, signal }) -> result. `session.engine` is the one Engine. */
export const OPS = {
  async init(session, { wasmModule, wasmUrl, threads, threadsRequired, simd }, { platform }) {
    session.engine = await Engine.create(platform, { wasmModule, wasmUrl, threads, threadsRequired, simd });
    return true;
  },
  async load(session, { source, options }, { onProgress, signal }) {
    const { engine } = session;
    const config = await engine.load(source, { ...options, onProgress, signal });
    return { config, info: engine.lastLoad, runtime: engine.runtime() };
  },
  fillMask: ({ engine }, { text, options }) => engine.fillMask(text, options),
  tokenize: ({ engine }, { text, options }) => engine.tokenize(text, options),
  embed: ({ engine }, { texts, options }) => engine.embed(texts, options),
  classify: ({ engine }, { inputs, options }) => classify(engine, inputs, options),
  rerank: ({ engine }, { query, documents, options }) => rerank(engine, query, documents, options),
  zeroShot: ({ engine }, { text, candidateLabels, options }) => zeroShot(engine, text, candidateLabels, options),
  tokenClassify: ({ engine }, { text, options }) => tokenClassify(engine, text, options),
  answer: ({ engine }, { input, options }) => answer(engine, input, options),
  stats: ({ engine }) => engine.stats(),
  trim: ({ engine }, { corpus, options }) => engine.trim(corpus, options),
  dispose(session) {
    session.engine?.dispose(true);
    session.engine = null;
    return true;
  },
};

export function runOp(session, op, args, context) {
  if (!Object.hasOwn(OPS, op)) throw new Error(`unknown op ${op}`);
  return OPS[op](session, args, context);
}
