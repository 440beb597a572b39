#!/usr/bin/python3
"""Writes tests/fixtures/heads/m3/{config.json, head.safetensors, golden.json}: BGE-M3's two extra heads
(colbert_linear: H -> H, sparse_linear: H -> 1) with tiny random weights on top of the fixture encoder, and the
three outputs as FlagEmbedding's BGEM3 model and BGEM3FlagModel.encode compute them:

- dense: the <s> row of last_hidden_state, L2-normalised (sentence_pooling_method 'cls', normlized True);
- sparse (lexical_weights): relu(sparse_linear(h)) per token; per token id the largest weight, the ids of <s>, </s>,
  <pad> and <unk> left out, weights <= 0 left out, keys the ids as strings (_process_token_weights);
- colbert (colbert_vecs): colbert_linear(h[1:]) (every token but <s>, </s> included), each row L2-normalised
  (_process_colbert_vecs keeps tokens_num - 1 rows);
- the scoring helpers: compute_lexical_matching_score (sum over shared ids of the product of weights) and
  colbert_score (for each query vector the best dot product with a passage vector, summed, divided by the number of
  query vectors).

The encoder is xlmr_reference.Encoder (PyTorch, checked against model_cases.jsonl by make_heads.py's check, done here
too). head.safetensors holds the two heads' tensors under Hugging Face's file names' prefixes (colbert_linear.*,
sparse_linear.*); a test assembles the full model folder from the fixture encoder and these at run time.

Usage (from the repository root): /usr/bin/python3 tests/reference/make_m3.py
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from make_heads import TEXTS, check_encoder  # noqa: E402
from xlmr_reference import BOS, EOS, FIXTURES, PAD, UNK, Encoder, Tokenizer, write_safetensors  # noqa: E402

OUT = f'{FIXTURES}/heads/m3'


def normalize(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def outputs(enc, head, ids):
    h = enc.hidden(ids).numpy().astype(np.float64)
    dense = normalize(h[0])
    weights = np.maximum(h @ head['sparse_linear.weight'].T.astype(np.float64) + head['sparse_linear.bias'], 0)[:, 0]
    lexical = {}
    for w, i in zip(weights, ids):
        if i not in (BOS, EOS, PAD, UNK) and w > 0 and w > lexical.get(str(i), 0):
            lexical[str(i)] = float(w)
    colbert = normalize(h[1:] @ head['colbert_linear.weight'].T.astype(np.float64) + head['colbert_linear.bias'])
    return dense, lexical, colbert


def lexical_score(a, b):
    return float(sum(w * b[t] for t, w in a.items() if t in b))


def colbert_score(q, p):
    return float((q @ p.T).max(axis=1).sum() / q.shape[0])


def main():
    enc, tok = Encoder(), Tokenizer()
    check_encoder(enc)
    H = enc.cfg['hidden_size']
    g = torch.Generator().manual_seed(31)
    head = {'colbert_linear.weight': (torch.randn(H, H, generator=g) * 0.2).numpy(),
            'colbert_linear.bias': (torch.randn(H, generator=g) * 0.1).numpy(),
            'sparse_linear.weight': (torch.randn(1, H, generator=g) * 0.3).numpy(),
            'sparse_linear.bias': (torch.randn(1, generator=g) * 0.1).numpy()}
    os.makedirs(OUT, exist_ok=True)
    cfg = dict(enc.cfg)
    cfg['architectures'] = ['XLMRobertaModel']
    with open(f'{OUT}/config.json', 'w') as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write('\n')
    write_safetensors(f'{OUT}/head.safetensors', head)
    cases, outs = [], {}
    for key in ('en', 'ru', 'ja'):
        ids = tok.single(TEXTS[key])['ids']
        dense, lexical, colbert = outputs(enc, head, ids)
        outs[key] = (lexical, colbert)
        cases.append({'name': key, 'text': TEXTS[key], 'ids': ids, 'dense': dense.tolist(), 'lexical_weights': lexical,
                      'colbert': colbert.tolist()})
    scores = [{'a': a, 'b': b, 'lexical': lexical_score(outs[a][0], outs[b][0]),
               'colbert': colbert_score(outs[a][1], outs[b][1])} for a, b in (('en', 'ru'), ('ru', 'ja'), ('en', 'en'))]
    golden = {'about': 'BGE-M3 outputs (FlagEmbedding BGEM3 formulas, numpy float64 on the float32 PyTorch reference '
                       'encoder xlmr_reference.Encoder) of the fixture encoder with the random heads in '
                       'head.safetensors; written by tests/reference/make_m3.py', 'cases': cases, 'scores': scores}
    with open(f'{OUT}/golden.json', 'w') as f:
        json.dump(golden, f)
        f.write('\n')
    print(f'wrote {OUT}: {len(cases)} cases, {len(scores)} scores')


if __name__ == '__main__':
    main()
