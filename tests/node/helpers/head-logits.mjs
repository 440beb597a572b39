// A task head's raw logits for given ids, straight from an in-thread Engine (the public calls return only the
// post-processed outputs): Float32Array per sequence, (num_labels) or (T * n).
import { Engine } from '../../../js/engine.js';
import { platform } from '../../../js/platform-node.js';

const engines = new Map();

export async function engineLogits(dir, seqs, kind, dtype = 'f32') {
  const key = `${dir}/${dtype}`;
  if (!engines.has(key)) {
    const e = await Engine.create(platform, {});
    await e.load(dir, { dtype, cache: false });
    engines.set(key, e);
  }
  return engines.get(key).headLogits(kind, seqs.map((ids) => Int32Array.from(ids)));
}

export function disposeEngines() {
  for (const e of engines.values()) e.dispose(true);
  engines.clear();
}
