// Latency probe of bench/e2e: receipt-to-delivery time through a relay, the
// same way for Petrel and Postfix. It runs a small SMTP sink on
// 127.0.0.1:<sinkPort> (the relay routes the domain probe.test there) and,
// until SIGUSR1, sends one message (new connection, 1 recipient, ~1 KB) every
// <intervalMs> to the relay at 127.0.0.1:<relayPort>. Each message carries
// `X-Probe-Id`; latency = time the sink saw its end of data minus the time the
// probe sent its end of data (one clock: both ends are this process). After
// SIGUSR1 it waits up to <graceS> seconds for the messages the relay accepted,
// then prints one line `TSV\tsent\taccepted\tdelivered\tp50_ms\tp99_ms\tmax_ms`
// and writes every sample to <outFile>.
// It does not generate the load (smtp-source does), does not retry a refused
// message, and does not speak TLS, PIPELINING or anything but plain SMTP.
//   node probe.mjs <relayPort> <sinkPort> <intervalMs> <graceS> <outFile>
import { writeFileSync } from 'node:fs';
import net from 'node:net';

const [relayPort, sinkPort, intervalMs, graceS, outFile] = process.argv.slice(2);
const sentAt = new Map(); // id -> ms (end of data written)
const acked = new Set();
const arrived = new Map(); // id -> ms (end of data seen by the sink)
let sending = true;

// ---------------------------------------------------------------- the sink
function sinkSession(sock) {
  let buf = '';
  let inData = false;
  let data = '';
  const reply = (line) => sock.write(line + '\r\n');
  reply('220 probe-sink.bench.test ESMTP');
  sock.setEncoding('latin1');
  sock.on('error', () => {});
  sock.on('data', (chunk) => {
    buf += chunk;
    for (;;) {
      if (inData) {
        data += buf;
        buf = '';
        const end = data.indexOf('\r\n.\r\n');
        if (end < 0) return;
        buf = data.slice(end + 5);
        const now = Date.now();
        const m = /^X-Probe-Id: *(\d+)/im.exec(data.slice(0, end));
        if (m && !arrived.has(Number(m[1]))) arrived.set(Number(m[1]), now);
        inData = false;
        data = '';
        reply('250 2.0.0 ok');
        continue;
      }
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 2);
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO' || verb === 'HELO') reply('250 probe-sink.bench.test');
      else if (verb === 'DATA') {
        inData = true;
        data = '\r\n'; // so that an empty message's lone dot matches too
        reply('354 go ahead');
      } else if (verb === 'QUIT') {
        reply('221 2.0.0 bye');
        sock.end();
        return;
      } else reply('250 2.0.0 ok');
    }
  });
}

// ---------------------------------------------------------------- the client
function sendOne(id) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port: Number(relayPort) });
    const body =
      `From: <probe@client.bench.test>\r\nTo: <p${id}@probe.test>\r\n` +
      `Subject: probe ${id}\r\nMessage-ID: <probe.${id}.${Date.now()}@client.bench.test>\r\n` +
      `X-Probe-Id: ${id}\r\n\r\n` +
      'probe probe probe probe probe probe probe probe probe probe probe probe\r\n'.repeat(14) +
      '.\r\n';
    const steps = [
      null, // greeting
      'EHLO client.bench.test',
      'MAIL FROM:<probe@client.bench.test>',
      `RCPT TO:<p${id}@probe.test>`,
      'DATA',
      body, // after 354
      'QUIT',
    ];
    let step = 0;
    let buf = '';
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        sock.destroy();
        resolve();
      }
    };
    sock.setEncoding('latin1');
    sock.setTimeout(120000, finish);
    sock.on('error', finish);
    sock.on('close', finish);
    sock.on('data', (chunk) => {
      buf += chunk;
      for (;;) {
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (line[3] === '-') continue; // multi-line reply: wait for its last line
        const code = Number(line.slice(0, 3));
        const ok = code >= 200 && code < 400;
        if (!ok) {
          sock.write('QUIT\r\n');
          return finish();
        }
        if (step === 5) acked.add(id); // the 250 after the end of data
        step++;
        if (step >= steps.length) return finish();
        if (step === 5) sentAt.set(id, Date.now());
        sock.write(step === 5 ? steps[step] : steps[step] + '\r\n');
      }
    });
  });
}

function pct(sorted, p) {
  if (sorted.length === 0) return 'NA';
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)].toFixed(1);
}

const server = net.createServer(sinkSession);
server.listen(Number(sinkPort), '127.0.0.1', () => {
  process.stdout.write('probe ready\n');
  run().catch((err) => {
    process.stderr.write(String(err) + '\n');
    process.exit(1);
  });
});
process.on('SIGUSR1', () => {
  sending = false;
});
process.on('SIGTERM', () => {
  sending = false;
});

async function run() {
  let id = 0;
  const inflight = new Set();
  while (sending) {
    const p = sendOne(++id);
    inflight.add(p);
    p.then(() => inflight.delete(p));
    await new Promise((r) => setTimeout(r, Number(intervalMs)));
  }
  await Promise.all(inflight);
  const deadline = Date.now() + Number(graceS) * 1000;
  while (Date.now() < deadline && [...acked].some((i) => !arrived.has(i))) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const lat = [...acked]
    .filter((i) => arrived.has(i) && sentAt.has(i))
    .map((i) => arrived.get(i) - sentAt.get(i))
    .sort((a, b) => a - b);
  const lines = [...sentAt.keys()].map(
    (i) => `${i}\t${sentAt.get(i)}\t${acked.has(i) ? 1 : 0}\t${arrived.get(i) ?? 'NA'}`,
  );
  writeFileSync(outFile, 'id\tsent_ms\taccepted\tarrived_ms\n' + lines.join('\n') + '\n');
  process.stdout.write(
    `TSV\t${id}\t${acked.size}\t${lat.length}\t${pct(lat, 50)}\t${pct(lat, 99)}\t${lat.length ? lat[lat.length - 1].toFixed(1) : 'NA'}\n`,
  );
  server.close();
  process.exit(0);
}
