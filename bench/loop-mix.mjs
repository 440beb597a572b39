// The int8 GEMM's innermost loops as V8 compiles them: instructions per multiply-add, from the engine's own code
// (--print-wasm-code), for a CPU this machine does not have. A count, not a timing: where the hardware is missing
// (Arm here, run through QEMU's user mode) it is the evidence there is; where it is present, bench/gemm.mjs times.
//
//   node bench/loop-mix.mjs [--node PATH] [--qemu "qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu"] [--json]
//        [--shape T N K]    (default 64 768 768: tiles of 4 tokens, groups of 2 × 4 columns, as in the encoder)
//
// Builds bench/gemm_bench.c twice (SIMD128, relaxed SIMD), runs each shape once under the given Node (through the
// QEMU command when given) with --no-liftoff --print-wasm-code, and for every innermost loop with at least 4
// multiplying instructions prints its instruction count, its multiply-adds and the mix (per function, the 3 loops
// doing the most multiply-adds per pass: the full tiles). Multiply-adds by instruction:
// arm64 sdot/udot/usdot 16 (4 per 32-bit lane), smull/smull2/umull/umull2/smlal/smlal2 one per destination lane;
// x64 vpdpbusd/vpdpbssd 16, (v)pmaddubsw 16, (v)pmaddwd 8; in a loop that also multiplies bytes, the 16-bit ones
// (smull on halfwords, pmaddwd) only add pairs (the pair form's dot with ones, pmaddubsw's expansion of the fused
// dot on x86 without VNNI) and count none.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildGemmBench } from './gemm.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, n = 1) => {
  const i = args.indexOf(name);
  return i < 0 ? null : n === 1 ? args[i + 1] : args.slice(i + 1, i + 1 + n);
};
const nodeBin = opt('--node') ?? process.execPath;
const qemu = opt('--qemu')?.split(/\s+/).filter(Boolean) ?? [];
const shape = (opt('--shape', 3) ?? ['64', '768', '768']).map(Number);
const json = args.includes('--json');

const LINE = /^(0x[0-9a-f]+)\s+[0-9a-f]+\s+[0-9a-f]+\s+(\S+)\s*(.*)$/;
const TARGET = /\(addr (0x[0-9a-f]+)\)|^(0x[0-9a-f]+)\s+</; // arm64 "b.ne #-0x40 (addr 0x…)", x64 "jnz 0x…  <+0x…>"
const BRANCH = /^(b|b\.[a-z]+|cbn?z|tbn?z|j[a-z]+)$/;

/** Multiply-adds one instruction does: { n, bits } (bits of the operands: 8 or 16), null for the rest. */
function products(mn, ops) {
  if (/^(sdot|udot|usdot)$/.test(mn)) return { n: /\.16b/.test(ops) ? 16 : 8, bits: 8 };
  const lanes = /^(smull2?|umull2?|smlal2?|umlal2?)$/.test(mn) && /^v\d+\.(\d+)([hs])/.exec(ops);
  if (lanes) return { n: +lanes[1], bits: lanes[2] === 'h' ? 8 : 16 };
  if (/^vpdpb[us]sd$/.test(mn) || /^v?pmaddubsw$/.test(mn)) return { n: /ymm/.test(ops) ? 32 : 16, bits: 8 };
  if (/^v?pmaddwd$/.test(mn)) return { n: /ymm/.test(ops) ? 16 : 8, bits: 16 };
  return null;
}

/** Functions of a --print-wasm-code dump compiled by the optimizing tier: { name, code: [{ addr, mn, ops }] }. */
function parseDump(text) {
  const fns = [];
  let cur = null;
  for (const line of text.split('\n')) {
    const n = /^name: (\S+)/.exec(line);
    if (n) { cur = { name: n[1], code: [], optimized: false }; fns.push(cur); continue; }
    if (cur && /^compiler: TurboFan/.test(line)) cur.optimized = true;
    const m = cur && LINE.exec(line);
    if (m) cur.code.push({ addr: parseInt(m[1], 16), mn: m[2], ops: m[3] });
  }
  return fns.filter((f) => f.optimized && f.code.length);
}

/** Innermost loops (a backward branch whose body holds no other loop's start) with >= 4 multiplying instructions. */
function hotLoops(fn) {
  const index = new Map(fn.code.map((c, i) => [c.addr, i]));
  const loops = [];
  fn.code.forEach((c, i) => {
    if (!BRANCH.test(c.mn)) return;
    const t = TARGET.exec(c.ops);
    const target = t && parseInt(t[1] ?? t[2], 16);
    if (target && target < c.addr && index.has(target)) loops.push([index.get(target), i]);
  });
  return loops
    .filter(([a, b]) => !loops.some(([c, d]) => (c !== a || d !== b) && c >= a && d <= b))
    .map(([a, b]) => {
      const body = fn.code.slice(a, b + 1), mix = {};
      const prods = body.map((c) => products(c.mn, c.ops)).filter(Boolean);
      // beside 8-bit products, 16-bit ones add pairs (the pair form's dot with ones, pmaddubsw's expansion): no products
      const bits = Math.min(...prods.map((p) => p.bits));
      const macs = prods.reduce((m, p) => m + (p.bits === bits ? p.n : 0), 0), mults = prods.length;
      for (const c of body) mix[c.mn] = (mix[c.mn] ?? 0) + 1;
      return { fn: fn.name, instructions: body.length, macs, mults, perMac: body.length / Math.max(1, macs), mix };
    })
    .filter((l) => l.mults >= 4);
}

const driver = path.join(os.tmpdir(), `xlmr-loop-mix-${process.pid}.mjs`);
fs.writeFileSync(driver, `import { runGemmBench } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'bench', 'gemm.mjs')).href)};
await runGemmBench(process.argv[2], 1, ${JSON.stringify(shape)});\n`);
const report = [];
try {
  for (const relaxed of [false, true]) {
    const wasm = buildGemmBench({ relaxed });
    const cmd = [...qemu, nodeBin, '--no-liftoff', '--print-wasm-code', driver, wasm];
    const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed:\n${r.stderr.slice(-2000)}`);
    for (const fn of parseDump(r.stdout)) for (const l of hotLoops(fn)) report.push({ build: relaxed ? 'relaxed' : 'simd128', ...l });
  }
} finally {
  fs.rmSync(driver, { force: true });
}
if (json) {
  console.log(JSON.stringify(report));
} else {
  console.log(`# ${qemu.length ? qemu.join(' ') + ' ' : ''}${nodeBin}, gemm_bench shape ${shape.join(' × ')}`);
  // per function, its 3 loops with the most multiply-adds per pass (the kernels' full tiles come first)
  const shown = [];
  for (const key of new Set(report.map((l) => `${l.build} ${l.fn}`))) {
    const loops = report.filter((l) => `${l.build} ${l.fn}` === key).sort((a, b) => b.macs - a.macs || a.perMac - b.perMac);
    if (loops[0].macs >= 64) shown.push(...loops.slice(0, 3));
  }
  for (const l of shown) {
    const mix = Object.entries(l.mix).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${v}`).join(', ');
    console.log(`${l.build.padEnd(8)} ${l.fn.padEnd(30)} ${String(l.instructions).padStart(4)} instr  ${String(l.macs).padStart(4)} mul-add  ${l.perMac.toFixed(3)}/mul-add  (${mix})`);
  }
}
