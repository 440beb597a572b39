#!/usr/bin/python3
"""Writes BGE-M3 as the hub ships it into tests/fixtures/heads/m3/hub/, from the m3 fixture (make_m3.py) and the fixture
encoder: the XLMRobertaModel checkpoint pytorch_model.bin, and FlagEmbedding's two extra heads each saved by torch.save
of the module's state_dict ({"weight", "bias"}) as colbert_linear.pt and sparse_linear.pt.

- pytorch_model.bin is XLMRobertaModel.state_dict(): the encoder's names without "roberta.", position_ids, and the
  pooler (random here: no output reads it). It is stored as a skeleton (pytorch_model.skel: torch's bytes with the
  large tensors cut out) and a splice list naming those tensors in tests/fixtures/model.safetensors, as
  tests/torch/make_checkpoints.py stores its checkpoints; the tests put the bytes back.
- colbert_linear.pt and sparse_linear.pt hold head.safetensors' colbert_linear.* / sparse_linear.* without the prefix.
- colbert_linear.wrapped.pt wraps that state dict as training scripts save it ({"state_dict": {...}, "epoch": 3});
  colbert_linear.two.pt holds two ({"model": {...}, "ema": {...}}), which is not one state dict.

Loading the folder (or a hub repo of it) must give the outputs of the single-file m3 fixture.

Usage (from the repository root): /usr/bin/python3 tests/reference/make_m3_hub.py
"""
import collections
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'torch'))
import make_checkpoints as mc  # noqa: E402

M3 = os.path.join(mc.FIX, 'heads', 'm3')
OUT = os.path.join(M3, 'hub')


def encoder_state_dict(t, H):
    sd = collections.OrderedDict()
    for n in mc.hf_order(t):
        if n.startswith('roberta.'):
            sd[n[len('roberta.'):]] = t[n].detach()
    g = torch.Generator().manual_seed(41)
    sd['pooler.dense.weight'] = torch.randn(H, H, generator=g) * 0.2
    sd['pooler.dense.bias'] = torch.randn(H, generator=g) * 0.1
    return sd


def module_state_dict(head, prefix):
    return collections.OrderedDict((k, head[prefix + k].clone()) for k in ('weight', 'bias'))


def main():
    os.makedirs(OUT, exist_ok=True)
    f32, raw32 = mc.read_safetensors(os.path.join(mc.FIX, 'model.safetensors'))
    head, _ = mc.read_safetensors(os.path.join(M3, 'head.safetensors'))
    H = f32['roberta.embeddings.word_embeddings.weight'].shape[1]
    mc.OUT = OUT  # write_skeleton's folder
    mc.write_skeleton('pytorch_model', mc.save_bytes(encoder_state_dict(f32, H)), 'model.safetensors', raw32)
    colbert, sparse = module_state_dict(head, 'colbert_linear.'), module_state_dict(head, 'sparse_linear.')
    torch.save(colbert, os.path.join(OUT, 'colbert_linear.pt'))
    torch.save(sparse, os.path.join(OUT, 'sparse_linear.pt'))
    torch.save({'state_dict': colbert, 'epoch': 3}, os.path.join(OUT, 'colbert_linear.wrapped.pt'))
    torch.save({'model': colbert, 'ema': colbert}, os.path.join(OUT, 'colbert_linear.two.pt'))
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))


if __name__ == '__main__':
    main()
