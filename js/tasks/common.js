// What the task heads share: the head check, argument checks, the score functions, and the XLM-R fast
// tokenizer's rules the pipelines lean on (special-token mask, convert_tokens_to_string, word ids).

import { InvalidArgumentError, TooLongError, UnsupportedError, shown } from '../errors.js';

const WORD_START = '\u2581'; // SentencePiece's ▁: the piece begins a whitespace-separated word
const SPECIAL_TEXT = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'];

/** The engine's head info, or UnsupportedError naming what the model has instead. */
export function requireHead(engine, wanted, call) {
  const info = engine.headInfo();
  if (info.head !== wanted) {
    const has = info.head ? `a ${info.head} head` : 'no task head (an embedding model)';
    throw new UnsupportedError(`${call}() needs a ${wanted} model (${HEAD_CLASS[wanted]}); this model has ${has}`);
  }
  return info;
}

const HEAD_CLASS = {
  'text-classification': 'XLMRobertaForSequenceClassification',
  'token-classification': 'XLMRobertaForTokenClassification',
  'question-answering': 'XLMRobertaForQuestionAnswering',
};

export function checkString(v, what) {
  if (typeof v !== 'string') throw new InvalidArgumentError(`${what} must be a string, not ${v === null ? 'null' : typeof v}`);
  return v;
}

/** An array of strings (holes and other types named). */
export function checkStrings(list, what, { nonEmpty = true } = {}) {
  if (!Array.isArray(list)) throw new InvalidArgumentError(`${what} must be an array of strings`);
  if (nonEmpty && list.length === 0) throw new InvalidArgumentError(`${what} is empty: give at least one`);
  for (let i = 0; i < list.length; i++) {
    if (typeof list[i] !== 'string') throw new InvalidArgumentError(`${what}[${i}] is ${i in list ? shown(list[i]) : 'a hole (sparse array)'}, not a string`);
  }
  return list;
}

export function checkPositiveInt(v, what) {
  if (!Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`${what} must be a positive integer, not ${shown(v)}`);
  return v;
}

export function checkBool(v, what) {
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`${what} must be true or false, not ${shown(v)}`);
  return v;
}

/** truncation: false (refuse over-long input), true (= 'longest_first', as Hugging Face's True), or a strategy. */
export function truncationStrategy(v) {
  if (v === false || v === undefined) return null;
  if (v === true) return 'longest_first';
  if (['longest_first', 'only_first', 'only_second'].includes(v)) return v;
  throw new InvalidArgumentError(`truncation must be true, false, 'longest_first', 'only_first' or 'only_second', not ${shown(v)}`);
}

/** One pair window, truncated by strategy or refused when over maxTokens. */
export function pairIds(engine, a, b, strategy, maxTokens, what) {
  if (strategy) return engine.encodePair(a, b, { maxLen: maxTokens, strategy })[0].ids;
  const [w] = engine.encodePair(a, b, {});
  if (w.ids.length > maxTokens) {
    throw new TooLongError(`${what} is ${w.ids.length} tokens; this model takes at most ${maxTokens} (pass { truncation: true } to cut it)`);
  }
  return w.ids;
}

export function sigmoid(x) {
  return 1 / (1 + Math.exp(-x));
}

/** Softmax of a numeric array (float64). */
export function softmax(xs) {
  let m = -Infinity;
  for (const x of xs) m = Math.max(m, x);
  const e = Array.from(xs, (x) => Math.exp(x - m));
  let sum = 0;
  for (const v of e) sum += v;
  return e.map((v) => v / sum);
}

/** Index of the largest value (the first on a tie, as numpy's argmax). */
export function argmax(xs) {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/**
 * Whether token i of a single-text or pair window is special in return_special_tokens_mask's sense: the <s> </s>
 * added around the text, and the special tokens typed in it; an <unk> the model produced is not.
 */
export function isSpecial(engine, id, text, start, end) {
  const cfg = engine.config;
  if (id === cfg.bosTokenId || id === cfg.eosTokenId || id === cfg.padTokenId || id === cfg.maskTokenId) return true;
  return id === cfg.unkTokenId && end > start && SPECIAL_TEXT.includes(text.slice(start, end));
}

/** The Metaspace decoder (XLM-R fast tokenizer's convert_tokens_to_string): ▁ dropped in the first token, a space elsewhere. */
export function tokensToString(tokens) {
  return tokens.map((t, i) => t.replaceAll(WORD_START, i === 0 ? '' : ' ')).join('');
}

/** Word ids of the fast tokenizer: a new word at each piece starting with ▁ and at each typed special; null for added specials. */
export function wordIds(pieces, seq, special) {
  const out = [];
  let w = -1, lastSeq = null;
  for (let i = 0; i < pieces.length; i++) {
    if (seq[i] < 0) { out.push(null); continue; }
    if (seq[i] !== lastSeq) { w = -1; lastSeq = seq[i]; }
    if (w < 0 || pieces[i].startsWith(WORD_START) || special[i]) w++;
    out.push(w);
  }
  return out;
}
