// The edge example (examples/edge) under workerd: POST /embed and POST /fill-mask answer what Node
// answers for the same model and inputs, errors are JSON with codes, and the isolate's memory is
// reported (written to build/test-output/edge/report.json as well). The model streams from the MODELS
// binding (the config's disk service, or an HTTP server standing in for R2): one load for concurrent first
// requests, a cut stream answered with a typed error and retried; the bundled variant answers the same.

import test from 'node:test';
import assert from 'node:assert/strict';
import { maxAbsDiff, assertFillMask } from '../node/helpers/common.mjs';
import fs from 'node:fs';
import path from 'node:path';
import {
  ROOT, EXAMPLE_CONFIG, EXAMPLE_DIR, findWorkerd, configModules, importGraph, startWorkerd, procMemory, isolateHeap, postJson,
  modelServer, writeConfig,
} from './workerd.mjs';

const MODEL = path.join(ROOT, 'models', 'tiny', 'xlmr-tiny-random.q8_0.gguf');
const WASM = path.join(ROOT, 'dist', 'xlmr.wasm');
const OUT_DIR = path.join(ROOT, 'build', 'test-output', 'edge');
const MB = 1024 * 1024;
const BUNDLED_CONFIG = path.join(EXAMPLE_DIR, 'config-bundled.capnp');

const found = findWorkerd();
const skip = found.skip ? `skipped: ${found.skip}` : false;

/** Fill-mask inputs: the fixture texts with masks, plus a few of our own. */
function fillCases() {
  const lines = fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', 'model_cases.jsonl'), 'utf8').split('\n').filter(Boolean);
  const cases = [];
  for (const line of lines) {
    const c = JSON.parse(line);
    if (c.name === 'long_truncated_512' || c.name === 'padded_batch_3') continue;
    if (c.texts[0].includes('<mask>')) cases.push({ name: c.name, text: c.texts[0] });
  }
  cases.push({ name: 'own_fr', text: 'Le chat dort sur le <mask>.' }, { name: 'own_two', text: '<mask> ist die <mask> von Deutschland.' });
  return cases;
}

const EMBED_TEXTS = [
  'The weather is lovely today.',
  'Das Wetter ist heute schön.',
  'Сегодня прекрасная погода.',
  '今天天气很好。',
  'الطقس جميل اليوم.',
  'The stock market fell sharply.',
];

/** Same tokens, strings and order as Node's answer; returns the largest score difference. */
const compareFill = (got, want, label) => assertFillMask(got, want, Infinity, label);

for (const [config, entry] of [[EXAMPLE_CONFIG, 'examples/edge/worker.mjs'], [BUNDLED_CONFIG, 'examples/edge/worker-bundled.mjs']]) {
  test(`${path.basename(config)} lists exactly the modules ${path.basename(entry)} imports, its entry first`, () => {
    const listed = configModules(fs.readFileSync(config, 'utf8'));
    const names = listed.map((m) => m.name).sort();
    const graph = importGraph(entry);
    assert.deepEqual(names, graph, `examples/edge/${path.basename(config)} modules vs the static import graph of ${entry} (update the list)`);
    assert.equal(listed[0].name, entry, 'the first module is the main one');
    for (const m of listed) {
      const file = path.resolve(path.dirname(config), m.embed);
      if (m.name !== 'examples/edge/model.gguf') assert.equal(path.relative(ROOT, file).split(path.sep).join('/'), m.name, `module ${m.name} embeds ${m.embed}`);
      if (m.kind === 'wasm') assert.match(m.name, /\.wasm$/);
    }
    assert.ok(listed.some((m) => m.kind === 'wasm' && m.name === 'dist/xlmr.wasm'), 'the core is a precompiled wasm module');
  });
}

test('workerd serves /fill-mask and /embed equal to Node, and reports its memory', { skip, timeout: 180_000 }, async (t) => {
  assert.ok(fs.existsSync(WASM), 'dist/xlmr.wasm is missing: run make');
  assert.ok(fs.existsSync(MODEL), `${path.relative(ROOT, MODEL)} is missing`);
  const { load } = await import('../../js/index.node.js');
  const ref = await load(MODEL, { worker: false, cache: false });
  t.after(() => ref.dispose());

  const wd = await startWorkerd(found.bin, EXAMPLE_CONFIG);
  t.after(() => wd.stop());
  const report = { model: path.relative(ROOT, MODEL), modelBytes: fs.statSync(MODEL).size, wasmBytes: fs.statSync(WASM).size };
  await new Promise((r) => setTimeout(r, 200));
  report.processBeforeLoad = procMemory(wd.pid);
  report.heapBeforeLoad = await isolateHeap(wd.inspectorPort);

  // GET / loads the model (once per isolate) and says what it holds.
  const t0 = Date.now();
  const infoRes = await fetch(`${wd.url}/`);
  const info = await infoRes.json();
  assert.equal(infoRes.status, 200, `GET /: ${JSON.stringify(info)}\n${wd.log()}`);
  report.firstRequestMs = Date.now() - t0;
  assert.equal(info.mode, 'in-thread');
  // Both precompiled cores are imported; simd 'auto' takes the relaxed one only where its kernel is exact.
  const { build, kernel } = info.runtime ?? {};
  assert.ok((build === 'wasmModule.relaxed' && (kernel === 'vnni-exact' || kernel === 'sdot-exact')) || (build === 'wasmModule.simd128' && kernel === 'simd128'),
    `a precompiled core from the imports, chosen as simd 'auto' chooses: ${JSON.stringify(info.runtime)}`);
  // make test-arm64 runs this file on workerd for arm64 in QEMU and says which kernel its CPU must get
  if (process.env.XLMR_EXPECT_KERNEL) assert.equal(kernel, process.env.XLMR_EXPECT_KERNEL, JSON.stringify(info.runtime));
  report.runtime = info.runtime;
  assert.deepEqual(info.config, ref.config, 'the same model config as Node');
  report.wasmMemoryBytes = info.wasmMemoryBytes;
  report.processAfterLoad = procMemory(wd.pid);
  report.heapAfterLoad = await isolateHeap(wd.inspectorPort);

  // fill-mask
  let fillDiff = 0;
  const cases = fillCases();
  for (const c of cases) {
    const r = await postJson(`${wd.url}/fill-mask`, { text: c.text, topK: 5 });
    assert.equal(r.status, 200, `${c.name}: ${JSON.stringify(r.body)}`);
    const want = await ref.fillMask(c.text, { topK: 5 });
    fillDiff = Math.max(fillDiff, compareFill(r.body.result, want, c.name));
  }
  // embed: a batch, a bare string, cls pooling without normalisation
  let embedDiff = 0;
  const variants = [
    [{ texts: EMBED_TEXTS }, EMBED_TEXTS, {}],
    [{ texts: EMBED_TEXTS[3] }, [EMBED_TEXTS[3]], {}],
    [{ texts: EMBED_TEXTS, pooling: 'cls', normalize: false }, EMBED_TEXTS, { pooling: 'cls', normalize: false }],
  ];
  for (const [body, texts, opts] of variants) {
    const r = await postJson(`${wd.url}/embed`, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.dims, ref.config.hiddenSize);
    const want = await ref.embed(texts, opts);
    assert.equal(r.body.embeddings.length, want.length);
    r.body.embeddings.forEach((v, i) => { embedDiff = Math.max(embedDiff, maxAbsDiff(v, want[i])); });
  }
  report.fillMaskCases = cases.length;
  report.maxScoreDiff = fillDiff;
  report.maxEmbeddingDiff = embedDiff;
  // One wasm build, deterministic kernels: workerd and Node should agree to the bit.
  assert.ok(fillDiff <= 1e-6, `fill-mask scores differ from Node by ${fillDiff}`);
  assert.ok(embedDiff <= 1e-6, `embeddings differ from Node by ${embedDiff}`);

  // Errors: JSON with a code, the model still answering afterwards.
  const noMask = await postJson(`${wd.url}/fill-mask`, { text: 'no mask here' });
  assert.equal(noMask.status, 400);
  assert.equal(noMask.body.error.code, 'ERR_NO_MASK');
  const badField = await postJson(`${wd.url}/embed`, { texts: ['a'], pooling: 'mean', normalise: true });
  assert.equal(badField.status, 400);
  assert.match(badField.body.error.message, /normalise/);
  const badJson = await fetch(`${wd.url}/embed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
  assert.equal(badJson.status, 400);
  assert.equal((await badJson.json()).error.code, 'ERR_BAD_JSON');
  assert.equal((await fetch(`${wd.url}/embed`)).status, 405);
  assert.equal((await fetch(`${wd.url}/nope`)).status, 404);
  const tooLong = await postJson(`${wd.url}/fill-mask`, { text: `${'word '.repeat(600)}<mask>` });
  assert.equal(tooLong.status, 400);
  assert.equal(tooLong.body.error.code, 'ERR_TOO_LONG');
  const truncated = await postJson(`${wd.url}/fill-mask`, { text: `<mask> ${'word '.repeat(600)}`, truncation: true });
  assert.equal(truncated.status, 200);
  compareFill(truncated.body.result, await ref.fillMask(`<mask> ${'word '.repeat(600)}`, { truncation: true }), 'truncated');

  // Memory after the requests (a 512-token run grows the scratch buffers).
  report.processAfterRequests = procMemory(wd.pid);
  report.heapAfterRequests = await isolateHeap(wd.inspectorPort);
  report.wasmMemoryBytesAfterRequests = (await (await fetch(`${wd.url}/`)).json()).wasmMemoryBytes;

  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(path.join(OUT_DIR, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const mb = (b) => (b == null || Number.isNaN(b) ? '?' : `${(b / MB).toFixed(1)} MB`);
  const heap = (h) => (h ? `JS heap used ${mb(h.usedSize)} of ${mb(h.totalSize)}, array-buffer backing stores ${mb(h.backingStorageSize)}` : 'inspector unavailable');
  t.diagnostic(`model ${mb(report.modelBytes)} GGUF, core ${mb(report.wasmBytes)} wasm; first request (load) ${report.firstRequestMs} ms`);
  t.diagnostic(`isolate after load: wasm memory ${mb(report.wasmMemoryBytes)}; ${heap(report.heapAfterLoad)}`);
  t.diagnostic(`isolate after requests: wasm memory ${mb(report.wasmMemoryBytesAfterRequests)}; ${heap(report.heapAfterRequests)}`);
  t.diagnostic(`workerd process RSS: ${mb(report.processBeforeLoad?.rss)} idle, ${mb(report.processAfterLoad?.rss)} loaded, ${mb(report.processAfterRequests?.rss)} after requests (peak ${mb(report.processAfterRequests?.peak)})`);
  t.diagnostic(`vs Node: ${cases.length} fill-mask inputs, max score diff ${fillDiff}; max embedding diff ${embedDiff}`);
});

// The relaxed-SIMD build under workerd (its V8 has relaxed SIMD): the example's config with the relaxed core's
// bytes behind the same module name, written under build/. Compared with Node's SIMD128 answers: where its kernel
// is exact (AVX-VNNI, Arm), the same numbers; else 7-bit activations move them a little, not the shape of the answer.
const RELAXED = path.join(ROOT, 'dist', 'xlmr-relaxed.wasm');
test('workerd runs the relaxed-SIMD build (dist/xlmr-relaxed.wasm as the worker\'s core)', { skip, timeout: 120_000 }, async (t) => {
  assert.ok(fs.existsSync(RELAXED), 'dist/xlmr-relaxed.wasm is missing: run make (make test-edge builds it first)');
  const configPath = writeConfig(path.join(ROOT, 'build', 'test-output', 'edge-relaxed', 'config.capnp'), { replace: { [WASM]: RELAXED } });
  assert.ok(fs.readFileSync(configPath, 'utf8').includes('dist/xlmr-relaxed.wasm'), 'the config now embeds the relaxed core');

  const { load } = await import('../../js/index.node.js');
  const ref = await load(MODEL, { worker: false, cache: false });
  t.after(() => ref.dispose());
  const wd = await startWorkerd(found.bin, configPath);
  t.after(() => wd.stop());

  const infoRes = await fetch(`${wd.url}/`);
  const info = await infoRes.json();
  assert.equal(infoRes.status, 200, `GET /: ${JSON.stringify(info)}\n${wd.log()}`);
  assert.equal(info.runtime?.simd, 'relaxed', `the core reports its kernels: ${JSON.stringify(info.runtime)}`);

  let worst = 1;
  const r = await postJson(`${wd.url}/embed`, { texts: EMBED_TEXTS });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const want = await ref.embed(EMBED_TEXTS);
  r.body.embeddings.forEach((v, i) => {
    let dot = 0;
    for (let h = 0; h < v.length; h++) dot += v[h] * want[i][h]; // both L2-normalized
    worst = Math.min(worst, dot);
  });
  t.diagnostic(`relaxed build under workerd (${info.runtime.kernel}): worst embedding cosine to Node's SIMD128 ${worst.toFixed(5)}`);
  assert.ok(worst >= 0.995, `embedding cosine ${worst}`);
  if (['vnni-exact', 'sdot-exact'].includes(info.runtime.kernel)) assert.deepEqual(r.body.embeddings, want.map((v) => Array.from(v)), 'the exact kernel gives the SIMD128 numbers');
  const fill = await postJson(`${wd.url}/fill-mask`, { text: 'Le chat dort sur le <mask>.', topK: 5 });
  assert.equal(fill.status, 200, JSON.stringify(fill.body));
  assert.equal(fill.body.result.length, 5);
  const noMask = await postJson(`${wd.url}/fill-mask`, { text: 'no mask here' });
  assert.equal(noMask.body.error?.code, 'ERR_NO_MASK');
});

// The task routes (issue 18) on the tiny head models: each head's model folder (tests/node/helpers/head-models.mjs)
// converted to a Q8_0 GGUF, written under build/ and streamed to the worker by the example's storage service; every route answers what Node answers on the same GGUF, and the routes the head cannot
// serve answer 400 ERR_UNSUPPORTED.
async function headGguf(name, dir) {
  const { load } = await import('../../js/index.node.js');
  const { headModelFolder } = await import('../node/helpers/head-models.mjs');
  const folder = headModelFolder(name);
  const file = path.join(dir, `${name}.q8_0.gguf`);
  try {
    const m = await load(folder.dir, { worker: false, cache: false, dtype: 'q8_0' });
    const chunks = [];
    for await (const c of m.exportGguf()) chunks.push(Buffer.from(c));
    await m.dispose();
    fs.writeFileSync(file, Buffer.concat(chunks));
  } finally {
    folder.remove();
  }
  return file;
}

function assertSameResult(got, want, what) {
  if (typeof want === 'number') {
    assert.ok(typeof got === 'number' && Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);
  } else if (want && typeof want === 'object') {
    assert.deepEqual(Object.keys(got ?? {}), Object.keys(want), `${what}: keys`);
    for (const k of Object.keys(want)) assertSameResult(got[k], want[k], `${what}.${k}`);
  } else {
    assert.equal(got, want, what);
  }
}

const TASK_ROUTES = ['/fill-mask', '/classify', '/rerank', '/zero-shot', '/ner', '/qa'];
const QUERY = 'What is the capital of France?';
const CONTEXT = 'The capital of France is Paris. Berlin is the capital of Germany, and Madrid of Spain.';
const DOCS = ['Paris is the capital of France.', 'Bananas are yellow.', 'Berlin liegt in Deutschland.', 'Le ciel est bleu.'];
const NER_TEXT = 'Angela Merkel visited Paris and met Emmanuel Macron at the Élysée.';
/** Per head model: the requests its routes serve, [route, body, Node's call]. */
const HEAD_CASES = {
  sentiment: [
    ['/classify', { text: EMBED_TEXTS[0] }, (m) => m.classify(EMBED_TEXTS[0], { topK: 1 })],
    ['/classify', { texts: EMBED_TEXTS, topK: null }, (m) => m.classify(EMBED_TEXTS, { topK: null })],
    ['/classify', { text: { text: EMBED_TEXTS[0], textPair: EMBED_TEXTS[1] }, topK: 2, functionToApply: 'sigmoid' },
      (m) => m.classify({ text: EMBED_TEXTS[0], textPair: EMBED_TEXTS[1] }, { topK: 2, functionToApply: 'sigmoid' })],
  ],
  reranker: [
    ['/rerank', { query: QUERY, documents: DOCS }, (m) => m.rerank(QUERY, DOCS)],
    ['/rerank', { query: QUERY, documents: DOCS, topK: 2, returnDocuments: true, rawScores: true }, (m) => m.rerank(QUERY, DOCS, { topK: 2, returnDocuments: true, rawScores: true })],
    ['/classify', { text: { text: QUERY, textPair: DOCS[0] } }, (m) => m.classify({ text: QUERY, textPair: DOCS[0] }, { topK: 1 })],
  ],
  nli: [
    ['/zero-shot', { text: EMBED_TEXTS[5], candidateLabels: ['finance', 'weather', 'sports'] }, (m) => m.zeroShot(EMBED_TEXTS[5], ['finance', 'weather', 'sports'])],
    ['/zero-shot', { text: EMBED_TEXTS[0], candidateLabels: ['weather'], multiLabel: true, hypothesisTemplate: 'It is about {}.' },
      (m) => m.zeroShot(EMBED_TEXTS[0], ['weather'], { multiLabel: true, hypothesisTemplate: 'It is about {}.' })],
  ],
  ner: [
    ['/ner', { text: NER_TEXT }, (m) => m.tokenClassify(NER_TEXT)],
    ['/ner', { text: NER_TEXT, aggregationStrategy: 'simple' }, (m) => m.tokenClassify(NER_TEXT, { aggregationStrategy: 'simple' })],
    ['/ner', { text: NER_TEXT.repeat(40), aggregationStrategy: 'first', stride: 16 }, (m) => m.tokenClassify(NER_TEXT.repeat(40), { aggregationStrategy: 'first', stride: 16 })],
  ],
  qa: [
    ['/qa', { question: QUERY, context: CONTEXT }, (m) => m.answer({ question: QUERY, context: CONTEXT })],
    ['/qa', { question: QUERY, context: CONTEXT.repeat(30), topK: 3, maxAnswerLen: 8 }, (m) => m.answer({ question: QUERY, context: CONTEXT.repeat(30) }, { topK: 3, maxAnswerLen: 8 })],
  ],
};
const SERVES = { sentiment: ['/classify', '/zero-shot'], reranker: ['/classify', '/rerank'], nli: ['/classify', '/zero-shot'], ner: ['/ner'], qa: ['/qa'] };
/** A valid body for each route, to see which routes a model refuses. */
const ANY_BODY = {
  '/fill-mask': { text: 'a <mask>' }, '/classify': { text: 'a' }, '/rerank': { query: 'q', documents: ['d'] },
  '/zero-shot': { text: 'a', candidateLabels: ['x', 'y'] }, '/ner': { text: 'a' }, '/qa': { question: 'q', context: 'c' },
};

test('workerd serves /classify, /rerank, /zero-shot, /ner, /qa equal to Node on head models; other routes 400 ERR_UNSUPPORTED', { skip, timeout: 300_000 }, async (t) => {
  assert.ok(fs.existsSync(WASM), 'dist/xlmr.wasm is missing: run make');
  const dir = path.join(ROOT, 'build', 'test-output', 'edge-heads');
  fs.mkdirSync(dir, { recursive: true });
  const { load } = await import('../../js/index.node.js');
  for (const name of Object.keys(HEAD_CASES)) {
    const gguf = await headGguf(name, dir);
    const ref = await load(gguf, { worker: false, cache: false });
    t.after(() => ref.dispose());
    // The example's storage service serves this folder; MODEL_KEY names the head's file in it.
    const config = writeConfig(path.join(dir, `${name}.capnp`), { modelKey: path.basename(gguf) });
    const wd = await startWorkerd(found.bin, config, { args: [`--directory-path=models=${dir}`] });
    try {
      const info = await (await fetch(`${wd.url}/`)).json();
      assert.equal(info.config?.head, ref.config.head, `${name}: GET / names the head\n${wd.log()}`);
      for (const [route, body, call] of HEAD_CASES[name]) {
        const r = await postJson(`${wd.url}${route}`, body);
        assert.equal(r.status, 200, `${name} ${route}: ${JSON.stringify(r.body)}`);
        // One build, one GGUF: the same logits; labels, spans and order identical, scores within a few ulps (the
        // post-processing's Math.exp in workerd's V8 and Node's may round their last bit apart).
        assertSameResult(r.body.result, await call(ref), `${name} ${route} ${JSON.stringify(body).slice(0, 80)}`);
      }
      for (const route of TASK_ROUTES) {
        if (SERVES[name].includes(route)) continue;
        const r = await postJson(`${wd.url}${route}`, ANY_BODY[route]);
        // rerank on a classifier of several labels and zero-shot on a 1-output reranker: the head is there, the
        // label count is wrong, which the API calls an argument error
        const classifier = ['sentiment', 'nli', 'reranker'].includes(name);
        const want = classifier && (route === '/rerank' || route === '/zero-shot') ? 'ERR_INVALID_ARGUMENT' : 'ERR_UNSUPPORTED';
        assert.equal(r.status, 400, `${name} ${route}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error?.code, want, `${name} ${route}: ${JSON.stringify(r.body)}`);
        assert.equal(typeof r.body.error.message, 'string');
      }
      // The caller's mistakes: 400 with a code; the model still answers afterwards.
      const route = SERVES[name].at(-1);
      for (const bad of [{ ...ANY_BODY[route], bogus: 1 }, {}, route === '/qa' ? { question: 'q' } : { ...ANY_BODY[route], text: 7 }]) {
        const r = await postJson(`${wd.url}${route}`, bad);
        assert.equal(r.status, 400, `${name} ${route} ${JSON.stringify(bad)}: ${JSON.stringify(r.body)}`);
        assert.ok(r.body.error?.code, JSON.stringify(r.body));
      }
      const again = await postJson(`${wd.url}${HEAD_CASES[name][0][0]}`, HEAD_CASES[name][0][1]);
      assert.equal(again.status, 200);
    } finally {
      await wd.stop();
    }
  }
});

// Streaming from storage: an HTTP server on 127.0.0.1 stands in for R2 (the config's "models" service pointed at
// it). The file comes in small slow pieces so that requests arriving during the load overlap it.
test('concurrent first requests share one load from the storage service, also when the first client leaves; a stream cut midway answers 503 ERR_NETWORK and the next request loads', { skip, timeout: 120_000 }, async (t) => {
  assert.ok(fs.existsSync(WASM), 'dist/xlmr.wasm is missing: run make');
  const key = path.basename(MODEL);
  const server = await modelServer(path.dirname(MODEL), { chunkBytes: 1 << 15, chunkDelayMs: 10 });
  t.after(() => server.close());
  const config = writeConfig(path.join(ROOT, 'build', 'test-output', 'edge-stream', 'config.capnp'), { modelsAddress: server.address });
  const { load } = await import('../../js/index.node.js');
  const ref = await load(MODEL, { worker: false, cache: false });
  t.after(() => ref.dispose());
  const text = 'Le chat dort sur le <mask>.';
  const want = await ref.fillMask(text, { topK: 5 });

  {
    const wd = await startWorkerd(found.bin, config);
    try {
      const N = 6;
      const answers = await Promise.all(Array.from({ length: N }, (_, i) => (i % 2
        ? postJson(`${wd.url}/fill-mask`, { text, topK: 5 })
        : fetch(`${wd.url}/`).then(async (r) => ({ status: r.status, body: await r.json() })))));
      for (const a of answers) assert.equal(a.status, 200, `${JSON.stringify(a.body)}\n${wd.log()}`);
      for (const a of answers.filter((_, i) => i % 2)) compareFill(a.body.result, want, 'streamed model');
      assert.equal(server.requests.get(key), 1, `${N} concurrent first requests fetched the model ${server.requests.get(key)} times`);
      const info = (await (await fetch(`${wd.url}/`)).json());
      assert.equal(info.loads, 1, 'one load in the isolate');
      assert.equal(info.modelFileBytes, fs.statSync(MODEL).size);
      assert.match(info.modelSource, /service binding MODELS/);
      t.diagnostic(`streamed ${info.modelFileBytes} bytes through the service binding in ${info.loadMs} ms; ${N} concurrent first requests, 1 fetch`);
    } finally {
      await wd.stop();
    }
  }

  // A fresh isolate whose first fetch breaks halfway: a typed error, then a retry that works.
  server.requests.clear();
  server.breakNext(1);
  const wd = await startWorkerd(found.bin, config);
  try {
    const broken = await postJson(`${wd.url}/fill-mask`, { text, topK: 5 });
    assert.equal(broken.status, 503, JSON.stringify(broken.body));
    assert.equal(broken.body.error?.code, 'ERR_NETWORK', JSON.stringify(broken.body));
    assert.match(broken.body.error.message, /loading the model from service binding MODELS .* failed: .*the next request tries again/);
    t.diagnostic(`cut stream: ${broken.body.error.message}`);
    const again = await postJson(`${wd.url}/fill-mask`, { text, topK: 5 });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    compareFill(again.body.result, want, 'after the retry');
    const info = await (await fetch(`${wd.url}/`)).json();
    assert.equal(info.loads, 2, 'the failed load, then one more');
    assert.equal(server.requests.get(key), 2);
  } finally {
    await wd.stop();
  }

  // The client whose request started the load goes away mid-load: the load goes on (ctx.waitUntil) and the request
  // waiting on it gets the model; still one fetch.
  server.requests.clear();
  const wd3 = await startWorkerd(found.bin, config);
  try {
    const ac = new AbortController();
    const first = fetch(`${wd3.url}/`, { signal: ac.signal }).then((r) => r.status, (e) => e.name);
    await new Promise((r) => setTimeout(r, 100));
    const second = postJson(`${wd3.url}/fill-mask`, { text, topK: 5 });
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    assert.equal(await first, 'AbortError');
    const r = await second;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    compareFill(r.body.result, want, 'after the first client left');
    assert.equal((await (await fetch(`${wd3.url}/`)).json()).loads, 1);
    assert.equal(server.requests.get(key), 1);
  } finally {
    await wd3.stop();
  }

  // A key the storage does not have: a 500 ERR_SETUP naming it.
  const missing = writeConfig(path.join(ROOT, 'build', 'test-output', 'edge-stream', 'missing.capnp'), { modelsAddress: server.address, modelKey: 'nope.gguf' });
  const wd2 = await startWorkerd(found.bin, missing);
  try {
    const r = await fetch(`${wd2.url}/`);
    const body = await r.json();
    assert.equal(r.status, 500, JSON.stringify(body));
    assert.equal(body.error.code, 'ERR_SETUP');
    assert.match(body.error.message, /HTTP 404 for http:\/\/models\/nope\.gguf/);
  } finally {
    await wd2.stop();
  }
});

test('config-bundled.capnp serves the model bundled as a data module, the same answers', { skip, timeout: 60_000 }, async (t) => {
  const { load } = await import('../../js/index.node.js');
  const ref = await load(MODEL, { worker: false, cache: false });
  t.after(() => ref.dispose());
  const wd = await startWorkerd(found.bin, BUNDLED_CONFIG);
  t.after(() => wd.stop());
  const info = await (await fetch(`${wd.url}/`)).json();
  assert.match(info.modelSource ?? '', /bundled data module/, `${JSON.stringify(info)}\n${wd.log()}`);
  const text = 'Das ist ein <mask> Test.';
  const r = await postJson(`${wd.url}/fill-mask`, { text, topK: 5 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  compareFill(r.body.result, await ref.fillMask(text, { topK: 5 }), 'bundled');
});

// The R2 path of worker.mjs: MODELS as workerd's real R2 bucket binding (r2Bucket), backed by the stand-in server
// speaking the binding's protocol. The worker reads MODELS.get(key).body with the object's size.
test('MODELS as an R2 bucket binding: the object streams in; a missing key is 500 ERR_SETUP, a cut body 503 ERR_NETWORK', { skip, timeout: 60_000 }, async (t) => {
  const key = path.basename(MODEL);
  const server = await modelServer(path.dirname(MODEL));
  t.after(() => server.close());
  const dir = path.join(ROOT, 'build', 'test-output', 'edge-r2');
  const config = writeConfig(path.join(dir, 'config.capnp'), { modelsAddress: server.address, r2: true });
  const { load } = await import('../../js/index.node.js');
  const ref = await load(MODEL, { worker: false, cache: false });
  t.after(() => ref.dispose());
  const text = 'Le chat dort sur le <mask>.';

  server.breakNext(1);
  const wd = await startWorkerd(found.bin, config);
  try {
    const broken = await postJson(`${wd.url}/fill-mask`, { text });
    assert.equal(broken.status, 503, JSON.stringify(broken.body));
    assert.equal(broken.body.error?.code, 'ERR_NETWORK');
    assert.match(broken.body.error.message, /R2 bucket MODELS key/);
    const r = await postJson(`${wd.url}/fill-mask`, { text, topK: 5 });
    assert.equal(r.status, 200, `${JSON.stringify(r.body)}\n${wd.log()}`);
    compareFill(r.body.result, await ref.fillMask(text, { topK: 5 }), 'from R2');
    const info = await (await fetch(`${wd.url}/`)).json();
    assert.equal(info.modelSource, `R2 bucket MODELS key ${key}`);
    assert.equal(info.modelFileBytes, fs.statSync(MODEL).size);
    assert.equal(info.loads, 2);
    assert.equal(server.requests.get(key), 2);
  } finally {
    await wd.stop();
  }

  const wd2 = await startWorkerd(found.bin, writeConfig(path.join(dir, 'missing.capnp'), { modelsAddress: server.address, r2: true, modelKey: 'nope.gguf' }));
  try {
    const r = await fetch(`${wd2.url}/`);
    const body = await r.json();
    assert.equal(r.status, 500, JSON.stringify(body));
    assert.equal(body.error.code, 'ERR_SETUP');
    assert.match(body.error.message, /no object "nope\.gguf"/);
  } finally {
    await wd2.stop();
  }
});
