#!/usr/bin/env /usr/bin/python3
"""Writes the seed corpora of the weight-file fuzzers (fuzz_gguf, fuzz_safetensors, fuzz_loader) and
tests/fuzz/tiny_models.h (the configs and tokenizer the loader fuzzer gives for safetensors inputs).

    /usr/bin/python3 tests/fuzz/make_weight_seeds.py      (from the repository root; needs numpy, sentencepiece)

Two tiny XLM-R models, deterministic (seeded):
  A: vocab 32, hidden 32, 2 heads, 1 layer, ffn 32, 10 positions  (Q8_0-able rows)
  B: vocab 32, hidden 8,  2 heads, 1 layer, ffn 16, 6 positions   (rows too short for Q8_0: F16 fallback)
safetensors in F32/F16/BF16 (with position_ids, "roberta." prefix, lm_head), then GGUF files written by the
project's own writer (tests/fuzz/make_gguf_seeds.c, compiled here against src/*.c).
"""
import io
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import sentencepiece as spm

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(ROOT))


def spm_model():
    corpus = ["hello world", "the cat sat on the mat", "a b c d e", "paris is the capital of france",
              "hello there cat"] * 20
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus), model_writer=out, vocab_size=30,
                                   model_type='unigram', normalization_rule_name='identity',
                                   hard_vocab_limit=False, character_coverage=1.0, minloglevel=2,
                                   num_threads=1, seed_sentencepiece_size=1000)
    return out.getvalue()


def config(vocab, hidden, heads, layers, ffn, positions):
    return {"architectures": ["XLMRobertaForMaskedLM"], "hidden_act": "gelu", "hidden_size": hidden,
            "intermediate_size": ffn, "layer_norm_eps": 1e-05, "max_position_embeddings": positions,
            "model_type": "xlm-roberta", "num_attention_heads": heads, "num_hidden_layers": layers,
            "pad_token_id": 1, "position_embedding_type": "absolute", "type_vocab_size": 1, "vocab_size": vocab}


def tensors(cfg, rng):
    V, H, F, P = cfg["vocab_size"], cfg["hidden_size"], cfg["intermediate_size"], cfg["max_position_embeddings"]
    t = {"roberta.embeddings.position_ids": np.arange(P, dtype=np.int64)[None, :]}
    r = lambda *s: (rng.standard_normal(s) * 0.2).astype(np.float32)
    t["roberta.embeddings.word_embeddings.weight"] = r(V, H)
    t["roberta.embeddings.position_embeddings.weight"] = r(P, H)
    t["roberta.embeddings.token_type_embeddings.weight"] = r(1, H)
    t["roberta.embeddings.LayerNorm.weight"] = 1 + r(H)
    t["roberta.embeddings.LayerNorm.bias"] = r(H)
    for l in range(cfg["num_hidden_layers"]):
        p = "roberta.encoder.layer.%d." % l
        for name, shape in [("attention.self.query", (H, H)), ("attention.self.key", (H, H)),
                            ("attention.self.value", (H, H)), ("attention.output.dense", (H, H)),
                            ("intermediate.dense", (F, H)), ("output.dense", (H, F))]:
            t[p + name + ".weight"] = r(*shape)
            t[p + name + ".bias"] = r(shape[0])
        for name in ["attention.output.LayerNorm", "output.LayerNorm"]:
            t[p + name + ".weight"] = 1 + r(H)
            t[p + name + ".bias"] = r(H)
    t["lm_head.dense.weight"] = r(H, H)
    t["lm_head.dense.bias"] = r(H)
    t["lm_head.layer_norm.weight"] = 1 + r(H)
    t["lm_head.layer_norm.bias"] = r(H)
    t["lm_head.bias"] = r(V)
    return t


def safetensors(t, dtype):
    """dtype: 'F32', 'F16' or 'BF16' for float tensors; I64 buffers stay I64. I64 first, then by name."""
    names = sorted(t, key=lambda n: (t[n].dtype != np.int64, n))
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for n in names:
        a = t[n]
        if a.dtype == np.int64:
            raw, dt = a.astype('<i8').tobytes(), "I64"
        elif dtype == "F32":
            raw, dt = a.astype('<f4').tobytes(), "F32"
        elif dtype == "F16":
            raw, dt = a.astype('<f2').tobytes(), "F16"
        else:  # BF16, round to nearest even
            u = a.astype('<f4').view(np.uint32).astype(np.uint64)
            u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype('<u2')
            raw, dt = u.tobytes(), "BF16"
        header[n] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def c_bytes(name, data):
    body = ",".join(str(b) for b in data)
    return "static const unsigned char %s[%d] = {%s};\n" % (name, len(data), body)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    os.chdir(REPO)
    model = spm_model()
    n_pieces = spm.SentencePieceProcessor(model_proto=model).get_piece_size()
    V = n_pieces + 2  # fairseq layout: <s> <pad> </s> <unk>, pieces, <mask>
    cfgs = {"a": config(V, 32, 2, 1, 32, 10), "b": config(V, 8, 2, 1, 16, 6)}
    rng = np.random.default_rng(1234)
    files = {}
    for k, cfg in cfgs.items():
        t = tensors(cfg, rng)
        for dt in ("F32", "F16", "BF16"):
            files["%s_%s" % (k, dt.lower())] = safetensors(t, dt)

    with open(os.path.join(ROOT, "tiny_models.h"), "w") as f:
        f.write("/* tiny_models.h — generated by tests/fuzz/make_weight_seeds.py: configs and tokenizer of the tiny\n"
                " * seed models, which the loader fuzzer gives with safetensors inputs. */\n")
        for k, cfg in cfgs.items():
            js = json.dumps(cfg, sort_keys=True)
            f.write("static const char tiny_config_%s[] = %s;\n" % (k, json.dumps(js)))
        f.write(c_bytes("tiny_spm_model", model))

    st_dir = os.path.join(ROOT, "corpus", "fuzz_safetensors")
    ld_dir = os.path.join(ROOT, "corpus", "fuzz_loader")
    for name, data in files.items():
        write(os.path.join(st_dir, name + ".safetensors"), data)
    # loader inputs: control byte (dtype = b % 3; bit 2 config B; bit 3 no config; bit 4 no tokenizer),
    # 4 seed bytes for the chunk sizes, then the file
    for i, name in enumerate(["a_f16", "a_f32", "b_bf16", "b_f16"]):
        ctrl = (i % 3) | (4 if name.startswith("b") else 0)
        write(os.path.join(ld_dir, name + ".bin"), bytes([ctrl]) + struct.pack("<I", 7919 * (i + 1)) + files[name])

    os.makedirs(os.path.join(ROOT, "corpus", "fuzz_gguf"), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("a_f16", "b_f16"):
            write(os.path.join(tmp, name + ".safetensors"), files[name])
        for k, cfg in cfgs.items():
            write(os.path.join(tmp, "config_%s.json" % k), json.dumps(cfg).encode())
        write(os.path.join(tmp, "spm.model"), model)
        exe = os.path.join(tmp, "make_gguf_seeds")
        srcs = [os.path.join("src", s) for s in sorted(os.listdir("src")) if s.endswith(".c")]
        subprocess.check_call(["clang-19", "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-O1", "-Isrc",
                               os.path.join(ROOT, "make_gguf_seeds.c")] + srcs + ["-o", exe, "-lm"])
        subprocess.check_call([exe, tmp, os.path.join(ROOT, "corpus")])
    print("seeds written; tokenizer pieces %d, vocab %d" % (n_pieces, V))


if __name__ == "__main__":
    sys.exit(main())
