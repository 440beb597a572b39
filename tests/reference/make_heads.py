#!/usr/bin/python3
"""Writes tests/fixtures/heads/<name>/{config.json, head.safetensors, golden.json}: tiny random task heads on top of
the fixture encoder (tests/fixtures/model.safetensors, H = 64) and what Hugging Face's pipelines output for them.

- head.safetensors holds only the head's tensors (Hugging Face names); a test assembles the full model folder
  (the fixture's roberta.* tensors + these) at run time. config.json is the fixture's with the head's
  architectures, id2label / label2id and problem_type.
- The encoder is xlmr_reference.Encoder (PyTorch, float32), checked here against model_cases.jsonl's
  last_hidden_state before anything is written; the heads are XLMRobertaClassificationHead (dense, tanh,
  out_proj on <s>), the token classifier's and QA's Linear on every row; bert-sentiment is a
  BertForSequenceClassification (config model_type bert; the test folders carry the encoder under "bert." names with
  the position table's first pad_token_id + 1 rows dropped) with BertPooler + classifier.
- Tokens, offsets, pairs and windows: xlmr_reference.Tokenizer (python3-sentencepiece, the fast tokenizer's rules).
- Outputs: pipelines.py, the pipelines' post-processing ported from transformers' source.

Usage (from the repository root, with Debian's python3-torch, python3-numpy, python3-sentencepiece):
    /usr/bin/python3 tests/reference/make_heads.py [NAME ...]      (only these fixtures; all by default)
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import pipelines as P  # noqa: E402
from xlmr_reference import FIXTURES, Encoder, Tokenizer, head_logits, utf16, word_ids, write_safetensors  # noqa: E402

OUT = f'{FIXTURES}/heads'
MAX_TOKENS = 512

MODELS = {
    'sentiment': {'kind': 'sequence', 'labels': ['negative', 'neutral', 'positive'], 'seed': 11},
    'topics': {'kind': 'sequence', 'labels': ['sports', 'politics', 'science', 'art'], 'seed': 12,
               'problem_type': 'multi_label_classification'},
    'stars': {'kind': 'sequence', 'labels': None, 'n': 1, 'seed': 13, 'problem_type': 'regression'},
    'reranker': {'kind': 'sequence', 'labels': ['LABEL_0'], 'seed': 14},
    'nli': {'kind': 'sequence', 'labels': ['contradiction', 'neutral', 'entailment'], 'seed': 15},
    'ner': {'kind': 'token', 'labels': ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG'], 'seed': 16},
    'qa': {'kind': 'qa', 'labels': None, 'n': 2, 'seed': 17},
    'bert-sentiment': {'kind': 'bert_sequence', 'labels': ['negative', 'positive'], 'seed': 18},
}
ARCH = {'sequence': 'XLMRobertaForSequenceClassification', 'token': 'XLMRobertaForTokenClassification',
        'qa': 'XLMRobertaForQuestionAnswering', 'bert_sequence': 'BertForSequenceClassification'}

TEXTS = {
    'en': 'The capital of France is Paris.',
    'en2': 'all required WAL segments have been archived',
    'de': '%s: Objekt konnte nicht geparst werden: %s',
    'fr': "afficher le plan d'exécution d'une instruction",
    'ar': 'لا يمكن عمل قراءة خام في g_io_channel_read_line_string',
    'ko': '-v, --inverse             조건의 반대 결과를 보여줍니다',
    'ja': '-h --help                    このヘルプメッセージを表示する',
    'ru': 'Москва — столица России, а Нева течёт через Санкт-Петербург.',
}


def check_encoder(enc):
    """The reference encoder against the fixture's PyTorch goldens (valid positions of every case)."""
    worst = 0.0
    for line in open(f'{FIXTURES}/model_cases.jsonl', encoding='utf-8'):
        c = json.loads(line)
        for b in range(c['batch']):
            n = sum(c['attention_mask'][b])
            got = enc.hidden(c['input_ids'][b][:n]).numpy()
            worst = max(worst, float(np.abs(got - np.array(c['last_hidden_state'][b][:n], dtype=np.float32)).max()))
    assert worst < 1e-4, f'reference encoder differs from model_cases.jsonl by {worst}'
    return worst


def make_head(name, spec, H):
    g = torch.Generator().manual_seed(spec['seed'])
    n = len(spec['labels']) if spec['labels'] else spec['n']
    rnd = lambda *shape, std: (torch.randn(*shape, generator=g) * std).numpy()
    if spec['kind'] == 'sequence':
        return {'classifier.dense.weight': rnd(H, H, std=0.2), 'classifier.dense.bias': rnd(H, std=0.1),
                'classifier.out_proj.weight': rnd(n, H, std=0.3), 'classifier.out_proj.bias': rnd(n, std=0.1)}
    if spec['kind'] == 'bert_sequence':  # BertPooler (under the model's "bert." prefix) and the classifier
        return {'bert.pooler.dense.weight': rnd(H, H, std=0.2), 'bert.pooler.dense.bias': rnd(H, std=0.1),
                'classifier.weight': rnd(n, H, std=0.3), 'classifier.bias': rnd(n, std=0.1)}
    prefix = 'classifier' if spec['kind'] == 'token' else 'qa_outputs'
    return {prefix + '.weight': rnd(n, H, std=0.3), prefix + '.bias': rnd(n, std=0.1)}


def write_model(name, spec, head, base_cfg):
    os.makedirs(f'{OUT}/{name}', exist_ok=True)
    cfg = dict(base_cfg)
    cfg['architectures'] = [ARCH[spec['kind']]]
    if spec['labels']:
        cfg['id2label'] = {str(i): l for i, l in enumerate(spec['labels'])}
        cfg['label2id'] = {l: i for i, l in enumerate(spec['labels'])}
    if spec.get('problem_type'):
        cfg['problem_type'] = spec['problem_type']
    if spec['kind'] == 'bert_sequence':  # a BertModel: positions from 0, the table without XLM-R's pad_id + 1 rows
        cfg['model_type'] = 'bert'
        cfg['max_position_embeddings'] = base_cfg['max_position_embeddings'] - base_cfg['pad_token_id'] - 1
    with open(f'{OUT}/{name}/config.json', 'w') as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write('\n')
    write_safetensors(f'{OUT}/{name}/head.safetensors', head)


def u16_spans(text, value):
    """The pipeline's code-point start / end (and a window's offsets) as UTF-16 indexes, in place."""
    items = value if isinstance(value, list) else [value]
    for e in items:
        if isinstance(e, dict) and 'start' in e:
            e['start'], e['end'] = utf16(text, e['start']), utf16(text, e['end'])
    return value


def u16_offsets(text_of_seq, window):
    return [[utf16(text_of_seq(q), a), utf16(text_of_seq(q), b)] if q is not None else [a, b]
            for (a, b), q in zip(window['offsets'], window['seq'])]


def f32(a):
    return [float(np.float32(x)) for x in np.asarray(a).ravel()]


class Builder:
    def __init__(self, enc, tok):
        self.enc, self.tok = enc, tok

    def logits(self, kind, head, window):
        return head_logits(kind, head, self.enc.hidden(window['ids']))

    def classify_cases(self, name, spec, head):
        labels = spec['labels'] or [f'LABEL_{i}' for i in range(spec['n'])]
        pt = spec.get('problem_type')
        cases = []
        for key in ('en', 'de', 'ar', 'ko', 'ru'):
            w = self.tok.single(TEXTS[key])
            lg = self.logits(spec['kind'], head, w)
            cases.append({'name': f'{key}_default', 'op': 'classify', 'input': TEXTS[key], 'options': {}, 'ids': [w['ids']],
                          'logits': [f32(lg)], 'expected': [P.classify_one(lg, labels, pt)]})
            cases.append({'name': f'{key}_all', 'op': 'classify', 'input': TEXTS[key], 'options': {'topK': None}, 'ids': [w['ids']],
                          'logits': [f32(lg)], 'expected': P.classify_one(lg, labels, pt, top_k=None, legacy=False)})
            for fn in ('none', 'sigmoid', 'softmax'):
                cases.append({'name': f'{key}_{fn}_top2', 'op': 'classify', 'input': TEXTS[key],
                              'options': {'topK': 2, 'functionToApply': fn}, 'ids': [w['ids']], 'logits': [f32(lg)],
                              'expected': P.classify_one(lg, labels, pt, function_to_apply=fn, top_k=2, legacy=False)})
        batch = [TEXTS['fr'], TEXTS['ja'], TEXTS['en2']]
        ws = [self.tok.single(t) for t in batch]
        lgs = [self.logits(spec['kind'], head, w) for w in ws]
        cases.append({'name': 'batch_default', 'op': 'classify', 'input': batch, 'options': {}, 'ids': [w['ids'] for w in ws],
                      'logits': [f32(l) for l in lgs], 'expected': [P.classify_one(l, labels, pt) for l in lgs]})
        cases.append({'name': 'batch_top1', 'op': 'classify', 'input': batch, 'options': {'topK': 1}, 'ids': [w['ids'] for w in ws],
                      'logits': [f32(l) for l in lgs], 'expected': [P.classify_one(l, labels, pt, top_k=1, legacy=False) for l in lgs]})
        w = self.tok.pair_windows(TEXTS['en'], TEXTS['fr'], MAX_TOKENS, 'longest_first')[0]
        lg = self.logits(spec['kind'], head, w)
        cases.append({'name': 'pair_default', 'op': 'classify', 'input': {'text': TEXTS['en'], 'textPair': TEXTS['fr']}, 'options': {},
                      'ids': [w['ids']], 'logits': [f32(lg)], 'expected': P.classify_one(lg, labels, pt)})
        return cases

    def rerank_cases(self, head):
        cases = []
        for qkey, query, dkeys in (('en', 'Which city is the capital of France?', ['en', 'en2', 'de', 'fr', 'ru', 'ko']),
                                   ('ru', 'Какая река течёт через Санкт-Петербург?', ['ru', 'ar', 'ja', 'en']),
                                   ('de', 'Warum schlägt das Parsen fehl?', ['de', 'fr', 'en2', 'ko', 'ja']),
                                   ('fr', "Comment afficher le plan d'exécution ?", ['fr', 'en', 'ar', 'ru']),
                                   ('ja', 'ヘルプを表示するには?', ['ja', 'ko', 'en2', 'de', 'ar'])):
            docs = [TEXTS[k] for k in dkeys]
            ws = [self.tok.pair_windows(query, d, MAX_TOKENS, 'longest_first')[0] for d in docs]
            lgs = [float(self.logits('sequence', head, w)[0]) for w in ws]
            for opts in ({}, {'topK': 3, 'returnDocuments': True}, {'rawScores': True}):
                s = [lg if opts.get('rawScores') else float(P.sigmoid(np.float32(lg))) for lg in lgs]
                order = sorted(range(len(docs)), key=lambda i: -s[i])[:opts.get('topK', len(docs))]
                exp = [dict({'index': i, 'score': s[i]}, **({'document': docs[i]} if opts.get('returnDocuments') else {})) for i in order]
                cases.append({'name': f'{qkey}_{len(cases)}', 'op': 'rerank', 'input': {'query': query, 'documents': docs},
                              'options': opts, 'ids': [w['ids'] for w in ws], 'logits': [[lg] for lg in lgs], 'expected': exp})
        return cases

    def zero_shot_cases(self, head, labels):
        cases = []
        for key, cands, opts in (('en', ['geography', 'cooking', 'sports', 'politics'], {}),
                                 ('en', ['geography', 'cooking', 'sports', 'politics'], {'multiLabel': True}),
                                 ('de', ['Fehler', 'Erfolg', 'Warnung'], {'hypothesisTemplate': 'Dieser Text handelt von {}.'}),
                                 ('ru', ['география'], {}),
                                 ('ja', ['help', 'error', 'travel'], {'multiLabel': False}),
                                 ('fr', ['informatique', 'cuisine', 'voyage'], {}),
                                 ('ar', ['تقنية', 'رياضة'], {'multiLabel': True}),
                                 ('ko', ['error', 'help', 'weather', 'music', 'food'], {}),
                                 ('en2', ['databases', 'gardening'], {'hypothesisTemplate': 'The topic is {}'}),
                                 ('ru', ['география', 'история', 'спорт'], {'multiLabel': True})):
            template = opts.get('hypothesisTemplate', 'This example is {}.')
            ws = [self.tok.pair_windows(TEXTS[key], template.format(c), MAX_TOKENS, 'only_first')[0] for c in cands]
            lgs = np.stack([self.logits('sequence', head, w) for w in ws])
            cases.append({'name': f'{key}_{len(cases)}', 'op': 'zeroShot', 'input': {'text': TEXTS[key], 'candidateLabels': cands},
                          'options': opts, 'ids': [w['ids'] for w in ws], 'logits': [f32(l) for l in lgs],
                          'expected': P.zero_shot(lgs, TEXTS[key], cands, labels, opts.get('multiLabel', False))})
        return cases

    def ner_cases(self, head, labels, long_text):
        cases = []
        for key in ('en', 'ru', 'fr', 'ar', 'ja', 'de'):
            w = self.tok.single(TEXTS[key])
            lg = self.logits('token', head, w)
            for strategy in ('none', 'simple', 'first', 'average', 'max'):
                opts = {} if strategy == 'none' else {'aggregationStrategy': strategy}
                cases.append({'name': f'{key}_{strategy}', 'op': 'tokenClassify', 'input': TEXTS[key], 'options': opts,
                              'ids': [w['ids']], 'offsets': [u16_offsets(lambda q: TEXTS[key], w)], 'logits': [f32(lg)],
                              'expected': u16_spans(TEXTS[key], P.token_classify(TEXTS[key], [w], [lg], labels, strategy))})
        w = self.tok.single(TEXTS['en'])
        lg = self.logits('token', head, w)
        cases.append({'name': 'en_ignore_none', 'op': 'tokenClassify', 'input': TEXTS['en'],
                      'options': {'aggregationStrategy': 'simple', 'ignoreLabels': []}, 'ids': [w['ids']], 'logits': [f32(lg)],
                      'expected': u16_spans(TEXTS['en'], P.token_classify(TEXTS['en'], [w], [lg], labels, 'simple', ignore_labels=[]))})
        # long: truncated to 512 without a stride, windowed with one (logits not stored: too many)
        w = self.tok.single(long_text)
        lg = self.logits('token', head, w)
        cases.append({'name': 'long_truncated', 'op': 'tokenClassify', 'input': long_text, 'options': {'aggregationStrategy': 'first'},
                      'expected': u16_spans(long_text, P.token_classify(long_text, [w], [lg], labels, 'first'))})
        for stride, strategy in ((128, 'simple'), (64, 'average')):
            ws = self.tok.single_windows(long_text, MAX_TOKENS, stride)
            lgs = [self.logits('token', head, x) for x in ws]
            cases.append({'name': f'long_stride{stride}', 'op': 'tokenClassify', 'input': long_text,
                          'options': {'aggregationStrategy': strategy, 'stride': stride}, 'windows': len(ws),
                          'expected': u16_spans(long_text, P.token_classify(long_text, ws, lgs, labels, strategy))})
        return cases

    def qa_cases(self, head, long_text):
        items = [
            ('en', 'What is the capital of France?', 'The capital of France is Paris. Berlin is the capital of Germany, and Madrid of Spain.'),
            ('ru', 'Что течёт через Санкт-Петербург?', TEXTS['ru'] + ' Волга — самая длинная река Европы.'),
            ('fr', "Qu'affiche la commande ?", "La commande explain permet d'afficher le plan d'exécution d'une instruction SQL."),
            ('de', 'Was konnte nicht geparst werden?', 'Fehler: Objekt konnte nicht geparst werden, die Datei ist beschädigt.'),
        ]
        variants = [{}, {'topK': 3}, {'alignToWords': False, 'topK': 2}, {'handleImpossibleAnswer': True}, {'maxAnswerLen': 3, 'topK': 2}]
        cases = []
        for key, q, ctx in items:
            for opts in variants:
                cases.append(self.qa_case(head, f'{key}_{len(cases)}', q, ctx, opts, store_logits=not opts))
        cases.append(self.qa_case(head, 'en_windows', items[0][1], items[0][2], {'maxSeqLen': 24, 'docStride': 6, 'topK': 2},
                                  store_logits=True))
        cases.append(self.qa_case(head, 'long_default', 'What is archived?', long_text, {}, store_logits=False))
        return cases

    def qa_case(self, head, name, q, ctx, opts, store_logits):
        max_seq = opts.get('maxSeqLen', min(MAX_TOKENS, 384))
        stride = opts.get('docStride', min(max_seq // 2, 128))
        ws = self.tok.pair_windows(q, ctx, max_seq, 'only_second', stride)
        lgs = [self.logits('qa', head, w) for w in ws]
        exp = P.answer(ctx, ws, [word_ids(w) for w in ws], lgs, top_k=opts.get('topK', 1),
                       handle_impossible_answer=opts.get('handleImpossibleAnswer', False), max_answer_len=opts.get('maxAnswerLen', 15),
                       align_to_words=opts.get('alignToWords', True))
        c = {'name': name, 'op': 'answer', 'input': {'question': q, 'context': ctx}, 'options': opts, 'windows': len(ws),
             'expected': u16_spans(ctx, exp)}
        if store_logits:
            c.update({'ids': [w['ids'] for w in ws], 'offsets': [u16_offsets(lambda s: ctx if s else q, w) for w in ws],
                      'logits': [f32(l) for l in lgs]})
        return c


def long_text(tok):
    """The fixture's multilingual paragraph cut at the last space before 600 tokens (two windows of 512)."""
    for line in open(f'{FIXTURES}/tokenizer_cases.jsonl', encoding='utf-8'):
        c = json.loads(line)
        if c['name'] == 'paragraph_5000_chars':
            text = c['text']
            while len(tok.encode(text)) > 600:
                text = text[:text.rindex(' ')]
            return text
    raise SystemExit('no paragraph_5000_chars tokenizer case')


def main():
    enc, tok = Encoder(), Tokenizer()
    worst = check_encoder(enc)
    for key, text in TEXTS.items():  # the reference tokenizer against the fixture's where they overlap
        for line in open(f'{FIXTURES}/tokenizer_cases.jsonl', encoding='utf-8'):
            c = json.loads(line)
            if c['text'] == text:
                assert tok.single(text, 10 ** 6)['ids'] == c['ids'], key
    text_long = long_text(tok)
    base_cfg = json.load(open(f'{FIXTURES}/config.json'))
    b = Builder(enc, tok)
    only = sys.argv[1:]  # names to write; all by default
    for name, spec in MODELS.items():
        if only and name not in only:
            continue
        head = make_head(name, spec, base_cfg['hidden_size'])
        write_model(name, spec, head, base_cfg)
        labels = spec['labels'] or [f'LABEL_{i}' for i in range(spec['n'])]
        if name == 'reranker':
            cases = b.rerank_cases(head) + b.classify_cases(name, spec, head)[:3]
        elif name == 'nli':
            cases = b.zero_shot_cases(head, labels) + b.classify_cases(name, spec, head)[:2]
        elif spec['kind'] in ('sequence', 'bert_sequence'):
            cases = b.classify_cases(name, spec, head)
        elif spec['kind'] == 'token':
            cases = b.ner_cases(head, labels, text_long)
        else:
            cases = b.qa_cases(head, text_long)
        about = (f'Generated by tests/reference/make_heads.py: {ARCH[spec["kind"]]} with random head weights (torch seed '
                 f'{spec["seed"]}) on the fixture encoder; logits from its own PyTorch {torch.__version__} float32 forward pass '
                 f'(max |diff| to model_cases.jsonl last_hidden_state {worst:.2e}); tokens and offsets from python3-sentencepiece '
                 'with the fast tokenizer\'s rules; outputs from the pipelines\' post-processing ported from transformers\' source '
                 '(tests/reference/pipelines.py). Options use this package\'s names (topK = top_k, functionToApply = '
                 'function_to_apply, aggregationStrategy = aggregation_strategy, maxSeqLen = max_seq_len, docStride = doc_stride, '
                 'maxAnswerLen = max_answer_len, handleImpossibleAnswer, alignToWords; rerank: sigmoid of the single logit).')
        if spec['kind'] == 'bert_sequence':
            about += (' The model is a BertModel: the fixture encoder under "bert." names with its position table less '
                      'XLM-R\'s pad_token_id + 1 leading rows (position ids from 0), which gives the same hidden states row '
                      'for row; the head is BertPooler (dense, tanh on the first row) then the classifier.')
        with open(f'{OUT}/{name}/golden.json', 'w', encoding='utf-8') as f:
            json.dump({'about': about, 'labels': labels, 'problemType': spec.get('problem_type'), 'cases': cases}, f,
                      ensure_ascii=False, separators=(',', ':'))
            f.write('\n')
        print(f'{name}: {len(cases)} cases')
    print(f'encoder max |diff| {worst:.2e}')


if __name__ == '__main__':
    main()
