// Types for xlmr-wasm: XLM-RoBERTa fill-mask, embeddings and tokenization in WebAssembly.

/** What load() accepts: a path (Node), URL, hub id ("FacebookAI/xlm-roberta-base"), or the bytes of a .gguf. */
export type ModelSource = string | URL | ArrayBuffer | ArrayBufferView | Blob | Response | ReadableStream<Uint8Array>;

export type DType = 'q8_0' | 'f16' | 'f32';

export interface LoadProgress {
  /** 'download' (network), 'read' (local file or bytes), 'cache' (reading the cached GGUF),
   *  'save' (writing the converted model to the cache), 'ready' (done). */
  phase: 'download' | 'read' | 'cache' | 'save' | 'ready';
  /** The file being read: 'config.json', 'sentencepiece.bpe.model', 'model.safetensors', a URL or path. */
  file?: string;
  /** Bytes so far. */
  loaded: number;
  /** Expected bytes; 0 while unknown. */
  total: number;
}

export interface LoadOptions {
  /** Called as bytes arrive. Exceptions thrown by it are ignored. */
  onProgress?: (progress: LoadProgress) => void;
  /** Aborting frees everything and rejects with AbortError (code 'ERR_ABORTED'). */
  signal?: AbortSignal;
  /** Run the model in a Worker (default where one can be started: browsers, Node) or in this thread. */
  worker?: boolean;
  /** Threads for one forward pass (default 1). > 1 uses the threaded build (dist/xlmr-mt.wasm) on shared memory
   *  with threads - 1 extra workers; where SharedArrayBuffer is absent (pages without COOP/COEP) it falls back
   *  to 1. 'auto': one per core the platform reports (navigator.hardwareConcurrency, os.availableParallelism()),
   *  at most 4. `model.runtime.threads` tells what runs. */
  threads?: number | 'auto';
  /** 'auto' (default): the relaxed-SIMD build where the engine's fused dot product is exact (x86 AVX-VNNI,
   *  AVX-VNNI-INT8, Arm dotprod: outputs bit-identical to SIMD128's, faster), SIMD128 elsewhere. 'relaxed': the
   *  relaxed-SIMD build (dist/xlmr-relaxed.wasm, or -relaxed-mt with threads) wherever the engine validates relaxed
   *  SIMD, exact where it can be and with 7-bit activations where not; SIMD128 elsewhere. 'simd128': always SIMD128.
   *  Ignored when wasmModule or wasmUrl says which core to run. `model.runtime.simd` and `.kernel` tell what runs. */
  simd?: 'auto' | 'simd128' | 'relaxed';
  /** Weight type kept in memory when the source holds float safetensors (default 'q8_0'). A GGUF keeps its types.
   *  'q8_0' also computes with 8-bit activations and int16 attention; 'f16' / 'f32' weights compute in float. */
  dtype?: DType;
  /** Converted models are cached as GGUF: false = off, a string = the cache folder (Node) / cache name (browsers). */
  cache?: boolean | string;
  /** A precompiled core (required on edge runtimes that cannot compile wasm from bytes). */
  wasmModule?: WebAssembly.Module;
  /** Where to fetch/read the core from instead of dist/xlmr.wasm next to the package's js/. */
  wasmUrl?: string | URL;
  /** Hub base URL for hub ids (default $XLMR_HUB_URL in Node, else https://huggingface.co). */
  hubUrl?: string;
  /** Hub revision: branch, tag or commit (default 'main'). */
  revision?: string;
}

export interface ModelConfig {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositions: number;
  /** Longest input in tokens, <s> and </s> included (512 for XLM-R). */
  maxTokens: number;
  typeVocabSize: number;
  layerNormEps: number;
  /** False for embedding-only files (fillMask then fails). */
  hasMlmHead: boolean;
  /** Type of the layer weights in memory: 'q8_0', 'f16', 'f32'. */
  weightType: string;
  weightsBytes: number;
  padTokenId: number;
  bosTokenId: number;
  eosTokenId: number;
  unkTokenId: number;
  maskTokenId: number;
  [key: string]: unknown;
}

export interface LoadInfo {
  /** 'cache' when the converted model came from the cache. */
  source: 'origin' | 'cache';
  format: 'gguf' | 'safetensors' | null;
  /** True when float safetensors were converted while loading. */
  converted: boolean;
  /** Where the converted model was cached, if it was. */
  cacheSaved: { key: string; where: string; size?: number } | null;
  /** Why a cache entry was dropped (corrupted), if one was. */
  cacheDropped: string | null;
  [key: string]: unknown;
}

export interface FillMaskOptions {
  /** Predictions per mask (default 5). */
  topK?: number;
  /** Cut texts longer than the model's maximum instead of rejecting with TooLongError. */
  truncation?: boolean;
}

/** One prediction, as the Hugging Face fill-mask pipeline gives it. */
export interface FillMaskPrediction {
  /** Softmax probability over the whole vocabulary. */
  score: number;
  /** Token id. */
  token: number;
  /** The token decoded alone. */
  token_str: string;
  /** The text with this token in place of the mask. */
  sequence: string;
}

export type Pooling = 'mean' | 'cls' | 'none';

export interface EmbedOptions {
  /** 'mean' (attention-masked mean, default), 'cls' (the <s> state) or 'none' (every token's state). */
  pooling?: Pooling;
  /** L2-normalise pooled vectors (default true). */
  normalize?: boolean;
  truncation?: boolean;
  /** Texts per forward pass; each batch is padded to its longest text (default 16). */
  batchSize?: number;
}

export interface TokenizeOptions {
  truncation?: boolean;
}

export interface Tokenized {
  /** Ids with <s> … </s>. */
  ids: number[];
  /** The pieces of those ids. */
  tokens: string[];
}

export declare class Model {
  private constructor();
  readonly config: Readonly<ModelConfig>;
  readonly loadInfo: Readonly<LoadInfo>;
  readonly mode: 'worker' | 'in-thread';
  /** Which core runs: the build file ('xlmr.wasm', or 'wasmModule' when one was passed), the instruction set its
   *  kernels were compiled for as the core reports it ('simd128', 'relaxed' for the relaxed-SIMD builds, 'scalar'
   *  for one compiled without SIMD), its int8 GEMM kernel ('simd128'; 'vnni-exact' or 'sdot-exact', bit-identical to
   *  it; 'pair-u7', 7-bit activations), its thread count, and whether it runs in a Worker. */
  readonly runtime: Readonly<{ build: string; simd: 'simd128' | 'relaxed' | 'scalar'; kernel: 'simd128' | 'vnni-exact' | 'sdot-exact' | 'pair-u7' | null; threads: number; worker: boolean }>;
  readonly disposed: boolean;
  /** One <mask>: a list of predictions. Several masks: one list per mask, in order. */
  fillMask(text: string, options?: FillMaskOptions): Promise<FillMaskPrediction[] | FillMaskPrediction[][]>;
  /** A string: one vector (hiddenSize, or seqLen × hiddenSize for pooling 'none'); an array: one per text. */
  embed(text: string, options?: EmbedOptions): Promise<Float32Array>;
  embed(texts: string[], options?: EmbedOptions): Promise<Float32Array[]>;
  tokenize(text: string, options?: TokenizeOptions): Promise<Tokenized>;
  /** The loaded model as a GGUF file, chunk by chunk (write or copy each chunk before asking for the next). */
  exportGguf(): AsyncIterableIterator<Uint8Array>;
  /** Diagnostics (wasm memory size, open loaders). */
  /** text_classification.py's shapes: no topK -> [{label, score}] for a string, {label, score} for a pair, one each for an array. */
  classify(inputs: string | TextPair | Array<string | TextPair>, options?: { topK?: number | null; functionToApply?: 'sigmoid' | 'softmax' | 'none'; truncation?: Truncation }): Promise<any>;
  rerank(query: string, documents: string[], options?: { topK?: number; returnDocuments?: boolean; truncation?: Truncation; rawScores?: boolean; batchSize?: number }): Promise<Array<{ index: number; score: number; document?: string }>>;
  zeroShot(text: string, candidateLabels: string[] | string, options?: { hypothesisTemplate?: string; multiLabel?: boolean }): Promise<{ sequence: string; labels: string[]; scores: number[] }>;
  tokenClassify(text: string, options?: { aggregationStrategy?: 'none' | 'simple' | 'first' | 'average' | 'max'; ignoreLabels?: string[]; stride?: number }): Promise<Entity[]>;
  answer(input: { question: string; context: string }, options?: { topK?: number; maxAnswerLen?: number; maxSeqLen?: number; docStride?: number; handleImpossibleAnswer?: boolean; alignToWords?: boolean }): Promise<Answer | Answer[]>;
  stats(): Promise<{ memoryBytes: number; liveLoaders: number; hasModel: boolean; [key: string]: unknown }>;
  /** Frees the model and ends its worker. Later calls reject with InvalidStateError. */
  dispose(): Promise<void>;
}

export declare function load(source: ModelSource, options?: LoadOptions): Promise<Model>;

export declare const DEFAULT_HUB_URL: string;

/** Whether this engine validates WebAssembly SIMD128, which every build of the core needs. */
export type Truncation = boolean | 'longest_first' | 'only_first' | 'only_second';
export interface TextPair { text: string; textPair?: string; text_pair?: string }
/** entity (aggregationStrategy 'none', with index) or entity_group; start / end: UTF-16 indexes into the text. */
export interface Entity { entity?: string; entity_group?: string; score: number; index?: number; word: string; start: number; end: number }
export interface Answer { score: number; start: number; end: number; answer: string }
/** transformers.js' facade: a function with the task's call shape, plus task, model, dispose(). */
export declare function pipeline(task: string, model?: ModelSource | Model, options?: Record<string, unknown>): Promise<((...args: any[]) => Promise<any>) & { task: string; model: Model; dispose(): Promise<void> }>;

export declare function hasSimd(): boolean;
/** Whether this engine validates the relaxed-SIMD instruction the relaxed builds use (what `simd: 'relaxed'` needs). */
export declare function hasRelaxedSimd(): boolean;
/** The thread count `threads: 'auto'` gives for this many cores (1 to 4). */
export declare function autoThreads(cores?: number): number;

export type ErrorCode =
  | 'ERR_MODEL_FORMAT' | 'ERR_NO_MASK' | 'ERR_TOO_LONG' | 'ERR_ABORTED' | 'ERR_NETWORK' | 'ERR_FILE'
  | 'ERR_OUT_OF_MEMORY' | 'ERR_INVALID_ARGUMENT' | 'ERR_INVALID_STATE' | 'ERR_UNSUPPORTED' | 'ERR_INTERNAL';

export declare class XlmrError extends Error {
  readonly code: ErrorCode | 'ERR_XLMR';
  url?: string;
  status?: number;
}
export declare class ModelFormatError extends XlmrError { readonly code: 'ERR_MODEL_FORMAT'; }
export declare class NoMaskError extends XlmrError { readonly code: 'ERR_NO_MASK'; }
export declare class TooLongError extends XlmrError { readonly code: 'ERR_TOO_LONG'; }
export declare class AbortError extends XlmrError { readonly code: 'ERR_ABORTED'; }
export declare class NetworkError extends XlmrError {
  readonly code: 'ERR_NETWORK';
  constructor(message: string, options?: { url?: string; status?: number; cause?: unknown });
}
export declare class FileError extends XlmrError { readonly code: 'ERR_FILE'; }
export declare class OutOfMemoryError extends XlmrError { readonly code: 'ERR_OUT_OF_MEMORY'; }
export declare class InvalidArgumentError extends XlmrError { readonly code: 'ERR_INVALID_ARGUMENT'; }
export declare class InvalidStateError extends XlmrError { readonly code: 'ERR_INVALID_STATE'; }
export declare class UnsupportedError extends XlmrError { readonly code: 'ERR_UNSUPPORTED'; }
export declare class InternalError extends XlmrError { readonly code: 'ERR_INTERNAL'; }
