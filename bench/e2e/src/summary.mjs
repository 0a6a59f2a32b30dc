// Summary of a bench/e2e results TSV (results/latest.tsv or scale-latest.tsv):
// the median over reps of the main columns for every configuration and load,
// then the ratios Petrel/Postfix against Postfix's median for the same load
// (sessions, recipients). Rows with NA are left out of a median; a median of
// no rows prints NA. It reads the TSV only; it does not run anything.
//   node summary.mjs <results.tsv>
import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2], 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'));
const head = lines.shift().split('\t');
const rows = lines.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [head[i], v])));
const COLS = [
  ['ack_msg_s', 'ack/s', 0],
  ['deliv_msg_s', 'deliv/s', 0],
  ['lat_p50_ms', 'p50 ms', 1],
  ['lat_p99_ms', 'p99 ms', 1],
  ['cpu_machine_s_per_1k', 'cpu mach', 2],
  ['cpu_relay_s_per_1k', 'cpu relay', 2],
  ['rss_relay_mib', 'rss relay', 0],
  ['pss_relay_mib', 'pss relay', 0],
];
const median = (xs) => {
  const v = xs
    .map(Number)
    .filter((x) => Number.isFinite(x))
    .sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const groups = new Map();
for (const r of rows) {
  if (!r.rcpts) continue;
  const key = [r.system, r.mode, r.ingress, r.egress, r.sessions, r.rcpts].join('\t');
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(r);
}
const med = new Map();
for (const [key, rs] of groups) {
  med.set(key, Object.fromEntries(COLS.map(([c]) => [c, median(rs.map((r) => r[c]))])));
}
const fmt = (x, d) => (Number.isFinite(x) ? x.toFixed(d) : 'NA');
const pad = (s, w) => String(s).padStart(w);
const label = (k) => {
  const [sys, mode, ni, ne, s, r] = k.split('\t');
  const topo = sys === 'petrel' && (ni !== '1' || ne !== '1') ? ` i${ni}e${ne}` : '';
  return (
    `${sys === 'postfix' ? 'postfix' : 'petrel ' + mode + topo}`.padEnd(22) + pad(s, 3) + pad(r, 4)
  );
};
console.log('medians over reps (' + process.argv[2] + ')');
console.log(
  'system'.padEnd(22) +
    pad('ses', 3) +
    pad('rcp', 4) +
    pad('reps', 5) +
    COLS.map(([, h]) => pad(h, 11)).join(''),
);
for (const [key, m] of med) {
  console.log(
    label(key) +
      pad(groups.get(key).length, 5) +
      COLS.map(([c, , d]) => pad(fmt(m[c], d), 11)).join(''),
  );
}
console.log('\nratios Petrel/Postfix (same sessions and recipients; >1 = Petrel higher)');
console.log(
  'system'.padEnd(22) + pad('ses', 3) + pad('rcp', 4) + COLS.map(([, h]) => pad(h, 11)).join(''),
);
for (const [key, m] of med) {
  const [sys, , , , s, r] = key.split('\t');
  if (sys !== 'petrel') continue;
  const pk = [...med.keys()].find((k) => {
    const f = k.split('\t');
    return f[0] === 'postfix' && f[4] === s && f[5] === r;
  });
  if (!pk) continue;
  const p = med.get(pk);
  console.log(label(key) + COLS.map(([c]) => pad(fmt(m[c] / p[c], 2), 11)).join(''));
}
