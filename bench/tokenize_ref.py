#!/usr/bin/env python3
"""Reference tokenizer throughput: Debian's python3-sentencepiece (C++ libsentencepiece) on the same lines
as bench/tokenize_bench.c, one thread, ids mapped to XLM-R's fairseq layout with <s> … </s> (the same ids,
so the checksum must equal the C one). Measuring only, never a dependency.

    /usr/bin/python3 bench/tokenize_ref.py MODEL TEXT [TARGET_MB]
"""
import json
import sys
import time

import sentencepiece as spm


def main():
    model, text = sys.argv[1], sys.argv[2]
    target_mb = float(sys.argv[3]) if len(sys.argv) > 3 else 4.0
    t0 = time.perf_counter()
    sp = spm.SentencePieceProcessor(model_file=model)
    load_ms = 1e3 * (time.perf_counter() - t0)
    with open(text, encoding='utf-8') as f:
        lines = f.read().split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    pass_bytes = sum(len(l.encode()) for l in lines)
    repeats = int(target_mb * 1e6 / pass_bytes) + 1
    batch = lines * repeats
    best = 1e30
    for _ in range(3):
        s = time.perf_counter()
        out = sp.encode(batch, num_threads=1)  # the C++ loop: no Python per line
        best = min(best, time.perf_counter() - s)
    per_line = 1e30
    for _ in range(3):
        s = time.perf_counter()
        for l in batch:
            sp.encode(l)
        per_line = min(per_line, time.perf_counter() - s)
    one = 0
    n_ids = 0
    for ids in out[:len(lines)]:
        full = [0] + [i + 1 if i else 3 for i in ids] + [2]
        for i in full:
            one = (one * 1000003 + i) % 1000000007
    for ids in out:
        n_ids += len(ids) + 2
    b = pass_bytes * repeats
    print(json.dumps({'mb_per_s': round(b / best / 1e6, 3), 'mb_per_s_per_line_calls': round(b / per_line / 1e6, 3), 'bytes': b,
                      'ids': n_ids, 'seconds': round(best, 4), 'load_ms': round(load_ms, 1), 'checksum': one,
                      'version': spm.__version__}))


if __name__ == '__main__':
    main()
