// A synthetic Q8_0 GGUF of XLM-R-large's shape with bge-m3's 8194 positions, for the long-input benchmark
// (bench/long.mjs, issue 19): random weights (speed does not depend on them), written straight as GGUF.
// The metadata is the base-size peer model's (the keys our writer writes, src/gguf_writer.c, and its 250002-piece
// tokenizer arrays) with the bert.* sizes replaced; the tensors are laid out as our writer lays them out
// (names, order, types, 32-byte alignment), at the new shape.
//
//   node bench/synth-large.mjs [--out /work/peer/bench/large-8194-q8_0.gguf] [--from /work/peer/bench/model-q8_0.gguf]
//        [--layers 24] [--hidden 1024] [--heads 16] [--ffn 4096] [--positions 8194]
//
// Q8_0 blocks: a fp16 scale of 1/2048 and int8 values uniform in [-64, 63] (weights ~ ±0.03); F32 norms 1,
// biases and embedding tables small. The file is ~0.6 GB at the default shape.

import fs from 'node:fs';

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf('--' + k); return i >= 0 ? args[i + 1] : d; };
const OUT = opt('out', '/work/peer/bench/large-8194-q8_0.gguf');
const FROM = opt('from', '/work/peer/bench/model-q8_0.gguf');
const L = +opt('layers', 24), H = +opt('hidden', 1024), NH = +opt('heads', 16), F = +opt('ffn', 4096);
const POSITIONS = +opt('positions', 8194);
const ALIGN = 32;
const T_F32 = 0, T_Q8_0 = 8;

// ---- reading the source header ----

/** The metadata key/value records of a GGUF v3 file as [key, raw bytes of the whole record], and the vocabulary size. */
function readKvs(file) {
  const fd = fs.openSync(file, 'r');
  const head = Buffer.alloc(64 << 20);
  const got = fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  const b = head.subarray(0, got);
  if (b.toString('latin1', 0, 4) !== 'GGUF' || b.readUInt32LE(4) !== 3) throw new Error(`${file}: not a GGUF v3 file`);
  const nkv = Number(b.readBigUInt64LE(16));
  let p = 24;
  const str = () => { const n = Number(b.readBigUInt64LE(p)); const s = b.toString('utf8', p + 8, p + 8 + n); p += 8 + n; return s; };
  const SIZE = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const skip = (t) => {
    if (t === 8) { str(); return; }
    if (t === 9) {
      const at = b.readUInt32LE(p), n = Number(b.readBigUInt64LE(p + 4));
      p += 12;
      if (at === 8) for (let i = 0; i < n; i++) str();
      else p += SIZE[at] * n;
      return;
    }
    p += SIZE[t];
  };
  const kvs = [];
  let vocab = 0;
  for (let i = 0; i < nkv; i++) {
    const start = p;
    const key = str();
    const t = b.readUInt32LE(p);
    p += 4;
    if (key === 'tokenizer.ggml.tokens') vocab = Number(b.readBigUInt64LE(p + 4));
    skip(t);
    kvs.push([key, Buffer.from(b.subarray(start, p))]);
  }
  return { kvs, vocab };
}

// ---- writing ----

const gstr = (s) => { const u = Buffer.from(s, 'utf8'); const n = Buffer.alloc(8); n.writeBigUInt64LE(BigInt(u.length)); return Buffer.concat([n, u]); };
function kvU32(key, v) { const t = Buffer.alloc(8); t.writeUInt32LE(4, 0); t.writeUInt32LE(v, 4); return Buffer.concat([gstr(key), t]); }

const { kvs, vocab: V } = readKvs(FROM);
const sizes = {
  'bert.context_length': POSITIONS - 2, // pad_id 1: the rows after the two offset rows (as our writer writes max_tokens)
  'bert.embedding_length': H, 'bert.feed_forward_length': F, 'bert.block_count': L, 'bert.attention.head_count': NH,
};
const kvBytes = kvs.map(([k, raw]) => (k in sizes ? kvU32(k, sizes[k]) : raw));

// tensors in our writer's order: [name, ne (row length first), type]
const tensors = [
  ['token_embd.weight', [H, V], T_Q8_0], ['position_embd.weight', [H, POSITIONS - 2], T_F32], ['token_types.weight', [H, 1], T_F32],
  ['token_embd_norm.weight', [H], T_F32], ['token_embd_norm.bias', [H], T_F32],
];
for (let l = 0; l < L; l++) {
  const b = `blk.${l}.`;
  for (const n of ['attn_q', 'attn_k', 'attn_v', 'attn_output']) tensors.push([b + n + '.weight', [H, H], T_Q8_0], [b + n + '.bias', [H], T_F32]);
  tensors.push([b + 'attn_output_norm.weight', [H], T_F32], [b + 'attn_output_norm.bias', [H], T_F32]);
  tensors.push([b + 'ffn_up.weight', [H, F], T_Q8_0], [b + 'ffn_up.bias', [F], T_F32]);
  tensors.push([b + 'ffn_down.weight', [F, H], T_Q8_0], [b + 'ffn_down.bias', [H], T_F32]);
  tensors.push([b + 'layer_output_norm.weight', [H], T_F32], [b + 'layer_output_norm.bias', [H], T_F32]);
}
tensors.push(['mlm.dense.weight', [H, H], T_Q8_0], ['mlm.dense.bias', [H], T_F32], ['mlm.norm.weight', [H], T_F32],
  ['mlm.norm.bias', [H], T_F32], ['mlm.output.bias', [V], T_F32]);

const nbytes = ([, ne, t]) => { const n = ne.reduce((a, x) => a * x, 1); return t === T_Q8_0 ? (n / 32) * 34 : n * 4; };
let at = 0;
const infos = [];
for (const tn of tensors) {
  const [name, ne, t] = tn;
  if (t === T_Q8_0 && ne[0] % 32) throw new Error(`${name}: row length ${ne[0]} is not a multiple of 32`);
  const rec = [gstr(name), Buffer.alloc(4 + 8 * ne.length + 4 + 8)];
  const r = rec[1];
  r.writeUInt32LE(ne.length, 0);
  ne.forEach((x, i) => r.writeBigUInt64LE(BigInt(x), 4 + 8 * i));
  r.writeUInt32LE(t, 4 + 8 * ne.length);
  r.writeBigUInt64LE(BigInt(at), 8 + 8 * ne.length);
  infos.push(...rec);
  tn.at = at;
  at = Math.ceil((at + nbytes(tn)) / ALIGN) * ALIGN;
}
const top = Buffer.alloc(24);
top.write('GGUF', 0, 'latin1');
top.writeUInt32LE(3, 4);
top.writeBigUInt64LE(BigInt(tensors.length), 8);
top.writeBigUInt64LE(BigInt(kvBytes.length), 16);
let header = Buffer.concat([top, ...kvBytes, ...infos]);
header = Buffer.concat([header, Buffer.alloc(Math.ceil(header.length / ALIGN) * ALIGN - header.length)]);

// a pool of random bytes, read at a varying offset for each tensor (a xorshift generator: reproducible)
let seed = 0x9e3779b9;
const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed; };
const POOL = 4 << 20;
const q8pool = Buffer.alloc(POOL + 34 * 1024);
for (let o = 0; o + 34 <= q8pool.length; o += 34) {
  q8pool.writeUInt16LE(0x1000, o); // fp16 2^-11
  for (let i = 0; i < 32; i++) q8pool.writeInt8((rnd() % 128) - 64, o + 2 + i);
}
const f32pool = new Float32Array((POOL >> 2) + 4096);
for (let i = 0; i < f32pool.length; i++) f32pool[i] = ((rnd() % 2001) - 1000) / 50000; // ±0.02

const fd = fs.openSync(OUT + '.tmp', 'w');
let pos = 0;
const put = (buf) => { fs.writeSync(fd, buf); pos += buf.length; };
put(header);
const dataStart = pos;
for (const tn of tensors) {
  const [name, ne, t] = tn;
  if (pos - dataStart < tn.at) put(Buffer.alloc(tn.at - (pos - dataStart)));
  let left = nbytes(tn);
  if (t === T_F32 && /norm\.weight$/.test(name)) put(Buffer.from(new Float32Array(ne[0]).fill(1).buffer));
  else if (t === T_F32) {
    const all = new Float32Array(ne.reduce((a, x) => a * x, 1));
    for (let o = 0; o < all.length; o += POOL >> 2) {
      const start = rnd() % 4096;
      all.set(f32pool.subarray(start, start + Math.min(POOL >> 2, all.length - o)), o);
    }
    put(Buffer.from(all.buffer));
  } else {
    while (left > 0) {
      const n = Math.min(left, POOL - (POOL % 34));
      const start = (rnd() % 1024) * 34;
      put(q8pool.subarray(start, start + n));
      left -= n;
    }
  }
}
if ((pos - dataStart) % ALIGN) put(Buffer.alloc(ALIGN - ((pos - dataStart) % ALIGN)));
fs.closeSync(fd);
fs.renameSync(OUT + '.tmp', OUT);
console.log(`wrote ${OUT}: ${(pos / 1e6).toFixed(1)} MB, ${L} x ${H}, ${NH} heads, FFN ${F}, vocab ${V}, ${POSITIONS} positions (${tensors.length} tensors)`);
