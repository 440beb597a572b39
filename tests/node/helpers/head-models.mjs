// Model folders for the task-head tests, assembled at run time: the fixture encoder's roberta.* tensors
// (tests/fixtures/model.safetensors; as a BertModel for a model_type bert config) plus one head's tensors (tests/fixtures/heads/<name>/head.safetensors)
// written as one safetensors file, with the head's config.json and the fixture tokenizer.

import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FIXTURES = new URL('../../fixtures/', import.meta.url).pathname;

/** { name: { dtype, shape, bytes } } of a safetensors file. */
export function readSafetensors(path) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const out = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    out[name] = { dtype: t.dtype, shape: t.shape, bytes: buf.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]) };
  }
  return out;
}

/** Tensors by name -> safetensors bytes (name order, header padded with spaces to a multiple of 8). */
export function writeSafetensors(tensors) {
  const header = {};
  const blobs = [];
  let at = 0;
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes.byteLength] };
    blobs.push(t.bytes);
    at += t.bytes.byteLength;
  }
  header.__metadata__ = { format: 'pt' };
  let h = Buffer.from(JSON.stringify(header));
  h = Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, ...blobs]);
}

/** The XLM-R encoder as a BertModel (config model_type bert): "bert." names, the position table without its first
 * pad_token_id + 1 rows (BERT's position ids start at 0), which gives the same hidden states. */
export function asBertModel(encoder, cfg) {
  const out = {};
  const drop = encoder['roberta.embeddings.position_embeddings.weight'].shape[0] - cfg.max_position_embeddings;
  for (const [k, t] of Object.entries(encoder)) {
    const name = `bert.${k.slice('roberta.'.length)}`;
    if (!k.endsWith('position_embeddings.weight')) out[name] = t;
    else {
      const row = t.bytes.byteLength / t.shape[0];
      out[name] = { dtype: t.dtype, shape: [t.shape[0] - drop, t.shape[1]], bytes: t.bytes.subarray(drop * row) };
    }
  }
  return out;
}

/** A temporary model folder for head `name` (encoder without the fill-mask head); remove() deletes it. */
export function headModelFolder(name) {
  const dir = mkdtempSync(join(tmpdir(), `xlmr-head-${name}-`));
  const encoder = readSafetensors(join(FIXTURES, 'model.safetensors'));
  for (const k of Object.keys(encoder)) if (!k.startsWith('roberta.')) delete encoder[k];
  const head = readSafetensors(join(FIXTURES, 'heads', name, 'head.safetensors'));
  const cfg = JSON.parse(readFileSync(join(FIXTURES, 'heads', name, 'config.json'), 'utf8'));
  const tensors = cfg.model_type === 'bert' ? asBertModel(encoder, cfg) : encoder;
  writeFileSync(join(dir, 'model.safetensors'), writeSafetensors({ ...tensors, ...head }));
  copyFileSync(join(FIXTURES, 'heads', name, 'config.json'), join(dir, 'config.json'));
  copyFileSync(join(FIXTURES, 'sentencepiece.bpe.model'), join(dir, 'sentencepiece.bpe.model'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function golden(name) {
  return JSON.parse(readFileSync(join(FIXTURES, 'heads', name, 'golden.json'), 'utf8'));
}
