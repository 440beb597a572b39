// A synthetic, larger XLM-R folder (config.json + model.safetensors F32 + the fixture tokenizer) for
// memory tests: the same tensor names and layout as a real checkpoint, deterministic small weights,
// written in 1 MiB pieces so the writer itself never holds the file.
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES } from './common.mjs';

export function xlmrTensors({ V, H, F, L, P, T = 1 }) {
  const t = [];
  const vec = (name, n) => t.push([name, [n]]);
  const mat = (name, r, c) => t.push([name, [r, c]]);
  vec('lm_head.bias', V);
  vec('lm_head.dense.bias', H); mat('lm_head.dense.weight', H, H);
  vec('lm_head.layer_norm.bias', H); vec('lm_head.layer_norm.weight', H);
  vec('roberta.embeddings.LayerNorm.bias', H); vec('roberta.embeddings.LayerNorm.weight', H);
  mat('roberta.embeddings.position_embeddings.weight', P, H);
  mat('roberta.embeddings.token_type_embeddings.weight', T, H);
  mat('roberta.embeddings.word_embeddings.weight', V, H);
  for (let l = 0; l < L; l++) {
    const p = `roberta.encoder.layer.${l}.`;
    vec(`${p}attention.output.LayerNorm.bias`, H); vec(`${p}attention.output.LayerNorm.weight`, H);
    vec(`${p}attention.output.dense.bias`, H); mat(`${p}attention.output.dense.weight`, H, H);
    for (const k of ['key', 'query', 'value']) { vec(`${p}attention.self.${k}.bias`, H); mat(`${p}attention.self.${k}.weight`, H, H); }
    vec(`${p}intermediate.dense.bias`, F); mat(`${p}intermediate.dense.weight`, F, H);
    vec(`${p}output.LayerNorm.bias`, H); vec(`${p}output.LayerNorm.weight`, H);
    vec(`${p}output.dense.bias`, H); mat(`${p}output.dense.weight`, H, F);
  }
  return t.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** Writes dir/{config.json, sentencepiece.bpe.model, model.safetensors}; returns the weights size. */
export function writeSyntheticFolder(dir, { H = 1024, F = 4096, L = 4, heads = 16 } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const cfg = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'config.json'), 'utf8'));
  Object.assign(cfg, { hidden_size: H, intermediate_size: F, num_hidden_layers: L, num_attention_heads: heads });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
  fs.copyFileSync(path.join(FIXTURES, 'sentencepiece.bpe.model'), path.join(dir, 'sentencepiece.bpe.model'));
  const V = cfg.vocab_size;
  const tensors = xlmrTensors({ V, H, F, L, P: cfg.max_position_embeddings });
  const header = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const [name, shape] of tensors) {
    const n = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [off, off + n] };
    off += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const file = path.join(dir, 'model.safetensors');
  const fd = fs.openSync(file, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeSync(fd, len);
  fs.writeSync(fd, json);
  // Deterministic weights in [-0.05, 0.05): one 1 MiB pattern, repeated (LayerNorm gammas too: fine for memory tests).
  const piece = new Float32Array(1 << 18);
  let s = 12345;
  for (let i = 0; i < piece.length; i++) { s = (s * 1103515245 + 12345) >>> 0; piece[i] = ((s >>> 8) / 16777216 - 0.5) * 0.1; }
  const bytes = new Uint8Array(piece.buffer);
  let left = off;
  while (left > 0) {
    const n = Math.min(left, bytes.length);
    fs.writeSync(fd, bytes, 0, n);
    left -= n;
  }
  fs.closeSync(fd);
  return 8 + json.length + off;
}
