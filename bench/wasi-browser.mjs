// A page's WASI for the kernel benchmarks (gemm_bench.c, rows_bench.c built by gemm.mjs buildKernelBench): stdout
// collected as JSON lines, the clock (performance.now() in pages), argv; every other call ENOSYS. Served to pages by
// bench/browser.mjs and bench/browser-kernels.mjs; runs in any browser, and in JavaScriptCore's shell
// (bench/jsc-wasi-main.mjs: no fetch, TextDecoder or performance there).

// ASCII is all these programs print and take
function asciiDecode(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 4096) text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return text;
}
const asciiEncode = (text) => Uint8Array.from(text, (c) => c.charCodeAt(0) & 0x7f);

/** Runs the WASI program at url with argv (argv[0] its name); resolves to the JSON lines it printed. */
export async function runWasi(url, argv) {
  const w = wasiFor(argv, () => performance.now());
  return w.run(await WebAssembly.instantiate(await WebAssembly.compileStreaming(fetch(url)), w.imports));
}

/** The same on a compiled module, synchronously (JavaScriptCore's shell); now() in milliseconds. */
export function runWasiModule(mod, argv, now) {
  const w = wasiFor(argv, now);
  return w.run(new WebAssembly.Instance(mod, w.imports));
}

function wasiFor(argv, now) {
  let out = '';
  let mem;
  const dv = () => new DataView(mem.buffer);
  const wasi = {
    fd_write(fd, iovs, n, nw) {
      let t = 0;
      for (let i = 0; i < n; i++) {
        const p = dv().getUint32(iovs + 8 * i, true), l = dv().getUint32(iovs + 8 * i + 4, true);
        out += asciiDecode(new Uint8Array(mem.buffer, p, l));
        t += l;
      }
      dv().setUint32(nw, t, true);
      return 0;
    },
    clock_time_get(id, prec, p) { dv().setBigUint64(p, BigInt(Math.round(now() * 1e6)), true); return 0; },
    args_sizes_get(c, s) { dv().setUint32(c, argv.length, true); dv().setUint32(s, argv.reduce((a, x) => a + x.length + 1, 0), true); return 0; },
    args_get(pp, buf) {
      for (const a of argv) {
        dv().setUint32(pp, buf, true);
        pp += 4;
        const b = asciiEncode(a + '\0');
        new Uint8Array(mem.buffer, buf, b.length).set(b);
        buf += b.length;
      }
      return 0;
    },
    environ_sizes_get(c, s) { dv().setUint32(c, 0, true); dv().setUint32(s, 0, true); return 0; },
    environ_get() { return 0; },
    proc_exit(c) { throw new Error('exit ' + c); },
  };
  const imports = { wasi_snapshot_preview1: new Proxy(wasi, { get: (o, k) => o[k] ?? (() => 52) }) };
  function run(inst) {
    mem = inst.exports.memory;
    try { inst.exports._start(); } catch (e) { if (!/exit 0/.test(e.message)) throw e; }
    return out.trim().split('\n').filter(Boolean).map((l) => {
      try { return JSON.parse(l); } catch { throw new Error(`${argv[0]} printed a line that is not JSON: ${l}`); }
    });
  }
  return { imports, run };
}
