// Token classification (NER), token_classification.py's post-processing: softmax per token, special tokens
// dropped, the word-start heuristic for tokenizers without a continuing-subword prefix, the five aggregation
// strategies, ignoreLabels, and strided windows over a long text merged by aggregate_overlapping_entities.

import { InvalidArgumentError, shown } from '../errors.js';
import { requireHead, checkString, checkStrings, softmax, argmax, isSpecial, tokensToString } from './common.js';

const STRATEGIES = ['none', 'simple', 'first', 'average', 'max'];

/** The windows of one text: truncated to maxTokens, or (stride) every window of maxTokens - 2 pieces overlapping by stride. */
function windowsOf(engine, text, maxTokens, stride) {
  if (stride === undefined) {
    const e = engine.encode(text, maxTokens);
    return [{ ids: e.ids, offsets: e.offsets }];
  }
  const e = engine.encode(text, 0);
  const n = e.ids.length - 2;
  const room = maxTokens - 2;
  if (!Number.isInteger(stride) || stride < 0 || stride >= room) {
    throw new InvalidArgumentError(`stride must be an integer from 0 to ${room - 1} (tokens shared by consecutive windows of ${room}), not ${shown(stride)}`);
  }
  const out = [];
  for (let lo = 0; ; lo += room - stride) {
    const hi = Math.min(lo + room, n);
    const ids = new Int32Array(hi - lo + 2);
    const offsets = new Int32Array(2 * (hi - lo + 2));
    ids[0] = e.ids[0];
    ids.set(e.ids.subarray(1 + lo, 1 + hi), 1);
    ids[ids.length - 1] = e.ids[e.ids.length - 1];
    offsets.set(e.offsets.subarray(2 * (1 + lo), 2 * (1 + hi)), 2);
    out.push({ ids, offsets });
    if (hi === n) return out;
  }
}

/** gather_pre_entities: one entry per non-special token with its scores, span and whether it continues a word. */
function preEntities(engine, text, window, logits, n) {
  const out = [];
  const unk = engine.config.unkTokenId;
  for (let i = 0; i < window.ids.length; i++) {
    const id = window.ids[i];
    const start = window.offsets[2 * i], end = window.offsets[2 * i + 1];
    if (isSpecial(engine, id, text, start, end)) continue;
    let word = engine.piece(id);
    // The pipeline's fallback heuristic: a token continues a word unless a space is just before or at its start.
    let isSubword = start > 0 && !text.slice(start - 1, start + 1).includes(' ');
    if (id === unk) {
      word = text.slice(start, end);
      isSubword = false;
    }
    out.push({ word, scores: softmax(logits.subarray(i * n, (i + 1) * n)), start, end, index: i, isSubword });
  }
  return out;
}

function aggregateWord(tokens, strategy, labels) {
  let scores, idx;
  if (strategy === 'first') {
    scores = tokens[0].scores;
  } else if (strategy === 'max') {
    let best = tokens[0];
    for (const t of tokens) if (Math.max(...t.scores) > Math.max(...best.scores)) best = t;
    scores = best.scores;
  } else {
    scores = tokens[0].scores.map((_, k) => tokens.reduce((s, t) => s + t.scores[k], 0) / tokens.length);
  }
  idx = argmax(scores);
  return {
    entity: labels[idx], score: scores[idx], word: tokensToString(tokens.map((t) => t.word)),
    start: tokens[0].start, end: tokens[tokens.length - 1].end,
  };
}

function aggregateWords(pre, strategy, labels) {
  const words = [];
  let group = null;
  for (const p of pre) {
    if (!group) group = [p];
    else if (p.isSubword) group.push(p);
    else { words.push(aggregateWord(group, strategy, labels)); group = [p]; }
  }
  if (group) words.push(aggregateWord(group, strategy, labels));
  return words;
}

function tagOf(name) {
  if (name.startsWith('B-')) return ['B', name.slice(2)];
  if (name.startsWith('I-')) return ['I', name.slice(2)];
  return ['I', name];
}

function groupOf(entities) {
  const dash = entities[0].entity.indexOf('-');
  return {
    entity_group: dash >= 0 ? entities[0].entity.slice(dash + 1) : entities[0].entity,
    score: entities.reduce((s, e) => s + e.score, 0) / entities.length,
    word: tokensToString(entities.map((e) => e.word)),
    start: entities[0].start,
    end: entities[entities.length - 1].end,
  };
}

/** group_entities: adjacent entities of one tag joined unless the next begins with B-. */
function groupEntities(entities) {
  const groups = [];
  let current = [];
  for (const e of entities) {
    if (current.length) {
      const [bi, tag] = tagOf(e.entity);
      const [, lastTag] = tagOf(current[current.length - 1].entity);
      if (tag !== lastTag || bi === 'B') { groups.push(groupOf(current)); current = []; }
    }
    current.push(e);
  }
  if (current.length) groups.push(groupOf(current));
  return groups;
}

function aggregate(pre, strategy, labels) {
  let entities;
  if (strategy === 'none' || strategy === 'simple') {
    entities = pre.map((p) => {
      const i = argmax(p.scores);
      return { entity: labels[i], score: p.scores[i], index: p.index, word: p.word, start: p.start, end: p.end };
    });
  } else {
    entities = aggregateWords(pre, strategy, labels);
  }
  return strategy === 'none' ? entities : groupEntities(entities);
}

/** Entities of overlapping windows: of those overlapping, the longest (then the higher score) stays. */
function mergeOverlapping(entities) {
  if (!entities.length) return entities;
  const sorted = entities.map((e, i) => [e, i]).sort((a, b) => a[0].start - b[0].start || a[1] - b[1]).map(([e]) => e);
  const out = [];
  let prev = sorted[0];
  for (const e of sorted) {
    if (prev.start <= e.start && e.start < prev.end) {
      const len = e.end - e.start, prevLen = prev.end - prev.start;
      if (len > prevLen || (len === prevLen && e.score > prev.score)) prev = e;
    } else {
      out.push(prev);
      prev = e;
    }
  }
  out.push(prev);
  return out;
}

/** tokenClassify(text, { aggregationStrategy, ignoreLabels, stride }). */
export function tokenClassify(engine, text, { aggregationStrategy = 'none', ignoreLabels = ['O'], stride } = {}) {
  const info = requireHead(engine, 'token-classification', 'tokenClassify');
  checkString(text, 'text');
  if (!STRATEGIES.includes(aggregationStrategy)) {
    throw new InvalidArgumentError(`aggregationStrategy must be one of ${STRATEGIES.join(', ')}, not ${shown(aggregationStrategy)}`);
  }
  checkStrings(ignoreLabels, 'ignoreLabels', { nonEmpty: false });
  if (stride !== undefined && aggregationStrategy === 'none') {
    throw new InvalidArgumentError("stride windows a long text, and their overlapping tokens are resolved per entity: pick an aggregationStrategy other than 'none'");
  }
  const windows = windowsOf(engine, text, info.maxTokens, stride);
  const logits = engine.headLogits('token', windows.map((w) => w.ids));
  const ignored = new Set(ignoreLabels);
  let all = [];
  windows.forEach((w, k) => {
    const grouped = aggregate(preEntities(engine, text, w, logits[k], info.numLabels), aggregationStrategy, info.labels);
    all.push(...grouped.filter((e) => !ignored.has(e.entity) && !ignored.has(e.entity_group)));
  });
  if (windows.length > 1) all = mergeOverlapping(all);
  return all;
}
