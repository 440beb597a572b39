// An edge function (Cloudflare Workers / workerd) serving XLM-RoBERTa as JSON:
//
//   POST /embed      { "texts": "…" | ["…", …], "pooling"?: "mean"|"cls", "normalize"?: true, "truncation"?: false }
//                    -> { "dims": H, "embeddings": [[…H floats], …] }   (one array per text; a bare string gives one)
//   POST /fill-mask  { "text": "… <mask> …", "topK"?: 5, "truncation"?: false }
//                    -> { "result": [{ score, token, token_str, sequence }, …] }   (several masks: one list each)
//   GET  /           -> { model config, how it was loaded, wasm memory in bytes }
//
// Edge runtimes forbid compiling WebAssembly from bytes, so the core comes in as a module the runtime
// compiled when it loaded the worker (`import … from '….wasm'` gives a WebAssembly.Module), and the model
// runs in this isolate (`worker: false`: there is no Worker here). The model file is a data module (an
// ArrayBuffer); load() copies it chunk by chunk into wasm memory. Loaded once per isolate, on first use.

import { load, XlmrError } from '../../js/index.workerd.js';
import wasmModule from '../../dist/xlmr.wasm';
import modelBytes from './model.gguf';

const MAX_BODY = 1 << 20; // bytes of JSON a request may carry

let modelPromise = null;
let loadMs = 0;

function getModel() {
  if (!modelPromise) {
    const t0 = Date.now();
    modelPromise = load(modelBytes, { worker: false, wasmModule, cache: false }).then(
      (m) => { loadMs = Date.now() - t0; return m; },
      (e) => { modelPromise = null; throw e; }, // a failed load is retried by the next request
    );
  }
  return modelPromise;
}

function json(status, body) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  });
}

function fail(status, code, message) {
  return json(status, { error: { code, message } });
}

// Input mistakes are the caller's (400); anything else is ours (500).
const CLIENT_ERRORS = new Set(['ERR_NO_MASK', 'ERR_TOO_LONG', 'ERR_INVALID_ARGUMENT']);

async function readJson(request) {
  const type = request.headers.get('content-type') || '';
  if (!/^application\/json\b/i.test(type)) throw Object.assign(new Error('send the body as application/json'), { status: 415, code: 'ERR_CONTENT_TYPE' });
  const text = await request.text();
  if (text.length > MAX_BODY) throw Object.assign(new Error(`the body is over ${MAX_BODY} bytes`), { status: 413, code: 'ERR_TOO_LARGE' });
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v;
  } catch (e) {
    throw Object.assign(new Error(`the body is not a JSON object: ${e.message}`), { status: 400, code: 'ERR_BAD_JSON' });
  }
}

/** Only the options the API knows, so a typo is an error rather than silently ignored. */
function pick(body, allowed, required) {
  const opts = {};
  for (const [k, v] of Object.entries(body)) {
    if (k === required) continue;
    if (!allowed.includes(k)) {
      throw Object.assign(new Error(`unknown field ${JSON.stringify(k)}; known: ${[required, ...allowed].join(', ')}`), { status: 400, code: 'ERR_INVALID_ARGUMENT' });
    }
    opts[k] = v;
  }
  return opts;
}

async function embed(request) {
  const body = await readJson(request);
  const { texts } = body;
  if (typeof texts !== 'string' && !(Array.isArray(texts) && texts.length && texts.every((t) => typeof t === 'string'))) {
    return fail(400, 'ERR_INVALID_ARGUMENT', '"texts" must be a string or a non-empty array of strings');
  }
  const opts = pick(body, ['pooling', 'normalize', 'truncation', 'batchSize'], 'texts');
  if (opts.pooling === 'none') return fail(400, 'ERR_INVALID_ARGUMENT', 'pooling "none" is not served here; use "mean" or "cls"');
  const model = await getModel();
  const out = await model.embed(typeof texts === 'string' ? [texts] : texts, opts);
  return json(200, { dims: model.config.hiddenSize, embeddings: out.map((v) => Array.from(v)) });
}

async function fillMask(request) {
  const body = await readJson(request);
  if (typeof body.text !== 'string') return fail(400, 'ERR_INVALID_ARGUMENT', '"text" must be a string containing <mask>');
  const opts = pick(body, ['topK', 'truncation'], 'text');
  const model = await getModel();
  return json(200, { result: await model.fillMask(body.text, opts) });
}

async function info() {
  const model = await getModel();
  const stats = await model.stats();
  return json(200, {
    config: model.config, loadInfo: model.loadInfo, mode: model.mode, runtime: model.runtime,
    loadMs, wasmMemoryBytes: stats.memoryBytes, modelFileBytes: modelBytes.byteLength,
  });
}

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    try {
      if (pathname === '/embed' || pathname === '/fill-mask') {
        if (request.method !== 'POST') return new Response('use POST\n', { status: 405, headers: { allow: 'POST' } });
        return pathname === '/embed' ? await embed(request) : await fillMask(request);
      }
      if (pathname === '/' && request.method === 'GET') return await info();
      return fail(404, 'ERR_NOT_FOUND', `no route ${request.method} ${pathname}; try POST /embed or POST /fill-mask`);
    } catch (e) {
      if (e?.status) return fail(e.status, e.code, e.message);
      if (e instanceof XlmrError) return fail(CLIENT_ERRORS.has(e.code) ? 400 : 500, e.code, e.message);
      return fail(500, 'ERR_INTERNAL', String(e?.message ?? e));
    }
  },
};
