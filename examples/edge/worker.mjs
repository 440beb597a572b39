// An edge function (Cloudflare Workers / workerd) serving XLM-RoBERTa as JSON:
//
//   POST /embed      { "texts": "…" | ["…", …], "pooling"?: "mean"|"cls", "normalize"?: true, "truncation"?: false }
//                    -> { "dims": H, "embeddings": [[…H floats], …] }   (one array per text; a bare string gives one)
//   POST /fill-mask  { "text": "… <mask> …", "topK"?: 5, "truncation"?: false }
//                    -> { "result": [{ score, token, token_str, sequence }, …] }   (several masks: one list each)
//   POST /classify   { "text": "…" | { text, textPair } } or { "texts": [ "…" | { text, textPair }, … ] },
//                    "topK"?: 1 (null: every label), "functionToApply"?, "truncation"?
//                    -> { "result": [{ label, score }, …] }   ("texts": one such list per input)
//   POST /rerank     { "query": "…", "documents": ["…", …], "topK"?, "returnDocuments"?, "rawScores"?, "truncation"? }
//                    -> { "result": [{ index, score, document? }, …] }   (best first)
//   POST /zero-shot  { "text": "…", "candidateLabels": ["…", …], "hypothesisTemplate"?, "multiLabel"? }
//                    -> { "result": { sequence, labels, scores } }
//   POST /ner        { "text": "…", "aggregationStrategy"?: "none", "ignoreLabels"?, "stride"? }
//                    -> { "result": [{ entity | entity_group, score, index?, word, start, end }, …] }
//   POST /qa         { "question": "…", "context": "…", "topK"?, "maxAnswerLen"?, "maxSeqLen"?, "docStride"?,
//                      "handleImpossibleAnswer"?, "alignToWords"? } -> { "result": { score, start, end, answer } }
//                    (a list when topK > 1 finds several)
//   GET  /           -> { model config (config.head: the task it serves), how it was loaded (modelSource, loadMs,
//                         loads: load attempts in this isolate), modelFileBytes, wasmMemoryBytes }
//
// The example serves one model, and a model file carries one head: fill-mask needs a masked LM, classify /
// rerank / zero-shot a sequence classifier (rerank one with a single output, zero-shot an NLI one), ner a token
// classifier, qa a question-answering model. A route the model cannot serve answers 400 ERR_UNSUPPORTED: the
// request cannot succeed on this deployment however often it is sent, so it is the caller's to change (a 4xx,
// which clients do not retry), not a failure of the server (5xx).
//
// Edge runtimes forbid compiling WebAssembly from bytes, so the core comes in as a module the runtime
// compiled when it loaded the worker (`import … from '….wasm'` gives a WebAssembly.Module), and the model
// runs in this isolate (`worker: false`: there is no Worker here).
//
// The model streams from object storage: the MODELS binding is an R2 bucket (Cloudflare: `MODELS.get(key)`
// gives `{ body, size }`) or, where there is no R2 (workerd on its own, the tests), a service binding that
// serves the file (`MODELS.fetch(url)`: a `disk` service, or an HTTP server). Which one is decided by what
// the binding has: a service binding has fetch(), a bucket has not. The key is the MODEL_KEY var
// (default: the bundled tiny test model's file name). load() copies each chunk of the stream into the wasm memory the C loader
// sized from the GGUF header, so the isolate holds the model once; the size (`Content-Length`, the object's
// `size`) is checked, so a stream cut short is an error, never a short model. Once per isolate, on first
// use: requests that arrive while it loads wait on the same promise; a failed load answers 503 (a broken
// stream, ERR_NETWORK) or 500 (no such file, not a model: ERR_SETUP, ERR_MODEL_FORMAT), and the next
// request tries again.
//
// worker-bundled.mjs serves the same routes (handler.mjs) with the model bundled as a data module instead: no
// storage to set up, but the module's ArrayBuffer stays in the isolate beside the copy in wasm memory, so the
// model counts twice against the isolate's memory.

import { createWorker } from './handler.mjs';

const DEFAULT_MODEL_KEY = 'xlmr-tiny-random.q8_0.gguf';

const setupError = (message) => Object.assign(new Error(message), { status: 500, code: 'ERR_SETUP' });

/** The model file from the MODELS binding -> { source (a Response with the size as Content-Length), size, from }. */
async function openModelStream(env) {
  const key = env.MODEL_KEY || DEFAULT_MODEL_KEY;
  const bucket = env.MODELS;
  if (bucket && typeof bucket.fetch === 'function') {
    // A service binding: any URL reaches the service, the path names the file.
    const url = new URL(key.replace(/^\/+/, ''), 'http://models/').href;
    const res = await bucket.fetch(url);
    if (!res.ok) {
      await res.body?.cancel();
      const message = `the MODELS service answered HTTP ${res.status} for ${url}`;
      // No such file is the deployment's mistake (as a missing R2 key); any other failure may pass.
      if (res.status === 404) throw setupError(`${message}: no such model file (MODEL_KEY)`);
      throw Object.assign(new Error(message), { status: 503, code: 'ERR_NETWORK' });
    }
    const size = Number(res.headers.get('content-length') ?? NaN);
    return { source: res, size: Number.isFinite(size) ? size : undefined, from: `service binding MODELS ${url}` };
  }
  if (bucket && typeof bucket.get === 'function') {
    const object = await bucket.get(key);
    if (!object) throw setupError(`the R2 bucket bound as MODELS has no object ${JSON.stringify(key)} (upload it: see examples/edge/README.md)`);
    // A Response carries the size to load(), which then checks the stream against it.
    const source = new Response(object.body, { headers: { 'content-length': String(object.size) } });
    return { source, size: object.size, from: `R2 bucket MODELS key ${key}` };
  }
  throw setupError('no MODELS binding: bind an R2 bucket (wrangler.toml) or a service that serves the model file (config.capnp)');
}

export default createWorker(openModelStream);
