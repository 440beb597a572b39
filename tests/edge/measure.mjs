#!/usr/bin/env node
// What fits at the edge: runs the edge example under workerd with synthetic random-weight models of real
// XLM-R shapes and reports the isolate's memory. Not part of `make test` (the big shapes take minutes
// and gigabytes); the numbers it prints are the ones in the README's "Edge functions" section.
//
//   node tests/edge/measure.mjs [--shape tiny,e5-small,base] [--dtype q8_0] [--keep]
//
// For each shape: a Hugging Face-style folder (config.json, F16 model.safetensors with the reference's
// tensor names, a synthetic SentencePiece model with the real piece count) under build/edge-measure/,
// converted to GGUF with the package (load + exportGguf), served by the example worker with that GGUF as
// its data module; then GET / (load), one 512-token request, and the memory: wasm linear memory (from
// the worker), V8 heap and array-buffer backing stores (inspector), workerd RSS (/proc).

import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { ROOT, EXAMPLE_CONFIG, findWorkerd, startWorkerd, procMemory, isolateHeap, postJson } from './workerd.mjs';
import { synthTokenizer } from '../../bench/synth-tokenizer.mjs';

const SHAPES = {
  // name: hidden, layers, heads, ffn, vocab (model ids), MLM head
  tiny: { H: 64, L: 2, heads: 4, I: 256, V: 8002, mlm: true, like: 'the bundled test model' },
  'e5-small': { H: 384, L: 12, heads: 12, I: 1536, V: 250037, mlm: false, like: 'intfloat/multilingual-e5-small' },
  base: { H: 768, L: 12, heads: 12, I: 3072, V: 250002, mlm: true, like: 'FacebookAI/xlm-roberta-base' },
  large: { H: 1024, L: 24, heads: 16, I: 4096, V: 250002, mlm: true, like: 'FacebookAI/xlm-roberta-large' },
};
const P = 514;
const MB = 1024 * 1024;
const OUT = path.join(ROOT, 'build', 'edge-measure');

function tensors({ H, L, I, V, mlm }) {
  const t = [
    ['roberta.embeddings.word_embeddings.weight', [V, H]],
    ['roberta.embeddings.position_embeddings.weight', [P, H]],
    ['roberta.embeddings.token_type_embeddings.weight', [1, H]],
    ['roberta.embeddings.LayerNorm.weight', [H]],
    ['roberta.embeddings.LayerNorm.bias', [H]],
  ];
  for (let l = 0; l < L; l++) {
    const p = `roberta.encoder.layer.${l}.`;
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
    intermediate_size: shape.I, vocab_size: shape.V, max_position_embeddings: P,
    architectures: [shape.mlm ? 'XLMRobertaForMaskedLM' : 'XLMRobertaModel'],
  });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
  fs.writeFileSync(path.join(dir, 'sentencepiece.bpe.model'), synthTokenizer(shape.V - 2));
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

/** The example's config with absolute paths, its model module pointed at `gguf`. */
function configFor(gguf, file) {
  // capnp reads `embed "/x"` from its import path, so paths stay relative (to the new config's folder).
  const text = fs.readFileSync(EXAMPLE_CONFIG, 'utf8').replace(/embed\s*"([^"]+)"/g, (_, rel) => {
    const abs = /\.gguf$/.test(rel) ? path.resolve(gguf) : path.resolve(path.dirname(EXAMPLE_CONFIG), rel);
    return `embed ${JSON.stringify(path.relative(path.dirname(file), abs))}`;
  });
  fs.writeFileSync(file, text);
  return file;
}

async function measure(bin, name, shape, dtype) {
  const dir = path.join(OUT, name);
  const gguf = path.join(dir, `model.${dtype}.gguf`);
  let params = tensors(shape).reduce((s, [, shp]) => s + shp.reduce((a, b) => a * b, 1), 0);
  if (!fs.existsSync(gguf)) {
    let t0 = Date.now();
    params = writeFolder(dir, shape);
    console.error(`${name}: wrote ${(params / 1e6).toFixed(1)}M random F16 weights in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    t0 = Date.now();
    await convert(dir, gguf, dtype);
    console.error(`${name}: converted to ${dtype} GGUF (${(fs.statSync(gguf).size / MB).toFixed(1)} MB) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    fs.rmSync(path.join(dir, 'model.safetensors'));
  }
  const wd = await startWorkerd(bin, configFor(gguf, path.join(dir, 'config.capnp')), { timeoutMs: 120_000 });
  try {
    const idle = procMemory(wd.pid);
    const t0 = Date.now();
    const info = await (await fetch(`${wd.url}/`)).json();
    if (info.error) throw new Error(`GET /: ${JSON.stringify(info.error)}\n${wd.log()}`);
    const loadMs = Date.now() - t0;
    const heapLoaded = await isolateHeap(wd.inspectorPort);
    // Over 512 tokens with either tokenizer: the synthetic one has the pieces "▁t<i>", the tiny one real words.
    const long = name === 'tiny'
      ? `<mask> ${'Die Katze schläft auf dem Sofa. '.repeat(120)}`
      : `<mask> ${Array.from({ length: 600 }, (_, i) => `t${i + 10}`).join(' ')}`;
    const t1 = Date.now();
    const r = shape.mlm
      ? await postJson(`${wd.url}/fill-mask`, { text: long, truncation: true })
      : await postJson(`${wd.url}/embed`, { texts: [long], truncation: true });
    if (r.status !== 200) throw new Error(`request failed: ${JSON.stringify(r.body)}`);
    const reqMs = Date.now() - t1;
    const after = await (await fetch(`${wd.url}/`)).json();
    const heap = await isolateHeap(wd.inspectorPort);
    const proc = procMemory(wd.pid);
    const row = {
      shape: name, like: shape.like, params, ggufBytes: fs.statSync(gguf).size,
      wasmMemoryLoaded: info.wasmMemoryBytes, wasmMemoryAfter512: after.wasmMemoryBytes,
      jsHeapUsed: heap?.usedSize, jsHeapTotal: heap?.totalSize, backingStores: heap?.backingStorageSize,
      heapLoaded, isolateTotal: after.wasmMemoryBytes + (heap?.totalSize ?? 0) + (heap?.backingStorageSize ?? 0),
      rssIdle: idle?.rss, rssPeak: proc?.peak, loadMs, request512Ms: reqMs,
    };
    return row;
  } finally {
    await wd.stop();
  }
}

async function main() {
  const args = process.argv.slice(2);
  const get = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
  const names = get('--shape', 'tiny,e5-small,base').split(',');
  const dtype = get('--dtype', 'q8_0');
  const found = findWorkerd();
  if (found.skip) { console.error(found.skip); process.exit(2); }
  const rows = [];
  for (const n of names) {
    if (!SHAPES[n]) { console.error(`unknown shape ${n}; known: ${Object.keys(SHAPES).join(', ')}`); process.exit(2); }
    rows.push(await measure(found.bin, n, SHAPES[n], dtype));
    if (!args.includes('--keep')) fs.rmSync(path.join(OUT, n), { recursive: true, force: true });
  }
  const mb = (b) => (b == null ? '?' : (b / MB).toFixed(1));
  console.log('| shape | like | params | GGUF MB | wasm memory MB (loaded / after 512 tokens) | JS heap MB | array buffers MB (incl. the bundled model) | isolate total MB | workerd peak RSS MB | load ms | 512-token request ms |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(`| ${r.shape} | ${r.like} | ${(r.params / 1e6).toFixed(1)}M | ${mb(r.ggufBytes)} | ${mb(r.wasmMemoryLoaded)} / ${mb(r.wasmMemoryAfter512)} | ${mb(r.jsHeapTotal)} | ${mb(r.backingStores)} | ${mb(r.isolateTotal)} | ${mb(r.rssPeak)} | ${r.loadMs} | ${r.request512Ms} |`);
  }
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'report.json'), `${JSON.stringify(rows, null, 2)}\n`);
}

main().catch((e) => { console.error(e); process.exit(1); });
