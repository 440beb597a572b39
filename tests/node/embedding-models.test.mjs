// Embedding models as their repositories publish them: a sentence-transformers folder's pooling and Normalize
// module as embed()'s defaults (kept through the GGUF cache), and BGE-M3's three outputs (dense, sparse lexical
// weights, ColBERT vectors) with its scoring helpers, against tests/fixtures/heads/m3/golden.json (FlagEmbedding's
// formulas in numpy on the PyTorch reference encoder: tests/reference/make_m3.py).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load, lexicalMatchingScore, colbertScore } from '../../js/index.node.js';
import { FIXTURES } from './helpers/common.mjs';
import { headModelFolder, golden } from './helpers/head-models.mjs';

const maxDiff = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

/** The fixture model folder as sentence-transformers saves one: modules.json, <pooling>/config.json, Normalize. */
function stFolder({ mode, normalize, poolingDir = '1_Pooling' }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-st-'));
  for (const f of ['config.json', 'model.safetensors', 'sentencepiece.bpe.model']) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
  const modules = [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: poolingDir, type: 'sentence_transformers.models.Pooling' },
  ];
  if (normalize) modules.push({ idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' });
  fs.writeFileSync(path.join(dir, 'modules.json'), JSON.stringify(modules));
  fs.mkdirSync(path.join(dir, poolingDir));
  const flags = { cls: false, mean: false, max: false, lasttoken: false, ...mode };
  fs.writeFileSync(path.join(dir, poolingDir, 'config.json'), JSON.stringify({
    word_embedding_dimension: 64, pooling_mode_cls_token: flags.cls, pooling_mode_mean_tokens: flags.mean,
    pooling_mode_max_tokens: flags.max, pooling_mode_mean_sqrt_len_tokens: false, pooling_mode_lasttoken: flags.lasttoken,
  }));
  return dir;
}

test('sentence-transformers pooling: CLS + Normalize are the defaults, also from the GGUF cache', async () => {
  const dir = stFolder({ mode: { cls: true }, normalize: true });
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-st-cache-'));
  try {
    for (const round of ['converted', 'cached']) {
      const m = await load(dir, { worker: false, cache, dtype: 'f32' });
      try {
        assert.equal(m.config.pooling, 'cls', round);
        assert.equal(m.config.normalize, true, round);
        const texts = ['Hello world', 'Москва'];
        assert.deepEqual(await m.embed(texts), await m.embed(texts, { pooling: 'cls', normalize: true }), round);
        assert.notDeepEqual(await m.embed(texts), await m.embed(texts, { pooling: 'mean' }), 'the default is not mean');
        // the caller's options still win
        const mean = await m.embed('Hello world', { pooling: 'mean', normalize: false });
        assert.ok(Math.abs(Math.hypot(...mean) - 1) > 1e-3, 'normalize: false honoured');
      } finally {
        await m.dispose();
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(cache, { recursive: true, force: true });
  }
});

test('sentence-transformers pooling: mean without Normalize; last token; unsupported modes refused', async () => {
  const mean = stFolder({ mode: { mean: true }, normalize: false, poolingDir: 'pooling/' });
  const last = stFolder({ mode: { lasttoken: true }, normalize: true });
  const max = stFolder({ mode: { max: true }, normalize: true });
  try {
    const m = await load(mean, { worker: false, cache: false });
    assert.equal(m.config.pooling, 'mean');
    assert.equal(m.config.normalize, false);
    assert.deepEqual(await m.embed('Hello'), await m.embed('Hello', { pooling: 'mean', normalize: false }));
    await m.dispose();
    const l = await load(last, { worker: true, cache: false });
    const H = l.config.hiddenSize;
    const rows = await l.embed('Hello world', { pooling: 'none' });
    const lastRow = rows.slice(rows.length - H);
    const norm = Math.hypot(...lastRow);
    assert.ok(maxDiff(await l.embed('Hello world'), lastRow.map((x) => x / norm)) < 1e-6, 'last token, normalised');
    await l.dispose();
    await assert.rejects(load(max, { worker: false, cache: false }), (e) => e.code === 'ERR_MODEL_FORMAT' && /pooling_mode_max_tokens is not supported/.test(e.message));
    fs.writeFileSync(path.join(mean, 'modules.json'), '{"not": "a list"}');
    await assert.rejects(load(mean, { worker: false, cache: false }), (e) => e.code === 'ERR_MODEL_FORMAT' && /modules\.json/.test(e.message));
    fs.rmSync(path.join(last, '1_Pooling', 'config.json'));
    await assert.rejects(load(last, { worker: false, cache: false }), (e) => e.code === 'ERR_FILE' && /1_Pooling\/config\.json/.test(e.message));
  } finally {
    for (const d of [mean, last, max]) fs.rmSync(d, { recursive: true, force: true });
  }
});

test('BGE-M3: dense, sparse and ColBERT outputs and the scoring helpers equal FlagEmbedding\'s formulas (F32)', async () => {
  const g = golden('m3');
  const folder = headModelFolder('m3');
  try {
    for (const worker of [false, true]) {
      const m = await load(folder.dir, { worker, cache: false, dtype: 'f32' });
      try {
        assert.equal(m.config.head, 'bge-m3');
        const H = m.config.hiddenSize;
        const texts = g.cases.map((c) => c.text);
        const all = await m.embed(texts, { output: 'all' });
        const outs = {};
        g.cases.forEach((c, i) => {
          const tok = all[i];
          assert.ok(maxDiff(tok.dense, c.dense) < 1e-5, `${c.name} dense`);
          assert.deepEqual(Object.keys(tok.sparse).sort(), Object.keys(c.lexical_weights).sort(), `${c.name} sparse token set`);
          for (const [id, w] of Object.entries(c.lexical_weights)) assert.ok(Math.abs(tok.sparse[id] - w) < 1e-5, `${c.name} weight of ${id}`);
          assert.equal(tok.colbert.length, c.colbert.length * H, `${c.name} ColBERT rows`);
          assert.ok(maxDiff(tok.colbert, c.colbert.flat()) < 1e-5, `${c.name} ColBERT`);
          outs[c.name] = tok;
        });
        for (const s of g.scores) {
          // weights within 1e-5 each: their products' sum within 1e-5 of its size
          assert.ok(Math.abs(lexicalMatchingScore(outs[s.a].sparse, outs[s.b].sparse) - s.lexical) < 1e-5 * Math.max(1, s.lexical), `lexical ${s.a}/${s.b}`);
          assert.ok(Math.abs(colbertScore(outs[s.a].colbert, outs[s.b].colbert, H) - s.colbert) < 1e-5, `colbert ${s.a}/${s.b}`);
        }
        // one output alone, a single text, and the default embedding = the dense vector (CLS, normalised)
        assert.deepEqual(await m.embed(texts[0], { output: 'sparse' }), all[0].sparse);
        assert.deepEqual(await m.embed(texts[0], { output: 'colbert' }), all[0].colbert);
        assert.deepEqual(await m.embed(texts[0]), all[0].dense);
        await assert.rejects(m.embed('x', { output: 'both' }), (e) => e.code === 'ERR_INVALID_ARGUMENT');
      } finally {
        await m.dispose();
      }
    }
    const plain = await load(FIXTURES, { worker: false, cache: false });
    await assert.rejects(plain.embed('x', { output: 'sparse' }), (e) => e.code === 'ERR_UNSUPPORTED' && /BGE-M3/.test(e.message));
    assert.equal((await plain.embed('x')).length, plain.config.hiddenSize, 'still usable');
    await plain.dispose();
  } finally {
    folder.remove();
  }
});

// BGE-M3 as the hub ships it (tests/reference/make_m3_hub.py): the XLMRobertaModel checkpoint pytorch_model.bin and
// the extra heads as separate state dicts colbert_linear.pt / sparse_linear.pt ({ weight, bias }).
const M3_HUB = path.join(FIXTURES, 'heads', 'm3', 'hub');

/** torch.save's bytes of pytorch_model.bin from its skeleton and splice list (tests/torch/make_checkpoints.py's form). */
function m3Checkpoint() {
  const skel = fs.readFileSync(path.join(M3_HUB, 'pytorch_model.skel'));
  const [source, ...lines] = fs.readFileSync(path.join(M3_HUB, 'pytorch_model.splice'), 'utf8').trim().split('\n');
  const b = fs.readFileSync(path.join(FIXTURES, source));
  const n = Number(b.readBigUInt64LE(0));
  const h = JSON.parse(b.subarray(8, 8 + n).toString());
  const parts = [];
  let from = 0;
  for (const line of lines) {
    const [off, name] = line.split(' ');
    parts.push(skel.subarray(from, Number(off)), b.subarray(8 + n + h[name].data_offsets[0], 8 + n + h[name].data_offsets[1]));
    from = Number(off);
  }
  parts.push(skel.subarray(from));
  return Buffer.concat(parts);
}

/** A folder laid out as the hub's BAAI/bge-m3: config.json, tokenizer, pytorch_model.bin, and the given .pt files. */
function m3HubFolder(pts = { 'colbert_linear.pt': 'colbert_linear.pt', 'sparse_linear.pt': 'sparse_linear.pt' }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xlmr-m3-hub-'));
  fs.copyFileSync(path.join(FIXTURES, 'heads', 'm3', 'config.json'), path.join(dir, 'config.json'));
  fs.copyFileSync(path.join(FIXTURES, 'sentencepiece.bpe.model'), path.join(dir, 'sentencepiece.bpe.model'));
  fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), m3Checkpoint());
  for (const [as, from] of Object.entries(pts)) fs.copyFileSync(path.join(M3_HUB, from), path.join(dir, as));
  return dir;
}

async function m3Outputs(source, opts = {}) {
  const m = await load(source, { worker: false, cache: false, dtype: 'f32', ...opts });
  try {
    const texts = golden('m3').cases.map((c) => c.text);
    return { head: m.config.head, out: m.config.head === 'bge-m3' ? await m.embed(texts, { output: 'all' }) : await m.embed(texts) };
  } finally {
    await m.dispose();
  }
}

test('BGE-M3 as the hub ships it (pytorch_model.bin + colbert_linear.pt + sparse_linear.pt): a folder and a hub id give the single-file fixture\'s outputs', async () => {
  const { startServer } = await import('./helpers/server.mjs');
  const single = headModelFolder('m3');
  const dir = m3HubFolder();
  const bare = m3HubFolder({});
  const wrapped = m3HubFolder({ 'colbert_linear.pt': 'colbert_linear.wrapped.pt', 'sparse_linear.pt': 'sparse_linear.pt' });
  const two = m3HubFolder({ 'colbert_linear.pt': 'colbert_linear.two.pt', 'sparse_linear.pt': 'sparse_linear.pt' });
  const repo = (d) => Object.fromEntries(fs.readdirSync(d).map((f) => [f, path.join(d, f)]));
  const srv = await startServer({ repos: { 'BAAI/bge-m3': repo(dir), 'test/m3-bare': repo(bare) } });
  try {
    const want = await m3Outputs(single.dir);
    assert.equal(want.head, 'bge-m3');
    assert.deepEqual(await m3Outputs(dir), want, 'folder');
    assert.deepEqual(await m3Outputs('BAAI/bge-m3', { hubUrl: srv.url }), want, 'hub id over HTTP');
    assert.deepEqual(await m3Outputs(wrapped), want, 'a state dict wrapped as {"state_dict": ...} loads');
    await assert.rejects(m3Outputs(two), (e) => e.code === 'ERR_MODEL_FORMAT' && /colbert_linear\.pt/.test(e.message) &&
      /2 dicts \('model' first\)/.test(e.message));
    // without the .pt files (404 on the hub): the encoder alone, no m3 head
    const plain = await m3Outputs('test/m3-bare', { hubUrl: srv.url });
    assert.equal(plain.head, null);
    assert.deepEqual(plain, await m3Outputs(bare));
  } finally {
    await srv.close();
    for (const d of [dir, bare, wrapped, two]) fs.rmSync(d, { recursive: true, force: true });
    single.remove();
  }
});

test("BGE-M3's .pt files are looked for only beside an XLMRobertaModel config: a classifier's hub load asks for none, and stray ones beside it are not a second head", async () => {
  const { startServer } = await import('./helpers/server.mjs');
  const cls = headModelFolder('sentiment');
  for (const f of ['colbert_linear.pt', 'sparse_linear.pt']) fs.copyFileSync(path.join(M3_HUB, f), path.join(cls.dir, f));
  const m3 = m3HubFolder();
  const repo = (d) => Object.fromEntries(fs.readdirSync(d).map((f) => [f, path.join(d, f)]));
  const srv = await startServer({ repos: { 'test/sentiment': repo(cls.dir), 'BAAI/bge-m3': repo(m3) } });
  const asked = (from) => ['colbert_linear.pt', 'sparse_linear.pt'].map((f) => srv.count(f, from));
  try {
    for (const source of [cls.dir, 'test/sentiment']) {
      const from = srv.log.length;
      const m = await load(source, { worker: false, cache: false, dtype: 'f32', hubUrl: srv.url });
      try {
        assert.equal(m.config.head, 'text-classification', String(source));
      } finally {
        await m.dispose();
      }
      assert.deepEqual(asked(from), [0, 0], String(source));
    }
    const from = srv.log.length;
    const m = await load('BAAI/bge-m3', { worker: false, cache: false, dtype: 'f32', hubUrl: srv.url });
    await m.dispose();
    assert.equal(m.config.head, 'bge-m3');
    assert.ok(asked(from).every((n) => n >= 1), `bge-m3 asked for ${asked(from)}`);
  } finally {
    await srv.close();
    cls.remove();
    fs.rmSync(m3, { recursive: true, force: true });
  }
});
