#!/usr/bin/python3
"""Writes tokenizer.json files converted from tests/fixtures/sentencepiece.bpe.model, in the layouts published
XLM-R-family repositories carry, field by field as the `tokenizers` library serializes them (serde: components
tagged by "type"; tokenizers/src/{normalizers,pre_tokenizers,processors,models/unigram}) and as transformers'
XLMRobertaConverter (convert_slow_tokenizer.py) fills them:

  hub.json   the hub's xlm-roberta-base file: normalizer Sequence[Precompiled, Replace(Regex " {2,}" -> " ")],
             pre_tokenizer Sequence[WhitespaceSplit, Metaspace(prepend_scheme "always", split true)],
             post_processor TemplateProcessing <s> $A </s> / <s> $A </s> </s> $B </s> (type ids 0). Pretty-printed
             as Tokenizer.save writes it.
  v4.json    transformers 4.x's older converter: normalizer Precompiled alone, Metaspace(replacement "▁",
             add_prefix_space true, with the older "str_rep"), RobertaProcessing. Compact.
  bert.json  a BERT-style post-processor over the XLM-R vocabulary (paraphrase-multilingual-MiniLM-L12-v2's shape):
             TemplateProcessing <s> $A </s> $B:1 </s>:1, with the newer converter's normalizer
             Sequence[Precompiled, Strip(right), Replace(Regex " {2,}" -> "▁")] and Metaspace(prepend_scheme
             "always", split true) alone.

Vocabulary (XLMRobertaConverter.vocab): <s> <pad> </s> <unk> at 0..3 with score 0.0, the .model's pieces 3.. with
their scores, <mask> last; unk_id 3. added_tokens: the five specials (<mask> with lstrip true, as the hub file).

Usage: /usr/bin/python3 tests/tokdiff/make_tokenizer_json.py OUTDIR [--model FILE.model]   (from the repository root;
--model converts another .model, e.g. bench/synth-tokenizer.mjs's 250k-piece one, to measure memory)
"""
import base64
import json
import os
import sys

from sentencepiece import sentencepiece_model_pb2 as pb

MODEL = 'tests/fixtures/sentencepiece.bpe.model'
META = '\u2581'


def load_proto(path):
    m = pb.ModelProto()
    with open(path, 'rb') as f:
        m.ParseFromString(f.read())
    assert m.trainer_spec.model_type == 1, 'Unigram'
    return m


def vocab(proto):
    v = [['<s>', 0.0], ['<pad>', 0.0], ['</s>', 0.0], ['<unk>', 0.0]]
    v += [[p.piece, p.score] for p in proto.pieces[3:]]
    v += [['<mask>', 0.0]]
    return v


def added_token(i, content, lstrip=False, normalized=False):
    # AddedToken's serde fields in tokenizers' order (added_vocabulary.rs: AddedTokenWithId flattens AddedToken)
    return {'id': i, 'content': content, 'single_word': False, 'lstrip': lstrip, 'rstrip': False,
            'normalized': normalized, 'special': True}


def added_tokens(proto, n):
    # the converter's spm_added_tokens: the .model's user-defined pieces (type 4) as non-special added tokens, at
    # their fairseq ids (piece i -> i + 1)
    user = [dict(added_token(i + 1, p.piece), special=False) for i, p in enumerate(proto.pieces) if i >= 3 and p.type == 4]
    return [added_token(0, '<s>'), added_token(1, '<pad>'), added_token(2, '</s>'), added_token(3, '<unk>')] + user + [
        added_token(n - 1, '<mask>', lstrip=True, normalized=True)]


def precompiled(proto):
    return {'type': 'Precompiled',
            'precompiled_charsmap': base64.b64encode(proto.normalizer_spec.precompiled_charsmap).decode('ascii')}


def metaspace_new():
    return {'type': 'Metaspace', 'replacement': META, 'prepend_scheme': 'always', 'split': True}


def piece(kind, name, type_id):
    return {kind: {'id': name, 'type_id': type_id}}


def template(bert_style):
    """RoBERTa's pair <s> $A </s> </s> $B </s> (type ids 0), or BERT's [CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1."""
    single = [piece('SpecialToken', '<s>', 0), piece('Sequence', 'A', 0), piece('SpecialToken', '</s>', 0)]
    pair = [piece('SpecialToken', '<s>', 0), piece('Sequence', 'A', 0), piece('SpecialToken', '</s>', 0)]
    if bert_style:
        pair += [piece('Sequence', 'B', 1), piece('SpecialToken', '</s>', 1)]
    else:
        pair += [piece('SpecialToken', '</s>', 0), piece('Sequence', 'B', 0), piece('SpecialToken', '</s>', 0)]
    return {'type': 'TemplateProcessing', 'single': single, 'pair': pair,
            'special_tokens': {'</s>': {'id': '</s>', 'ids': [2], 'tokens': ['</s>']},
                               '<s>': {'id': '<s>', 'ids': [0], 'tokens': ['<s>']}}}


def tokenizer(proto, normalizer, pre_tokenizer, post_processor, decoder):
    v = vocab(proto)
    return {'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': added_tokens(proto, len(v)),
            'normalizer': normalizer, 'pre_tokenizer': pre_tokenizer, 'post_processor': post_processor,
            'decoder': decoder, 'model': {'type': 'Unigram', 'unk_id': 3, 'vocab': v,
                      'byte_fallback': proto.trainer_spec.byte_fallback}}


def layouts(proto):
    space_runs = {'type': 'Replace', 'pattern': {'Regex': ' {2,}'}, 'content': ' '}
    hub = tokenizer(proto, {'type': 'Sequence', 'normalizers': [precompiled(proto), space_runs]},
                    {'type': 'Sequence', 'pretokenizers': [{'type': 'WhitespaceSplit'}, metaspace_new()]},
                    template(False), metaspace_new())
    old_meta = {'type': 'Metaspace', 'replacement': META, 'str_rep': META, 'add_prefix_space': True}
    v4 = tokenizer(proto, precompiled(proto), old_meta,
                   {'type': 'RobertaProcessing', 'sep': ['</s>', 2], 'cls': ['<s>', 0], 'trim_offsets': True,
                    'add_prefix_space': True}, old_meta)
    newer = [precompiled(proto), {'type': 'Strip', 'strip_left': False, 'strip_right': True},
             {'type': 'Replace', 'pattern': {'Regex': ' {2,}'}, 'content': META}]
    bert = tokenizer(proto, {'type': 'Sequence', 'normalizers': newer}, metaspace_new(), template(True),
                     metaspace_new())
    return {'hub.json': (hub, 2), 'v4.json': (v4, None), 'bert.json': (bert, None)}


def main():
    args = sys.argv[1:]
    model = MODEL
    if '--model' in args:
        k = args.index('--model')
        model = args[k + 1]
        del args[k:k + 2]
    out = args[0] if args else 'build/tokenizer-json'
    os.makedirs(out, exist_ok=True)
    proto = load_proto(model)
    for name, (doc, indent) in layouts(proto).items():
        seps = (',', ': ') if indent else (',', ':')
        text = json.dumps(doc, ensure_ascii=False, indent=indent, separators=seps)
        tmp = os.path.join(out, name + '.tmp')
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)
        os.replace(tmp, os.path.join(out, name))


if __name__ == '__main__':
    main()
