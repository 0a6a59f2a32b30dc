#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof): the top frames by self time,
// and self time grouped by where the code lives (a package under node_modules,
// a Petrel lib or app, Node's own internals, GC, native, idle).
// usage: node profile-summary.mjs FILE.cpuprofile [TOP=25] [--md]
import { readFileSync } from 'node:fs';

const [file, topArg, ...flags] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary.mjs FILE.cpuprofile [TOP] [--md]');
  process.exit(2);
}
const top = Number(topArg) > 0 ? Number(topArg) : 25;
const md = flags.includes('--md') || topArg === '--md';
const profile = JSON.parse(readFileSync(file, 'utf8'));

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const { samples, timeDeltas } = profile;
for (let i = 0; i < samples.length; i++) {
  const dt = timeDeltas[i + 1] ?? 0;
  self.set(samples[i], (self.get(samples[i]) ?? 0) + dt);
}
const total = [...self.values()].reduce((a, b) => a + b, 0);

function where(url) {
  if (!url) return 'native/VM';
  if (url.startsWith('node:')) return 'node internals';
  let m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  m = /\/(libs|apps)\/([^/]+)\//.exec(url);
  if (m) return `petrel ${m[1]}/${m[2]}`;
  return url;
}
function group(cf) {
  const name = cf.functionName;
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'program (native, outside JS)';
  return where(cf.url);
}

const frames = new Map();
const groups = new Map();
for (const [id, us] of self) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const short = cf.url
    ? cf.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/\/work\/main\//, '')
    : '';
  const key =
    `${cf.functionName || '(anonymous)'} ${short ? `${short}:${cf.lineNumber + 1}` : ''}`.trim();
  frames.set(key, (frames.get(key) ?? 0) + us);
  const g = group(cf);
  groups.set(g, (groups.get(g) ?? 0) + us);
}
// Inclusive time: each sample counts once for every distinct frame on its stack.
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const frameKey = (cf) => {
  const short = cf.url
    ? cf.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/\/work\/main\//, '')
    : '';
  return `${cf.functionName || '(anonymous)'} ${short ? `${short}:${cf.lineNumber + 1}` : ''}`.trim();
};
const inclusive = new Map();
for (const [id, us] of self) {
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = frameKey(byId.get(cur).callFrame);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
}
const idle = groups.get('idle') ?? 0;
const busy = total - idle;
const pct = (us, of) => ((100 * us) / of).toFixed(1);
const rows = (m) => [...m].sort((a, b) => b[1] - a[1]);

if (md) {
  console.log(
    `Profile ${file.split('/').pop()}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (not idle).\n`,
  );
  console.log('| where (self time) | % of busy |\n|---|---:|');
  for (const [g, us] of rows(groups))
    if (g !== 'idle' && us / busy >= 0.005) console.log(`| ${g} | ${pct(us, busy)} |`);
  console.log(`\n| top frames (self time) | % of busy |\n|---|---:|`);
  for (const [k, us] of rows(frames)
    .filter(([k]) => !k.startsWith('(idle)'))
    .slice(0, top))
    console.log(`| \`${k.replace(/\|/g, '\\|')}\` | ${pct(us, busy)} |`);
} else if (flags.includes('--inclusive') || topArg === '--inclusive') {
  for (const [k, us] of rows(inclusive)
    .filter(([k]) => !/^\((root|idle|program)\)/.test(k))
    .slice(0, 80))
    console.log(`  ${pct(us, busy).padStart(5)}%  ${k}`);
} else {
  console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled, busy ${(busy / 1e6).toFixed(2)} s`);
  console.log('\nself time by where the code lives (% of busy):');
  for (const [g, us] of rows(groups))
    if (g !== 'idle') console.log(`  ${pct(us, busy).padStart(5)}%  ${g}`);
  console.log(`\ntop ${top} frames by self time (% of busy):`);
  for (const [k, us] of rows(frames)
    .filter(([k]) => !k.startsWith('(idle)'))
    .slice(0, top))
    console.log(`  ${pct(us, busy).padStart(5)}%  ${k}`);
}
