#!/usr/bin/env node
// Turns the TSVs of a bench/ingress run (throughput.tsv, latency.tsv, idle.tsv
// in DIR) into the markdown of docs/benchmarks.md: one table per variant with
// Petrel, Postfix and the naive stack side by side and the ratios, the latency
// and idle-session tables, and the targets of issue 4 with met / not met.
// Every figure is the median over the reps (min-max beside it).
// usage: node report.mjs DIR
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: report.mjs DIR');
  process.exit(2);
}

function readTsv(name) {
  const file = join(dir, name);
  if (!existsSync(file)) return { comments: [], rows: [] };
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const comments = lines.filter((l) => l.startsWith('#')).map((l) => l.replace(/^# ?/, ''));
  const data = lines.filter((l) => !l.startsWith('#'));
  if (data.length === 0) return { comments, rows: [] };
  const header = data[0].split('\t');
  const rows = data.slice(1).map((l) => {
    const cells = l.split('\t');
    return Object.fromEntries(header.map((h, i) => [h, cells[i]]));
  });
  return { comments, rows };
}

const num = (v) => (v === undefined || v === 'NA' || v === '' ? NaN : Number(v));
function median(values) {
  const a = values.filter((v) => Number.isFinite(v)).sort((x, y) => x - y);
  if (a.length === 0) return { med: NaN, min: NaN, max: NaN, n: 0 };
  const m = a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
  return { med: m, min: a[0], max: a[a.length - 1], n: a.length };
}
function fmt(v, digits) {
  if (!Number.isFinite(v)) return '—';
  const d = digits ?? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2);
  return v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}
const withRange = (s, digits) =>
  s.n > 1
    ? `${fmt(s.med, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`
    : fmt(s.med, digits);
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN);
const fmtRatio = (r) => (Number.isFinite(r) ? `${fmt(r, 2)}×` : '—');
const verdict = (ok) => (ok === null ? 'not measured' : ok ? '**met**' : '**not met**');

const NAMES = {
  'petrel-fsync': 'Petrel, durability fsync (appendfsync always)',
  'petrel-everysec': 'Petrel, durability none, AOF everysec',
  'petrel-none': 'Petrel, durability none, no AOF',
  'postfix-hold': 'Postfix 3.7, delivery held (fsync before 250)',
  'naive-always': 'naive Node stack, appendfsync always',
  'naive-everysec': 'naive Node stack, appendfsync everysec',
};
const ORDER = Object.keys(NAMES);
const out = [];
const say = (s = '') => out.push(s);

// ------------------------------------------------------------------ throughput
const tp = readTsv('throughput.tsv');
const groups = new Map(); // variant key -> system -> rows
for (const r of tp.rows) {
  const key = `${r.sessions}:${r.rcpts}:${r.conn}`;
  if (!groups.has(key)) groups.set(key, new Map());
  const g = groups.get(key);
  if (!g.has(r.system)) g.set(r.system, []);
  g.get(r.system).push(r);
}
const stat = (key, system, col) =>
  median((groups.get(key)?.get(system) ?? []).map((r) => num(r[col])));
const variantName = (key) => {
  const [s, r, conn] = key.split(':');
  return `${s} session${s === '1' ? '' : 's'}, ${r} recipient${r === '1' ? '' : 's'}, ${conn === 'reuse' ? 'connections reused (smtp-source -d)' : 'a new connection per message'}`;
};

if (tp.rows.length > 0) {
  for (const c of tp.comments) say(`<!-- ${c} -->`);
  say('### Acceptance throughput');
  say();
  say(
    'Messages acknowledged with 250 (and found stored afterwards) per second of smtp-source wall time; CPU seconds per 1,000 such messages for the whole machine and for the server (the ingress Node process; all Postfix processes) plus its Redis. Median of the reps (min–max).',
  );
  const present = ORDER.filter((system) => tp.rows.some((r) => r.system === system));
  const SHORT = {
    'petrel-fsync': 'Petrel fsync',
    'petrel-everysec': 'Petrel everysec',
    'petrel-none': 'Petrel none',
    'postfix-hold': 'Postfix held',
    'naive-always': 'naive always',
    'naive-everysec': 'naive everysec',
  };
  say();
  say('Summary, messages/s (medians):');
  say();
  say(
    `| sessions, recipients, connection | ${present.map((s) => SHORT[s]).join(' | ')} | Petrel fsync / Postfix | Petrel fsync / naive always |`,
  );
  say(`|---|${present.map(() => '---:').join('|')}|---:|---:|`);
  for (const key of groups.keys()) {
    const [s, r, conn] = key.split(':');
    const p = stat(key, 'petrel-fsync', 'accept_msg_s').med;
    say(
      `| ${s}, ${r}, ${conn === 'reuse' ? 'reused' : 'new per message'} | ${present.map((system) => fmt(stat(key, system, 'accept_msg_s').med)).join(' | ')} | ${fmtRatio(ratio(p, stat(key, 'postfix-hold', 'accept_msg_s').med))} | ${fmtRatio(ratio(p, stat(key, 'naive-always', 'accept_msg_s').med))} |`,
    );
  }
  for (const key of groups.keys()) {
    say();
    say(`#### ${variantName(key)}`);
    say();
    say(
      '| system | messages/s | CPU s / 1,000 msgs, machine | CPU s / 1,000 msgs, server + Redis |',
    );
    say('|---|---:|---:|---:|');
    for (const system of ORDER) {
      if (!groups.get(key).has(system)) continue;
      const rows = groups.get(key).get(system);
      const rate = stat(key, system, 'accept_msg_s');
      const machine = stat(key, system, 'cpu_machine_s_per_1k');
      const serverRedis = median(
        rows.map((r) => num(r.cpu_server_s_per_1k) + (num(r.cpu_redis_s_per_1k) || 0)),
      );
      say(
        `| ${NAMES[system]} | ${withRange(rate)} | ${withRange(machine, 3)} | ${withRange(serverRedis, 3)} |`,
      );
    }
    const p = stat(key, 'petrel-fsync', 'accept_msg_s').med;
    const pe = stat(key, 'petrel-everysec', 'accept_msg_s').med;
    const ratios = [
      ['Petrel fsync / Postfix held', p, stat(key, 'postfix-hold', 'accept_msg_s').med],
      ['Petrel fsync / naive always', p, stat(key, 'naive-always', 'accept_msg_s').med],
      ['Petrel everysec / naive everysec', pe, stat(key, 'naive-everysec', 'accept_msg_s').med],
    ]
      .map(([label, a, b]) => [label, ratio(a, b)])
      .filter(([, r]) => Number.isFinite(r));
    if (ratios.length > 0) {
      say();
      say(`Ratios (messages/s): ${ratios.map(([l, r]) => `${l} ${fmtRatio(r)}`).join('; ')}.`);
    }
  }
  const retried = tp.rows.filter((r) => num(r.retries) > 0).length;
  const disturbed = tp.rows.filter((r) => num(r.other_cores) > 0.3).length;
  const failed = tp.rows.filter((r) => r.source_rc !== '0').length;
  say();
  say(
    `Runs: ${tp.rows.length}; measured again because other processes were busy meanwhile: ${retried}; still disturbed (other processes > 0.3 cores) after the retries: ${disturbed}; smtp-source errors: ${failed}.`,
  );
}

// ------------------------------------------------------------------ latency
const lat = readTsv('latency.tsv');
const latStat = (system, mode, col) =>
  median(lat.rows.filter((r) => r.system === system && r.mode === mode).map((r) => num(r[col])));
const latModes = [...new Set(lat.rows.map((r) => r.mode))];
if (lat.rows.length > 0) {
  say();
  say('### End of DATA → 250');
  say();
  for (const c of lat.comments.slice(2)) say(c);
  say();
  say(
    '| system | load | end of DATA → 250, p50 ms | p99 ms | whole transaction p50 ms | p99 ms | load accepted meanwhile, msg/s |',
  );
  say('|---|---|---:|---:|---:|---:|---:|');
  for (const system of ORDER) {
    for (const mode of latModes) {
      if (!lat.rows.some((r) => r.system === system && r.mode === mode)) continue;
      const load =
        mode === 'idle'
          ? 'none (the probe alone)'
          : mode.endsWith('d')
            ? `${mode.slice(4, -1)} sessions, reused`
            : `${mode.slice(4)} sessions, new connection per message`;
      say(
        `| ${NAMES[system]} | ${load} | ${withRange(latStat(system, mode, 'dot_p50_ms'))} | ${withRange(latStat(system, mode, 'dot_p99_ms'))} | ${withRange(latStat(system, mode, 'txn_p50_ms'))} | ${withRange(latStat(system, mode, 'txn_p99_ms'))} | ${mode === 'idle' ? '—' : withRange(latStat(system, mode, 'bg_msg_s'))} |`,
      );
    }
  }
}

// ------------------------------------------------------------------ idle sessions
const idle = readTsv('idle.tsv');
const idleStat = (system, col) =>
  median(idle.rows.filter((r) => r.system === system).map((r) => num(r[col])));
if (idle.rows.length > 0) {
  say();
  say('### Idle sessions');
  say();
  say(idle.comments[2] ?? '');
  say();
  say(
    '| system | sessions open | RSS before → with them, MiB | KiB per session | greeting p50 / max before, ms | greeting p50 / max with them open, ms | end of DATA → 250 p50 / p99 meanwhile, ms | closed by the server |',
  );
  say('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const system of ORDER) {
    if (!idle.rows.some((r) => r.system === system)) continue;
    const s = (c, d) => fmt(idleStat(system, c).med, d);
    say(
      `| ${NAMES[system]} | ${s('open_ok', 0)} | ${s('rss_before_mib', 1)} → ${s('rss_open_mib', 1)} | ${withRange(idleStat(system, 'rss_kib_per_session'), 2)} | ${s('greet_before_p50_ms')} / ${s('greet_before_max_ms')} | ${s('greet_open_p50_ms')} / ${s('greet_open_max_ms')} | ${s('dot_p50_open_ms')} / ${s('dot_p99_open_ms')} | ${s('closed_by_server', 0)} |`,
    );
  }
}

// ------------------------------------------------------------------ targets
say();
say('### Targets (issue 4)');
say();
say('| target | measured | |');
say('|---|---|---|');
const keys = [...groups.keys()];
for (const key of keys.filter((k) => k.endsWith(':per-msg'))) {
  const r = ratio(
    stat(key, 'petrel-fsync', 'accept_msg_s').med,
    stat(key, 'postfix-hold', 'accept_msg_s').med,
  );
  if (!Number.isFinite(r)) continue;
  say(
    `| new connection per message: ≥ 2× Postfix (${variantName(key).replace(/, a new.*$/, '')}) | ${fmtRatio(r)} | ${verdict(r >= 2)} |`,
  );
}
for (const key of keys.filter((k) => k.endsWith(':reuse'))) {
  const r = ratio(
    stat(key, 'petrel-fsync', 'accept_msg_s').med,
    stat(key, 'naive-always', 'accept_msg_s').med,
  );
  if (!Number.isFinite(r)) continue;
  say(
    `| connections reused: ≥ the naive stack (${variantName(key).replace(/, connections.*$/, '')}) | ${fmtRatio(r)} | ${verdict(r >= 1)} |`,
  );
}
for (const key of keys) {
  const p = stat(key, 'petrel-fsync', 'cpu_machine_s_per_1k').med;
  const n = stat(key, 'naive-always', 'cpu_machine_s_per_1k').med;
  if (!Number.isFinite(p) || !Number.isFinite(n)) continue;
  say(
    `| CPU per 1,000 messages (machine) ≤ the naive stack's (${variantName(key).replace(/connections reused \(smtp-source -d\)/, 'reused')}) | ${fmt(p, 3)} vs ${fmt(n, 3)} s | ${verdict(p <= n)} |`,
  );
}
for (const mode of latModes.filter((m) => m !== 'idle')) {
  const p99 = latStat('petrel-fsync', mode, 'dot_p99_ms').med;
  if (!Number.isFinite(p99)) continue;
  say(
    `| p99 end of DATA → 250 < 10 ms (${mode.endsWith('d') ? `${mode.slice(4, -1)} sessions reused` : `${mode.slice(4)} sessions, new connection per message`}) | ${fmt(p99)} ms | ${verdict(p99 < 10)} |`,
  );
}
{
  const g = idleStat('petrel-fsync', 'greet_before_p50_ms').med;
  const one = stat('1:1:per-msg', 'petrel-fsync', 'accept_msg_s').med;
  if (Number.isFinite(g))
    say(
      `| no fixed delay per session | greeting p50 ${fmt(g)} ms; 1 session, new connection per message: ${fmt(one)} msg/s | ${verdict(g < 1)} |`,
    );
  const kib = idleStat('petrel-fsync', 'rss_kib_per_session').med;
  const open = idleStat('petrel-fsync', 'open_ok').med;
  if (Number.isFinite(kib))
    say(
      `| ${fmt(open, 0)} idle sessions on one ingress process in ≤ 10 KiB each | ${fmt(kib, 2)} KiB each | ${verdict(kib <= 10 && open >= 10000)} |`,
    );
}
console.log(out.join('\n'));
