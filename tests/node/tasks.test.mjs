// Task heads (issue 18) against the goldens of tests/reference/make_heads.py (PyTorch + the pipelines'
// post-processing ported from transformers): every label, entity group, span and answer string identical and
// scores within SCORE_TOL in F32; the same top label / entity groups / answer span on >= 90% of cases in Q8_0.
// Plus the bad inputs, each a typed error that leaves the model usable, in both backends.

import { readFileSync } from 'node:fs';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { load, pipeline, InvalidArgumentError, UnsupportedError, TooLongError } from '../../js/index.node.js';
import { headModelFolder, golden } from './helpers/head-models.mjs';
import { engineLogits, disposeEngines } from './helpers/head-logits.mjs';

// The issue's bar for F32 logits and scores. Our F32 hidden states match PyTorch within ~4e-6 on the fixtures; the
// worst head logit measured 5.7e-6 (ner), scores (softmax / sigmoid, slopes <= 1) less.
const LOGIT_TOL = 1e-5;
const SCORE_TOL = 1e-5;
const NAMES = ['sentiment', 'topics', 'stars', 'reranker', 'nli', 'ner', 'qa', 'bert-sentiment'];

const folders = Object.fromEntries(NAMES.map((n) => [n, headModelFolder(n)]));
after(() => { for (const f of Object.values(folders)) f.remove(); });

const models = new Map();
async function model(name, dtype = 'f32', worker = false) {
  const key = `${name}/${dtype}/${worker}`;
  if (!models.has(key)) models.set(key, await load(folders[name].dir, { dtype, worker, cache: false }));
  return models.get(key);
}
after(async () => { for (const m of models.values()) await m.dispose(); disposeEngines(); });

function run(m, c) {
  switch (c.op) {
    case 'classify': return m.classify(c.input, c.options);
    case 'rerank': return m.rerank(c.input.query, c.input.documents, c.options);
    case 'zeroShot': return m.zeroShot(c.input.text, c.input.candidateLabels, c.options);
    case 'tokenClassify': return m.tokenClassify(c.input, c.options);
    case 'answer': return m.answer(c.input, c.options);
    default: throw new Error(c.op);
  }
}

/** Same structure, keys and non-score values; numbers under a "score(s)" key within tol. */
function assertClose(got, want, tol, path = '') {
  if (typeof want === 'number') {
    assert.equal(typeof got, 'number', `${path}: ${got}`);
    assert.ok(Math.abs(got - want) <= tol, `${path}: ${got} vs ${want} (tol ${tol})`);
    return;
  }
  if (Array.isArray(want)) {
    assert.ok(Array.isArray(got), `${path}: not an array`);
    assert.equal(got.length, want.length, `${path}: length`);
    want.forEach((w, i) => assertClose(got[i], w, tol, `${path}[${i}]`));
    return;
  }
  if (want && typeof want === 'object') {
    assert.deepEqual(Object.keys(got), Object.keys(want), `${path}: keys`);
    for (const k of Object.keys(want)) {
      if (k === 'score' || k === 'scores') assertClose(got[k], want[k], tol, `${path}.${k}`);
      else if (typeof want[k] === 'object' && want[k] !== null) assertClose(got[k], want[k], tol, `${path}.${k}`);
      else assert.equal(got[k], want[k], `${path}.${k}`);
    }
    return;
  }
  assert.equal(got, want, path);
}

/** What must agree in Q8_0: the labels / entity groups and spans / answer spans, without scores. */
function decision(c, out) {
  const strip = (v) => (Array.isArray(v) ? v.map(strip) : v && typeof v === 'object'
    ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'score' && k !== 'scores')) : v);
  if (c.op === 'zeroShot') return out.labels[0];
  if (c.op === 'rerank') return out[0].index;
  return JSON.stringify(strip(out));
}

// The reranker's and the NLI model's goldens hold few decisions (18 and 12), so one near-tie flipped by Q8_0 costs
// 6-8%. Their Q8_0 rate is taken over those plus a wider sample: each of WIDER_TEXTS as the query (or the text to
// label) against the next four (or WIDER_LABELS), judged against our own F32 output, which the F32 test above holds
// to the reference's within SCORE_TOL. Plain agreement: no allowance for near-ties.
const WIDER_TEXTS = readFileSync(new URL('../fixtures/tokenizer_cases.jsonl', import.meta.url), 'utf8').split('\n')
  .filter(Boolean).map((l) => JSON.parse(l).text).filter((t) => t.length > 8 && t.length < 200 && !t.includes('<')).slice(0, 160);
const WIDER_LABELS = ['politics', 'sports', 'weather', 'music'];
function widerCases(name) {
  const cases = [];
  for (let i = 0; i + 4 < WIDER_TEXTS.length; i += 2) {
    if (name === 'reranker') cases.push({ op: 'rerank', input: { query: WIDER_TEXTS[i], documents: WIDER_TEXTS.slice(i + 1, i + 5) } });
    if (name === 'nli') cases.push({ op: 'zeroShot', input: { text: WIDER_TEXTS[i], candidateLabels: WIDER_LABELS } });
  }
  return cases;
}

for (const name of NAMES) {
  const g = golden(name);

  test(`${name}: F32 outputs equal the reference's (${g.cases.length} cases)`, async () => {
    const m = await model(name);
    assert.deepEqual(m.config.labels, name === 'qa' ? [] : g.labels);
    for (const c of g.cases) {
      const got = await run(m, c);
      assertClose(got, c.expected, SCORE_TOL, `${name}/${c.name}`);
    }
  });

  test(`${name}: F32 head logits within ${LOGIT_TOL} of PyTorch's`, async () => {
    const withLogits = g.cases.filter((c) => c.logits && c.ids);
    assert.ok(withLogits.length > 0);
    for (const c of withLogits) {
      const got = await engineLogits(folders[name].dir, c.ids, name === 'ner' || name === 'qa' ? 'token' : 'sequence');
      c.logits.forEach((want, i) => {
        assert.equal(got[i].length, want.length, `${c.name}[${i}] length`);
        let worst = 0;
        for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(got[i][k] - want[k]));
        assert.ok(worst <= LOGIT_TOL, `${name}/${c.name}[${i}]: logits differ by ${worst}`);
      });
    }
  });

  test(`${name}: Q8_0 agrees on >= 90% of the decisions`, async (t) => {
    const m = await model(name, 'q8_0');
    let same = 0;
    for (const c of g.cases) if (decision(c, await run(m, c)) === decision(c, c.expected)) same++;
    const wider = widerCases(name);
    let widerSame = 0;
    for (const c of wider) if (decision(c, await run(m, c)) === decision(c, await run(await model(name), c))) widerSame++;
    const n = g.cases.length + wider.length;
    t.diagnostic(`golden ${same} of ${g.cases.length}${wider.length ? `, wider sample ${widerSame} of ${wider.length}` : ''}`);
    assert.ok(same + widerSame >= 0.9 * n, `${same + widerSame} of ${n} agree (golden ${same} of ${g.cases.length})`);
  });
}

test('the worker backend gives the in-thread results', async () => {
  for (const name of ['sentiment', 'ner', 'qa', 'nli', 'reranker']) {
    const g = golden(name);
    const a = await model(name), b = await model(name, 'f32', true);
    for (const c of g.cases.slice(0, 6)) assert.deepEqual(await run(b, c), await run(a, c), `${name}/${c.name}`);
  }
});

test('tokenize({ offsets: true }) gives the reference offsets', async () => {
  const m = await model('ner');
  for (const c of golden('ner').cases.filter((x) => x.offsets)) {
    const t = await m.tokenize(c.input, { offsets: true });
    assert.deepEqual(t.ids, c.ids[0], c.name);
    assert.deepEqual(t.offsets, c.offsets[0], c.name);
  }
});

test('pipeline(): transformers.js task names, aliases and call shapes', async () => {
  const cls = await pipeline('sentiment-analysis', await model('sentiment'));
  assert.deepEqual(await cls('The capital of France is Paris.'), await (await model('sentiment')).classify('The capital of France is Paris.'));
  assert.equal((await cls('The capital of France is Paris.', { top_k: 2 })).length, 2);
  const ner = await pipeline('ner', await model('ner'));
  assert.ok(Array.isArray(await ner('The capital of France is Paris.', { aggregation_strategy: 'simple' })));
  const qa = await pipeline('question-answering', await model('qa'));
  const a = await qa('What is the capital of France?', 'The capital of France is Paris.');
  assert.equal(typeof a.answer, 'string');
  const zs = await pipeline('zero-shot-classification', await model('nli'));
  assert.equal((await zs('Paris', ['a', 'b'], { multi_label: true })).labels.length, 2);
  const rr = await pipeline('text-ranking', await model('reranker'));
  assert.equal((await rr('q', ['a', 'b', 'c'], { top_k: 2, return_documents: true }))[0].document.length, 1);
  await assert.rejects(pipeline('question-answering', await model('sentiment')), UnsupportedError);
  await assert.rejects(pipeline('summarization', await model('sentiment')), InvalidArgumentError);
  // a pipeline that loads its own model
  const own = await pipeline('text-classification', folders.sentiment.dir, { dtype: 'fp32', worker: false, cache: false });
  assert.equal((await own('hello')).length, 1);
  await own.dispose();
});

for (const worker of [false, true]) {
  test(`bad input is a typed error and the model stays usable (${worker ? 'worker' : 'in-thread'})`, async () => {
    const qa = await model('qa', 'f32', worker);
    const nli = await model('nli', 'f32', worker);
    const sent = await model('sentiment', 'f32', worker);
    const ner = await model('ner', 'f32', worker);
    await assert.rejects(qa.answer({ question: 'Who?' }), InvalidArgumentError);
    await assert.rejects(qa.answer('Who?'), InvalidArgumentError);
    await assert.rejects(qa.answer({ question: 'Who? '.repeat(40), context: 'Paris is big.' }, { maxSeqLen: 64, docStride: 8 }), TooLongError);
    await assert.rejects(qa.answer({ question: 'Who?', context: 'x' }, { docStride: 500, maxSeqLen: 64 }), InvalidArgumentError);
    await assert.rejects(nli.zeroShot('text', ['a', 3]), InvalidArgumentError);
    await assert.rejects(nli.zeroShot('text', []), InvalidArgumentError);
    await assert.rejects(nli.zeroShot('text', ['a'], { hypothesisTemplate: 'no slot' }), InvalidArgumentError);
    await assert.rejects(sent.classify('text', { functionToApply: 'relu' }), InvalidArgumentError);
    await assert.rejects(sent.classify([]), InvalidArgumentError);
    await assert.rejects(sent.rerank('q', ['d']), InvalidArgumentError); // three labels: not a cross-encoder
    await assert.rejects(ner.tokenClassify('text', { aggregationStrategy: 'longest' }), InvalidArgumentError);
    await assert.rejects(ner.tokenClassify('text', { stride: 16 }), InvalidArgumentError); // stride needs aggregation
    await assert.rejects(sent.classify('text', { top_k: 2 }), InvalidArgumentError); // unknown option name
    // a model without the head asked for
    await assert.rejects(sent.answer({ question: 'a', context: 'b' }), (e) => e instanceof UnsupportedError && /text-classification/.test(e.message));
    await assert.rejects(qa.classify('text'), (e) => e instanceof UnsupportedError && /question-answering/.test(e.message));
    await assert.rejects(ner.fillMask('a <mask>'), UnsupportedError);
    // still usable
    assert.equal(typeof (await qa.answer({ question: 'Who?', context: 'Paris is big.' })).answer, 'string');
    assert.equal((await nli.zeroShot('text', ['a', 'b'])).labels.length, 2);
    assert.equal((await sent.classify('text')).length, 1);
    assert.ok(Array.isArray(await ner.tokenClassify('text')));
  });
}

test('bert-sentiment: a BertForSequenceClassification through pipeline() and through its GGUF gives the same outputs', async () => {
  const m = await model('bert-sentiment');
  assert.equal(m.config.head, 'text-classification');
  const text = 'The capital of France is Paris.';
  const cls = await pipeline('text-classification', m);
  assert.deepEqual(await cls(text, { top_k: null }), await m.classify(text, { topK: null }));
  const chunks = [];
  for await (const c of m.exportGguf()) chunks.push(Uint8Array.from(c));
  const g = await load(Buffer.concat(chunks), { worker: false, cache: false });
  try {
    assert.deepEqual(g.config.labels, m.config.labels);
    for (const c of golden('bert-sentiment').cases.slice(0, 8)) assert.deepEqual(await run(g, c), await run(m, c), c.name);
  } finally {
    await g.dispose();
  }
});

test('a masked LM refuses the task calls, naming its head', async () => {
  const m = await load(new URL('../fixtures/', import.meta.url).pathname, { worker: false, dtype: 'f32', cache: false });
  try {
    await assert.rejects(m.classify('x'), (e) => e instanceof UnsupportedError && /fill-mask/.test(e.message));
    await assert.rejects(m.tokenClassify('x'), UnsupportedError);
    assert.equal((await m.fillMask('a <mask>')).length, 5);
  } finally {
    await m.dispose();
  }
});
