#!/usr/bin/env python3
"""Writes the small seed inputs of the tokenizer fuzzers (and of test_spm_model's malformed-file tests).

    python3 tests/fuzz/make_seeds.py

Standard library only: the SentencePiece ModelProto and the darts-clone double array of the
precompiled charsmap are written by hand, so the seeds stay small (a few KB) and cover user-defined,
unused and byte pieces, charsmap rules (replacement, deletion, expansion) and every normalizer flag.
"""
import os
import struct

ROOT = os.path.dirname(os.path.abspath(__file__))


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, wire, payload):
    key = varint(num << 3 | wire)
    if wire == 0:
        return key + varint(payload)
    if wire == 5:
        return key + struct.pack('<f', payload)
    return key + varint(len(payload)) + payload


def piece(s, score, type_=1):
    body = field(1, 2, s.encode()) + field(2, 5, score)
    if type_ != 1:
        body += field(3, 0, type_)
    return field(1, 2, body)


def darts(rules):
    """darts-clone DoubleArray units for {key bytes: value}. Each node's children get a fresh
    256-unit block at base b (child of label l at b ^ l), the unit stores offset = pos ^ b."""
    trie = {}
    for key, value in rules.items():
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node[None] = value
    units = [0] * 256
    next_block = [256]

    def place(node, pos):
        b = next_block[0]
        next_block[0] += 256
        units.extend([0] * 256)
        offset = pos ^ b
        assert offset < (1 << 21)
        has_leaf = None in node
        units[pos] |= offset << 10
        if has_leaf:
            units[b] = (1 << 31) | node[None]
        for ch, child in sorted((k, v) for k, v in node.items() if k is not None):
            cpos = b ^ ch
            units[cpos] = ch | ((1 << 8) if None in child else 0)
            if any(k is not None for k in child) or None in child:
                place(child, cpos)

    place(trie, 0)
    return b''.join(struct.pack('<I', u) for u in units)


def charsmap(mapping):
    normalized = bytearray()
    rules = {}
    for src, dst in mapping.items():
        rules[src.encode()] = len(normalized)
        normalized += dst.encode() + b'\0'
    trie = darts(rules)
    return struct.pack('<I', len(trie)) + trie + bytes(normalized)


def model(pieces, cmap=None, dummy=True, extra_ws=True, escape=True, byte_fallback=False, model_type=1):
    out = b''.join(piece(*p) for p in pieces)
    trainer = field(3, 0, model_type) + field(40, 0, 0)
    if byte_fallback:
        trainer += field(35, 0, 1)
    out += field(2, 2, trainer)
    norm = field(1, 2, b'test')
    if cmap is not None:
        norm += field(2, 2, cmap)
    norm += field(3, 0, int(dummy)) + field(4, 0, int(extra_ws)) + field(5, 0, int(escape))
    out += field(3, 2, norm)
    return out


BASE = [('<unk>', 0.0, 2), ('<s>', 0.0, 3), ('</s>', 0.0, 3)]
WORDS = ['\u2581', 'a', 'b', 'c', 'd', 'e', 'h', 'l', 'o', 'w', 'r', 'ab', '\u2581a', '\u2581ab', '\u2581hello', 'hel', 'lo',
         '\u2581wor', 'ld', 'f', 'i', 'fi', '\u2581fi', 'x', '\u00e9', 'e\u0301', '<', '>', 'm', 's', 'k', '.', ',', '!']
NORMAL = [(w, -1.0 - 0.25 * i) for i, w in enumerate(WORDS)]
CMAP = charsmap({
    '\u00a0': ' ',          # no-break space -> space
    '\u3000': ' ',
    '\u2581': ' ',
    '\ufb01': 'fi',         # ligature expands
    '\x01': '',             # control deleted
    '\x7f': '',
    '\t': ' ',
    '\n': ' ',
    'A': 'a',
    'AB': 'x',              # longer rule wins
    '\u2460': '1',
    'e\u0301': '\u00e9',    # composition
})


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def main():
    d = os.path.join(ROOT, 'corpus', 'fuzz_spm_model')
    write(os.path.join(d, 'small.model'),
          model(BASE + NORMAL + [('USR', 0.0, 4), ('unused', -2.0, 5)], CMAP))
    write(os.path.join(d, 'flags_off.model'),
          model(BASE + NORMAL, CMAP, dummy=False, extra_ws=False, escape=False))
    byte_pieces = [('<0x%02X>' % i, 0.0, 6) for i in range(256)]
    write(os.path.join(d, 'byte_fallback.model'),
          model(BASE + byte_pieces + NORMAL[:12], None, byte_fallback=True))
    write(os.path.join(d, 'bpe.model'), model(BASE + NORMAL[:4], None, model_type=2))

    d = os.path.join(ROOT, 'corpus', 'fuzz_tok_encode')
    texts = [
        'Paris is the <mask> of France.',
        '<s> hello </s>\t <pad> x <unk>\u3000y<mask><mask>',
        'Hello   world\t\ttab\n\nnew  line\r\nend',
        '\ufb01nancial \uff28\uff45\uff4c\uff4c\uff4f \u2460 \u33ff caf\u0065\u0301',
        '\u2581\u2581hello\u2581world \u2581 \u00a0 \u200b\u200d\ufeff',
        '\u6771\u4eac\u90fd\u306f\u65e5\u672c \u0627\u0644\u0633\u0639\u0631 \u0e20\u0e32\u0e29\u0e32 \U0001F468\u200d\U0001F469',
    ]
    for i, t in enumerate(texts):
        write(os.path.join(d, 'text%d.txt' % i), t.encode())
    write(os.path.join(d, 'invalid_utf8.bin'), b'ab\xff\xfe c\xe2\x96 \xc3\x28 \xf0\x9f\x98 \xed\xa0\x80 <mas\xffk> <mask')


if __name__ == '__main__':
    main()
