#!/usr/bin/env node
// What fits at the edge: runs the edge example under workerd with synthetic random-weight models of real
// XLM-R shapes and reports the isolate's memory and throughput. Not part of `make test` (the big shapes take
// minutes and gigabytes); the numbers it prints are the ones in the README's "What fits where".
//
//   node tests/edge/measure.mjs [--shape tiny,e5-small,base] [--dtype q8_0] [--variants full,trim=30000,...]
//                               [--trim-args '--languages de,fr'] [--bundled] [--rate-ms 3000] [--keep]
//
// For each shape: a Hugging Face-style folder (config.json, F16 model.safetensors with the reference's tensor
// names — BertModel's for e5-small, which is BERT-type —, a synthetic SentencePiece model with the real piece
// count) under build/edge-measure/, converted to GGUF with the package (load + exportGguf). Each variant is
// made with the package's CLI, its steps joined by '+' (the 4-bit ones first: they convert the float folder):
//   full          the converted GGUF as it is
//   trim=N        node bin/xlmr.js trim -m IN -o OUT --vocab-size N --corpus C [--trim-args] (C: the request
//                 texts unless --trim-args names a --corpus)
//   q4_0          node bin/xlmr.js convert -m FOLDER -o OUT --dtype q4_0            (every matrix 4-bit)
//   emb-q4_0      node bin/xlmr.js convert -m FOLDER -o OUT --embedding-type q4_0   (the embedding table 4-bit)
// e.g. --variants full,q4_0+trim=30000. Each variant is served by the example worker: streamed through its MODELS
// binding (the config's disk service pointed at the variant's folder; --bundled: as a data module instead, the
// old way, which keeps a second copy). Then GET / (the load: its time from the stream, as the worker timed it),
// one 512-token request, two concurrent 512-token requests, and requests per second for a short and a 512-token
// request, one at a time and two at a time; after each step the memory: wasm linear memory (from the worker),
// V8 heap and array-buffer backing stores (workerd's inspector), workerd RSS (/proc). Isolate total = wasm
// memory + V8 heap (total) + array buffers.

import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { ROOT, EXAMPLE_CONFIG, EXAMPLE_DIR, findWorkerd, startWorkerd, procMemory, isolateHeap, postJson, writeConfig } from './workerd.mjs';
import { synthTokenizer } from '../../bench/synth-tokenizer.mjs';

const SHAPES = {
  // name: hidden, layers, heads, ffn, vocab (model ids), MLM head
  tiny: { H: 64, L: 2, heads: 4, I: 256, V: 8002, mlm: true, like: 'the bundled test model' },
  // BERT-type: BertModel names, 512 positions from 0, two token types, a word table larger than the tokenizer.
  'e5-small': { H: 384, L: 12, heads: 12, I: 1536, V: 250037, pieces: 250000, bert: true, mlm: false, like: 'intfloat/multilingual-e5-small' },
  base: { H: 768, L: 12, heads: 12, I: 3072, V: 250002, mlm: true, like: 'FacebookAI/xlm-roberta-base' },
  large: { H: 1024, L: 24, heads: 16, I: 4096, V: 250002, mlm: true, like: 'FacebookAI/xlm-roberta-large' },
};
const P = 514;
const BERT_P = 512;
const MB = 1024 * 1024;
const OUT = path.join(ROOT, 'build', 'edge-measure');

function tensors({ H, L, I, V, mlm, bert }) {
  const pre = bert ? '' : 'roberta.';
  const t = [
    [`${pre}embeddings.word_embeddings.weight`, [V, H]],
    [`${pre}embeddings.position_embeddings.weight`, [bert ? BERT_P : P, H]],
    [`${pre}embeddings.token_type_embeddings.weight`, [bert ? 2 : 1, H]],
    [`${pre}embeddings.LayerNorm.weight`, [H]],
    [`${pre}embeddings.LayerNorm.bias`, [H]],
  ];
  for (let l = 0; l < L; l++) {
    const p = `${pre}encoder.layer.${l}.`;
    for (const n of ['query', 'key', 'value']) t.push([`${p}attention.self.${n}.weight`, [H, H]], [`${p}attention.self.${n}.bias`, [H]]);
    t.push(
      [`${p}attention.output.dense.weight`, [H, H]], [`${p}attention.output.dense.bias`, [H]],
      [`${p}attention.output.LayerNorm.weight`, [H]], [`${p}attention.output.LayerNorm.bias`, [H]],
      [`${p}intermediate.dense.weight`, [I, H]], [`${p}intermediate.dense.bias`, [I]],
      [`${p}output.dense.weight`, [H, I]], [`${p}output.dense.bias`, [H]],
      [`${p}output.LayerNorm.weight`, [H]], [`${p}output.LayerNorm.bias`, [H]],
    );
  }
  if (mlm) {
    t.push(
      ['lm_head.dense.weight', [H, H]], ['lm_head.dense.bias', [H]],
      ['lm_head.layer_norm.weight', [H]], ['lm_head.layer_norm.bias', [H]],
      ['lm_head.bias', [V]],
    );
  }
  return t;
}

/** Random F16 values of magnitude 2^-8..2^-5 (no NaN or Inf), `n` of them, written in slices. */
function writeRandomF16(fd, n) {
  const SLICE = 1 << 22;
  const u16 = new Uint16Array(SLICE);
  for (let done = 0; done < n; done += SLICE) {
    const k = Math.min(SLICE, n - done);
    crypto.randomFillSync(u16, 0, k);
    for (let i = 0; i < k; i++) {
      const r = u16[i];
      u16[i] = (r & 0x8000) | ((7 + (r % 3)) << 10) | (r & 0x03ff);
    }
    fs.writeSync(fd, u16.subarray(0, k));
  }
}

function writeFolder(dir, shape) {
  fs.mkdirSync(dir, { recursive: true });
  const cfg = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', 'config.json'), 'utf8'));
  Object.assign(cfg, {
    hidden_size: shape.H, num_hidden_layers: shape.L, num_attention_heads: shape.heads,
    intermediate_size: shape.I, vocab_size: shape.V, max_position_embeddings: shape.bert ? BERT_P : P,
    architectures: [shape.mlm ? 'XLMRobertaForMaskedLM' : shape.bert ? 'BertModel' : 'XLMRobertaModel'],
  });
  if (shape.bert) Object.assign(cfg, { model_type: 'bert', type_vocab_size: 2 });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
  fs.writeFileSync(path.join(dir, 'sentencepiece.bpe.model'), synthTokenizer(shape.pieces ?? shape.V - 2));
  const list = tensors(shape);
  const header = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const [name, shp] of list) {
    const n = shp.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'F16', shape: shp, data_offsets: [off, off + 2 * n] };
    off += 2 * n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const fd = fs.openSync(path.join(dir, 'model.safetensors'), 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    fs.writeSync(fd, len);
    fs.writeSync(fd, json);
    for (const [, shp] of list) writeRandomF16(fd, shp.reduce((a, b) => a * b, 1));
  } finally {
    fs.closeSync(fd);
  }
  return list.reduce((s, [, shp]) => s + shp.reduce((a, b) => a * b, 1), 0);
}

async function convert(dir, gguf, dtype) {
  const { load } = await import('../../js/index.node.js');
  const model = await load(dir, { dtype, worker: false, cache: false });
  const fd = fs.openSync(gguf, 'w');
  try {
    for await (const chunk of model.exportGguf()) fs.writeSync(fd, chunk);
  } finally {
    fs.closeSync(fd);
    await model.dispose();
  }
}

/** The shape's float folder (random F16 safetensors), written when missing. */
function floatFolder(name, shape) {
  const dir = path.join(OUT, name);
  if (!fs.existsSync(path.join(dir, 'model.safetensors'))) {
    const t0 = Date.now();
    const params = writeFolder(dir, shape);
    console.error(`${name}: wrote ${(params / 1e6).toFixed(1)}M random F16 weights in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  return dir;
}

/** The base GGUF of a shape (converted once from the float folder, kept under build/edge-measure/<shape>/). */
async function baseGguf(name, shape, dtype) {
  const dir = path.join(OUT, name);
  const gguf = path.join(dir, `model.${dtype}.gguf`);
  if (fs.existsSync(gguf)) return gguf;
  floatFolder(name, shape);
  const t0 = Date.now();
  await convert(dir, gguf, dtype);
  console.error(`${name}: converted to ${dtype} GGUF (${(fs.statSync(gguf).size / MB).toFixed(1)} MB) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return gguf;
}

/** The CLI arguments of one variant step (see the header), or throws naming the unknown step. The 4-bit steps
 * convert the float folder (a GGUF keeps its types), so they come first. */
function stepArgs(step, input, output, trimArgs) {
  const trim = /^trim=(\d+)$/.exec(step);
  if (trim) {
    // Without a corpus of the caller's, the texts this script sends: they tokenize the same after trimming.
    const corpus = trimArgs.includes('--corpus') ? [] : ['--corpus', writeCorpus(path.dirname(output))];
    return ['trim', '-m', input, '-o', output, '--vocab-size', trim[1], ...corpus, ...trimArgs];
  }
  if (step === 'q4_0') return ['convert', '-m', input, '-o', output, '--dtype', 'q4_0'];
  if (step === 'emb-q4_0') return ['convert', '-m', input, '-o', output, '--embedding-type', 'q4_0'];
  throw new Error(`unknown variant step ${JSON.stringify(step)}: trim=N, q4_0 or emb-q4_0`);
}

/** The request texts of a synthetic shape (the pieces "▁t<i>" of its tokenizer, low numbers: a trimmed vocabulary
 * keeps the best-scored pieces), long = over 512 tokens. */
const requestTexts = (name) => (name === 'tiny'
  ? { long: `<mask> ${'Die Katze schläft auf dem Sofa. '.repeat(120)}`, short: 'Le chat dort sur le <mask>.' }
  : { long: `<mask> ${Array.from({ length: 600 }, (_, i) => `t${(i % 200) + 10}`).join(' ')}`, short: '<mask> t11 t12 t13 t14 t15 t16 t17' });

/** dir/corpus.txt: the request texts without their masks, one per line (the trimming corpus when none is given). */
function writeCorpus(dir) {
  const file = path.join(dir, 'corpus.txt');
  const { long, short } = requestTexts(path.basename(dir));
  fs.writeFileSync(file, `${[long, short].map((t) => t.replace('<mask> ', '').replace('<mask>', '')).join('\n')}\n`);
  return file;
}

/** The variant's GGUF, made with the package's CLI step by step (each result kept for reuse): from the base GGUF, or
 * from the float folder when the first step converts. */
function variantGguf(name, shape, base, variant, trimArgs) {
  if (variant === 'full') return base;
  const steps = variant.split('+');
  steps.forEach((step, i) => { if (i > 0 && /q4_0$/.test(step)) throw new Error(`${variant}: ${step} converts the float weights, so it comes first`); });
  let input = /q4_0$/.test(steps[0]) ? null : base;
  const done = [];
  for (const step of steps) {
    done.push(step);
    const output = path.join(path.dirname(base), `model.${done.join('+')}.gguf`);
    if (!fs.existsSync(output)) {
      const args = [path.join(ROOT, 'bin', 'xlmr.js'), ...stepArgs(step, input ?? floatFolder(name, shape), output, trimArgs), '-q'];
      const t0 = Date.now();
      execFileSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
      console.error(`${path.basename(output)}: ${(fs.statSync(output).size / MB).toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    input = output;
  }
  return input;
}

/** Requests per second of `send` (a promise), `concurrency` in flight, for at least `ms` and `minCount` requests. */
async function rate(send, { concurrency = 1, ms = 3000, minCount = 3 } = {}) {
  let count = 0;
  const t0 = Date.now();
  const loop = async () => {
    while (Date.now() - t0 < ms || count < minCount) {
      count++;
      await send();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return count / ((Date.now() - t0) / 1000);
}

async function measure(bin, name, shape, gguf, { bundled, rateMs }) {
  const dir = path.dirname(gguf);
  const config = bundled
    ? writeConfig(path.join(dir, 'config-bundled.capnp'), {
      base: path.join(EXAMPLE_DIR, 'config-bundled.capnp'),
      replace: { [path.join(ROOT, 'models', 'tiny', 'xlmr-tiny-random.q8_0.gguf')]: gguf },
    })
    : writeConfig(path.join(dir, 'config.capnp'), { base: EXAMPLE_CONFIG, modelKey: path.basename(gguf) });
  const wd = await startWorkerd(bin, config, { timeoutMs: 120_000, args: bundled ? [] : [`--directory-path=models=${dir}`] });
  try {
    const idle = procMemory(wd.pid);
    const memory = async () => {
      const info = await (await fetch(`${wd.url}/`)).json();
      const heap = await isolateHeap(wd.inspectorPort);
      return {
        wasm: info.wasmMemoryBytes, heapUsed: heap?.usedSize, heapTotal: heap?.totalSize, arrayBuffers: heap?.backingStorageSize,
        isolate: info.wasmMemoryBytes + (heap?.totalSize ?? NaN) + (heap?.backingStorageSize ?? NaN),
      };
    };
    const t0 = Date.now();
    const info = await (await fetch(`${wd.url}/`)).json();
    if (info.error) throw new Error(`GET /: ${JSON.stringify(info.error)}\n${wd.log()}`);
    const firstRequestMs = Date.now() - t0;
    const loaded = await memory();
    const { long, short } = requestTexts(name);
    const send = async (text) => {
      const r = shape.mlm
        ? await postJson(`${wd.url}/fill-mask`, { text, truncation: true })
        : await postJson(`${wd.url}/embed`, { texts: [text.replace('<mask> ', '')], truncation: true });
      if (r.status !== 200) throw new Error(`request failed: ${JSON.stringify(r.body)}`);
    };
    const t1 = Date.now();
    await send(long);
    const request512Ms = Date.now() - t1;
    const after1 = await memory();
    const t2 = Date.now();
    await Promise.all([send(long), send(long)]);
    const two512Ms = Date.now() - t2;
    const after2 = await memory();
    const rps = {
      short1: await rate(() => send(short), { ms: rateMs }),
      short2: await rate(() => send(short), { ms: rateMs, concurrency: 2 }),
      long1: await rate(() => send(long), { ms: rateMs }),
      long2: await rate(() => send(long), { ms: rateMs, concurrency: 2 }),
    };
    const proc = procMemory(wd.pid);
    return {
      shape: name, like: shape.like, file: path.basename(gguf), mode: bundled ? 'bundled' : 'streamed', ggufBytes: fs.statSync(gguf).size,
      config: {
        vocabSize: info.config.vocabSize, weightsBytes: info.config.weightsBytes,
        weightType: info.config.embeddingType && info.config.embeddingType !== info.config.weightType
          ? `${info.config.weightType}, table ${info.config.embeddingType}` : info.config.weightType,
      },
      loadMs: info.loadMs, firstRequestMs, loaded, after1, after2, request512Ms, two512Ms, rps,
      rssIdle: idle?.rss, rssPeak: proc?.peak,
    };
  } finally {
    await wd.stop();
  }
}

async function main() {
  const args = process.argv.slice(2);
  const get = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
  const names = get('--shape', 'tiny,e5-small,base').split(',');
  const dtype = get('--dtype', 'q8_0');
  const variants = get('--variants', 'full').split(',');
  const trimArgs = get('--trim-args', '').split(' ').filter(Boolean);
  const opts = { bundled: args.includes('--bundled'), rateMs: Number(get('--rate-ms', 3000)) };
  const found = findWorkerd();
  if (found.skip) { console.error(found.skip); process.exit(2); }
  const rows = [];
  for (const n of names) {
    if (!SHAPES[n]) { console.error(`unknown shape ${n}; known: ${Object.keys(SHAPES).join(', ')}`); process.exit(2); }
    const base = await baseGguf(n, SHAPES[n], dtype);
    for (const v of variants) {
      const row = { ...(await measure(found.bin, n, SHAPES[n], variantGguf(n, SHAPES[n], base, v, trimArgs), opts)), variant: v };
      console.error(JSON.stringify(row));
      rows.push(row);
    }
    if (!args.includes('--keep')) fs.rmSync(path.join(OUT, n), { recursive: true, force: true });
    else fs.rmSync(path.join(OUT, n, 'model.safetensors'), { force: true });
  }
  const mb = (b) => (b == null || Number.isNaN(b) ? '?' : (b / MB).toFixed(1));
  const f1 = (x) => x.toFixed(1);
  console.log('| shape | variant | mode | vocab | weights | GGUF MB | load from the stream ms | wasm MB loaded / after 512 / after 2×512 | V8 heap MB | array buffers MB | isolate MB after 512 / 2×512 | 512-token ms (one / two at once) | req/s short 1 / 2 at once | req/s 512 1 / 2 at once | workerd peak RSS MB |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(`| ${r.shape} | ${r.variant} | ${r.mode} | ${r.config.vocabSize} | ${r.config.weightType} | ${mb(r.ggufBytes)} | ${r.loadMs} | ${mb(r.loaded.wasm)} / ${mb(r.after1.wasm)} / ${mb(r.after2.wasm)} | ${mb(r.after2.heapTotal)} | ${mb(r.after2.arrayBuffers)} | ${mb(r.after1.isolate)} / ${mb(r.after2.isolate)} | ${r.request512Ms} / ${r.two512Ms} | ${f1(r.rps.short1)} / ${f1(r.rps.short2)} | ${f1(r.rps.long1)} / ${f1(r.rps.long2)} | ${mb(r.rssPeak)} |`);
  }
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'report.json'), `${JSON.stringify(rows, null, 2)}\n`);
}

main().catch((e) => { console.error(e); process.exit(1); });
