// Where a model's bytes come from: classifying what the user passed to load(), resolving hub ids,
// and readers that hand out the bytes chunk by chunk (never the whole file at once).
//
// A reader is { label, total, next(): Promise<Uint8Array|null>, readInto?(u8): Promise<number>, close() }:
// `total` is the size announced up front (Content-Length, file size) or undefined; next() returns the
// next chunk or null at the end and throws NetworkError when the body breaks or ends short of `total`;
// readInto (local files) reads straight into the given view (wasm memory) and returns 0 at the end.

import { XlmrError, NetworkError, InvalidArgumentError, ModelFormatError, abortError } from './errors.js';

export const DEFAULT_HUB_URL = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';
/** The Hugging Face folder layout this package reads (tokenizerJson: read when there is no `tokenizer`, as in the
 * converted repositories transformers.js uses). */
export const FOLDER_FILES = Object.freeze({
  config: 'config.json',
  tokenizer: 'sentencepiece.bpe.model',
  tokenizerJson: 'tokenizer.json',
  weights: 'model.safetensors',
});

/** A folder's weights, in the hub's order: safetensors (one file, then its shard index), then PyTorch's .bin (one
 * file, then its index). Tried in turn when the folder's weights are not named. */
export const WEIGHTS_ORDER = Object.freeze([
  'model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', 'pytorch_model.bin.index.json',
]);

/** BGE-M3's two extra heads as the hub ships them beside the model's weights: FlagEmbedding saves each module's
 * state_dict ("weight", "bias") in its own file; the loader puts the prefix before those names, which are then the
 * tensor table's m3.* rows' Hugging Face names. */
export const EXTRA_WEIGHTS = Object.freeze([
  Object.freeze({ file: 'colbert_linear.pt', prefix: 'colbert_linear.', tensors: Object.freeze(['weight', 'bias']) }),
  Object.freeze({ file: 'sparse_linear.pt', prefix: 'sparse_linear.', tensors: Object.freeze(['weight', 'bias']) }),
]);

/** Whether a folder's config.json (bytes) can go with EXTRA_WEIGHTS: BGE-M3's says XLMRobertaModel; a classifier,
 *  a masked LM or a file without architectures is not looked for them (two requests fewer per hub load). */
export function wantsExtraWeights(configBytes) {
  let cfg;
  try { cfg = JSON.parse(new TextDecoder().decode(configBytes)); } catch { return false; }
  return Array.isArray(cfg?.architectures) && cfg.architectures.includes('XLMRobertaModel');
}

/** The EXTRA_WEIGHTS files a folder has, opened: [{ file, prefix, tensors, reader }]; a missing one is skipped. */
export async function openExtraWeights(open) {
  const found = [];
  try {
    for (const x of EXTRA_WEIGHTS) {
      try {
        found.push({ ...x, reader: await open(x.file) });
      } catch (e) {
        if (!isMissingFile(e)) throw e;
      }
    }
  } catch (e) {
    for (const f of found) f.reader.close?.();
    throw e;
  }
  return found;
}

/** The weights (openWeights' result) and the extra files as one multi-file load: { name, index, files }, index the
 * text for xlmr_loader_set_index (a shard index's weight_map plus the extras' tensors under their full names),
 * files in streaming order: names of shards, or { file, prefix, reader } (the first one opened already). */
export function withExtraWeights(weights, extras) {
  const map = weights.index ? { ...JSON.parse(weights.index).weight_map } : {};
  for (const x of extras) for (const t of x.tensors) map[x.prefix + t] = x.file;
  const first = weights.index ? weights.files : [{ file: weights.name, reader: weights.reader }];
  return { name: weights.name, index: JSON.stringify({ weight_map: map }), files: [...first, ...extras] };
}

/** An open() failure that means the file is not there (HTTP 404, ENOENT), as opposed to one that broke. */
export function isMissingFile(e) {
  return e?.status === 404 || (e?.code === 'ERR_FILE' && e.cause?.code === 'ENOENT');
}

/**
 * A folder's tokenizer: sentencepiece.bpe.model, else tokenizer.json. open(name) -> reader (throws when missing).
 * Returns { reader, name, json } (json: the reader holds a tokenizer.json); when neither is there, the error of
 * the .model's open() is thrown, its message naming both.
 */
export async function openTokenizer(open) {
  try {
    return { reader: await open(FOLDER_FILES.tokenizer), name: FOLDER_FILES.tokenizer, json: false };
  } catch (e) {
    if (!isMissingFile(e)) throw e;
    try {
      return { reader: await open(FOLDER_FILES.tokenizerJson), name: FOLDER_FILES.tokenizerJson, json: true };
    } catch (e2) {
      if (!isMissingFile(e2)) throw e2;
      e.message += ` (nor is there a ${FOLDER_FILES.tokenizerJson})`;
      throw e;
    }
  }
}

/**
 * A folder's weights: the file named, or (when it is the default model.safetensors and missing) the next of
 * WEIGHTS_ORDER that is there. open(name) -> reader. Returns { name, reader } for one file, or { name, index, files }
 * for a shard index (index: its text for the loader; files: the weight_map's files, sorted, each streamed in turn).
 * When none is there, the first open()'s error is thrown, its message naming the others.
 */
export async function openWeights(open, name) {
  const order = name === FOLDER_FILES.weights ? WEIGHTS_ORDER : [name];
  let missing;
  for (const candidate of order) {
    try {
      if (!/\.index\.json$/i.test(candidate)) return { name: candidate, reader: await open(candidate) };
      const index = new TextDecoder().decode(await readAll(await open(candidate), 64 << 20));
      return { name: candidate, index, files: shardFiles(index, candidate) };
    } catch (e) {
      if (!isMissingFile(e)) throw e;
      missing ??= e;
    }
  }
  if (order.length > 1) missing.message += ` (nor is there ${order.slice(1).join(', ')})`;
  throw missing;
}

/** The files of a shard index's weight_map, sorted (pytorch_model-00001-of-00002.bin, ...); names with a path refused. */
export function shardFiles(text, label) {
  let map;
  try {
    map = JSON.parse(text)?.weight_map;
  } catch (e) {
    throw new ModelFormatError(`${label} is not JSON: ${e.message}`);
  }
  const files = [...new Set(Object.values(map ?? {}))].sort();
  if (!files.length || files.some((f) => typeof f !== 'string' || !/^[^\\/]+$/.test(f) || f.startsWith('.'))) {
    throw new ModelFormatError(`${label}: "weight_map" must map tensor names to file names in the same folder`);
  }
  return files;
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/;
const HUB_ID_WITH_FILE = /^([A-Za-z0-9][\w.-]*\/[\w.-]+)\/(.+\.(?:gguf|safetensors|bin|pt|index\.json))$/;

/** The hub base URL: option, else $XLMR_HUB_URL, else huggingface.co; no trailing slash. */
export function hubBaseUrl(hubUrl, env) {
  const base = hubUrl || env?.('XLMR_HUB_URL') || DEFAULT_HUB_URL;
  return String(base).replace(/\/+$/, '');
}

/** `{hubUrl}/{id}/resolve/{revision}/{file}` */
export function hubFileUrl(base, id, revision, file) {
  const rev = encodeURIComponent(revision || DEFAULT_REVISION);
  return `${base}/${id}/resolve/${rev}/${file}`;
}

function isBinaryLike(s) {
  return (
    s instanceof ArrayBuffer ||
    ArrayBuffer.isView(s) ||
    (typeof Blob !== 'undefined' && s instanceof Blob) ||
    (typeof Response !== 'undefined' && s instanceof Response) ||
    (typeof ReadableStream !== 'undefined' && s instanceof ReadableStream)
  );
}

function layoutOfName(name) {
  if (/\.gguf$/i.test(name)) return 'file';
  if (/\.(?:safetensors|bin|pt|index\.json)$/i.test(name)) return 'weights-in-folder';
  return 'folder';
}

/**
 * What the user passed -> a descriptor, without touching the network or the disk:
 *   { type: 'bytes', value }                                   ArrayBuffer, view, Blob, Response, ReadableStream
 *   { type: 'url', url, layout: 'file' | 'folder', weights }   http(s) URL, hub id
 *   { type: 'path', path }                                     local path (Node; file or folder decided by stat)
 * `pathExists(str)` tells (sync) whether a string names something on disk; absent in browsers.
 */
export function classifySource(source, { hubUrl, revision, env, pathExists, isNode, baseUrl } = {}) {
  if (source == null) throw new InvalidArgumentError('load() needs a source: a path, URL, hub id (e.g. "FacebookAI/xlm-roberta-base") or bytes');
  if (isBinaryLike(source)) return { type: 'bytes', value: source };
  if (source instanceof URL) source = source.href;
  if (typeof source !== 'string') {
    throw new InvalidArgumentError(`load() cannot use a source of type ${Object.prototype.toString.call(source)}; pass a path, URL, hub id, ArrayBuffer, Uint8Array, Blob, Response or ReadableStream`);
  }
  const s = source.trim();
  if (s === '') throw new InvalidArgumentError('load() got an empty source string');

  if (/^https?:\/\//i.test(s)) return urlDescriptor(s);
  if (/^file:\/\//i.test(s)) {
    if (isNode) return { type: 'path', path: s, fileUrl: true };
    return urlDescriptor(s);
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(s) && !/^[A-Za-z]:[\\/]/.test(s)) {
    // blob:, data: etc. in browsers; Windows drive letters are paths.
    if (!isNode) return urlDescriptor(s);
  }
  const explicitPath = /^(\.{1,2}[\\/]|[\\/]|~[\\/]|[A-Za-z]:[\\/])/.test(s) || s === '.' || s === '..';
  if (isNode && (explicitPath || pathExists?.(s))) return { type: 'path', path: s };
  if (!explicitPath) {
    const withFile = HUB_ID_WITH_FILE.exec(s);
    const base = hubBaseUrl(hubUrl, env);
    if (withFile) {
      const url = hubFileUrl(base, withFile[1], revision, withFile[2]);
      return { ...urlDescriptor(url), hubId: withFile[1] };
    }
    if (HUB_ID.test(s) && !/\.gguf$/i.test(s)) {
      const folder = hubFileUrl(base, s, revision, '');
      return { type: 'url', layout: 'folder', url: folder, weights: FOLDER_FILES.weights, hubId: s };
    }
  }
  if (isNode) return { type: 'path', path: s };
  // A relative URL in a browser ("./models/tiny/", "model.gguf").
  return urlDescriptor(new URL(s, baseUrl ?? globalThis.location?.href).href);
}

function urlDescriptor(url) {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.split('/').pop() || '');
  const layout = layoutOfName(name);
  if (layout === 'file') return { type: 'url', layout: 'file', url: u.href };
  if (layout === 'weights-in-folder') {
    const folder = new URL('./', u).href;
    return { type: 'url', layout: 'folder', url: folder, weights: name };
  }
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return { type: 'url', layout: 'folder', url: u.href, weights: FOLDER_FILES.weights };
}

// ---- readers ----

/** GET url -> reader. HTTP errors name the URL and the status. */
export async function openUrl(url, { signal, fetchImpl = globalThis.fetch } = {}) {
  if (typeof fetchImpl !== 'function') throw new NetworkError(`cannot fetch ${url}: this platform has no fetch()`, { url });
  let res;
  try {
    res = await fetchImpl(url, { signal, redirect: 'follow' });
  } catch (e) {
    if (signal?.aborted) throw abortError(signal);
    throw new NetworkError(`could not fetch ${url}: ${describeCause(e)}`, { url, cause: e });
  }
  if (!res.ok) {
    try { await res.body?.cancel(); } catch { /* ignore */ }
    throw new NetworkError(`GET ${url} failed: HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`, { url, status: res.status });
  }
  return responseReader(res, url, signal);
}

function describeCause(e) {
  const c = e?.cause;
  const parts = [e?.message, c?.code, c?.message].filter(Boolean);
  return [...new Set(parts)].join(': ') || String(e);
}

/** A Response (checked ok) -> reader; Content-Length is the expected size unless the body was encoded. */
export function responseReader(res, label, signal) {
  if (!res.ok) throw new NetworkError(`${label} failed: HTTP ${res.status}`, { url: label, status: res.status });
  if (!res.body) return bufferReader(new Uint8Array(0), label);
  const enc = res.headers.get('content-encoding');
  const cl = res.headers.get('content-length');
  const total = (!enc || enc === 'identity') && cl != null && /^\d+$/.test(cl) ? Number(cl) : undefined;
  return streamReader(res.body, label, total, signal, true);
}

/** A ReadableStream of bytes -> reader. `network` makes breaks NetworkErrors naming the URL. */
export function streamReader(stream, label, total, signal, network = false) {
  const reader = stream.getReader();
  let got = 0;
  let finished = false;
  return {
    label,
    total,
    get received() { return got; },
    async next() {
      if (finished) return null;
      let r;
      try {
        r = await reader.read();
      } catch (e) {
        finished = true;
        if (signal?.aborted) throw abortError(signal);
        if (e?.name === 'AbortError') throw abortError(signal);
        if (e instanceof XlmrError) throw e;
        const what = network ? `the connection for ${label} broke after ${got}${total !== undefined ? ` of ${total}` : ''} bytes` : `reading ${label} failed after ${got} bytes`;
        throw new NetworkError(`${what}: ${describeCause(e)}`, { url: network ? label : undefined, cause: e });
      }
      if (r.done) {
        finished = true;
        if (total !== undefined && got !== total) {
          throw new NetworkError(`${label} ended after ${got} bytes but ${network ? 'Content-Length' : 'its size'} says ${total}`, { url: network ? label : undefined });
        }
        return null;
      }
      let chunk = r.value;
      if (!(chunk instanceof Uint8Array)) {
        if (chunk instanceof ArrayBuffer) chunk = new Uint8Array(chunk);
        else if (ArrayBuffer.isView(chunk)) chunk = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        else throw new InvalidArgumentError(`${label}: the stream gave a ${typeof chunk}, not bytes`);
      }
      got += chunk.byteLength;
      if (total !== undefined && got > total) {
        finished = true;
        throw new NetworkError(`${label} sent more than the ${total} bytes ${network ? 'Content-Length' : 'its size'} says`, { url: network ? label : undefined });
      }
      return chunk;
    },
    async close() {
      finished = true;
      try { await reader.cancel(); } catch { /* already errored */ }
      try { reader.releaseLock(); } catch { /* ignore */ }
    },
  };
}

/** Bytes already in memory -> reader handing out views (no copy). */
export function bufferReader(bytes, label = 'buffer', chunkSize = 1 << 22) {
  let pos = 0;
  return {
    label,
    total: bytes.byteLength,
    get received() { return pos; },
    async next() {
      if (pos >= bytes.byteLength) return null;
      const end = Math.min(bytes.byteLength, pos + chunkSize);
      const v = bytes.subarray(pos, end);
      pos = end;
      return v;
    },
    async close() { pos = bytes.byteLength; },
  };
}

/** ArrayBuffer | view | Blob | Response | ReadableStream -> reader. */
export function bytesReader(value, signal, total) {
  if (value instanceof ArrayBuffer) return bufferReader(new Uint8Array(value), 'ArrayBuffer');
  if (ArrayBuffer.isView(value)) return bufferReader(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), value.constructor.name);
  if (typeof Blob !== 'undefined' && value instanceof Blob) return streamReader(value.stream(), value.name ? `Blob ${value.name}` : 'Blob', value.size, signal);
  if (typeof Response !== 'undefined' && value instanceof Response) return responseReader(value, value.url || 'Response', signal);
  if (typeof ReadableStream !== 'undefined' && value instanceof ReadableStream) return streamReader(value, 'ReadableStream', total, signal);
  throw new InvalidArgumentError('not a byte source');
}

/** A whole small file (config.json, the SentencePiece model) into one buffer. */
export async function readAll(reader, limit = 256 << 20) {
  const parts = [];
  let n = 0;
  try {
    for (;;) {
      const c = await reader.next();
      if (!c) break;
      n += c.byteLength;
      if (n > limit) throw new ModelFormatError(`${reader.label} is larger than ${limit} bytes: not the small file expected there`);
      parts.push(c.slice());
    }
  } finally {
    await reader.close();
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.byteLength; }
  return out;
}
