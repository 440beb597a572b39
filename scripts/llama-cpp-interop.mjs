#!/usr/bin/env node
// Interop with llama.cpp's own runtime: the GGUFs `xlmr convert` writes, loaded by llama.cpp, give the tokens,
// reranker scores and embeddings ours give. llama.cpp is node-llama-cpp's prebuilt binary (its llama/llama.cpp.info.json
// names the llama.cpp release it builds), installed on demand into build/llama-cpp/ with --install: it is no dependency of the
// package and not part of `npm test` (an 85 MB download for a check that only needs re-running when the GGUF layout
// or llama.cpp changes). Results are recorded in models/README.md ("llama.cpp's files").
//
//   node scripts/llama-cpp-interop.mjs --install     # once: npm install node-llama-cpp into build/llama-cpp
//   node scripts/llama-cpp-interop.mjs [--json]      # exit 0 when every check passes, 1 otherwise
//
// Models: the tiny fixture encoder (tests/fixtures) as
//   - an XLM-R reranker (XLMRobertaForSequenceClassification, 1 label; tests/fixtures/heads/reranker), F32 and Q8_0;
//   - an XLM-R embedding model (XLMRobertaModel + sentence-transformers mean pooling), F32, Q8_0 and Q4_0;
//   - a BERT-type embedding model (BertModel, e5's layout: the same weights under bert.*), F32 and Q8_0;
//   - the fill-mask model (XLMRobertaForMaskedLM), which llama.cpp is expected to refuse: it holds our mlm.* head.
// Tolerances: llama.cpp keeps its attention cache in F16 by default and sums in another order, so F32 files agree to
// ~1e-3, not bit for bit; in Q8_0 / Q4_0 files both sides quantize the activations to 8 bits, each its own way
// (ggml per block of 32, ours per row), hence the looser bars.

import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { load } from '../js/index.node.js';
import { readSafetensors, writeSafetensors, asBertModel, headModelFolder } from '../tests/node/helpers/head-models.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = path.join(ROOT, 'tests', 'fixtures');
const LLAMA_DIR = path.join(ROOT, 'build', 'llama-cpp');
const NODE_LLAMA_CPP = '3.22.1'; // pinned: its bins/_nlcBuildMetadata.json names the llama.cpp release
const WORK = path.join(ROOT, 'build', 'llama-cpp', 'models');

const TOL = { f32: { score: 2e-3, cosine: 0.99999 }, q8_0: { score: 3e-2, cosine: 0.999 }, q4_0: { score: 3e-2, cosine: 0.999 } };

const args = process.argv.slice(2);
if (args.includes('--install')) {
  fs.mkdirSync(LLAMA_DIR, { recursive: true });
  fs.writeFileSync(path.join(LLAMA_DIR, 'package.json'), JSON.stringify({ name: 'llama-cpp-interop', private: true, type: 'module' }));
  // --omit=optional: node-llama-cpp lists every platform's binary (CUDA ones are hundreds of MB) as optional.
  execFileSync('npm', ['install', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund',
    `node-llama-cpp@${NODE_LLAMA_CPP}`, `@node-llama-cpp/${process.platform}-${process.arch}@${NODE_LLAMA_CPP}`], { cwd: LLAMA_DIR, stdio: 'inherit' });
  if (args.length === 1) process.exit(0);
}
const entry = path.join(LLAMA_DIR, 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
if (!fs.existsSync(entry)) {
  console.error(`llama-cpp-interop: node-llama-cpp is not installed in ${path.relative(ROOT, LLAMA_DIR)}; run: node scripts/llama-cpp-interop.mjs --install`);
  process.exit(2);
}
const { getLlama } = await import(pathToFileURL(entry));
const llamaCppInfo = JSON.parse(fs.readFileSync(path.join(LLAMA_DIR, 'node_modules', 'node-llama-cpp', 'llama', 'llama.cpp.info.json'), 'utf8'));

// ---- model folders and their GGUFs, written by our converter ----
fs.rmSync(WORK, { recursive: true, force: true });
fs.mkdirSync(WORK, { recursive: true });

function embeddingFolder(name, bert) {
  const dir = path.join(WORK, name);
  fs.mkdirSync(path.join(dir, '1_Pooling'), { recursive: true });
  const cfg = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'config.json'), 'utf8'));
  const encoder = readSafetensors(path.join(FIXTURES, 'model.safetensors'));
  for (const k of Object.keys(encoder)) if (!k.startsWith('roberta.')) delete encoder[k];
  if (bert) Object.assign(cfg, { model_type: 'bert', architectures: ['BertModel'], max_position_embeddings: cfg.max_position_embeddings - cfg.pad_token_id - 1 });
  else cfg.architectures = ['XLMRobertaModel'];
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), writeSafetensors(bert ? asBertModel(encoder, cfg) : encoder));
  fs.copyFileSync(path.join(FIXTURES, 'sentencepiece.bpe.model'), path.join(dir, 'sentencepiece.bpe.model'));
  fs.writeFileSync(path.join(dir, 'modules.json'), JSON.stringify([
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' }]));
  fs.writeFileSync(path.join(dir, '1_Pooling', 'config.json'), JSON.stringify({ word_embedding_dimension: cfg.hidden_size, pooling_mode_mean_tokens: true }));
  return dir;
}

async function convert(dir, dtype, out) {
  const m = await load(dir, { dtype, worker: false, cache: false });
  try {
    const chunks = [];
    for await (const c of m.exportGguf()) chunks.push(Buffer.from(c));
    fs.writeFileSync(out, Buffer.concat(chunks));
  } finally {
    await m.dispose();
  }
  return out;
}

const reranker = headModelFolder('reranker');
const folders = { reranker: reranker.dir, embed: embeddingFolder('xlmr-embed', false), bert: embeddingFolder('bert-embed', true), mlm: FIXTURES };
const files = [
  ['reranker', 'f32'], ['reranker', 'q8_0'], ['embed', 'f32'], ['embed', 'q8_0'], ['embed', 'q4_0'], ['bert', 'f32'], ['bert', 'q8_0'], ['mlm', 'f32'],
].map(([kind, dtype]) => ({ kind, dtype, gguf: path.join(WORK, `${kind}-${dtype}.gguf`) }));
for (const f of files) await convert(folders[f.kind], f.dtype, f.gguf);
reranker.remove();

// ---- inputs ----
const cases = fs.readFileSync(path.join(FIXTURES, 'tokenizer_cases.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const RERANK = [
  ['capital of France', ['The capital of France is Paris.', 'Berlin is in Germany.', 'Москва — столица России.', '東京は日本の首都です。']],
  ['Wie ist das Wetter?', ['Das Wetter ist heute schön.', 'Il fait beau aujourd\'hui.', 'The stock market fell sharply.']],
  ['погода', ['Сегодня прекрасная погода.', 'الطقس جميل اليوم.', '今天天气很好。']],
];
const EMBED = ['The weather is lovely today.', 'Das Wetter ist heute schön.', 'Сегодня прекрасная погода.', '今天天气很好。', 'الطقس جميل اليوم.', 'a'];

const cosine = (a, b) => {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
};

/** llama.cpp's tokens for text as llama.cpp's llama-embedding gives them (add_bos / add_eos from the file's
 *  tokenizer.ggml.add_*_token): <s> text </s>; node-llama-cpp's tokenize() leaves the two out. */
const llamaIds = (lm, text) => [lm.tokens.bos, ...lm.tokenize(text, true), lm.tokens.eos];

const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const results = [];
const check = (name, ok, detail) => { results.push({ name, ok, detail }); console.log(`${ok ? 'ok    ' : 'FAILED'} ${name}: ${detail}`); };

for (const f of files) {
  const label = `${f.kind} ${f.dtype}`;
  let lm;
  try {
    lm = await llama.loadModel({ modelPath: f.gguf });
  } catch (e) {
    if (f.kind === 'mlm') check(`${label}: llama.cpp refuses our mlm.* head`, true, `as documented (${e.message})`);
    else check(`${label}: loads in llama.cpp`, false, e.message);
    continue;
  }
  if (f.kind === 'mlm') { check(`${label}: llama.cpp refuses our mlm.* head`, false, 'it loaded: models/README.md is out of date'); await lm.dispose(); continue; }
  const ours = await load(f.gguf, { worker: false, cache: false });
  try {
    if (f.dtype === 'f32') {
      // The fixture's tokenizer cases, special tokens in the text (<mask>, <s>) parsed as such on both sides.
      let same = 0;
      const differ = [];
      for (const c of cases) {
        const want = (await ours.tokenize(c.text)).ids;
        const got = llamaIds(lm, c.text);
        if (got.length === want.length && got.every((x, i) => x === want[i])) same++;
        else differ.push(c.name);
      }
      check(`${label}: tokenization, ${cases.length} fixture cases`, differ.length === 0,
        `${same} of ${cases.length} identical${differ.length ? `; differ: ${differ.slice(0, 8).join(', ')}${differ.length > 8 ? ', …' : ''}` : ''}`);
    }
    if (f.kind === 'reranker') {
      const ctx = await lm.createRankingContext();
      let worst = 0;
      for (const [q, docs] of RERANK) {
        const got = await ctx.rankAll(q, docs); // sigmoid of the head's logit, as rerank() gives by default
        const want = new Array(docs.length);
        for (const r of await ours.rerank(q, docs, { topK: null })) want[r.index] = r.score;
        for (let i = 0; i < docs.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
      }
      await ctx.dispose();
      check(`${label}: rerank scores, ${RERANK.length} queries`, worst <= TOL[f.dtype].score, `max |llama.cpp - ours| ${worst.toExponential(2)} (bar ${TOL[f.dtype].score})`);
    } else {
      const ctx = await lm.createEmbeddingContext(); // pooling from the file's bert.pooling_type (mean)
      let worstCos = 1;
      for (const t of EMBED) {
        // llama.cpp's own tokens for the text (a string would be embedded without <s> … </s> by node-llama-cpp)
        const got = Array.from((await ctx.getEmbeddingFor(llamaIds(lm, t))).vector);
        const want = (await ours.embed(t, { normalize: false }));
        worstCos = Math.min(worstCos, cosine(got, want));
      }
      await ctx.dispose();
      check(`${label}: mean-pooled embeddings, ${EMBED.length} texts`, worstCos >= TOL[f.dtype].cosine, `min cosine ${worstCos.toFixed(7)} (bar ${TOL[f.dtype].cosine})`);
    }
  } finally {
    await ours.dispose();
    await lm.dispose();
  }
}

const failed = results.filter((r) => !r.ok).length;
const summary = { llamaCpp: `${llamaCppInfo.llamaCppGithubRepo}@${llamaCppInfo.tag}`, nodeLlamaCpp: NODE_LLAMA_CPP, checks: results.length, failed };
console.log(args.includes('--json') ? JSON.stringify({ ...summary, results }) : `${results.length - failed} of ${results.length} checks passed (llama.cpp ${summary.llamaCpp}, node-llama-cpp ${NODE_LLAMA_CPP})`);
process.exit(failed ? 1 : 0);
