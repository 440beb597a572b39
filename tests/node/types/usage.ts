// Type-checked against js/index.d.ts by types.test.mjs (tsc --noEmit): the README's usage, typed.
import {
  load, pipeline, Model, XlmrError, NoMaskError, TooLongError, AbortError, NetworkError, UnsupportedError, hasSimd, hasRelaxedSimd, autoThreads,
  lexicalMatchingScore, colbertScore, type M3Embedding,
  type LoadProgress, type FillMaskPrediction, type ModelConfig, type ErrorCode, type LabelScore, type RankedDocument,
  type ZeroShotResult, type TokenEntity, type EntityGroup, type Entity, type Answer,
} from 'xlmr-wasm';

async function main(): Promise<void> {
  const wanted: 'relaxed' | 'simd128' = hasSimd() && hasRelaxedSimd() ? 'relaxed' : 'simd128';
  const threads: number = autoThreads(8);
  const controller = new AbortController();
  const model: Model = await load('FacebookAI/xlm-roberta-base', {
    onProgress: ({ phase, loaded, total }: LoadProgress) => console.log(phase, loaded, total),
    signal: controller.signal,
    worker: true,
    threads,
    simd: wanted,
    dtype: 'q8_0',
    cache: '/tmp/xlmr-cache',
    hubUrl: 'https://huggingface.co',
    revision: 'main',
  });
  const cfg: Readonly<ModelConfig> = model.config;
  const hidden: number = cfg.hiddenSize + cfg.numLayers + cfg.numHeads + cfg.vocabSize + cfg.maxPositions;

  const preds = await model.fillMask("Hello I'm a <mask> model.", { topK: 5 });
  const first = preds[0];
  if (!Array.isArray(first)) {
    const p: FillMaskPrediction = first;
    const s: string = p.token_str + p.sequence;
    const n: number = p.score + p.token;
    console.log(s, n);
  }

  const one: Float32Array = await model.embed('text', { pooling: 'mean', normalize: true });
  const many: Float32Array[] = await model.embed(['a', 'b'], { pooling: 'cls', batchSize: 8, truncation: true });
  const states: Float32Array = await model.embed('tokens', { pooling: 'none' });
  const last: Float32Array = await model.embed('text', { pooling: 'last' });
  const pooling: 'mean' | 'cls' | 'last' | 'none' | null = model.config.pooling;
  // BGE-M3's outputs and its scores
  const lexical: Record<string, number> = await model.embed('text', { output: 'sparse' });
  const m3all: M3Embedding[] = await model.embed(['a', 'b'], { output: 'all' });
  const scores: number[] = [lexicalMatchingScore(lexical, m3all[0].sparse), colbertScore(m3all[0].colbert, m3all[1].colbert, model.config.hiddenSize)];
  console.log(last, pooling, scores, m3all[0].dense);
  const { ids, tokens } = await model.tokenize('Hello', { truncation: false });
  const idSum: number = ids.reduce((a, b) => a + b, 0);
  const joined: string = tokens.join(' ');
  console.log(hidden, one.length, many.length, states.length, idSum, joined);

  for await (const chunk of model.exportGguf()) {
    const b: Uint8Array = chunk;
    console.log(b.byteLength);
  }

  const bytes = new Uint8Array(16);
  const m2 = await load(bytes.buffer, { worker: false, cache: false });
  const m3 = await load(new Blob([bytes]));
  const m4 = await load(new URL('https://example.org/model.gguf'), { wasmModule: await WebAssembly.compile(new Uint8Array(8)) });
  await Promise.all([m2.dispose(), m3.dispose(), m4.dispose()]);

  try {
    await model.fillMask('no mask here');
  } catch (e) {
    if (e instanceof NoMaskError) {
      const code: 'ERR_NO_MASK' = e.code;
      console.log(code);
    } else if (e instanceof TooLongError || e instanceof AbortError) {
      console.log(e.message);
    } else if (e instanceof NetworkError) {
      console.log(e.url, e.status);
    } else if (e instanceof XlmrError) {
      const c: ErrorCode | 'ERR_XLMR' = e.code;
      console.log(c);
    }
  }
  await model.dispose();
  const gone: boolean = model.disposed;
  const simd: 'simd128' | 'relaxed' | 'scalar' = model.runtime.simd;
  console.log(simd, model.runtime.threads, model.runtime.worker, model.runtime.build);
  console.log(gone);
}

main();

// The task heads (issue 18): each call's return type follows its input and options.
async function tasks(m: Model): Promise<void> {
  const head: 'fill-mask' | 'text-classification' | 'token-classification' | 'question-answering' | 'bge-m3' | null = m.config.head;
  const labels: string[] = m.config.labels;
  console.log(head, labels, m.config.numLabels, m.config.problemType);
  const t = await m.tokenize('Hello world', { offsets: true });
  const [s0, e0]: [number, number] = t.offsets[1];
  console.log(s0, e0, t.ids.length);
  // @ts-expect-error: offsets only when asked for
  (await m.tokenize('x')).offsets;

  const legacy: LabelScore[] = await m.classify('great film');
  const pair: LabelScore = await m.classify({ text: 'a', textPair: 'b' });
  const each: LabelScore[] = await m.classify(['a', { text: 'b', text_pair: 'c' }]);
  const topOne: LabelScore[] = await m.classify('a', { topK: 2, functionToApply: 'softmax' });
  const all: LabelScore[][] = await m.classify(['a', 'b'], { topK: null, truncation: 'only_first' });
  console.log(legacy[0].label, pair.score, each.length, topOne[0].score, all[1][0].label);
  // @ts-expect-error: a string without topK gives a list, not one label
  const notOne: LabelScore = await m.classify('a');
  // @ts-expect-error: an array with topK gives a list per item
  const notFlat: LabelScore[] = await m.classify(['a'], { topK: 2 });
  console.log(notOne, notFlat);
  // @ts-expect-error: functionToApply is one of three
  m.classify('a', { functionToApply: 'relu' });

  const ranked: RankedDocument[] = await m.rerank('query', ['doc a', 'doc b'], { topK: 1, returnDocuments: true, rawScores: false, batchSize: 8 });
  const idx: number = ranked[0].index;
  const doc: string | undefined = ranked[0].document;
  const zs: ZeroShotResult = await m.zeroShot('text', ['sports', 'politics'], { hypothesisTemplate: 'About {}.', multiLabel: true });
  const zs2: ZeroShotResult = await m.zeroShot('text', 'sports, politics');
  console.log(idx, doc, zs.labels[0], zs.scores[0], zs2.sequence);

  const tokens: TokenEntity[] = await m.tokenClassify('Angela Merkel', { ignoreLabels: [] });
  const words: EntityGroup[] = await m.tokenClassify('Angela Merkel', { aggregationStrategy: 'simple', stride: 16 });
  const either: Entity[] = await m.tokenClassify('x', { aggregationStrategy: Math.random() > 0.5 ? 'none' : 'max' });
  console.log(tokens[0].entity, tokens[0].index, words[0].entity_group, words[0].start, words[0].end, either.length);
  // @ts-expect-error: no such strategy
  m.tokenClassify('x', { aggregationStrategy: 'longest' });

  const one: Answer = await m.answer({ question: 'q', context: 'c' });
  const some: Answer | Answer[] = await m.answer({ question: 'q', context: 'c' }, { topK: 3, maxAnswerLen: 30, docStride: 64, maxSeqLen: 256, handleImpossibleAnswer: true, alignToWords: false });
  const span: string = one.answer.slice(one.start, one.end);
  console.log(span, Array.isArray(some) ? some.length : some.score);
  // @ts-expect-error: answer takes { question, context }
  m.answer('q');

  const ner = await pipeline('ner', m);
  const found: Entity[] = await ner('Angela Merkel', { aggregation_strategy: 'simple' });
  const qa = await pipeline('question-answering', 'deepset/xlm-roberta-base-squad2', { dtype: 'q8', progress_callback: (p: LoadProgress) => console.log(p.loaded) });
  const a1 = await qa('q', 'c', { top_k: 2 });
  const a2 = await qa({ question: 'q', context: 'c' });
  const rr = await pipeline('text-ranking', 'BAAI/bge-reranker-v2-m3');
  const r1: RankedDocument[] = await rr('q', ['a', 'b'], { return_documents: true });
  const zsp = await pipeline('zero-shot-classification', m);
  const z1: ZeroShotResult = await zsp('text', ['a', 'b'], { multi_label: true });
  const cls = await pipeline('sentiment-analysis', m);
  const c1 = await cls('text', { top_k: null });
  const fe = await pipeline('feature-extraction', m);
  const v: Float32Array = await fe('text', { pooling: 'mean' });
  const task: 'text-classification' = cls.task;
  console.log(found, a1, a2, r1, z1, c1, v, task);
  await Promise.all([ner.dispose(), qa.dispose(), rr.dispose()]);
  try {
    await m.answer({ question: 'q', context: 'c' });
  } catch (e) {
    if (e instanceof UnsupportedError) { const code: 'ERR_UNSUPPORTED' = e.code; console.log(code); }
  }
}
load('x').then(tasks);

// @ts-expect-error: option names are fixed
load('x', { dType: 'q8_0' });
// @ts-expect-error: simd is 'simd128' or 'relaxed'
load('x', { simd: 'avx2' });
load('x', { threads: 'auto' });
// @ts-expect-error: threads is a number or 'auto'
load('x', { threads: 'max' });
// @ts-expect-error: pooling is one of three
load('x').then((m) => m.embed('x', { pooling: 'max' }));
