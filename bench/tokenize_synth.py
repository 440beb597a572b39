#!/usr/bin/env python3
"""Synthesizes a SentencePiece Unigram model with XLM-R's piece count (250000 pieces, 250002 model ids)
for the tokenizer benchmark, plus the benchmark text.

    python3 bench/tokenize_synth.py OUT_DIR     -> OUT_DIR/tok250k.model, OUT_DIR/tok_text.txt

Speed depends on the vocabulary (trie size, how many pieces match at each position), so the pieces must
look like real ones: the fixture model's 8000 pieces, then every substring (2..12 characters, inside a
"▁word") of the fixture corpus, scored by log frequency, then concatenations of two fixture pieces. The
normalizer spec (nmt_nfkc precompiled charsmap) and trainer spec are the fixture's. Standard library only;
the output goes under bench/out/ or build/, never into git.
"""
import json
import math
import os
import random
import struct
import sys
import unicodedata

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
FIXTURE_MODEL = os.path.join(ROOT, 'tests', 'fixtures', 'sentencepiece.bpe.model')
FIXTURE_CASES = os.path.join(ROOT, 'tests', 'fixtures', 'tokenizer_cases.jsonl')
N_PIECES = 250000


def read_varint(b, pos):
    v = shift = 0
    while True:
        c = b[pos]
        pos += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, pos


def fields(b):
    pos = 0
    while pos < len(b):
        start = pos
        key, pos = read_varint(b, pos)
        wire = key & 7
        if wire == 0:
            _, pos = read_varint(b, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            n, pos = read_varint(b, pos)
            pos += n
        else:
            raise ValueError('wire type %d' % wire)
        yield key >> 3, b[start:pos]


def varint(v):
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        out.append(c | (0x80 if v else 0))
        if not v:
            return bytes(out)


def piece_msg(text, score, type_=1):
    s = text.encode()
    body = b'\x0a' + varint(len(s)) + s + b'\x15' + struct.pack('<f', score)
    if type_ != 1:
        body += b'\x18' + varint(type_)
    return b'\x0a' + varint(len(body)) + body


def parse_piece(raw):
    _, pos = read_varint(raw, 0)
    n, pos = read_varint(raw, pos)
    body = raw[pos:pos + n]
    text, score, type_ = '', 0.0, 1
    for num, f in fields(body):
        if num == 1:
            _, p = read_varint(f, 0)
            m, p = read_varint(f, p)
            text = f[p:p + m].decode()
        elif num == 2:
            score = struct.unpack('<f', f[1:5])[0]
        elif num == 3:
            type_ = read_varint(f, 1)[0]
    return text, score, type_


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'bench', 'out')
    os.makedirs(out_dir, exist_ok=True)
    blob = open(FIXTURE_MODEL, 'rb').read()
    pieces, specs = [], []
    for num, raw in fields(blob):
        if num == 1:
            pieces.append(parse_piece(raw))
        else:
            specs.append(raw)
    cases = [json.loads(line) for line in open(FIXTURE_CASES, encoding='utf-8')]
    texts = [c['text'] for c in cases]
    # benchmark text: the held-aside corpus lines and the long paragraph (no literal special tokens)
    bench = [c['text'] for c in cases if c['kind'] == 'corpus_text' or c['name'].startswith('paragraph')]

    seen = {p[0] for p in pieces}
    counts = {}
    for t in texts:
        norm = unicodedata.normalize('NFKC', t)
        for word in norm.split():
            w = '\u2581' + word
            for i in range(len(w)):
                for j in range(i + 2, min(len(w), i + 12) + 1):
                    s = w[i:j]
                    counts[s] = counts.get(s, 0) + 1
    total = sum(counts.values())
    subs = sorted((s for s in counts if s not in seen), key=lambda s: (-counts[s], s))
    new = []
    for s in subs[:N_PIECES - len(pieces)]:
        new.append((s, math.log(counts[s] / total) - 2.0, 1))
        seen.add(s)
    rng = random.Random(250000)
    normal = [p for p in pieces if p[2] == 1]
    while len(pieces) + len(new) < N_PIECES:
        a, b = rng.choice(normal), rng.choice(normal)
        s = a[0] + b[0].lstrip('\u2581')
        if s in seen or len(s) > 16:
            continue
        seen.add(s)
        new.append((s, a[1] + b[1], 1))
    new.sort(key=lambda p: -p[1])
    all_pieces = pieces + new
    assert len(all_pieces) == N_PIECES

    model = b''.join(piece_msg(*p) for p in all_pieces) + b''.join(specs)
    with open(os.path.join(out_dir, 'tok250k.model'), 'wb') as f:
        f.write(model)
    with open(os.path.join(out_dir, 'tok_text.txt'), 'w', encoding='utf-8') as f:
        for t in bench:
            f.write(' '.join(t.splitlines()) + '\n')
    print('%s: %d pieces (%d substrings of the corpus), %d bytes' % (
        os.path.join(out_dir, 'tok250k.model'), len(all_pieces), min(len(subs), N_PIECES - len(pieces)), len(model)))


if __name__ == '__main__':
    main()
