// The Helm chart's workloads, run: `helm template` of helm/petrel with
// ci/host-network-values.yaml (plus this test's free ports, Redis, sink, TLS
// and AUTH Secrets), and its Deployments, ConfigMaps and Secrets played with
// `podman kube play`. Then:
//   - a message to the ingress pod reaches the sink through the routing and
//     egress pods; another, sent on submission with STARTTLS and AUTH (the TLS
//     and users Secrets, mounted), relays to a domain that is not local;
//   - every container runs as uid 1000, with a read-only root, no capability
//     and podman's seccomp profile, writing only to its /tmp emptyDir;
//   - the ingress pod, stopped in the middle of a DATA, turns /readyz to 503,
//     takes no new session, finishes the transaction with a 250 and exits 0
//     within the pod's terminationGracePeriodSeconds: the drain that the
//     probes and grace period promise. The message is delivered.
//
// Podman is not a kubelet, and the test changes two things in what it plays,
// both for podman 4.3's limits:
//   - it leaves the containers' `ports` out: podman publishes each
//     containerPort as a host port and refuses that on the host network,
//     where Kubernetes reads them as documentation. The probes' named port is
//     then unknown to podman, which cannot run probes here anyway (it
//     schedules them with systemd timers): the test asks /healthz and /readyz
//     itself, as the kubelet would.
//   - Secret volumes become host directories holding the Secret's keys,
//     decoded, made by the test from the rendered Secret: podman 4.3 writes a
//     Secret's `data` into the volume still base64-encoded, and its
//     `stringData` not at all. The mount paths, and the Secret's contents,
//     are the chart's.
//
// Runs only with PETREL_IMAGE_TESTS=1, as root (deploy/image/run-tests.sh).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  makeCertificate,
  SmtpDialog,
  startRedis,
  startTestSink,
  type RedisHandle,
  type TestSink,
} from '@petrel/testing';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { IMAGE, podman, podmanSkipReason, ROOT, VERSION } from './podman.js';

const RELEASE = 'kubeplay';
const FULLNAME = `${RELEASE}-petrel`;
const COMPONENTS = ['ingress', 'routing', 'egress'] as const;
const DRAIN_SECONDS = 10;
const GRACE_SECONDS = 25;
const PASSWORD = 'correct horse battery';

function findHelm(): string | undefined {
  const goBin = join(homedir(), 'go', 'bin', 'helm');
  if (spawnSync(goBin, ['version']).status === 0) return goBin;
  const which = spawnSync('sh', ['-c', 'command -v helm'], { encoding: 'utf8' });
  return which.stdout.trim() || undefined;
}

const helm = findHelm();
const skip =
  podmanSkipReason() ??
  (helm === undefined ? 'helm is missing (scripts/ensure-tools.sh)' : undefined);
if (skip !== undefined) console.warn(`kube-play.spec: skipped: ${skip}`);

interface Ports {
  smtp: number;
  submission: number;
  grpc: number;
  admin: number;
  metrics: Record<(typeof COMPONENTS)[number], number>;
}

interface Played {
  kind?: string;
  metadata: { name: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * The Deployments, ConfigMaps and Secrets that the chart renders for these
 * values (and the `extra` objects), as podman 4.3 can play them (see the
 * header): Secret volumes become directories under `dir`.
 */
function render(valuesFile: string, extra: Played[], dir: string): string {
  const r = spawnSync(
    helm!,
    [
      'template',
      RELEASE,
      join(ROOT, 'helm', 'petrel'),
      '-f',
      join(ROOT, 'helm', 'petrel', 'ci', 'host-network-values.yaml'),
      '-f',
      valuesFile,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`helm template: ${r.stderr}`);
  const played = [
    ...extra,
    ...YAML.parseAllDocuments(r.stdout)
      .map((d) => d.toJS() as Played)
      .filter((o) => o !== null && ['Deployment', 'ConfigMap', 'Secret'].includes(o.kind ?? '')),
  ];
  const secrets = new Map(
    played
      .filter((o) => o.kind === 'Secret')
      .map((s) => {
        const keys: Record<string, Buffer> = {};
        for (const [k, v] of Object.entries(s.data ?? {})) keys[k] = Buffer.from(v, 'base64');
        for (const [k, v] of Object.entries(s.stringData ?? {})) keys[k] = Buffer.from(v);
        return [s.metadata.name, keys] as const;
      }),
  );
  for (const o of played) {
    if (o.kind !== 'Deployment') continue;
    const podSpec = o.spec.template.spec;
    for (const c of podSpec.containers) delete c.ports;
    for (const v of podSpec.volumes) {
      if (v.secret === undefined) continue;
      const keys = secrets.get(v.secret.secretName);
      if (keys === undefined)
        throw new Error(`no Secret ${v.secret.secretName} for volume ${v.name}`);
      const path = join(dir, 'secrets', v.secret.secretName);
      mkdirSync(path, { recursive: true, mode: 0o755 });
      for (const [k, bytes] of Object.entries(keys))
        writeFileSync(join(path, k), bytes, { mode: 0o644 });
      delete v.secret;
      v.hostPath = { path, type: 'Directory' };
    }
  }
  return played.map((o) => YAML.stringify(o)).join('---\n');
}

async function status(url: string): Promise<number> {
  return fetch(url).then(
    (r) => r.status,
    () => 0,
  );
}

async function until<T>(
  what: string | (() => Promise<string>),
  probe: () => Promise<T | undefined>,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : await what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(skip !== undefined)('the chart played with podman kube play', () => {
  let dir: string;
  let manifest: string;
  let redis: RedisHandle;
  let sink: TestSink;
  let ports: Ports;
  const log: Record<string, string> = {};

  const container = (c: (typeof COMPONENTS)[number]) => `${FULLNAME}-${c}-pod-0-${c}`;
  const pod = (c: (typeof COMPONENTS)[number]) => `${FULLNAME}-${c}-pod-0`;
  const health = (c: (typeof COMPONENTS)[number], path: string) =>
    `http://127.0.0.1:${ports.metrics[c]}${path}`;

  async function logs(c: (typeof COMPONENTS)[number]): Promise<string> {
    const r = spawnSync('podman', ['logs', container(c)], { encoding: 'utf8' });
    return (log[c] = `${r.stdout}${r.stderr}`);
  }

  function down(): void {
    if (manifest !== undefined) spawnSync('podman', ['kube', 'down', manifest]);
    for (const s of ['auth', 'tls']) spawnSync('podman', ['secret', 'rm', `${FULLNAME}-${s}`]);
    spawnSync('podman', [
      'volume',
      'rm',
      '-f',
      `${FULLNAME}-config`,
      `${FULLNAME}-auth`,
      `${FULLNAME}-tls`,
    ]);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-kube-play-'));
    if (spawnSync('podman', ['image', 'exists', IMAGE]).status !== 0)
      throw new Error(`${IMAGE} is missing: deploy/image/build.sh builds it`);
    redis = await startRedis({ own: true }); // AOF, appendfsync always: durability fsync holds
    sink = await startTestSink();
    ports = {
      smtp: await freePort(),
      submission: await freePort(),
      grpc: await freePort(),
      admin: await freePort(),
      metrics: { ingress: await freePort(), routing: await freePort(), egress: await freePort() },
    };
    const cert = await makeCertificate(dir, 'ingress', 'mx.kubeplay.test');
    // The users line from the image's own tool, as an operator would make it.
    const hashed = spawnSync(
      'podman',
      ['run', '--rm', '-i', '--read-only', '--network', 'none', IMAGE, 'hash-password', 'alice'],
      { input: `${PASSWORD}\n`, encoding: 'utf8' },
    );
    if (hashed.status !== 0) throw new Error(`hash-password: ${hashed.stderr}`);
    const next = `smtp:[127.0.0.1]:${sink.port}`;
    const values = {
      image: { repository: IMAGE.split(':')[0], tag: VERSION, pullPolicy: 'Never' },
      drainTimeoutSeconds: DRAIN_SECONDS,
      terminationGracePeriodSeconds: GRACE_SECONDS,
      ingress: {
        ports: { smtp: ports.smtp, submission: ports.submission, metrics: ports.metrics.ingress },
      },
      routing: {
        ports: { grpc: ports.grpc, admin: ports.admin, metrics: ports.metrics.routing },
      },
      egress: { ports: { metrics: ports.metrics.egress } },
      config: {
        ingress: {
          hostname: 'mx.kubeplay.test',
          trustedNetworks: [], // the test's clients are on 127.0.0.1: trusted by default
          relayDomains: ['example.test'],
          resolve: { address: `127.0.0.1:${ports.grpc}` },
        },
        routing: { transports: { 'example.test': next, 'elsewhere.test': next } },
      },
      redis: { externalUrl: redis.url, durability: 'fsync' },
      auth: { enabled: true, users: hashed.stdout },
      tls: { enabled: true, existingSecret: `${FULLNAME}-tls` },
    };
    const valuesFile = join(dir, 'values.yaml');
    writeFileSync(valuesFile, YAML.stringify(values));
    // The TLS Secret is the operator's own (tls.existingSecret), as cert-manager would write it.
    const tlsSecret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: `${FULLNAME}-tls` },
      data: {
        'tls.crt': readFileSync(cert.cert).toString('base64'),
        'tls.key': readFileSync(cert.key).toString('base64'),
      },
    };
    chmodSync(dir, 0o755); // the pods' uid 1000 reads the Secrets' directories under it
    manifest = join(dir, 'kube.yaml');
    writeFileSync(manifest, render(valuesFile, [tlsSecret], dir));
    down(); // leftovers of an interrupted run
    await podman('kube', 'play', manifest);
    for (const c of COMPONENTS)
      await until(
        async () => `${c} /readyz 200 (logs: ${await logs(c)})`,
        async () => ((await status(health(c, '/readyz'))) === 200 ? true : undefined),
        30_000,
      );
  }, 180_000);

  afterAll(async () => {
    down();
    await sink?.close();
    await redis?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('relays a message from the ingress pod through the routing and egress pods to the sink', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: ports.smtp,
      secure: false,
      ignoreTLS: true,
      name: 'client.kubeplay.test',
    });
    const info = await transport.sendMail({
      envelope: { from: 'sender@client.test', to: ['bob@example.test'] },
      raw: 'From: sender@client.test\r\nTo: bob@example.test\r\nSubject: kube play\r\n\r\nthrough three pods\r\n',
    });
    expect(info.response).toMatch(/^250 /);
    const [message] = await sink.waitForMessages(1, 30_000);
    expect(message!.mailFrom).toBe('sender@client.test');
    expect(message!.rcptTo).toEqual(['bob@example.test']);
    const body = message!.body.toString('latin1');
    expect(body).toContain('through three pods');
    expect(body).toMatch(/^Received: from client\.kubeplay\.test .*by mx\.kubeplay\.test/ms);
    // Each pod did its part: routing routed it, egress delivered it.
    const queueId = /queued as (\S+)/.exec(info.response)?.[1];
    expect(queueId, info.response).toBeDefined();
    await until(
      'the delivered event in the egress log',
      async () => ((await logs('egress')).includes('"delivered"') ? true : undefined),
      10_000,
    );
    expect(await logs('routing')).toMatch(/"routed"/);
    expect(await logs('ingress')).toContain(queueId);
  });

  it('takes AUTH from the users Secret over STARTTLS from the TLS Secret on submission', async () => {
    const before = sink.messages.length;
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: ports.submission,
      secure: false,
      requireTLS: true,
      tls: { ca: readFileSync(join(dir, 'ingress.cert.pem')), servername: 'mx.kubeplay.test' },
      auth: { user: 'alice', pass: PASSWORD },
      name: 'laptop.kubeplay.test',
    });
    const info = await transport.sendMail({
      envelope: { from: 'alice@kubeplay.test', to: ['carol@elsewhere.test'] },
      raw: 'From: alice@kubeplay.test\r\nTo: carol@elsewhere.test\r\nSubject: submitted\r\n\r\nauthenticated\r\n',
    });
    expect(info.response).toMatch(/^250 /);
    const messages = await sink.waitForMessages(before + 1, 30_000);
    expect(messages.at(-1)!.rcptTo).toEqual(['carol@elsewhere.test']);
    // Without AUTH the same relay is refused: not an open relay.
    const anonymous = nodemailer.createTransport({
      host: '127.0.0.1',
      port: ports.smtp,
      ignoreTLS: true,
      name: 'stranger.kubeplay.test',
    });
    await expect(
      anonymous.sendMail({
        envelope: { from: 'x@stranger.test', to: ['carol@elsewhere.test'] },
        raw: 'Subject: relay?\r\n\r\nno\r\n',
      }),
    ).rejects.toMatchObject({ responseCode: 554 });
  });

  it('runs every container as uid 1000, read-only root, no capabilities, seccomp', async () => {
    for (const c of COMPONENTS) {
      const inspect = JSON.parse(await podman('inspect', container(c)))[0];
      expect(inspect.HostConfig.ReadonlyRootfs, c).toBe(true);
      expect(inspect.Config.User, c).toBe('1000:1000');
      expect(inspect.HostConfig.SecurityOpt, c).toContain('no-new-privileges');
      const out = await podman(
        'exec',
        container(c),
        'sh',
        '-c',
        'id -u; grep -E "^Cap(Eff|Prm|Bnd)" /proc/1/status | tr -s "\\t " " "; grep ^Seccomp: /proc/1/status | tr -s "\\t " " "; touch /opt/x 2>/dev/null && echo root-writable || echo root-read-only; touch /tmp/x && echo tmp-writable',
      );
      expect(out.trim().split('\n'), c).toEqual([
        '1000',
        'CapPrm: 0000000000000000',
        'CapEff: 0000000000000000',
        'CapBnd: 0000000000000000',
        'Seccomp: 2',
        'root-read-only',
        'tmp-writable',
      ]);
    }
  });

  it('drains the ingress pod stopped during a session within the grace period', async () => {
    const before = sink.messages.length;
    const { dialog, greeting } = await SmtpDialog.open(ports.smtp);
    expect(greeting).toMatch(/^220 /);
    expect(await dialog.send('EHLO drain.kubeplay.test')).toMatch(/^250 /m);
    expect(await dialog.send('MAIL FROM:<sender@client.test>')).toMatch(/^250 /);
    expect(await dialog.send('RCPT TO:<drain@example.test>')).toMatch(/^250 /);
    expect(await dialog.send('DATA')).toMatch(/^354 /);
    dialog.write('Subject: drained\r\n\r\nthe first half, ');

    const stopStarted = Date.now();
    // As the kubelet: SIGTERM, then SIGKILL after the pod's terminationGracePeriodSeconds
    // (podman 4.3 does not read that field: its default would be 10 s).
    const ingressPod = YAML.parseAllDocuments(readFileSync(manifest, 'utf8'))
      .map((d) => d.toJS() as Played)
      .find((o) => o.kind === 'Deployment' && o.metadata.name === `${FULLNAME}-ingress`);
    const grace = ingressPod?.spec.template.spec.terminationGracePeriodSeconds as number;
    expect(grace).toBe(GRACE_SECONDS);
    const stop = new Promise<number>((resolve) =>
      spawn('podman', ['pod', 'stop', '-t', String(grace), pod('ingress')], {
        stdio: 'ignore',
      }).on('exit', (code) => resolve(code ?? -1)),
    );
    // The kubelet would take the pod out of the Service: /readyz says 503.
    await until(
      '/readyz 503 while draining',
      async () => ((await status(health('ingress', '/readyz'))) === 503 ? true : undefined),
      10_000,
    );
    // No new session: the listener is closed (or answers 421).
    const fresh = await SmtpDialog.open(ports.smtp).then(
      ({ dialog: d, greeting: g }) => {
        d.close();
        return g;
      },
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(fresh).toMatch(/^(ECONNREFUSED|421 )/);
    // The session in DATA goes on to its 250, however long it takes within the drain.
    await new Promise((r) => setTimeout(r, 2_000));
    dialog.write('the second half\r\n.\r\n');
    expect(await dialog.reply()).toMatch(/^250 /);
    expect(await dialog.send('QUIT')).toMatch(/^(221|421) /);
    dialog.close();

    expect(await stop).toBe(0);
    const elapsed = (Date.now() - stopStarted) / 1000;
    const state = JSON.parse(await podman('inspect', container('ingress')))[0].State;
    console.log(
      `kube-play.spec: ingress pod stopped in ${elapsed.toFixed(1)} s, exit ${state.ExitCode}`,
    );
    expect(state.ExitCode, await logs('ingress')).toBe(0); // drained, not killed (137)
    expect(elapsed).toBeGreaterThan(2); // it waited for the session
    expect(elapsed).toBeLessThan(GRACE_SECONDS);
    expect(log['ingress']).toMatch(/"msg":"drained"/);
    const messages = await sink.waitForMessages(before + 1, 30_000);
    expect(messages.at(-1)!.body.toString('latin1')).toContain('the first half, the second half');
  }, 90_000);
});
