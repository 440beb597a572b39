// Types for xlmr-wasm: XLM-RoBERTa fill-mask, embeddings, tokenization and the fine-tuned task heads
// (classification, reranking, zero-shot, token classification, question answering) in WebAssembly.

/** What load() accepts: a path (Node), URL, hub id ("FacebookAI/xlm-roberta-base"), or the bytes of a .gguf. */
export type ModelSource = string | URL | ArrayBuffer | ArrayBufferView | Blob | Response | ReadableStream<Uint8Array>;

export type DType = 'q8_0' | 'f16' | 'f32' | 'q4_0';

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
  /** Threads for one forward pass (default 'auto': one per core the platform reports, navigator.hardwareConcurrency
   *  or os.availableParallelism(), at most 4; 1 where memory cannot be shared or pool workers do not start).
   *  > 1 uses the threaded build (dist/xlmr-mt.wasm) on shared memory with threads - 1 extra workers; where
   *  SharedArrayBuffer is absent (pages without COOP/COEP) it falls back to 1; workers that cannot start are an
   *  UnsupportedError. Outputs are identical at any count. `model.runtime.threads` tells what runs. */
  threads?: number | 'auto';
  /** 'auto' (default): the relaxed-SIMD build where the engine's fused dot product is exact (x86 AVX-VNNI,
   *  AVX-VNNI-INT8, Arm with or without dotprod: outputs bit-identical to SIMD128's, faster), SIMD128 elsewhere (x86
   *  without VNNI). 'relaxed': the
   *  relaxed-SIMD build (dist/xlmr-relaxed.wasm, or -relaxed-mt with threads) wherever the engine validates relaxed
   *  SIMD, exact where it can be and with 7-bit activations where not; SIMD128 elsewhere. 'simd128': always SIMD128.
   *  Ignored when wasmModule or wasmUrl says which core to run. `model.runtime.simd` and `.kernel` tell what runs. */
  simd?: 'auto' | 'simd128' | 'relaxed';
  /** Weight type kept in memory when the source holds float safetensors (default 'q8_0'). A GGUF keeps its types.
   *  'q8_0' also computes with 8-bit activations and int16 attention; 'f16' / 'f32' weights compute in float.
   *  'q4_0' (ggml's 4-bit blocks, llama.cpp's Q4_0) computes as 'q8_0' does, on 4-bit weights. */
  dtype?: DType;
  /** The word-embedding table's type when the source holds float safetensors (default: the dtype), e.g. 'q4_0' beside
   *  'q8_0' layers: the table is most of an XLM-R checkpoint. Part of the cache key. */
  embeddingType?: DType;
  /** Converted models are cached as GGUF: false = off, a string = the cache folder (Node) / cache name (browsers). */
  cache?: boolean | string;
  /** A precompiled core (required on edge runtimes that cannot compile wasm from bytes), or the SIMD128 and
   *  relaxed-SIMD cores (dist/xlmr.wasm, dist/xlmr-relaxed.wasm) to let `simd` choose between them as it does
   *  among the package's own builds: 'auto' runs the relaxed one where its exact kernel runs, else SIMD128.
   *  `model.runtime.build` is then 'wasmModule.relaxed' or 'wasmModule.simd128'. */
  wasmModule?: WebAssembly.Module | { simd128?: WebAssembly.Module; relaxed?: WebAssembly.Module };
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
  /** Type of the layer weights in memory: 'q8_0', 'q4_0', 'f16', 'f32' (a GGUF's may also be 'bf16'). */
  weightType: string;
  /** Type of the word-embedding table (and the fill-mask decoder tied to it). */
  embeddingType: string;
  weightsBytes: number;
  padTokenId: number;
  bosTokenId: number;
  eosTokenId: number;
  unkTokenId: number;
  maskTokenId: number;
  /** The task head the model file carries (at most one): what classify, rerank, zeroShot (text-classification),
   *  tokenClassify (token-classification), answer (question-answering) and fillMask need; null for none. */
  head: 'fill-mask' | 'text-classification' | 'token-classification' | 'question-answering' | 'bge-m3' | null;
  /** Outputs of the head: labels of a classifier (1 for a reranker or a regression), 2 for question answering. */
  numLabels: number;
  /** config.json's problem_type, which sets classify's default function. */
  problemType: 'regression' | 'single_label_classification' | 'multi_label_classification' | null;
  /** id2label in id order (LABEL_i when the config names none). */
  labels: string[];
  /** embed()'s default pooling as the model's files say it (sentence-transformers' Pooling module, bert.pooling_type);
   *  null: they say nothing (embed then pools by mean). */
  pooling: Pooling | null;
  /** embed()'s default normalisation from the model's files (a Normalize module); null: they say nothing. */
  normalize: boolean | null;
  /** A BERT-type model (position ids from 0 over every token), e.g. multilingual-e5-small. */
  bertPositions: boolean;
  /** The vocabulary size before `trim()` / `xlmr trim`, or null: fill-mask then predicts among the kept pieces only. */
  trimmedFrom: number | null;
  [key: string]: unknown;
}

export interface LoadInfo {
  /** 'cache' when the converted model came from the cache. */
  source: 'origin' | 'cache';
  format: 'gguf' | 'safetensors' | 'pytorch' | null;
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

export type Pooling = 'mean' | 'cls' | 'last' | 'none';

export interface EmbedOptions {
  /** 'mean' (attention-masked mean), 'cls' (the <s> state), 'last' (the </s> state) or 'none' (every token's state).
   *  Default: what the model's files say (config.pooling: a sentence-transformers Pooling module, a GGUF's
   *  bert.pooling_type; 'cls' for BGE-M3), else 'mean'. */
  pooling?: Pooling;
  /** L2-normalise pooled vectors. Default: config.normalize (a sentence-transformers Normalize module), else true. */
  normalize?: boolean;
  truncation?: boolean;
  /** Texts per forward pass; each batch is padded to its longest text (default 16). */
  batchSize?: number;
  /** BGE-M3 only (config.head 'bge-m3'): 'sparse' gives each text's lexical weights, 'colbert' its multi-vectors,
   *  'all' the three; 'dense' (default) the usual vector. */
  output?: 'dense' | 'sparse' | 'colbert' | 'all';
}

/** BGE-M3's lexical weights: token id -> the largest weight of that id in the text (FlagEmbedding's lexical_weights;
 *  <s>, </s>, <pad>, <unk> and weights <= 0 left out). */
export type LexicalWeights = Record<string, number>;
/** embed(…, { output: 'all' }) of BGE-M3: the dense vector (hiddenSize), the lexical weights, and the ColBERT
 *  vectors of every token after <s> ((tokens - 1) × hiddenSize, row-major, each L2-normalised). */
export interface M3Embedding {
  dense: Float32Array;
  sparse: LexicalWeights;
  colbert: Float32Array;
}

export interface TokenizeOptions {
  truncation?: boolean;
  /** Also give each token's character span (Hugging Face's fast tokenizer's offsets). */
  offsets?: boolean;
}

export interface Tokenized {
  /** Ids with <s> … </s>. */
  ids: number[];
  /** The pieces of those ids. */
  tokens: string[];
}

export interface TokenizedWithOffsets extends Tokenized {
  /** Per id, [start, end) in UTF-16 code units of the text (what JS indexes); <s> and </s> are [0, 0]. */
  offsets: Array<[number, number]>;
}

/** Truncation of a text or a pair: true = 'longest_first'; false refuses long inputs with TooLongError. */
export type Truncation = boolean | 'longest_first' | 'only_first' | 'only_second';

/** A classify() input of two texts: <s> text </s></s> textPair </s> (text_pair accepted too). */
export interface TextPair { text: string; textPair?: string; text_pair?: string }

/** One label and its score (text_classification.py's { label, score }). */
export interface LabelScore { label: string; score: number }

export interface ClassifyOptions {
  /** Labels per input, sorted by score; null: every label. Absent: the pipeline's legacy shapes (below). */
  topK?: number | null;
  /** Default from the model: 'none' for regression, 'sigmoid' for multi-label or one label, else 'softmax'. */
  functionToApply?: 'sigmoid' | 'softmax' | 'none';
  truncation?: Truncation;
}

export interface RerankOptions {
  /** Best documents kept (default all). */
  topK?: number | null;
  /** Put each document's text in its result. */
  returnDocuments?: boolean;
  truncation?: Truncation;
  /** The logit instead of its sigmoid. */
  rawScores?: boolean;
  /** Pairs per forward pass (default 16). */
  batchSize?: number;
}

/** A reranked document: its index in the input and its score, sorted best first. */
export interface RankedDocument { index: number; score: number; document?: string }

export interface ZeroShotOptions {
  /** The hypothesis with {} where the label goes (default 'This example is {}.'). */
  hypothesisTemplate?: string;
  /** Score each label alone (entailment against contradiction) instead of a softmax over the labels. */
  multiLabel?: boolean;
}

/** zero_shot_classification.py's output: labels sorted by score. */
export interface ZeroShotResult { sequence: string; labels: string[]; scores: number[] }

export type AggregationStrategy = 'none' | 'simple' | 'first' | 'average' | 'max';

export interface TokenClassifyOptions {
  /** 'none' (default): one entity per token; the others group tokens into words and entities. */
  aggregationStrategy?: AggregationStrategy;
  /** Labels left out (default ['O']). */
  ignoreLabels?: string[];
  /** Window a long text with this many tokens of overlap (not with 'none'); without it a long text is truncated. */
  stride?: number;
}

/** An entity of aggregationStrategy 'none': one token. start / end: UTF-16 indexes into the text. */
export interface TokenEntity { entity: string; score: number; index: number; word: string; start: number; end: number }
/** An entity of the other strategies: tokens grouped ('B-PER', 'I-PER' -> 'PER'). */
export interface EntityGroup { entity_group: string; score: number; word: string; start: number; end: number }
/** Either kind of entity. */
export type Entity = TokenEntity | EntityGroup;

export interface QuestionAnswerInput { question: string; context: string }

export interface AnswerOptions {
  /** Answers wanted (default 1); a list comes back when more than one is found. */
  topK?: number;
  /** Longest answer in tokens (default 15). */
  maxAnswerLen?: number;
  /** Tokens per window of question + context (default min(model maximum, 384)). */
  maxSeqLen?: number;
  /** Tokens of overlap between windows (default min(maxSeqLen / 2, 128)). */
  docStride?: number;
  /** Allow the empty answer (score of <s> as start and end). */
  handleImpossibleAnswer?: boolean;
  /** Widen spans to whole whitespace-separated words (default true). */
  alignToWords?: boolean;
}

/** An answer span: start / end are UTF-16 indexes into the context; answer = context.slice(start, end). */
export interface Answer { score: number; start: number; end: number; answer: string }

export declare class Model {
  private constructor();
  readonly config: Readonly<ModelConfig>;
  readonly loadInfo: Readonly<LoadInfo>;
  readonly mode: 'worker' | 'in-thread';
  /** Which core runs: the build file ('xlmr.wasm', 'xlmr-relaxed-mt.wasm', …; 'wasmModule' when one was passed, 'wasmModule.relaxed' /
   *  'wasmModule.simd128' for the one chosen from { simd128, relaxed }), the instruction set its
   *  kernels were compiled for as the core reports it ('simd128', 'relaxed' for the relaxed-SIMD builds, 'scalar'
   *  for one compiled without SIMD), its int8 GEMM kernel ('simd128'; 'vnni-exact' or 'sdot-exact', bit-identical to
   *  it; 'pair-u7', 7-bit activations), its thread count, and whether it runs in a Worker. */
  readonly runtime: Readonly<{ build: string; simd: 'simd128' | 'relaxed' | 'scalar'; kernel: 'simd128' | 'vnni-exact' | 'sdot-exact' | 'pair-u7' | null; threads: number; worker: boolean }>;
  readonly disposed: boolean;
  /** One <mask>: a list of predictions. Several masks: one list per mask, in order. */
  fillMask(text: string, options?: FillMaskOptions): Promise<FillMaskPrediction[] | FillMaskPrediction[][]>;
  /** A string: one vector (hiddenSize, or seqLen × hiddenSize for pooling 'none'); an array: one per text. */
  embed(text: string, options: EmbedOptions & { output: 'sparse' }): Promise<LexicalWeights>;
  embed(texts: string[], options: EmbedOptions & { output: 'sparse' }): Promise<LexicalWeights[]>;
  embed(text: string, options: EmbedOptions & { output: 'all' }): Promise<M3Embedding>;
  embed(texts: string[], options: EmbedOptions & { output: 'all' }): Promise<M3Embedding[]>;
  embed(text: string, options?: EmbedOptions): Promise<Float32Array>;
  embed(texts: string[], options?: EmbedOptions): Promise<Float32Array[]>;
  tokenize(text: string, options: TokenizeOptions & { offsets: true }): Promise<TokenizedWithOffsets>;
  tokenize(text: string, options?: TokenizeOptions): Promise<Tokenized>;
  /** Sequence classification (text_classification.py's shapes). Without topK: a string gives [{ label, score }]
   *  (the best label), a pair { label, score }, an array one { label, score } per item. With topK (null: every
   *  label): an input gives its labels sorted by score, an array one such list per item. */
  classify(text: string, options?: ClassifyOptions & { topK?: undefined }): Promise<LabelScore[]>;
  classify(pair: TextPair, options?: ClassifyOptions & { topK?: undefined }): Promise<LabelScore>;
  classify(inputs: Array<string | TextPair>, options?: ClassifyOptions & { topK?: undefined }): Promise<LabelScore[]>;
  classify(input: string | TextPair, options: ClassifyOptions & { topK: number | null }): Promise<LabelScore[]>;
  classify(inputs: Array<string | TextPair>, options: ClassifyOptions & { topK: number | null }): Promise<LabelScore[][]>;
  /** A cross-encoder's score of each (query, document) pair (a single-output text-classification head), sorted. */
  rerank(query: string, documents: string[], options?: RerankOptions): Promise<RankedDocument[]>;
  /** Zero-shot classification with an NLI head: candidates as an array or one comma-separated string. */
  zeroShot(text: string, candidateLabels: string[] | string, options?: ZeroShotOptions): Promise<ZeroShotResult>;
  /** Token classification (NER) with character offsets into the text. */
  tokenClassify(text: string, options?: TokenClassifyOptions & { aggregationStrategy?: 'none' }): Promise<TokenEntity[]>;
  tokenClassify(text: string, options: TokenClassifyOptions & { aggregationStrategy: 'simple' | 'first' | 'average' | 'max' }): Promise<EntityGroup[]>;
  tokenClassify(text: string, options?: TokenClassifyOptions): Promise<Entity[]>;
  /** Extractive question answering over a context of any length (strided windows). One answer unless topK > 1
   *  finds several, then a list sorted by score. */
  answer(input: QuestionAnswerInput, options?: AnswerOptions & { topK?: 1 }): Promise<Answer>;
  answer(input: QuestionAnswerInput, options?: AnswerOptions): Promise<Answer | Answer[]>;
  /** A copy of this model cut down to the vocabulary of a corpus, as one GGUF file (load() it, or write it to disk).
   *  The corpus tokenizes exactly as with the full model; its outputs are the full model's. */
  trim(options: TrimOptions): Promise<TrimResult>;
  /** The loaded model as a GGUF file, chunk by chunk (write or copy each chunk before asking for the next). */
  exportGguf(): AsyncIterableIterator<Uint8Array>;
  /** Diagnostics (wasm memory size, open loaders). */
  stats(): Promise<{ memoryBytes: number; liveLoaders: number; hasModel: boolean; [key: string]: unknown }>;
  /** Frees the model and ends its worker. Later calls reject with InvalidStateError. */
  dispose(): Promise<void>;
}

export interface TrimOptions {
  /** The texts to keep the vocabulary of (each line counts as one text), or named groups of them
   *  ({ de: [...], fr: [...] }: the report is per group). */
  corpus: string[] | Record<string, string[]>;
  /** Fill up to this many pieces with the best-scoring ones of the corpus's scripts (default: only what is needed). */
  vocabSize?: number;
  /** Share of each group's texts (every k-th) set aside, not trimmed on, and reported on (default 0.1; 0: none). */
  heldOut?: number;
}

export interface TrimResult {
  /** The trimmed model as a GGUF file. */
  gguf: Uint8Array;
  report: {
    vocabSize: number;
    originalVocabSize: number;
    /** Texts trimmed on. */
    corpusTexts: number;
    /** Per group: held-aside texts, and how many tokenize to the same pieces as with the full vocabulary. */
    heldOut: { name: string; texts: number; unchanged: number; share: number | null }[];
    heldOutFraction: number;
  };
}

export declare function load(source: ModelSource, options?: LoadOptions): Promise<Model>;

/** What every pipeline function carries besides its call: the task (aliases resolved), the model, dispose()
 *  (frees the model when pipeline() loaded it; a Model passed in stays the caller's). */
export interface PipelineBase<Task extends string> { task: Task; model: Model; dispose(): Promise<void> }

/** Options in this package's camelCase or transformers.js' snake_case (top_k, aggregation_strategy, …). */
type Options<T> = T & { [snakeCase: string]: unknown };

export type FillMaskPipeline = PipelineBase<'fill-mask'> &
  ((text: string, options?: Options<FillMaskOptions>) => Promise<FillMaskPrediction[] | FillMaskPrediction[][]>);
export type FeatureExtractionPipeline = PipelineBase<'feature-extraction'> & {
  (text: string, options?: Options<EmbedOptions>): Promise<Float32Array>;
  (texts: string[], options?: Options<EmbedOptions>): Promise<Float32Array[]>;
};
export type TextClassificationPipeline = PipelineBase<'text-classification'> & {
  (inputs: string | Array<string | TextPair>, options?: Options<ClassifyOptions>): Promise<LabelScore[] | LabelScore[][]>;
  (pair: TextPair, options?: Options<ClassifyOptions>): Promise<LabelScore | LabelScore[]>;
};
export type TokenClassificationPipeline = PipelineBase<'token-classification'> &
  ((text: string, options?: Options<TokenClassifyOptions>) => Promise<Entity[]>);
export type QuestionAnsweringPipeline = PipelineBase<'question-answering'> & {
  (question: string, context: string, options?: Options<AnswerOptions>): Promise<Answer | Answer[]>;
  (input: QuestionAnswerInput, options?: Options<AnswerOptions>): Promise<Answer | Answer[]>;
};
export type ZeroShotClassificationPipeline = PipelineBase<'zero-shot-classification'> &
  ((text: string, candidateLabels: string[] | string, options?: Options<ZeroShotOptions>) => Promise<ZeroShotResult>);
export type TextRankingPipeline = PipelineBase<'text-ranking'> &
  ((query: string, documents: string[], options?: Options<RerankOptions>) => Promise<RankedDocument[]>);

/** transformers.js' load options (progress_callback, cache_dir, dtype 'q8' | 'fp16' | 'fp32', …) or load()'s. */
export type PipelineLoadOptions = Omit<LoadOptions, 'dtype'> & {
  dtype?: DType | 'q8' | 'int8' | 'uint8' | 'fp16' | 'fp32' | 'q4';
  progress_callback?: (progress: LoadProgress) => void;
  cache_dir?: string;
  [key: string]: unknown;
};

/** transformers.js' facade: a function with the task's call shape. model: a loaded Model or any load() source
 *  (default FacebookAI/xlm-roberta-base); a model without the task's head is UnsupportedError. */
export declare function pipeline(task: 'fill-mask', model?: ModelSource | Model, options?: PipelineLoadOptions): Promise<FillMaskPipeline>;
export declare function pipeline(task: 'feature-extraction' | 'embeddings', model?: ModelSource | Model, options?: PipelineLoadOptions): Promise<FeatureExtractionPipeline>;
export declare function pipeline(task: 'text-classification' | 'sentiment-analysis', model?: ModelSource | Model, options?: PipelineLoadOptions): Promise<TextClassificationPipeline>;
export declare function pipeline(task: 'token-classification' | 'ner', model?: ModelSource | Model, options?: PipelineLoadOptions): Promise<TokenClassificationPipeline>;
export declare function pipeline(task: 'question-answering', model?: ModelSource | Model, options?: PipelineLoadOptions): Promise<QuestionAnsweringPipeline>;
export declare function pipeline(task: 'zero-shot-classification', model?: ModelSource | Model, options?: PipelineLoadOptions): Promise<ZeroShotClassificationPipeline>;
export declare function pipeline(task: 'text-ranking' | 'rerank' | 'ranking', model?: ModelSource | Model, options?: PipelineLoadOptions): Promise<TextRankingPipeline>;

export declare const DEFAULT_HUB_URL: string;

/** Whether this engine validates WebAssembly SIMD128, which every build of the core needs. */
export declare function hasSimd(): boolean;
/** Whether this engine validates the relaxed-SIMD instruction the relaxed builds use (what `simd: 'relaxed'` needs). */
export declare function hasRelaxedSimd(): boolean;
/** The thread count `threads: 'auto'` gives for this many cores (1 to 4). */
export declare function autoThreads(cores?: number): number;
/** BGE-M3's lexical matching score (FlagEmbedding's compute_lexical_matching_score): the sum over shared token ids of
 *  the two weights' product. */
export declare function lexicalMatchingScore(a: LexicalWeights, b: LexicalWeights): number;
/** BGE-M3's ColBERT score (colbert_score): each query vector's best dot product with a passage vector, averaged over
 *  the query's vectors. Both are rows of hiddenSize floats. */
export declare function colbertScore(query: Float32Array, passage: Float32Array, hiddenSize: number): number;

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
