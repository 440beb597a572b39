// The Worker side of the proxy: one Engine, calls run one at a time in arrival order.
// Messages in:  {type:'call', id, op, args} | {type:'abort', id} | {type:'chunk', sid, chunk?|done?|error?}
//               | {type:'pull', id} (next GGUF chunk of an 'exportGguf' call)
// Messages out: {type:'result', id, ok, result|error} | {type:'progress', id, ev} | {type:'pull', sid}
//               | {type:'cancel', sid} | {type:'data', id, chunk|done}

import { runOp } from './ops.js';
import { toXlmrError, errorFromJSON } from './errors.js';

export function serve(platform, port) {
  const session = { engine: null };
  let chain = Promise.resolve();
  const aborts = new Map(); // call id -> AbortController
  const streams = new Map(); // sid -> controller waiting for a chunk
  const exports = new Map(); // call id -> resolver for the next 'pull'

  function remoteStream(sid) {
    return new ReadableStream({
      pull(ctl) {
        return new Promise((resolve) => {
          streams.set(sid, { ctl, resolve });
          port.post({ type: 'pull', sid });
        });
      },
      cancel() {
        streams.delete(sid);
        port.post({ type: 'cancel', sid });
      },
    }, { highWaterMark: 0 });
  }

  /** One call: the shared op table (ops.js), with what crossing the thread boundary adds. */
  async function run(op, args, id) {
    switch (op) {
      case 'load': {
        let source = args.source;
        if (source && typeof source === 'object' && source.__xlmrStream !== undefined) source = remoteStream(source.__xlmrStream);
        const onProgress = args.progress ? (ev) => port.post({ type: 'progress', id, ev }) : null;
        return { result: await runOp(session, op, { ...args, source }, { platform, onProgress, signal: aborts.get(id).signal }) };
      }
      case 'embed': {
        const result = await runOp(session, op, args, { platform });
        // each text's Float32Array (BGE-M3's outputs: also inside { dense, colbert }; its sparse maps are copied)
        const buffers = (v) => (ArrayBuffer.isView(v) ? [v.buffer] : v && typeof v === 'object' ? Object.values(v).flatMap(buffers) : []);
        return { result, transfer: (Array.isArray(result) ? result : [result]).flatMap(buffers) };
      }
      case 'trim': {
        const result = await runOp(session, op, args, { platform });
        return { result, transfer: [result.gguf.buffer] };
      }
      case 'stats':
        return { result: { ...await runOp(session, op, args, { platform }), heap: heapStats() } };
      case 'exportGguf': {
        // Pull-driven so the receiving side bounds what is in flight to one chunk.
        for await (const chunk of session.engine.ggufChunks()) {
          await new Promise((resolve) => exports.set(id, resolve));
          const copy = chunk.slice();
          port.post({ type: 'data', id, chunk: copy }, [copy.buffer]);
        }
        await new Promise((resolve) => exports.set(id, resolve));
        exports.delete(id);
        return { result: true };
      }
      default:
        return { result: await runOp(session, op, args, { platform }) };
    }
  }

  port.onMessage((msg) => {
    switch (msg?.type) {
      case 'abort':
        aborts.get(msg.id)?.abort();
        return;
      case 'chunk': {
        const w = streams.get(msg.sid);
        if (!w) return;
        streams.delete(msg.sid);
        if (msg.error) w.ctl.error(errorFromJSON(msg.error));
        else if (msg.done) w.ctl.close();
        else w.ctl.enqueue(msg.chunk);
        w.resolve();
        return;
      }
      case 'pull': {
        const r = exports.get(msg.id);
        exports.delete(msg.id);
        r?.();
        return;
      }
      case 'call': {
        const { id, op, args } = msg;
        if (op === 'load') aborts.set(id, new AbortController());
        chain = chain.then(async () => {
          try {
            const { result, transfer } = await run(op, args, id);
            port.post({ type: 'result', id, ok: true, result }, transfer ?? []);
          } catch (e) {
            port.post({ type: 'result', id, ok: false, error: toXlmrError(e).toJSON() });
          } finally {
            aborts.delete(id);
            exports.delete(id);
          }
        });
        return;
      }
      default:
    }
  });
}

function heapStats() {
  const mu = globalThis.process?.memoryUsage?.();
  return mu ? { heapUsed: mu.heapUsed, arrayBuffers: mu.arrayBuffers, rss: mu.rss } : null;
}
