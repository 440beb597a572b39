// The hottest machine code of a running process, disassembled: for engines that will not print their generated
// code (Firefox release builds have neither jitdump nor a code-printing flag). Samples the process's instruction
// pointers with perf's cpu-clock (no hardware counters needed), groups them into address ranges, reads the hottest
// ranges' bytes from /proc/PID/mem while the process lives and disassembles them with objdump, each instruction
// with its share of the samples. Needs root (or ptrace rights over the process), Debian's linux-perf and binutils.
//
//   node bench/hot-code.mjs (--pid PID | --name 'Isolated Web Co') [--seconds 3] [--ranges 3] [--gap 128]
//
// --name takes the busiest process whose command name starts with it (Firefox's content process: 'Isolated Web
// Co'; Chromium's renderer: 'chromium'). Start the workload first, e.g. in another shell
//   node bench/browser-ort.mjs --browser firefox --threads 1 --seqs 512 --work enc --rounds 20
// and sample once it is in its measured rounds. Found with it (BENCHMARKS.md, "Firefox (session 17)"):
// SpiderMonkey kept attention's int16 product sums on the stack, a load and a store per multiply.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf('--' + k); return i >= 0 ? args[i + 1] : d; };
const seconds = +opt('seconds', 3), nRanges = +opt('ranges', 3), gap = +opt('gap', 128);

function run(cmd, argv, options = {}) {
  const p = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 28, ...options });
  if (p.error) throw new Error(`${cmd}: ${p.error.message} (apt-get install -y linux-perf binutils)`);
  if (p.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed: ${p.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  return p.stdout;
}

function busiest(name) {
  const rows = run('ps', ['-eo', 'pid=,pcpu=,comm=']).trim().split('\n').map((l) => l.trim().match(/^(\d+)\s+([\d.]+)\s+(.*)$/)).filter(Boolean);
  const hits = rows.filter((r) => r[3].startsWith(name)).sort((a, b) => b[2] - a[2]);
  if (!hits.length) throw new Error(`no process named ${name}*`);
  return +hits[0][1];
}

const pid = opt('pid') ? +opt('pid') : opt('name') ? busiest(opt('name')) : null;
if (!pid) throw new Error('--pid PID or --name PREFIX');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hot-code-'));
const data = path.join(tmp, 'perf.data');
run('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '2000', '-p', String(pid), '-o', data, '--', 'sleep', String(seconds)]);
const ips = run('perf', ['script', '-i', data, '-F', 'ip']).split('\n').map((l) => l.trim()).filter(Boolean).map((h) => BigInt('0x' + h));
if (!ips.length) throw new Error(`no samples of pid ${pid} in ${seconds} s`);
const count = new Map();
for (const ip of ips) count.set(ip, (count.get(ip) ?? 0) + 1);

// address ranges: sampled addresses no more than `gap` bytes apart
const sorted = [...count.keys()].sort((a, b) => (a < b ? -1 : 1));
const ranges = [];
for (const ip of sorted) {
  const last = ranges[ranges.length - 1];
  if (last && ip - last.hi <= BigInt(gap)) { last.hi = ip; last.samples += count.get(ip); }
  else ranges.push({ lo: ip, hi: ip, samples: count.get(ip) });
}
ranges.sort((a, b) => b.samples - a.samples);
const pct = (n) => (100 * n / ips.length).toFixed(1).padStart(5) + '%';
console.log(`pid ${pid}: ${ips.length} samples in ${seconds} s; hottest ranges:`);
for (const r of ranges.slice(0, 10)) console.log(`  ${pct(r.samples)}  0x${r.lo.toString(16)}..0x${r.hi.toString(16)}`);

const mem = fs.openSync(`/proc/${pid}/mem`, 'r');
for (const r of ranges.slice(0, nRanges)) {
  // with some code before the first sample (a loop's head), unless that is not mapped
  let lo = r.lo - 64n, len = Number(r.hi - lo) + 64, buf = Buffer.alloc(len);
  try { fs.readSync(mem, buf, 0, len, lo); } catch { lo = r.lo; len = Number(r.hi - lo) + 64; buf = Buffer.alloc(len); fs.readSync(mem, buf, 0, len, lo); }
  const bin = path.join(tmp, 'code.bin');
  fs.writeFileSync(bin, buf);
  const dis = run('objdump', ['-D', '-b', 'binary', '-mi386:x86-64', `--adjust-vma=0x${lo.toString(16)}`, bin]);
  console.log(`\n${pct(r.samples)} of samples: 0x${r.lo.toString(16)}..0x${r.hi.toString(16)} (the first lines may start mid-instruction)`);
  for (const line of dis.split('\n')) {
    const m = line.match(/^\s*([0-9a-f]+):\t(?:[0-9a-f]{2} )+\s*\t(.*)$/);
    if (!m) continue;
    const n = count.get(BigInt('0x' + m[1])) ?? 0;
    console.log(`${n ? pct(n) : '      '}  ${m[1]}  ${m[2]}`);
  }
}
fs.closeSync(mem);
fs.rmSync(tmp, { recursive: true, force: true });
