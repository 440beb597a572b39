#!/usr/bin/env /usr/bin/python3
"""Seeds of fuzz_torch: the tiny safetensors seeds of fuzz_loader (make_weight_seeds.py) saved again by torch.save
(python3-torch), with the same control bytes, and their data.pkl alone (control bit 5: the pickle reader).

    /usr/bin/python3 tests/fuzz/make_torch_seeds.py      (from the repository root)
"""
import collections
import io
import json
import os
import struct
import zipfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(ROOT, 'corpus', 'fuzz_loader')
OUT = os.path.join(ROOT, 'corpus', 'fuzz_torch')


def tensors(b):
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n])
    sd = collections.OrderedDict()
    for name, e in h.items():
        if name == '__metadata__':
            continue
        lo, hi = e['data_offsets']
        dt = {'F32': np.float32, 'F16': np.float16, 'BF16': np.int16, 'I64': np.int64}[e['dtype']]
        t = torch.from_numpy(np.frombuffer(b[8 + n + lo:8 + n + hi], dtype=dt).copy().reshape(e['shape']))
        sd[name] = t.view(torch.bfloat16) if e['dtype'] == 'BF16' else t
    if 'roberta.embeddings.word_embeddings.weight' in sd:  # a tied decoder: the embedding table's storage
        sd['lm_head.decoder.weight'] = sd['roberta.embeddings.word_embeddings.weight'].detach()
    return sd


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in sorted(os.listdir(SRC)):
        if name.endswith('_gguf.bin'):
            continue
        b = open(os.path.join(SRC, name), 'rb').read()
        ctrl, file = b[:5], b[5:]
        f = io.BytesIO()
        torch.save(tensors(file), f)
        data = f.getvalue()
        open(os.path.join(OUT, name.replace('.bin', '_torch.bin')), 'wb').write(ctrl + data)
        pkl = zipfile.ZipFile(io.BytesIO(data)).read('archive/data.pkl')
        open(os.path.join(OUT, name.replace('.bin', '_pickle.bin')), 'wb').write(bytes([ctrl[0] | 32]) + ctrl[1:] + pkl)
    print('wrote', sorted(os.listdir(OUT)))


if __name__ == '__main__':
    main()
