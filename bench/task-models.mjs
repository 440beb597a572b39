// Base-size task-head models for bench/tasks.mjs: the peer model's encoder (/work/peer/models/hf, random F32
// weights, bench/README's synthetic base model) plus random head tensors, assembled as a Hugging Face folder and
// loaded once to write each as a Q8_0 GGUF under build/bench/heads/ (the folder is removed after).
//
//   node bench/task-models.mjs [--peer DIR] [--tokenizer FILE] [--out DIR]
//
// Heads: sentiment (3 labels, XLMRobertaForSequenceClassification), reranker (1 label), nli (contradiction,
// neutral, entailment), ner (9 BIO labels, ForTokenClassification), qa (ForQuestionAnswering).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from '../js/index.node.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Seeded normal values (xorshift + Box-Muller) scaled by std, as F32 bytes. */
function randomF32(n, std, seed) {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return (s + 0.5) / 4294967296; };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return Buffer.from(out.buffer);
}

const H = 768;
const BIO = ['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC', 'B-MISC', 'I-MISC'];
const seqHead = (labels) => ({
  tensors: {
    'classifier.dense.weight': [[H, H], 0.02], 'classifier.dense.bias': [[H], 0],
    'classifier.out_proj.weight': [[labels.length, H], 0.02], 'classifier.out_proj.bias': [[labels.length], 0],
  },
  architecture: 'XLMRobertaForSequenceClassification', labels,
});
export const HEADS = {
  sentiment: seqHead(['negative', 'neutral', 'positive']),
  reranker: seqHead(['LABEL_0']),
  nli: seqHead(['contradiction', 'neutral', 'entailment']),
  ner: { tensors: { 'classifier.weight': [[BIO.length, H], 0.02], 'classifier.bias': [[BIO.length], 0] }, architecture: 'XLMRobertaForTokenClassification', labels: BIO },
  qa: { tensors: { 'qa_outputs.weight': [[2, H], 0.02], 'qa_outputs.bias': [[2], 0] }, architecture: 'XLMRobertaForQuestionAnswering', labels: ['LABEL_0', 'LABEL_1'] },
};

/** Writes dir/model.safetensors: the source's roberta.* tensors (byte ranges copied) plus the head's. */
function writeFolder(dir, peer, tokenizer, head, seed) {
  fs.mkdirSync(dir, { recursive: true });
  const src = path.join(peer, 'model.safetensors');
  const fd = fs.openSync(src, 'r');
  const lenBuf = Buffer.alloc(8);
  fs.readSync(fd, lenBuf, 0, 8, 0);
  const n = Number(lenBuf.readBigUInt64LE(0));
  const hbuf = Buffer.alloc(n);
  fs.readSync(fd, hbuf, 0, n, 8);
  const srcHeader = JSON.parse(hbuf.toString('utf8'));
  const parts = [];
  for (const [name, t] of Object.entries(srcHeader)) {
    if (name.startsWith('roberta.')) parts.push({ name, dtype: t.dtype, shape: t.shape, from: 8 + n + t.data_offsets[0], size: t.data_offsets[1] - t.data_offsets[0] });
  }
  let k = seed;
  for (const [name, [shape, std]] of Object.entries(head.tensors)) {
    const count = shape.reduce((a, b) => a * b, 1);
    parts.push({ name, dtype: 'F32', shape, bytes: std ? randomF32(count, std, k++) : Buffer.alloc(4 * count) });
  }
  const header = {};
  let at = 0;
  for (const p of parts) {
    const size = p.bytes ? p.bytes.length : p.size;
    header[p.name] = { dtype: p.dtype, shape: p.shape, data_offsets: [at, at + size] };
    at += size;
  }
  let h = Buffer.from(JSON.stringify(header));
  h = Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8, 0x20)]);
  const out = fs.openSync(path.join(dir, 'model.safetensors'), 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  fs.writeSync(out, len);
  fs.writeSync(out, h);
  const chunk = Buffer.alloc(16 << 20);
  for (const p of parts) {
    if (p.bytes) { fs.writeSync(out, p.bytes); continue; }
    for (let done = 0; done < p.size;) {
      const got = fs.readSync(fd, chunk, 0, Math.min(chunk.length, p.size - done), p.from + done);
      fs.writeSync(out, chunk, 0, got);
      done += got;
    }
  }
  fs.closeSync(out);
  fs.closeSync(fd);
  const config = JSON.parse(fs.readFileSync(path.join(peer, 'config.json'), 'utf8'));
  config.architectures = [head.architecture];
  config.id2label = Object.fromEntries(head.labels.map((l, i) => [String(i), l]));
  config.label2id = Object.fromEntries(head.labels.map((l, i) => [l, i]));
  delete config._comment;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  fs.copyFileSync(tokenizer, path.join(dir, 'sentencepiece.bpe.model'));
}

/** The GGUF path of head `name` under outDir, built when missing. */
export async function taskModel(name, { peer = '/work/peer/models/hf', tokenizer = '/work/peer/bench/sentencepiece.bpe.model', outDir = path.join(ROOT, 'build', 'bench', 'heads') } = {}) {
  const file = path.join(outDir, `${name}.q8_0.gguf`);
  if (fs.existsSync(file)) return file;
  const dir = path.join(outDir, `${name}-folder`);
  writeFolder(dir, peer, tokenizer, HEADS[name], 1000 + Object.keys(HEADS).indexOf(name) * 10);
  try {
    const m = await load(dir, { worker: false, cache: false, dtype: 'q8_0' });
    const fh = await fs.promises.open(`${file}.tmp`, 'w');
    for await (const c of m.exportGguf()) await fh.write(c);
    await fh.close();
    await m.dispose();
    fs.renameSync(`${file}.tmp`, file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return file;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const opt = (n) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
  const o = {};
  if (opt('--peer')) o.peer = opt('--peer');
  if (opt('--tokenizer')) o.tokenizer = opt('--tokenizer');
  if (opt('--out')) o.outDir = opt('--out');
  for (const name of Object.keys(HEADS)) console.log(name, await taskModel(name, o));
}
