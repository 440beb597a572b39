#!/usr/bin/env python3
"""Differential test of the C tokenizer against the reference library (developer tool, not run by CI:
it needs python3-sentencepiece). Writes random texts (fixture text fragments with inserted whitespace,
control, compatibility and invalid-UTF-8 characters) with the reference ids in XLM-R's layout.

    /usr/bin/python3 tests/tokdiff/tokdiff_gen.py SEED COUNT MODEL OUT.jsonl
    cc ... tests/tokdiff/tokdiff.c src/*.c -o build/tokdiff && build/tokdiff OUT.jsonl MODEL

Texts never contain '<' (the literal special tokens are the Hugging Face layer, covered by the fixtures).
"""
import json
import random
import sys

import sentencepiece as spm

ROOT_CASES = 'tests/fixtures/tokenizer_cases.jsonl'


def main():
    seed, count, model, out_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    sp = spm.SentencePieceProcessor(model_file=model)
    rng = random.Random(seed)
    texts = [json.loads(l)['text'] for l in open(ROOT_CASES, encoding='utf-8')]
    chars = sorted(set(''.join(texts))) + list('abcdefhilorwxAB\u00e9\u0301\ufb01\u2460 ') * 20 + ['USR', 'AB'] * 10
    special = [chr(c) for c in list(range(0, 0x21)) + [
        0x7f, 0x85, 0xa0, 0xad, 0x1680, 0x180e, 0x200b, 0x200c, 0x200d, 0x200e, 0x2028, 0x2029, 0x202f, 0x205f, 0x2060,
        0x3000, 0xfeff, 0xfffd, 0x2581, 0xff21, 0xfb01, 0x2460, 0x1100, 0x1161, 0x11a8, 0x301, 0x308, 0x30c, 0xe000,
        0x10000, 0x1f600, 0x1f3fd, 0xac00, 0x3131, 0x2126, 0x212b, 0x1e9e, 0xdf, 0x130, 0x3c2, 0x2163, 0x33ff, 0xfdfa,
        0xfe10, 0xff5e, 0xffe3]]
    n = 0
    with open(out_path, 'w') as out:
        while n < count:
            r = rng.random()
            if r < 0.3:
                t = rng.choice(texts)
                a = rng.randrange(len(t) + 1)
                b = rng.randrange(a, min(len(t), a + 80) + 1)
                s = list(t[a:b])
                for _ in range(rng.randrange(4)):
                    s.insert(rng.randrange(len(s) + 1), rng.choice(special))
                data = ''.join(s).encode()
            elif r < 0.8:
                k = rng.randrange(1, 30)
                data = ''.join(rng.choice(special) if rng.random() < 0.4 else rng.choice(chars) for _ in range(k)).encode()
            else:
                k = rng.randrange(1, 30)
                data = bytes(rng.choice([rng.randrange(256), rng.randrange(0x80, 0x100), 0x20, 0x41, 0xe2, 0x96, 0x81])
                             for _ in range(k))
            if b'<' in data:
                continue
            ids = sp.encode(data)
            out.write(json.dumps({'hex': data.hex(), 'ids': [0] + [i + 1 if i else 3 for i in ids] + [2]}) + '\n')
            n += 1


if __name__ == '__main__':
    main()
