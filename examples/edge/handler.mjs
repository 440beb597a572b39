// The edge example's routes and model-per-isolate logic (worker.mjs streams the model from storage,
// worker-bundled.mjs bundles it); the routes are documented in worker.mjs. A worker's main module may export
// only handlers, so this shared part is a module of its own.

import { load, XlmrError } from '../../js/index.workerd.js';
import simd128 from '../../dist/xlmr.wasm';
import relaxed from '../../dist/xlmr-relaxed.wasm';

// Both cores: load()'s simd 'auto' runs the relaxed one where the engine's fused int8 dot is exact (x86 AVX-VNNI,
// Arm; the same outputs, faster), the SIMD128 one elsewhere. Either alone works too.
const wasmModule = { simd128, relaxed };

const MAX_BODY = 1 << 20; // bytes of JSON a request may carry

/**
 * The edge function's handler over `openModel(env) -> { source, size, from }` (anything load() takes as source).
 * The model is loaded once per isolate; `loads` counts the attempts.
 */
export function createWorker(openModel) {
  const state = { promise: null, loads: 0, loadMs: 0, size: undefined, from: undefined };

  function getModel(env, ctx) {
    if (!state.promise) {
      state.loads++;
      const t0 = Date.now();
      state.promise = (async () => {
        const opened = await openModel(env);
        state.size = opened.size;
        state.from = opened.from;
        const model = await load(opened.source, { worker: false, wasmModule, cache: false });
        state.loadMs = Date.now() - t0;
        return model;
      })().catch((e) => {
        state.promise = null; // the next request tries again
        throw loadFailure(e, state.from);
      });
      // The stream belongs to this request: keep its context alive until the load ends, even if this
      // request's client goes away while others wait on the same promise.
      ctx?.waitUntil?.(state.promise.catch(() => {}));
    }
    return state.promise;
  }
  const routes = makeRoutes(getModel);
  routes.info = async (request, env, ctx) => {
    const model = await getModel(env, ctx);
    const stats = await model.stats();
    return json(200, {
      config: model.config, loadInfo: model.loadInfo, mode: model.mode, runtime: model.runtime,
      loadMs: state.loadMs, loads: state.loads, modelSource: state.from, modelFileBytes: state.size, wasmMemoryBytes: stats.memoryBytes,
    });
  };
  return { fetch: (request, env, ctx) => handle(routes, request, env, ctx) };
}

/** A failed load as the answer's error: 503 when the stream broke (worth retrying), else 500. */
function loadFailure(e, from) {
  if (e?.status) return e;
  const code = e instanceof XlmrError ? e.code : 'ERR_INTERNAL';
  const status = code === 'ERR_NETWORK' || code === 'ERR_ABORTED' ? 503 : 500;
  const message = `loading the model${from ? ` from ${from}` : ''} failed: ${e?.message ?? e}; the next request tries again`;
  return Object.assign(new Error(message), { status, code });
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

async function embed(request, getModel) {
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

async function fillMask(request, getModel) {
  const body = await readJson(request);
  if (typeof body.text !== 'string') return fail(400, 'ERR_INVALID_ARGUMENT', '"text" must be a string containing <mask>');
  const opts = pick(body, ['topK', 'truncation'], 'text');
  const model = await getModel();
  return json(200, { result: await model.fillMask(body.text, opts) });
}

async function classify(request, getModel) {
  const body = await readJson(request);
  if ((body.text === undefined) === (body.texts === undefined)) throw badRequest('give "text" (one input) or "texts" (an array of inputs)');
  if (body.texts !== undefined && !(Array.isArray(body.texts) && body.texts.length)) throw badRequest('"texts" must be a non-empty array');
  const opts = pick(body, ['topK', 'functionToApply', 'truncation'], ['text', 'texts']);
  if (opts.topK === undefined) opts.topK = 1;
  const model = await getModel();
  return json(200, { result: await model.classify(body.text ?? body.texts, opts) });
}

async function rerank(request, getModel) {
  const body = await readJson(request);
  const query = requireString(body, 'query');
  const opts = pick(body, ['topK', 'returnDocuments', 'rawScores', 'truncation', 'batchSize'], ['query', 'documents']);
  const model = await getModel();
  return json(200, { result: await model.rerank(query, body.documents, opts) });
}

async function zeroShot(request, getModel) {
  const body = await readJson(request);
  const text = requireString(body, 'text');
  const opts = pick(body, ['hypothesisTemplate', 'multiLabel'], ['text', 'candidateLabels']);
  const model = await getModel();
  return json(200, { result: await model.zeroShot(text, body.candidateLabels, opts) });
}

async function ner(request, getModel) {
  const body = await readJson(request);
  const text = requireString(body, 'text');
  const opts = pick(body, ['aggregationStrategy', 'ignoreLabels', 'stride'], 'text');
  const model = await getModel();
  return json(200, { result: await model.tokenClassify(text, opts) });
}

async function qa(request, getModel) {
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

/** The POST routes and GET / over one isolate's getModel(env, ctx). */
function makeRoutes(getModel) {
  const routes = {};
  for (const [path, route] of Object.entries(ROUTES)) routes[path] = (request, env, ctx) => route(request, () => getModel(env, ctx));
  return routes;
}

async function handle(routes, request, env, ctx) {
  const { pathname } = new URL(request.url);
  try {
    if (Object.hasOwn(ROUTES, pathname)) {
      if (request.method !== 'POST') return new Response('use POST\n', { status: 405, headers: { allow: 'POST' } });
      return await routes[pathname](request, env, ctx);
    }
    if (pathname === '/' && request.method === 'GET') return await routes.info(request, env, ctx);
    return fail(404, 'ERR_NOT_FOUND', `no route ${request.method} ${pathname}; POST one of ${Object.keys(ROUTES).join(', ')}, or GET /`);
  } catch (e) {
    if (e?.status) return fail(e.status, e.code, e.message);
    if (e instanceof XlmrError) return fail(CLIENT_ERRORS.has(e.code) ? 400 : 500, e.code, e.message);
    return fail(500, 'ERR_INTERNAL', String(e?.message ?? e));
  }
}

