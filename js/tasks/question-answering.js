// Extractive question answering, question_answering.py's post-processing: (question, context) windows cut from
// the context with a stride, all in one batched pass; per window the start / end softmax over the context
// tokens and <s>, the best spans (top_k * 2 + 10 of them when answers are aligned to words), answers of equal
// text (case-insensitive) merged with their scores summed, and the null answer when asked for.

import { InvalidArgumentError, shown } from '../errors.js';
import { requireHead, checkString, checkPositiveInt, checkBool, isSpecial, wordIds } from './common.js';

const DEFAULT_MAX_SEQ_LEN = 384;
const MAX_DOC_STRIDE = 128;

/** Start / end probabilities of one window: softmax over the allowed tokens (context and <s>), then <s> zeroed. */
function probabilities(logits, allowed, column) {
  const T = allowed.length;
  let m = -Infinity;
  for (let t = 0; t < T; t++) if (allowed[t]) m = Math.max(m, logits[2 * t + column]);
  const p = new Float64Array(T);
  let sum = 0;
  for (let t = 0; t < T; t++) if (allowed[t]) { p[t] = Math.exp(logits[2 * t + column] - m); sum += p[t]; }
  for (let t = 0; t < T; t++) p[t] /= sum;
  return p;
}

/**
 * decode_spans: the topk spans start <= end < start + maxAnswerLen by start * end probability, both ends on
 * context tokens. Ties go to the earlier (start, end), as the flattened argmax does.
 */
function bestSpans(ps, pe, allowed, topk, maxAnswerLen) {
  const spans = [];
  const T = ps.length;
  for (let s = 1; s < T; s++) {
    if (!allowed[s]) continue;
    for (let e = s; e < Math.min(T, s + maxAnswerLen); e++) {
      if (allowed[e]) spans.push({ s, e, score: ps[s] * pe[e] });
    }
  }
  spans.sort((a, b) => b.score - a.score || a.s - b.s || a.e - b.e);
  return spans.slice(0, topk);
}

/** The window's character span of tokens s..e: whole words (align_to_words) or the tokens' own offsets. */
function charSpan(window, words, s, e, alignToWords) {
  const off = window.offsets;
  if (alignToWords && words[s] !== null && words[e] !== null) {
    let a = s, b = e;
    while (a > 0 && window.seq[a - 1] === 1 && words[a - 1] === words[s]) a--;
    while (b + 1 < words.length && window.seq[b + 1] === 1 && words[b + 1] === words[e]) b++;
    return [off[2 * a], off[2 * b + 1]];
  }
  return [off[2 * s], off[2 * e + 1]];
}

function checkOptions(info, o) {
  checkPositiveInt(o.topK, 'topK');
  checkPositiveInt(o.maxAnswerLen, 'maxAnswerLen');
  checkBool(o.handleImpossibleAnswer, 'handleImpossibleAnswer');
  checkBool(o.alignToWords, 'alignToWords');
  const maxSeqLen = o.maxSeqLen ?? Math.min(info.maxTokens, DEFAULT_MAX_SEQ_LEN);
  checkPositiveInt(maxSeqLen, 'maxSeqLen');
  if (maxSeqLen > info.maxTokens) throw new InvalidArgumentError(`maxSeqLen ${maxSeqLen} is over this model's ${info.maxTokens} tokens`);
  const docStride = o.docStride ?? Math.min(Math.floor(maxSeqLen / 2), MAX_DOC_STRIDE);
  if (!Number.isInteger(docStride) || docStride < 0) throw new InvalidArgumentError(`docStride must be a non-negative integer, not ${shown(docStride)}`);
  if (docStride > maxSeqLen) throw new InvalidArgumentError(`docStride (${docStride}) is larger than maxSeqLen (${maxSeqLen})`);
  return { maxSeqLen, docStride };
}

/**
 * answer({ question, context }, { topK, maxAnswerLen, maxSeqLen, docStride, handleImpossibleAnswer, alignToWords }):
 * { score, start, end, answer } (start / end: UTF-16 indexes into context), a list when topK > 1 finds several.
 */
export function answer(engine, input, options = {}) {
  const info = requireHead(engine, 'question-answering', 'answer');
  if (!input || typeof input !== 'object') throw new InvalidArgumentError(`answer() takes { question, context }, not ${shown(input)}`);
  const { question, context } = input;
  if (context === undefined || context === null) throw new InvalidArgumentError('answer() needs a context: { question, context }');
  checkString(question, 'question');
  checkString(context, 'context');
  if (!question.length || !context.length) throw new InvalidArgumentError(`the ${question.length ? 'context' : 'question'} is empty`);
  const o = { topK: 1, maxAnswerLen: 15, handleImpossibleAnswer: false, alignToWords: true, ...options };
  const { maxSeqLen, docStride } = checkOptions(info, o);
  const windows = engine.encodePair(question, context, { maxLen: maxSeqLen, strategy: 'only_second', stride: docStride });
  const logits = engine.headLogits('token', windows.map((w) => w.ids), windows.length);
  const preTopK = o.alignToWords ? o.topK * 2 + 10 : o.topK;
  let minNull = 1000000;
  const answers = [];
  windows.forEach((w, k) => {
    const allowed = Array.from(w.seq, (q, t) => q === 1 || t === 0);
    const ps = probabilities(logits[k], allowed, 0), pe = probabilities(logits[k], allowed, 1);
    if (o.handleImpossibleAnswer) minNull = Math.min(minNull, ps[0] * pe[0]);
    const special = Array.from(w.ids, (id, t) => w.seq[t] >= 0 && isSpecial(engine, id, w.seq[t] ? context : question, w.offsets[2 * t], w.offsets[2 * t + 1]));
    const words = wordIds(Array.from(w.ids, (id) => engine.piece(id)), w.seq, special);
    for (const { s, e, score } of bestSpans(ps, pe, allowed, preTopK, o.maxAnswerLen)) {
      const [start, end] = charSpan(w, words, s, e, o.alignToWords);
      const text = context.slice(start, end);
      const same = answers.find((a) => a.answer.toLowerCase() === text.toLowerCase());
      if (same) same.score += score;
      else answers.push({ score, start, end, answer: text });
    }
  });
  if (o.handleImpossibleAnswer) answers.push({ score: minNull, start: 0, end: 0, answer: '' });
  const top = answers.map((a, i) => [a, i]).sort((x, y) => y[0].score - x[0].score || x[1] - y[1]).map(([a]) => a).slice(0, o.topK);
  return top.length === 1 ? top[0] : top;
}
