// Petrel's side of bench/egress: writes N deliveries as routing writes them
// (body, reference, DeliveryJobV1 on a paused `deliveries` queue) for the sink
// at 127.0.0.1:<port>, or resumes the queue. Used by run.sh.
//   node deliveries.mjs preload <redis url> <prefix> <n> <recipients> <body octets> <sink port>
//   node deliveries.mjs resume <redis url> <prefix>
import {
  bodyKey,
  DELIVERY_JOB_NAME,
  DELIVERY_JOB_OPTIONS,
  newMessageId,
  QUEUES,
  refsKey,
} from '@petrel/queue';
import { DEFAULT_LIMITS, parsePath } from '@petrel/smtp';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

const [command, url, prefix, ...rest] = process.argv.slice(2);
const redis = new Redis(url);
const queue = new Queue(QUEUES.deliveries, { connection: redis, prefix });

if (command === 'resume') {
  await queue.resume();
} else if (command === 'preload') {
  const [n, recipients, octets, port] = rest.map(Number);
  await queue.pause();
  const line = 'x'.repeat(76) + '\r\n';
  const headers =
    'Received: from client.bench.test by relay.petrel.test; Mon, 23 Nov 2026 18:00:00 +0000\r\n' +
    'From: sender@client.bench.test\r\nTo: rcpt@relay.test\r\nSubject: bench\r\n\r\n';
  const body = Buffer.from(
    headers + line.repeat(Math.max(1, Math.ceil((octets - headers.length) / line.length))),
  );
  const reversePath = parsePath('<sender@client.bench.test>', {
    kind: 'reverse',
    utf8Allowed: false,
    limits: DEFAULT_LIMITS,
  });
  const recipientsOf = Array.from({ length: recipients }, (_, i) => ({
    forwardPath: `rcpt${i}@relay.test`,
    original: `rcpt${i}@relay.test`,
    state: 'pending',
  }));
  for (let i = 0; i < n; i += 500) {
    const batch = [];
    const pipeline = redis.pipeline();
    for (let j = i; j < Math.min(n, i + 500); j++) {
      const messageId = newMessageId();
      const key = bodyKey(prefix, messageId);
      pipeline.set(key, body).set(refsKey(prefix, messageId), '1');
      const id = `${messageId}.1`;
      batch.push({
        name: DELIVERY_JOB_NAME,
        data: {
          v: 1,
          id,
          messageId,
          receivedAt: new Date().toISOString(),
          routedAt: new Date().toISOString(),
          verb: 'MAIL',
          reversePath: reversePath.path,
          parameters: {},
          size: body.length,
          bodyKey: key,
          origin: 'smtp',
          route: {
            domain: 'relay.test',
            hops: [{ host: '127.0.0.1', preference: 0, port }],
            source: 'transport-map',
            transport: '*',
            tls: null,
            auth: null,
          },
          recipients: recipientsOf,
        },
        opts: { ...DELIVERY_JOB_OPTIONS, jobId: id },
      });
    }
    await pipeline.exec();
    await queue.addBulk(batch);
  }
} else {
  throw new Error(`unknown command ${command}`);
}
await queue.close();
redis.disconnect();
