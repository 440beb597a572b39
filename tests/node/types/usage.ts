// Type-checked against js/index.d.ts by types.test.mjs (tsc --noEmit): the README's usage, typed.
import {
  load, Model, XlmrError, NoMaskError, TooLongError, AbortError, NetworkError, hasSimd, hasRelaxedSimd, autoThreads,
  type LoadProgress, type FillMaskPrediction, type ModelConfig, type ErrorCode,
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

// @ts-expect-error: option names are fixed
load('x', { dType: 'q8_0' });
// @ts-expect-error: simd is 'simd128' or 'relaxed'
load('x', { simd: 'avx2' });
load('x', { threads: 'auto' });
// @ts-expect-error: threads is a number or 'auto'
load('x', { threads: 'max' });
// @ts-expect-error: pooling is one of three
load('x').then((m) => m.embed('x', { pooling: 'max' }));
