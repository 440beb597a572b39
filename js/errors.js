// Errors users can branch on: every error this package throws is an XlmrError with a stable `code`.
// They cross the Worker boundary as plain objects (toJSON / fromJSON) and come back as the same class.

export class XlmrError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = this.constructor.name;
  }
  get code() {
    return 'ERR_XLMR';
  }
  toJSON() {
    const out = { code: this.code, message: this.message };
    if (this.url !== undefined) out.url = this.url;
    if (this.status !== undefined) out.status = this.status;
    return out;
  }
}

/** The bytes are not a model this package can read (bad header, wrong tensor shape, truncated file…). */
export class ModelFormatError extends XlmrError {
  get code() { return 'ERR_MODEL_FORMAT'; }
}
/** fillMask on a text without `<mask>`. */
export class NoMaskError extends XlmrError {
  get code() { return 'ERR_NO_MASK'; }
}
/** Input longer than the model accepts (pass `{ truncation: true }`). */
export class TooLongError extends XlmrError {
  get code() { return 'ERR_TOO_LONG'; }
}
/** The AbortSignal fired. */
export class AbortError extends XlmrError {
  get code() { return 'ERR_ABORTED'; }
}
/** A request failed, a server answered with an error status, or a body ended early. `url`, `status`. */
export class NetworkError extends XlmrError {
  constructor(message, { url, status, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    if (url !== undefined) this.url = url;
    if (status !== undefined) this.status = status;
  }
  get code() { return 'ERR_NETWORK'; }
}
/** A local file or folder is missing or unreadable. */
export class FileError extends XlmrError {
  get code() { return 'ERR_FILE'; }
}
/** The WebAssembly memory could not grow (the model or the batch is too big for this machine/engine). */
export class OutOfMemoryError extends XlmrError {
  get code() { return 'ERR_OUT_OF_MEMORY'; }
}
/** A bad argument from the caller (wrong type, unknown option value). */
export class InvalidArgumentError extends XlmrError {
  get code() { return 'ERR_INVALID_ARGUMENT'; }
}
/** A call out of order, e.g. on a disposed model. */
export class InvalidStateError extends XlmrError {
  get code() { return 'ERR_INVALID_STATE'; }
}
/** The platform lacks something required (WebAssembly SIMD, fetch, …). */
export class UnsupportedError extends XlmrError {
  get code() { return 'ERR_UNSUPPORTED'; }
}
/** A bug: the wasm module trapped or the worker died. The model may have to be loaded again. */
export class InternalError extends XlmrError {
  get code() { return 'ERR_INTERNAL'; }
}

const BY_CODE = {
  ERR_MODEL_FORMAT: ModelFormatError,
  ERR_NO_MASK: NoMaskError,
  ERR_TOO_LONG: TooLongError,
  ERR_ABORTED: AbortError,
  ERR_NETWORK: NetworkError,
  ERR_FILE: FileError,
  ERR_OUT_OF_MEMORY: OutOfMemoryError,
  ERR_INVALID_ARGUMENT: InvalidArgumentError,
  ERR_INVALID_STATE: InvalidStateError,
  ERR_UNSUPPORTED: UnsupportedError,
  ERR_INTERNAL: InternalError,
};

// xlmr_status (src/common.h) -> class.
const BY_STATUS = [
  null,
  ModelFormatError, // XLMR_ERR_FORMAT
  OutOfMemoryError, // XLMR_ERR_NOMEM
  TooLongError, // XLMR_ERR_TOO_LONG
  NoMaskError, // XLMR_ERR_NO_MASK
  InvalidArgumentError, // XLMR_ERR_ARG
  InvalidStateError, // XLMR_ERR_STATE
  UnsupportedError, // XLMR_ERR_UNSUPPORTED
];

/** A caller's value as an InvalidArgumentError message shows it: JSON where that works, else its String
 *  (BigInt as 1n, Symbol, functions) -- never throwing while the error is being built. */
export function shown(v) {
  if (typeof v === 'bigint') return `${v}n`;
  try {
    const j = JSON.stringify(v);
    if (j !== undefined) return j;
  } catch { /* cycles and the like */ }
  try { return String(v); } catch { return Object.prototype.toString.call(v); }
}

export function errorFromStatus(status, message) {
  const Cls = BY_STATUS[status] ?? InternalError;
  return new Cls(message || `xlmr call failed with status ${status}`);
}

export function errorFromJSON(obj) {
  const Cls = BY_CODE[obj?.code] ?? InternalError;
  if (Cls === NetworkError) return new NetworkError(obj.message, { url: obj.url, status: obj.status });
  const e = new Cls(String(obj?.message ?? 'unknown error'));
  if (obj?.url !== undefined) e.url = obj.url;
  if (obj?.status !== undefined) e.status = obj.status;
  return e;
}

/** Any thrown value -> XlmrError (wasm traps, RangeErrors from memory.grow, DOMException aborts…). */
export function toXlmrError(e) {
  if (e instanceof XlmrError) return e;
  if (e && (e.name === 'AbortError' || e.code === 'ABORT_ERR')) return new AbortError('aborted', { cause: e });
  const msg = String(e?.message ?? e);
  if ((e instanceof RangeError && !/call stack/i.test(msg)) || /out of memory|could not allocate|allocation failed|Cannot allocate|memory\.grow/i.test(msg)) {
    return new OutOfMemoryError(`out of WebAssembly memory: ${msg}`, { cause: e });
  }
  if (typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError) {
    return new InternalError(`the wasm module trapped: ${msg}`, { cause: e });
  }
  return new InternalError(msg, { cause: e });
}

export function abortError(signal) {
  const reason = signal?.reason;
  if (reason instanceof XlmrError) return reason;
  return new AbortError('load aborted' + (reason && reason.message && reason.name !== 'AbortError' ? `: ${reason.message}` : ''));
}
