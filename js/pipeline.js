// pipeline(task, model, options): transformers.js' facade over a Model, so code written for it ports by changing
// the import. Task names and aliases are transformers.js' (plus 'text-ranking' for cross-encoders); options may
// be given in its snake_case (top_k, aggregation_strategy, …) or in this package's camelCase.

import { InvalidArgumentError, UnsupportedError, shown } from './errors.js';
import { Model } from './api.js';

const ALIASES = {
  'sentiment-analysis': 'text-classification',
  ner: 'token-classification',
  embeddings: 'feature-extraction',
  rerank: 'text-ranking',
  ranking: 'text-ranking',
};

const CALLS = {
  'fill-mask': (m, [text, o]) => m.fillMask(text, pick(o, ['topK', 'truncation'])),
  // transformers.js' default: every token's vector, not normalized
  'feature-extraction': (m, [texts, o]) => m.embed(texts, { pooling: 'none', normalize: false, ...pick(o, ['pooling', 'normalize', 'truncation', 'batchSize']) }),
  'text-classification': (m, [inputs, o]) => m.classify(inputs, pick(o, ['topK', 'functionToApply', 'truncation'])),
  'token-classification': (m, [text, o]) => m.tokenClassify(text, pick(o, ['aggregationStrategy', 'ignoreLabels', 'stride'])),
  'question-answering': (m, [question, context, o]) => (question && typeof question === 'object'
    ? m.answer(question, pick(context, QA_OPTIONS))
    : m.answer({ question, context }, pick(o, QA_OPTIONS))),
  'zero-shot-classification': (m, [text, labels, o]) => m.zeroShot(text, labels, pick(o, ['hypothesisTemplate', 'multiLabel'])),
  'text-ranking': (m, [query, documents, o]) => m.rerank(query, documents, pick(o, ['topK', 'returnDocuments', 'truncation', 'rawScores', 'batchSize'])),
};
const QA_OPTIONS = ['topK', 'maxAnswerLen', 'maxSeqLen', 'docStride', 'handleImpossibleAnswer', 'alignToWords'];

/** The task a model's head serves (what pipeline() checks the model against). */
const HEAD_TASKS = {
  'fill-mask': ['fill-mask'],
  'text-classification': ['text-classification', 'zero-shot-classification', 'text-ranking'],
  'token-classification': ['token-classification'],
  'question-answering': ['question-answering'],
};

const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

/** Options in either spelling, camelCase out, only the names the call takes (others: an error naming them). */
function pick(o, allowed) {
  if (o === undefined || o === null) return {};
  if (typeof o !== 'object') throw new InvalidArgumentError(`pipeline options must be an object, not ${shown(o)}`);
  const out = {};
  for (const [k, v] of Object.entries(o)) {
    const c = camel(k);
    if (!allowed.includes(c)) throw new InvalidArgumentError(`unknown option ${shown(k)}; known: ${allowed.join(', ')}`);
    out[c] = v;
  }
  return out;
}

/** transformers.js' load options mapped onto load()'s; its device / session options have no meaning here. */
function loadOptions(o = {}) {
  const out = {};
  const DTYPE = { q8: 'q8_0', int8: 'q8_0', uint8: 'q8_0', q8_0: 'q8_0', fp16: 'f16', f16: 'f16', fp32: 'f32', f32: 'f32', q4: 'q4_0', q4_0: 'q4_0' };
  for (const [k, v] of Object.entries(o)) {
    if (['device', 'session_options', 'local_files_only', 'subfolder', 'model_file_name', 'quantized', 'config'].includes(k)) continue;
    if (k === 'progress_callback') out.onProgress = v;
    else if (k === 'cache_dir') out.cache = v;
    else if (k === 'dtype') {
      if (!Object.hasOwn(DTYPE, v)) throw new InvalidArgumentError(`dtype must be one of ${Object.keys(DTYPE).join(', ')}, not ${shown(v)}`);
      out.dtype = DTYPE[v];
    } else out[camel(k)] = v;
  }
  return out;
}

export function makePipeline(load) {
  /**
   * pipeline(task, model?, options?) -> an async function with the task's call shape, plus .task, .model and
   * .dispose(). model: a Model already loaded, or any load() source (default: FacebookAI/xlm-roberta-base).
   */
  return async function pipeline(task, model = 'FacebookAI/xlm-roberta-base', options = {}) {
    if (typeof task !== 'string') throw new InvalidArgumentError(`pipeline() task must be a string, not ${shown(task)}`);
    const name = ALIASES[task] ?? task;
    const call = CALLS[name];
    if (!call) throw new InvalidArgumentError(`unknown task ${shown(task)}; known: ${[...Object.keys(CALLS), ...Object.keys(ALIASES)].join(', ')}`);
    const owned = !(model instanceof Model);
    const m = owned ? await load(model, loadOptions(options)) : model;
    const head = m.config.head ?? (m.config.hasMlmHead ? 'fill-mask' : null);
    if (name !== 'feature-extraction' && !(HEAD_TASKS[head] ?? []).includes(name)) {
      if (owned) await m.dispose();
      throw new UnsupportedError(`the task ${task} needs a model with its head; this model has ${head ? `a ${head} head` : 'no task head'}`);
    }
    const run = (...args) => call(m, args);
    run.task = name;
    run.model = m;
    run.dispose = () => (owned ? m.dispose() : Promise.resolve());
    return run;
  };
}
