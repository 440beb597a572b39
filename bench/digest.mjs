// Digests of every output a build computes on the fixture model: for refactors that must not change a bit.
// For each weight source (F32/F16/BF16 safetensors loaded as q8_0, f16 and f32; the bundled Q8_0 GGUF; the same
// model written back as GGUF by xlmr_writer and loaded again) and each reference case of
// tests/fixtures/model_cases.jsonl: hidden states (pooling none), mean/L2 and CLS pooling, the logits at every
// position of the first sequence and the fill-mask top 5, hashed with SHA-256. A peer model (--gguf FILE, e.g. the
// base-size one of BENCHMARKS.md) adds hidden states and logits of a 2 x 64 synthetic batch.
//
//   node bench/digest.mjs dist/xlmr.wasm [--threads N] [--gguf FILE] > before.txt   (later: diff before.txt after.txt)
//
// Relaxed builds need an engine that computes relaxed SIMD right (Node 20: --experimental-wasm-relaxed-simd
// --no-liftoff).

import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { XlmrDriver, POOL, syntheticIds } from './xlmr-driver.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIX = path.join(ROOT, 'tests', 'fixtures');
const args = process.argv.slice(2);
const wasm = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const opt = (k) => { const i = args.indexOf(`--${k}`); return i >= 0 ? args[i + 1] : undefined; };
if (!wasm) {
  console.error('usage: node bench/digest.mjs BUILD.wasm [--threads N] [--gguf FILE]');
  process.exit(2);
}
const threads = +(opt('threads') ?? 1);
const cases = fs.readFileSync(path.join(FIX, 'model_cases.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const sha = (...arrays) => {
  const h = crypto.createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex').slice(0, 16);
};

function digestCases(d) {
  const out = [];
  for (const c of cases) {
    const B = c.batch, T = c.seq_len;
    const ids = new Int32Array(c.input_ids.flat());
    const lengths = new Int32Array(c.attention_mask.map((m) => m.reduce((a, x) => a + x, 0)));
    const none = d.embed(ids, lengths, B, T, POOL.none, 0);
    const mean = d.embed(ids, lengths, B, T, POOL.mean, 0);
    const l2 = d.embed(ids, lengths, B, T, POOL.mean, 1);
    const cls = d.embed(ids, lengths, B, T, POOL.cls, 0);
    const first = ids.slice(0, lengths[0]);
    const logits = d.logits(first, new Int32Array(first.length).map((_, i) => i));
    let fill = { ids: new Int32Array(0), scores: new Float32Array(0) };
    if (first.includes(d.info.vocabSize - 1)) fill = d.fillMask(first, 5);
    out.push(`  ${c.name}: ${sha(none)} ${sha(mean, l2, cls)} ${sha(logits)} ${sha(fill.ids, fill.scores)}`);
  }
  return out;
}

async function driver() { return XlmrDriver.create(wasm, { threads }); }

const sources = [
  ['model.safetensors q8_0', 'model.safetensors', 'q8_0'],
  ['model.safetensors f16', 'model.safetensors', 'f16'],
  ['model.safetensors f32', 'model.safetensors', 'f32'],
  ['model.fp16.safetensors q8_0', 'model.fp16.safetensors', 'q8_0'],
  ['model.bf16.safetensors q8_0', 'model.bf16.safetensors', 'q8_0'],
];
const config = fs.readFileSync(path.join(FIX, 'config.json'));
const tokenizer = fs.readFileSync(path.join(FIX, 'sentencepiece.bpe.model'));
const lines = [`${path.basename(wasm)} threads ${threads}`];
for (const [name, file, dtype] of sources) {
  const d = await driver();
  d.loadFile(path.join(FIX, file), { dtype, config, tokenizer });
  lines.push(name, ...digestCases(d));
  if (dtype === 'q8_0' && file === 'model.safetensors') { // written back as GGUF, loaded again
    const x = d.x, w = x.xlmr_writer_new(d.model), parts = [];
    for (let p = x.xlmr_writer_chunk(w); p; p = x.xlmr_writer_chunk(w)) parts.push(d.u8().slice(p, p + x.xlmr_writer_chunk_len(w)));
    x.xlmr_writer_free(w);
    const gguf = Buffer.concat(parts);
    lines.push(`  written GGUF: ${gguf.length} bytes ${crypto.createHash('sha256').update(gguf).digest('hex').slice(0, 16)}`);
    const d2 = await driver();
    const ld = d2.beginLoad({});
    d2.feed(ld, gguf);
    d2.finishLoad(ld);
    lines.push('written GGUF reloaded', ...digestCases(d2));
  }
}
{
  const d = await driver();
  d.loadFile(path.join(ROOT, 'models', 'tiny', 'xlmr-tiny-random.q8_0.gguf'));
  lines.push('models/tiny q8_0 gguf', ...digestCases(d));
}
if (opt('gguf')) {
  const d = await driver();
  d.loadFile(opt('gguf'));
  const B = 2, T = 64, V = d.info.vocabSize;
  const ids = syntheticIds(B, T, V, { mask: true });
  const lengths = new Int32Array([T, T - 21]);
  const hidden = d.embed(ids, lengths, B, T, POOL.none, 0);
  const cls = d.embed(ids, lengths, B, T, POOL.cls, 0);
  const first = ids.slice(0, T);
  const logits = d.logits(first, new Int32Array([T >> 1, 1, T - 1]));
  lines.push(`${path.basename(opt('gguf'))}: ${sha(hidden)} ${sha(cls)} ${sha(logits)}`);
}
console.log(lines.join('\n'));
