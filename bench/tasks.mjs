// Task-head costs on base-size models (bench/task-models.mjs: the peer model's random encoder plus random heads,
// Q8_0 GGUF), through the package API in this thread (worker: false), one forward-pass thread unless --threads:
//
//   classify       vs embed(pooling 'cls') of the same texts                (limit 1.02x)
//   rerank         vs embed(pooling 'cls') of the same token sequences      (limit 1.02x; `q</s></s>d` tokenizes as the pair)
//   tokenClassify  vs embed(pooling 'none') of the same text                (limit 1.05x)
//   rerank of 100 documents of ~100 tokens; answer over a 4000-token context; zeroShot over 10 labels — each
//   also the way transformers.js runs it (one model call per label / per window), with our kernels.
//
//   node bench/tasks.mjs [--rounds 7] [--threads 1] [--wasm dist/xlmr.wasm] [--json FILE]
//
// Pairs are timed alternately in each round (A B, then B A) so drift on a shared machine hits both; a row reports
// the median of each and the median of the per-round ratios.

import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { load } from '../js/index.node.js';
import { taskModel } from './task-models.mjs';

const args = process.argv.slice(2);
const opt = (n, d) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : d; };
const ROUNDS = Number(opt('--rounds', 7));
const THREADS = Number(opt('--threads', 1));
const WASM = opt('--wasm');
const JSON_OUT = opt('--json');

// The peer tokenizer's pieces are "▁t<i>": each word "t<i>" is one token, so a text of n words is n tokens.
let wordSeed = 1;
const words = (n) => Array.from({ length: n }, () => `t${5 + ((wordSeed++ * 2654435761) >>> 0) % 200000}`).join(' ');
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
async function time(fn) { const t0 = performance.now(); await fn(); return performance.now() - t0; }

async function paired(name, a, b, limit, note) {
  await a(); await b(); // warm-up: scratch buffers grown, code tiered up
  const ta = [], tb = [], ratio = [];
  for (let r = 0; r < ROUNDS; r++) {
    let x, y;
    if (r % 2 === 0) { x = await time(a); y = await time(b); } else { y = await time(b); x = await time(a); }
    ta.push(x); tb.push(y); ratio.push(x / y);
  }
  const row = { name, note, msTask: median(ta), msEmbed: median(tb), ratio: median(ratio), ratioOfMedians: median(ta) / median(tb), limit, rounds: ROUNDS };
  console.log(`${name.padEnd(44)} ${row.msTask.toFixed(1).padStart(8)} ms vs ${row.msEmbed.toFixed(1).padStart(8)} ms  ratio ${row.ratio.toFixed(3)} (limit ${limit})  ${note}`);
  return row;
}

async function timed(name, fn, runs, note, { warm = true } = {}) {
  if (warm) await fn();
  const ts = [];
  for (let r = 0; r < runs; r++) ts.push(await time(fn));
  const row = { name, note, ms: median(ts), runs };
  console.log(`${name.padEnd(44)} ${row.ms.toFixed(0).padStart(8)} ms  (median of ${runs})  ${note}`);
  return row;
}

const loadOpts = { worker: false, cache: false, threads: THREADS };
if (WASM) loadOpts.wasmUrl = pathToFileURL(path.resolve(WASM));
const open = async (name) => load(await taskModel(name), loadOpts);
const rows = [];

{
  const m = await open('sentiment');
  console.log(`# ${m.runtime.build} ${m.runtime.simd}/${m.runtime.kernel}, ${m.runtime.threads} thread(s), Node ${process.version}, ${os.cpus()[0]?.model}`);
  const texts = Array.from({ length: 4 }, () => words(126));
  rows.push(await paired('classify 4 x 128 tokens', () => m.classify(texts, { topK: 1 }), () => m.embed(texts, { pooling: 'cls', normalize: false }), 1.02, 'vs embed cls'));
  const one = [words(126)];
  rows.push(await paired('classify 1 x 128 tokens', () => m.classify(one, { topK: 1 }), () => m.embed(one, { pooling: 'cls', normalize: false }), 1.02, 'vs embed cls'));
  await m.dispose();
}
{
  const m = await open('reranker');
  const query = words(14);
  const docs = Array.from({ length: 8 }, () => words(98));
  const joined = docs.map((d) => `${query}</s></s>${d}`);
  const pairLen = (await m.tokenize(query)).ids.length + (await m.tokenize(docs[0])).ids.length;
  const joinedLen = (await m.tokenize(joined[0])).ids.length;
  if (pairLen !== joinedLen) throw new Error(`the joined text is ${joinedLen} tokens, the pair ${pairLen}`);
  rows.push(await paired('rerank 8 docs, pairs of 116 tokens', () => m.rerank(query, docs), () => m.embed(joined, { pooling: 'cls', normalize: false }), 1.02, 'vs embed cls of q</s></s>d'));
  const hundred = Array.from({ length: 100 }, () => words(98));
  rows.push(await timed('rerank 100 docs of 100 tokens (query 16)', () => m.rerank(query, hundred), 1, 'batches of 16', { warm: false }));
  await m.dispose();
}
{
  const m = await open('ner');
  for (const n of [128, 512]) {
    const text = words(n - 2);
    rows.push(await paired(`tokenClassify ${n} tokens`, () => m.tokenClassify(text), () => m.embed(text, { pooling: 'none', normalize: false }), 1.05, 'vs embed none'));
  }
  await m.dispose();
}
{
  const m = await open('qa');
  const question = words(10);
  const context = words(4000);
  let windows = 0;
  const batched = await timed('answer, 4000-token context (one batched pass)', async () => { await m.answer({ question, context }); }, 1, 'maxSeqLen 384, docStride 128', { warm: false });
  rows.push(batched);
  // transformers.js' way, one model call per window: the same windows' contexts asked one by one.
  const ctxWords = context.split(' ');
  const room = 384 - 12 - 4; // question 12 tokens with <s></s>, 2 separators
  const chunks = [];
  for (let s = 0; ; s += room - 128) { chunks.push(ctxWords.slice(s, s + room).join(' ')); windows++; if (s + room >= ctxWords.length) break; }
  rows.push(await timed(`answer, the ${windows} windows one call each`, async () => { for (const c of chunks) await m.answer({ question, context: c }); }, 1, "transformers.js' way (one call per window)", { warm: false }));
  await m.dispose();
}
{
  const m = await open('nli');
  const text = words(62);
  const labels = Array.from({ length: 10 }, (_, i) => `t${100 + i}`);
  rows.push(await timed('zeroShot, 64 tokens x 10 labels (one batched pass)', () => m.zeroShot(text, labels), 5, ''));
  rows.push(await timed('zeroShot, the 10 labels one call each', async () => { for (const l of labels) await m.zeroShot(text, [l], { multiLabel: true }); }, 5, "transformers.js' way (one call per label)"));
  await m.dispose();
}
if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify({ threads: THREADS, node: process.version, cpu: os.cpus()[0]?.model, rows }, null, 2) + '\n');
