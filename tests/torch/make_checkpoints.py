#!/usr/bin/env /usr/bin/python3
"""PyTorch checkpoints of the fixture model, saved by torch.save (python3-torch from apt), for test_torch.

    /usr/bin/python3 tests/torch/make_checkpoints.py      (from the repository root; needs torch, numpy)

The weights are the fixture safetensors' (model.safetensors, model.fp16/bf16.safetensors), so each checkpoint
must load bit-identical to its safetensors file. Whole checkpoints would be megabytes, so each is stored as a
skeleton: torch.save's file with the bytes of its large storages cut out (<name>.skel) and a list of where they go
(<name>.splice: the source safetensors file, then "offset tensor length" lines: insert that tensor's bytes at that
offset of the skeleton). test_torch puts them back; this script checks that doing so gives torch's file exactly.
A few tiny checkpoints are kept whole (.bin).
"""
import collections
import io
import json
import os
import struct
import sys
import zipfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, 'tests', 'fixtures')
OUT = os.path.join(FIX, 'torch')
SPLICE_MIN = 1024  # storages at least this large come from the safetensors file


def read_safetensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n])
    out, raw = collections.OrderedDict(), {}
    for name, e in h.items():
        if name == '__metadata__':
            continue
        lo, hi = e['data_offsets']
        data = b[8 + n + lo:8 + n + hi]
        dt = {'F32': np.float32, 'F16': np.float16, 'BF16': np.int16, 'I64': np.int64}[e['dtype']]
        t = torch.from_numpy(np.frombuffer(data, dtype=dt).copy().reshape(e['shape']))
        out[name] = t.view(torch.bfloat16) if e['dtype'] == 'BF16' else t
        raw[name] = data
    return out, raw


def hf_order(names):
    """The order of XLMRobertaForMaskedLM.state_dict(): embeddings, layers, then lm_head."""
    def key(n):
        if n.startswith('roberta.embeddings.'):
            return (0, 0, n)
        if n.startswith('roberta.encoder.layer.'):
            return (1, int(n.split('.')[3]), n)
        return (2, 0, n)
    return sorted(names, key=key)


def state_dict(t, tied=True, with_position_ids=True, sliced_bias=False, non_contiguous=False):
    sd = collections.OrderedDict()
    for n in hf_order(t):
        if n == 'roberta.embeddings.position_ids' and not with_position_ids:
            continue
        sd[n] = t[n].detach()  # state_dict() gives each entry its own tensor over the parameter's storage
    if sliced_bias:  # a view at an offset into a larger storage
        b = t['lm_head.bias']
        big = torch.cat([torch.full((5,), 7.0, dtype=b.dtype), b])
        sd['lm_head.bias'] = big[5:]
    if non_contiguous:
        w = t['lm_head.dense.weight']
        sd['lm_head.dense.weight'] = w.t().contiguous().t()
    emb = sd['roberta.embeddings.word_embeddings.weight']
    sd['lm_head.decoder.weight'] = emb.detach() if tied else emb.clone()
    sd['lm_head.decoder.bias'] = sd['lm_head.bias'].detach()
    return sd


def save_bytes(obj, **kw):
    f = io.BytesIO()
    torch.save(obj, f, **kw)
    return f.getvalue()


def entry_spans(data):
    """(name, data offset, size) of each zip entry."""
    z = zipfile.ZipFile(io.BytesIO(data))
    spans = []
    for info in z.infolist():
        o = info.header_offset
        nl, el = struct.unpack('<HH', data[o + 26:o + 30])
        spans.append((info.filename, o + 30 + nl + el, info.file_size))
    return spans


def write_skeleton(name, data, source, raw):
    splices, cuts = [], []
    for entry, at, size in entry_spans(data):
        if '/data/' not in entry or size < SPLICE_MIN:
            continue
        blob = data[at:at + size]
        for tname, tb in raw.items():
            if len(tb) <= size and blob[size - len(tb):] == tb and len(tb) >= SPLICE_MIN:
                cuts.append((at + size - len(tb), len(tb), tname))
                break
    skel, pos, removed = bytearray(), 0, 0
    for at, n, tname in sorted(cuts):
        skel += data[pos:at]
        splices.append('%d %s %d' % (at - removed, tname, n))
        pos, removed = at + n, removed + n
    skel += data[pos:]
    open(os.path.join(OUT, name + '.skel'), 'wb').write(bytes(skel))
    open(os.path.join(OUT, name + '.splice'), 'w').write('\n'.join([source] + splices) + '\n')
    # the check test_torch relies on: splicing gives torch's bytes back
    back, pos = bytearray(), 0
    for line in splices:
        off, tname, n = line.split()
        back += skel[pos:int(off)] + raw[tname]
        pos = int(off)
    back += skel[pos:]
    assert bytes(back) == data, name


def rezip(data, order_first='version'):
    """The same entries rewritten by Python's zipfile: sizes in the local headers, no data descriptors, the
    version entry first (as older torch versions wrote it)."""
    z = zipfile.ZipFile(io.BytesIO(data))
    original = z.namelist()
    names = sorted(original, key=lambda n: (not n.endswith('/' + order_first), original.index(n)))
    f = io.BytesIO()
    with zipfile.ZipFile(f, 'w', zipfile.ZIP_STORED) as w:
        for n in names:
            w.writestr(z.getinfo(n).filename, z.read(n))
    return f.getvalue()


class Evil:
    def __reduce__(self):
        return (os.system, ('echo this must never run',))


def main():
    os.makedirs(OUT, exist_ok=True)
    f32, raw32 = read_safetensors(os.path.join(FIX, 'model.safetensors'))
    f16, raw16 = read_safetensors(os.path.join(FIX, 'model.fp16.safetensors'))
    bf16, rawbf = read_safetensors(os.path.join(FIX, 'model.bf16.safetensors'))
    made = {
        'f32_tied': (save_bytes(state_dict(f32)), 'model.safetensors', raw32),
        'f32_untied': (save_bytes(state_dict(f32, tied=False, with_position_ids=False)), 'model.safetensors', raw32),
        'f16_tied': (save_bytes(state_dict(f16)), 'model.fp16.safetensors', raw16),
        'bf16_tied': (save_bytes(state_dict(bf16)), 'model.bf16.safetensors', rawbf),
        'f32_sliced': (save_bytes(state_dict(f32, sliced_bias=True)), 'model.safetensors', raw32),
        'f32_noncontig': (save_bytes(state_dict(f32, non_contiguous=True)), 'model.safetensors', raw32),
    }
    made['f32_rezip'] = (rezip(made['f32_tied'][0]), 'model.safetensors', raw32)
    # a storage shorter than its tensor: lm_head.dense.bias's storage (64 floats) said to hold 32
    sd = state_dict(f32)
    short = save_bytes(sd)
    z = zipfile.ZipFile(io.BytesIO(short))
    pkl = z.read('archive/data.pkl')
    at = pkl.index(b'lm_head.dense.bias')
    at = pkl.index(b'K\x40t', at)  # the storage id's numel (BININT1 64), then TUPLE
    pkl = pkl[:at] + b'K\x20' + pkl[at + 2:]
    f = io.BytesIO()
    with zipfile.ZipFile(f, 'w', zipfile.ZIP_STORED) as w:
        for n in z.namelist():
            w.writestr(n, pkl if n.endswith('data.pkl') else z.read(n))
    made['f32_short_storage'] = (f.getvalue(), 'model.safetensors', raw32)
    # a sharded pair: the embeddings and layer 0, then the rest; the index names each tensor's file
    full = state_dict(f32, with_position_ids=False)
    names = list(full)
    first = [n for n in names if n.startswith('roberta.embeddings.') or n.startswith('roberta.encoder.layer.0.')]
    files = {'pytorch_model-00001-of-00002.bin': first, 'pytorch_model-00002-of-00002.bin': [n for n in names if n not in first]}
    index = {'metadata': {'total_size': sum(full[n].numel() * full[n].element_size() for n in names)}, 'weight_map': {}}
    for fname, part in files.items():
        sub = collections.OrderedDict((n, full[n]) for n in part)
        made['shard_' + fname[14:19]] = (save_bytes(sub), 'model.safetensors', raw32)
        for n in part:
            index['weight_map'][n] = fname
    json.dump(index, open(os.path.join(OUT, 'pytorch_model.bin.index.json'), 'w'), indent=2, sort_keys=True)
    for name, (data, source, raw) in made.items():
        write_skeleton(name, data, source, raw)
    open(os.path.join(OUT, 'evil_global.bin'), 'wb').write(save_bytes({'a.weight': torch.zeros(2), 'b': Evil()}))
    open(os.path.join(OUT, 'legacy.bin'), 'wb').write(
        save_bytes({'a.weight': torch.zeros(2)}, _use_new_zipfile_serialization=False))
    print('wrote', sorted(os.listdir(OUT)), 'torch', torch.__version__)


if __name__ == '__main__':
    main()
