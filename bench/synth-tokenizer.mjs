// A SentencePiece ModelProto with the piece count of XLM-R (250000 pieces -> 250002 model ids), for
// benchmarking on the random-weight peer model, whose folder has no tokenizer.  The normalizer, trainer
// and denormalizer specs are copied from the fixture tokenizer (nmt_nfkc charsmap, Unigram); only the
// pieces are replaced: <unk>, <s>, </s>, then "▁t<i>" with descending scores.  Benchmarks feed token ids,
// so the pieces only have to be valid and as many as the real model's.
//
//   node bench/synth-tokenizer.mjs OUT_FILE [--pieces 250000] [--from tests/fixtures/sentencepiece.bpe.model]

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function varint(n) {
  const out = [];
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
  out.push(n);
  return out;
}

function readVarint(b, pos) {
  let n = 0, mul = 1, c;
  do { c = b[pos++]; n += (c & 0x7f) * mul; mul *= 128; } while (c & 0x80);
  return [n, pos];
}

/** Top-level fields of a protobuf message as [fieldNo, wireType, raw bytes of the whole field]. */
function fields(b) {
  const out = [];
  let pos = 0;
  while (pos < b.length) {
    const start = pos;
    let tag;
    [tag, pos] = readVarint(b, pos);
    const wt = tag & 7;
    if (wt === 0) [, pos] = readVarint(b, pos);
    else if (wt === 1) pos += 8;
    else if (wt === 5) pos += 4;
    else if (wt === 2) { let len; [len, pos] = readVarint(b, pos); pos += len; }
    else throw new Error(`unsupported wire type ${wt} at ${start}`);
    out.push([tag >>> 3, wt, b.subarray(start, pos)]);
  }
  return out;
}

// SentencePiece { piece = 1 (string); score = 2 (float); type = 3 (enum: 1 NORMAL, 2 UNKNOWN, 3 CONTROL) }
function pieceMsg(text, score, type) {
  const s = Buffer.from(text, 'utf8');
  const f = Buffer.alloc(4);
  f.writeFloatLE(score);
  const body = Buffer.from([0x0a, ...varint(s.length), ...s, 0x15, ...f, 0x18, type]);
  return Buffer.from([0x0a, ...varint(body.length), ...body]); // ModelProto.pieces = 1
}

export function synthTokenizer(nPieces = 250000, from = path.join(ROOT, 'tests/fixtures/sentencepiece.bpe.model')) {
  const src = fs.readFileSync(from);
  const parts = [pieceMsg('<unk>', 0, 2), pieceMsg('<s>', 0, 3), pieceMsg('</s>', 0, 3)];
  for (let i = 3; i < nPieces; i++) parts.push(pieceMsg(`\u2581t${i}`, -1 - i / 1000, 1));
  for (const [no, , raw] of fields(src)) if (no !== 1) parts.push(raw);
  return Buffer.concat(parts);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const out = args.find((a) => !a.startsWith('--'));
  if (!out) { console.error('usage: node bench/synth-tokenizer.mjs OUT_FILE [--pieces N]'); process.exit(2); }
  const i = args.indexOf('--pieces');
  const buf = synthTokenizer(i >= 0 ? +args[i + 1] : 250000);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, buf);
  console.log(`wrote ${out} (${buf.length} bytes)`);
}
