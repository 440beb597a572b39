// Sequence-classification heads: classify (text_classification.py), rerank (a cross-encoder's pair scores) and
// zeroShot (zero_shot_classification.py). The core gives the logits of the <s> row; the rest is here.

import { InvalidArgumentError, TooLongError, shown } from '../errors.js';
import {
  requireHead, checkString, checkStrings, checkPositiveInt, checkBool, truncationStrategy, pairIds, sigmoid, softmax, argmax,
} from './common.js';

const FUNCTIONS = ['sigmoid', 'softmax', 'none'];

/** text_classification.py's default: none for regression, sigmoid for multi-label or one label, else softmax. */
function defaultFunction(problemType, numLabels) {
  if (problemType === 'regression') return 'none';
  if (problemType === 'multi_label_classification' || numLabels === 1) return 'sigmoid';
  return 'softmax';
}

function scoresOf(logits, fn) {
  if (fn === 'sigmoid') return Array.from(logits, sigmoid);
  if (fn === 'softmax') return softmax(logits);
  return Array.from(logits);
}

/** A classify() input item: a string or { text, textPair } (text_pair accepted too). */
function inputItem(item, what) {
  if (typeof item === 'string') return { text: item, pair: null };
  if (item && typeof item === 'object' && !Array.isArray(item)) {
    const pair = item.textPair ?? item.text_pair;
    checkString(item.text, `${what}.text`);
    if (pair !== undefined) checkString(pair, `${what}.textPair`);
    return { text: item.text, pair: pair ?? null };
  }
  throw new InvalidArgumentError(`${what} must be a string or { text, textPair }, not ${shown(item)}`);
}

/**
 * classify(inputs, { topK, functionToApply, truncation }). Shapes as the pipeline returns them: without topK
 * (its legacy path) a string gives [{ label, score }], a { text, textPair } gives { label, score }, an array one
 * { label, score } per item; with topK (null: every label) each item gives its topK labels sorted by score.
 */
export function classify(engine, inputs, { topK, functionToApply, truncation = false } = {}) {
  const info = requireHead(engine, 'text-classification', 'classify');
  const legacy = topK === undefined;
  if (topK !== undefined && topK !== null) checkPositiveInt(topK, 'topK');
  if (functionToApply !== undefined && !FUNCTIONS.includes(functionToApply)) {
    throw new InvalidArgumentError(`functionToApply must be one of ${FUNCTIONS.join(', ')}, not ${shown(functionToApply)}`);
  }
  const strategy = truncationStrategy(truncation);
  const many = Array.isArray(inputs);
  const items = (many ? inputs : [inputs]).map((x, i) => inputItem(x, many ? `inputs[${i}]` : 'the input'));
  if (!items.length) throw new InvalidArgumentError('classify() got an empty array of texts');
  const seqs = items.map(({ text, pair }, i) => {
    const what = many ? `text ${i}` : 'the text';
    if (pair === null) {
      const ids = engine.encode(text, strategy ? info.maxTokens : 0).ids;
      return pairLength(ids, info.maxTokens, what);
    }
    return pairIds(engine, text, pair, strategy, info.maxTokens, what);
  });
  const fn = functionToApply ?? defaultFunction(info.problemType, info.numLabels);
  const results = engine.headLogits('sequence', seqs).map((logits) => {
    const scores = scoresOf(logits, fn);
    if (legacy) {
      const i = argmax(scores);
      return { label: info.labels[i], score: scores[i] };
    }
    const all = scores.map((score, i) => ({ label: info.labels[i], score })).sort((a, b) => b.score - a.score);
    return topK === null ? all : all.slice(0, topK);
  });
  if (many) return results;
  return legacy && typeof inputs === 'string' ? [results[0]] : results[0];
}

function pairLength(ids, maxTokens, what) {
  if (ids.length > maxTokens) {
    throw new TooLongError(`${what} is ${ids.length} tokens; this model takes at most ${maxTokens} (pass { truncation: true } to cut it)`);
  }
  return ids;
}

/**
 * rerank(query, documents, { topK, returnDocuments, truncation, rawScores, batchSize }): the pairs
 * <s> query </s></s> document </s> scored by the single-logit head (sigmoid of it, or the logit with rawScores),
 * sorted [{ index, score, document? }].
 */
export function rerank(engine, query, documents, { topK, returnDocuments = false, truncation = false, rawScores = false, batchSize = 16 } = {}) {
  const info = requireHead(engine, 'text-classification', 'rerank');
  checkString(query, 'query');
  checkStrings(documents, 'documents', { nonEmpty: false });
  if (topK !== undefined && topK !== null) checkPositiveInt(topK, 'topK');
  checkBool(returnDocuments, 'returnDocuments');
  checkBool(rawScores, 'rawScores');
  checkPositiveInt(batchSize, 'batchSize');
  if (info.numLabels !== 1) {
    throw new InvalidArgumentError(`rerank() needs a single-output model (a cross-encoder); this one has ${info.numLabels} labels: use classify()`);
  }
  const strategy = truncationStrategy(truncation);
  const seqs = documents.map((d, i) => pairIds(engine, query, d, strategy, info.maxTokens, `the query with document ${i}`));
  const logits = engine.headLogits('sequence', seqs, batchSize);
  const ranked = logits.map((l, index) => {
    const r = { index, score: rawScores ? l[0] : sigmoid(l[0]) };
    if (returnDocuments) r.document = documents[index];
    return r;
  }).sort((a, b) => b.score - a.score || a.index - b.index);
  return topK == null ? ranked : ranked.slice(0, topK);
}

/** The entailment label: the first whose name starts with "entail" (any case); -1 (the last) when none does. */
function entailmentIndex(labels) {
  const i = labels.findIndex((l) => l.toLowerCase().startsWith('entail'));
  return i >= 0 ? i : labels.length - 1;
}

/** candidateLabels: an array of strings, or one string of comma-separated labels (as the pipeline's _parse_labels). */
function parseLabels(labels) {
  if (typeof labels === 'string') labels = labels.split(',').map((l) => l.trim()).filter(Boolean);
  return checkStrings(labels, 'candidateLabels');
}

/**
 * zeroShot(text, candidateLabels, { hypothesisTemplate, multiLabel }): each pair [text, template(label)] through
 * an NLI head in one batched pass; { sequence, labels, scores } sorted by score.
 */
export function zeroShot(engine, text, candidateLabels, { hypothesisTemplate = 'This example is {}.', multiLabel = false } = {}) {
  const info = requireHead(engine, 'text-classification', 'zeroShot');
  checkString(text, 'text');
  const labels = parseLabels(candidateLabels);
  checkString(hypothesisTemplate, 'hypothesisTemplate');
  checkBool(multiLabel, 'multiLabel');
  if (!hypothesisTemplate.includes('{}')) {
    throw new InvalidArgumentError(`hypothesisTemplate ${shown(hypothesisTemplate)} has no {} where the label goes`);
  }
  if (info.numLabels < 2) throw new InvalidArgumentError(`zeroShot() needs an NLI model (entailment, contradiction, …); this one has ${info.numLabels} label`);
  const seqs = labels.map((l) => engine.encodePair(text, hypothesisTemplate.replace('{}', l), { maxLen: info.maxTokens, strategy: 'only_first' })[0].ids);
  const logits = engine.headLogits('sequence', seqs, seqs.length);
  const ent = entailmentIndex(info.labels);
  let scores;
  if (multiLabel || labels.length === 1) {
    const contradiction = ent === 0 ? info.numLabels - 1 : 0;
    scores = logits.map((l) => softmax([l[contradiction], l[ent]])[1]);
  } else {
    scores = softmax(logits.map((l) => l[ent]));
  }
  // reversed(argsort): descending, the later label first on a tie
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || b - a);
  return { sequence: text, labels: order.map((i) => labels[i]), scores: order.map((i) => scores[i]) };
}
