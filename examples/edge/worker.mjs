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
//   GET  /           -> { model config (config.head: the task it serves), how it was loaded, wasm memory in bytes }
//
// The example serves one model, and a model file carries one head: fill-mask needs a masked LM, classify /
// rerank / zero-shot a sequence classifier (rerank one with a single output, zero-shot an NLI one), ner a token
// classifier, qa a question-answering model. A route the model cannot serve answers 400 ERR_UNSUPPORTED: the
// request cannot succeed on this deployment however often it is sent, so it is the caller's to change (a 4xx,
// which clients do not retry), not a failure of the server (5xx).
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
const CLIENT_ERRORS = new Set(['ERR_NO_MASK', 'ERR_TOO_LONG', 'ERR_INVALID_ARGUMENT', 'ERR_UNSUPPORTED']);

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

const badRequest = (message) => Object.assign(new Error(message), { status: 400, code: 'ERR_INVALID_ARGUMENT' });

/** Only the options the API knows, so a typo is an error rather than silently ignored. */
function pick(body, allowed, required) {
  const fields = [required].flat();
  const opts = {};
  for (const [k, v] of Object.entries(body)) {
    if (fields.includes(k)) continue;
    if (!allowed.includes(k)) throw badRequest(`unknown field ${JSON.stringify(k)}; known: ${[...fields, ...allowed].join(', ')}`);
    opts[k] = v;
  }
  return opts;
}

function requireString(body, field) {
  if (typeof body[field] !== 'string') throw badRequest(`${JSON.stringify(field)} must be a string`);
  return body[field];
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

async function classify(request) {
  const body = await readJson(request);
  if ((body.text === undefined) === (body.texts === undefined)) throw badRequest('give "text" (one input) or "texts" (an array of inputs)');
  if (body.texts !== undefined && !(Array.isArray(body.texts) && body.texts.length)) throw badRequest('"texts" must be a non-empty array');
  const opts = pick(body, ['topK', 'functionToApply', 'truncation'], ['text', 'texts']);
  if (opts.topK === undefined) opts.topK = 1;
  const model = await getModel();
  return json(200, { result: await model.classify(body.text ?? body.texts, opts) });
}

async function rerank(request) {
  const body = await readJson(request);
  const query = requireString(body, 'query');
  const opts = pick(body, ['topK', 'returnDocuments', 'rawScores', 'truncation', 'batchSize'], ['query', 'documents']);
  const model = await getModel();
  return json(200, { result: await model.rerank(query, body.documents, opts) });
}

async function zeroShot(request) {
  const body = await readJson(request);
  const text = requireString(body, 'text');
  const opts = pick(body, ['hypothesisTemplate', 'multiLabel'], ['text', 'candidateLabels']);
  const model = await getModel();
  return json(200, { result: await model.zeroShot(text, body.candidateLabels, opts) });
}

async function ner(request) {
  const body = await readJson(request);
  const text = requireString(body, 'text');
  const opts = pick(body, ['aggregationStrategy', 'ignoreLabels', 'stride'], 'text');
  const model = await getModel();
  return json(200, { result: await model.tokenClassify(text, opts) });
}

async function qa(request) {
  const body = await readJson(request);
  const question = requireString(body, 'question');
  const context = requireString(body, 'context');
  const opts = pick(body, ['topK', 'maxAnswerLen', 'maxSeqLen', 'docStride', 'handleImpossibleAnswer', 'alignToWords'], ['question', 'context']);
  const model = await getModel();
  return json(200, { result: await model.answer({ question, context }, opts) });
}

const ROUTES = {
  '/embed': embed, '/fill-mask': fillMask, '/classify': classify, '/rerank': rerank, '/zero-shot': zeroShot, '/ner': ner, '/qa': qa,
};

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
      if (Object.hasOwn(ROUTES, pathname)) {
        if (request.method !== 'POST') return new Response('use POST\n', { status: 405, headers: { allow: 'POST' } });
        return await ROUTES[pathname](request);
      }
      if (pathname === '/' && request.method === 'GET') return await info();
      return fail(404, 'ERR_NOT_FOUND', `no route ${request.method} ${pathname}; POST one of ${Object.keys(ROUTES).join(', ')}, or GET /`);
    } catch (e) {
      if (e?.status) return fail(e.status, e.code, e.message);
      if (e instanceof XlmrError) return fail(CLIENT_ERRORS.has(e.code) ? 400 : 500, e.code, e.message);
      return fail(500, 'ERR_INTERNAL', String(e?.message ?? e));
    }
  },
};
