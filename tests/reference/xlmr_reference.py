"""An independent XLM-R reference for the task-head goldens: the fixture tokenizer (python3-sentencepiece with
the fairseq id layout and Hugging Face's fast-tokenizer offsets), pairs and windows as Hugging Face lays them out,
a PyTorch forward pass of the fixture encoder (tests/fixtures/MANIFEST.md's five steps), and the three heads of
XLMRobertaForSequenceClassification / ForTokenClassification / ForQuestionAnswering. Nothing here reads our C or JS.
"""
import json
import struct

import numpy as np
import sentencepiece as spm
import torch

FIXTURES = 'tests/fixtures'
SPECIALS = ['<s>', '<pad>', '</s>', '<unk>', '<mask>']
BOS, PAD, EOS, UNK = 0, 1, 2, 3


# ---- safetensors (F32 and I64 only: what the fixture and the heads hold) ----

def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == '__metadata__':
            continue
        a, b = t['data_offsets']
        dtype = {'F32': np.float32, 'I64': np.int64}[t['dtype']]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype=dtype).reshape(t['shape'])
    return out


def write_safetensors(path, tensors):
    """Float32 tensors by name, in name order, header padded with spaces to a multiple of 8 (as the format asks)."""
    header, blobs, at = {}, [], 0
    for name in sorted(tensors):
        b = np.ascontiguousarray(tensors[name], dtype='<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(tensors[name].shape), 'data_offsets': [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    header['__metadata__'] = {'format': 'pt'}
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


# ---- tokenizer ----

class Tokenizer:
    """XLMRobertaTokenizerFast's ids, tokens and offsets on the fixture SentencePiece model (MANIFEST.md's layout):
    literal specials cut out first (whitespace stripped next to them, only on the left of <mask>), each chunk
    encoded alone; offsets in UTF-16 code units, a span without the whitespace its ▁ stands for, a lone ▁ taking
    the next piece's first character (the hub tokenizer.json's WhitespaceSplit + Metaspace)."""

    def __init__(self):
        self.sp = spm.SentencePieceProcessor(model_file=f'{FIXTURES}/sentencepiece.bpe.model')
        self.vocab = self.sp.get_piece_size() + 2
        self.mask = self.vocab - 1

    def token(self, i):
        if i < 4:
            return ['<s>', '<pad>', '</s>', '<unk>'][i]
        if i == self.mask:
            return '<mask>'
        return self.sp.id_to_piece(i - 1)

    def _split_specials(self, text):
        parts, chunk, i = [], 0, 0
        while i < len(text):
            k = next((s for s in SPECIALS if text.startswith(s, i)), None)
            if k is None:
                i += 1
                continue
            if i > chunk:
                parts.append([chunk, i, None])
            parts.append([i, i + len(k), k])
            i += len(k)
            chunk = i
        if chunk < len(text):
            parts.append([chunk, len(text), None])
        for p, part in enumerate(parts):
            if part[2] is None:
                continue
            if p > 0 and parts[p - 1][2] is None:
                left = parts[p - 1]
                left[1] = left[0] + len(text[left[0]:left[1]].rstrip())
            if part[2] != '<mask>' and p + 1 < len(parts) and parts[p + 1][2] is None:
                right = parts[p + 1]
                right[0] = right[1] - len(text[right[0]:right[1]].lstrip())
        return parts

    def encode(self, text):
        """The text's tokens without <s> </s>: [(id, (start, end), special)], offsets in code points of text (as
        the Python tokenizers report them; utf16() converts them to what this package reports)."""
        out = []
        for start, end, special in self._split_specials(text):
            if special is not None:
                sid = {'<s>': BOS, '<pad>': PAD, '</s>': EOS, '<unk>': UNK}.get(special, self.mask)
                out.append([sid, [start, end], True])
                continue
            if end <= start:
                continue
            chunk = text[start:end]
            toks = []
            for p in self.sp.encode(chunk, out_type='immutable_proto').pieces:
                s = chunk[p.begin:p.end]
                toks.append([p.id + 1 if p.id else UNK, [start + p.begin + len(s) - len(s.lstrip()), start + p.end], False])
            for i in range(len(toks) - 2, -1, -1):  # a lone ▁ takes the next piece's first character
                if toks[i][1][0] >= toks[i][1][1] and toks[i + 1][1][0] < toks[i + 1][1][1]:
                    n0 = toks[i + 1][1][0]
                    toks[i][1] = [n0, n0 + 1]
            out += toks
        return [(i, (a, b), sp) for i, (a, b), sp in out]

    def single(self, text, max_len=512):
        """<s> text </s> truncated to max_len (what the pipelines' tokenizer(text, truncation=True) gives)."""
        toks = self.encode(text)[:max_len - 2]
        return self._window([], toks)

    def single_windows(self, text, max_len, stride):
        """return_overflowing_tokens over one text: slices of max_len - 2 tokens every max_len - 2 - stride."""
        toks, room = self.encode(text), max_len - 2
        return [self._window([], toks[lo:hi]) for lo, hi in overflow_ranges(len(toks), room, stride)]

    def pair_windows(self, a, b, max_len, truncation, stride=None):
        """<s> A </s></s> B </s> as transformers / tokenizers lay it out. truncation: None (no limit),
        'longest_first', 'only_first', 'only_second'; stride (only_first / only_second): every overflowing window."""
        ta, tb = self.encode(a), self.encode(b)
        budget = max_len - 4
        if truncation is None or len(ta) + len(tb) <= budget:
            return [self._window(ta, tb, True)]
        if truncation == 'longest_first':
            la, lb = longest_first(len(ta), len(tb), len(ta) + len(tb) - budget)
            return [self._window(ta[:la], tb[:lb], True)]
        cut, other = (ta, tb) if truncation == 'only_first' else (tb, ta)
        if len(other) >= budget:
            raise ValueError('the other text leaves no room')
        room = budget - len(other)
        ranges = overflow_ranges(len(cut), room, -1 if stride is None else stride)
        if truncation == 'only_first':
            return [self._window(cut[lo:hi], tb, True) for lo, hi in ranges]
        return [self._window(ta, cut[lo:hi], True) for lo, hi in ranges]

    def _window(self, first, second, pair=False):
        """{'ids', 'offsets', 'seq' (0 first, 1 second, None specials), 'special'}: specials added or typed."""
        rows = [(BOS, (0, 0), None, True)]
        if pair:
            rows += [(i, o, 0, s) for i, o, s in first] + [(EOS, (0, 0), None, True)] * 2
            rows += [(i, o, 1, s) for i, o, s in second]
        else:
            rows += [(i, o, 0, s) for i, o, s in second]
        rows.append((EOS, (0, 0), None, True))
        return {'ids': [r[0] for r in rows], 'offsets': [list(r[1]) for r in rows], 'seq': [r[2] for r in rows],
                'special': [r[3] for r in rows], 'tokens': [self.token(r[0]) for r in rows]}


def utf16(text, cp):
    """A code-point index of text as a UTF-16 code-unit index (what JS strings index)."""
    return len(text[:cp].encode('utf-16-le')) // 2


def longest_first(la, lb, remove):
    """transformers' truncate_sequences, longest_first: the excess over the shorter from the longer, the rest halved."""
    first_remove = min(abs(la - lb), remove)
    second_remove = remove - first_remove
    if la > lb:
        return la - (first_remove + second_remove // 2), lb - (second_remove - second_remove // 2)
    return la - second_remove // 2, lb - (first_remove + second_remove - second_remove // 2)


def overflow_ranges(total, room, stride):
    """tokenizers' Encoding::truncate with a stride: windows of room tokens starting every room - stride."""
    if stride < 0:
        return [(0, min(room, total))]
    ranges, start = [], 0
    while True:
        stop = min(start + room, total)
        ranges.append((start, stop))
        if stop == total:
            return ranges
        start += room - stride


def word_ids(window):
    """Fast-tokenizer word ids: a new word at each piece starting with ▁ (a whitespace-separated pre-token) and at
    each special typed in the text; None for the added specials. Words restart per sequence of a pair."""
    out, w, last_seq = [], -1, None
    for tok, seq, special, off in zip(window['tokens'], window['seq'], window['special'], window['offsets']):
        if seq is None:
            out.append(None)
            continue
        if seq != last_seq:
            w, last_seq = -1, seq
        if w < 0 or tok.startswith('\u2581') or special:
            w += 1
        out.append(w)
    return out


# ---- the encoder and the heads ----

class Encoder:
    def __init__(self):
        self.cfg = json.load(open(f'{FIXTURES}/config.json'))
        self.w = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(f'{FIXTURES}/model.safetensors').items()}
        self.eps = self.cfg['layer_norm_eps']

    def _ln(self, x, p):
        return torch.nn.functional.layer_norm(x, x.shape[-1:], self.w[p + '.weight'], self.w[p + '.bias'], self.eps)

    def _lin(self, x, p):
        return x @ self.w[p + '.weight'].T + self.w[p + '.bias']

    @torch.no_grad()
    def hidden(self, ids):
        """One sequence (T) -> last_hidden_state (T, H), float32."""
        ids = torch.tensor(ids, dtype=torch.long)
        real = (ids != PAD).long()
        pos = torch.cumsum(real, 0) * real + PAD
        e = 'roberta.embeddings.'
        x = self.w[e + 'word_embeddings.weight'][ids] + self.w[e + 'position_embeddings.weight'][pos] + \
            self.w[e + 'token_type_embeddings.weight'][0]
        x = self._ln(x, e + 'LayerNorm')
        nh = self.cfg['num_attention_heads']
        T, H = x.shape
        for layer in range(self.cfg['num_hidden_layers']):
            p = f'roberta.encoder.layer.{layer}.'
            q, k, v = (self._lin(x, p + 'attention.self.' + n).view(T, nh, H // nh).transpose(0, 1) for n in ('query', 'key', 'value'))
            att = torch.softmax(q @ k.transpose(1, 2) / (H // nh) ** 0.5, -1)
            ctx = (att @ v).transpose(0, 1).reshape(T, H)
            x = self._ln(self._lin(ctx, p + 'attention.output.dense') + x, p + 'attention.output.LayerNorm')
            inter = torch.nn.functional.gelu(self._lin(x, p + 'intermediate.dense'))
            x = self._ln(self._lin(inter, p + 'output.dense') + x, p + 'output.LayerNorm')
        return x


@torch.no_grad()
def head_logits(kind, head, hidden):
    """XLMRobertaClassificationHead on the <s> row (num_labels); BertForSequenceClassification's BertPooler (dense, tanh
    on the first row) then its classifier (dropout is the identity in eval); or a Linear on every row (T, n)."""
    t = {k: torch.from_numpy(v.copy()) for k, v in head.items()}
    if kind == 'bert_sequence':
        pooled = torch.tanh(hidden[0] @ t['bert.pooler.dense.weight'].T + t['bert.pooler.dense.bias'])
        return (pooled @ t['classifier.weight'].T + t['classifier.bias']).numpy()
    if kind == 'sequence':
        x = torch.tanh(hidden[0] @ t['classifier.dense.weight'].T + t['classifier.dense.bias'])
        return (x @ t['classifier.out_proj.weight'].T + t['classifier.out_proj.bias']).numpy()
    name = 'classifier' if kind == 'token' else 'qa_outputs'
    return (hidden @ t[name + '.weight'].T + t[name + '.bias']).numpy()
