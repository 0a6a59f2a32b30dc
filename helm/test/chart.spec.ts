import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  chart,
  helm,
  helm3,
  run,
  template,
  templateError,
  valueFiles,
  type K8sObject,
} from './helm.js';
import { validate } from './validate.js';

const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const named = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name}`);
  return o;
};
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe.skipIf(!helm)('helm/petrel', () => {
  it('passes helm lint with every value file', () => {
    for (const f of valueFiles) {
      const r = run(helm!, ['lint', chart, '--strict', '-f', join(chart, 'ci', f)]);
      expect(r.status, `${f}: ${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it.skipIf(!helm3)('lints and renders the same with Helm 3 (helm3 in ~/go/bin or on PATH)', () => {
    for (const f of valueFiles) {
      const lint = run(helm3!, ['lint', chart, '--strict', '-f', join(chart, 'ci', f)]);
      expect(lint.status, `${f}: ${lint.stdout}${lint.stderr}`).toBe(0);
    }
    for (const f of valueFiles) {
      const args = ['-f', join(chart, 'ci', f)];
      expect(template(args, helm3!), f).toEqual(template(args));
    }
  });

  describe.each(valueFiles)('%s', (file) => {
    const objs = template(['-f', join(chart, 'ci', file)]);

    it('renders objects valid against the Kubernetes and CRD schemas', async () => {
      for (const o of objs)
        await expect(validate(o), `${o.kind} ${o.metadata.name}`).resolves.toBeUndefined();
    });

    it('runs every pod non-root, read-only, without capabilities, with probes', () => {
      const workloads = [...byKind(objs, 'Deployment'), ...byKind(objs, 'StatefulSet')];
      expect(
        byKind(objs, 'Deployment')
          .map((d) => d.metadata.name)
          .sort(),
      ).toEqual(['relay-petrel-egress', 'relay-petrel-ingress', 'relay-petrel-routing']);
      for (const w of workloads) {
        const pod = w.spec.template.spec;
        expect(pod.securityContext).toMatchObject({
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        for (const c of pod.containers) {
          expect(c.securityContext).toMatchObject({
            runAsNonRoot: true,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          });
          expect(c.livenessProbe).toBeDefined();
          expect(c.readinessProbe).toBeDefined();
          expect(c.resources?.requests).toBeDefined();
        }
      }
      for (const d of byKind(objs, 'Deployment')) {
        const pod = d.spec.template.spec;
        const c = pod.containers[0];
        expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
        expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
        expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(30);
        expect(pod.enableServiceLinks).toBe(false);
        expect(pod.topologySpreadConstraints.length).toBeGreaterThan(0);
        for (const p of c.ports) expect(p.containerPort).toBeGreaterThan(1024);
        expect(pod.volumes.find((v: { name: string }) => v.name === 'tmp')).toEqual({
          name: 'tmp',
          emptyDir: {},
        });
      }
    });

    it('has a PDB for every workload, selecting its pods and nothing else', () => {
      const workloads = [...byKind(objs, 'Deployment'), ...byKind(objs, 'StatefulSet')];
      const pdbs = byKind(objs, 'PodDisruptionBudget');
      expect(pdbs).toHaveLength(workloads.length);
      for (const w of workloads) {
        const mine = pdbs.filter((p) =>
          matches(p.spec.selector.matchLabels, w.spec.template.metadata.labels),
        );
        expect(
          mine.map((p) => p.metadata.name),
          w.metadata.name,
        ).toEqual([w.metadata.name]);
        expect(matches(w.spec.selector.matchLabels, w.spec.template.metadata.labels)).toBe(true);
      }
    });

    it('points every HPA and ScaledObject at a Deployment it renders', () => {
      const deployments = byKind(objs, 'Deployment').map((d) => d.metadata.name);
      for (const h of byKind(objs, 'HorizontalPodAutoscaler')) {
        expect(h.spec.scaleTargetRef.kind).toBe('Deployment');
        expect(deployments).toContain(h.spec.scaleTargetRef.name);
      }
      for (const s of byKind(objs, 'ScaledObject'))
        expect(deployments).toContain(s.spec.scaleTargetRef.name);
      const targets = [
        ...byKind(objs, 'HorizontalPodAutoscaler'),
        ...byKind(objs, 'ScaledObject'),
      ].map((h) => h.spec.scaleTargetRef.name);
      expect(new Set(targets).size).toBe(targets.length);
    });

    it('maps 25 and 587 to the listeners of the rendered configuration', () => {
      const svc = named(objs, 'Service', 'relay-petrel-ingress');
      expect(svc.spec.ports.map((p: { port: number }) => p.port)).toEqual([25, 587]);
      const config = YAML.parse(
        named(objs, 'ConfigMap', 'relay-petrel-config').data?.['petrel.yaml'] ?? '',
      );
      const ingress = named(objs, 'Deployment', 'relay-petrel-ingress').spec.template.spec;
      const containerPorts = ['smtp', 'submission'].map(
        (name) =>
          ingress.containers[0].ports.find((p: { name: string }) => p.name === name)?.containerPort,
      );
      expect(svc.spec.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual([
        'smtp',
        'submission',
      ]);
      expect(config.ingress.listeners.map((l: { port: number }) => l.port)).toEqual(containerPorts);
      if (!ingress.hostNetwork) {
        expect(containerPorts).toEqual([2525, 5870]);
        expect(config.ingress.resolve.address).toBe('relay-petrel-routing:50051');
      }
      expect(config.metrics.host).toBe('0.0.0.0');
      expect(config.ingress.trustedNetworks ?? []).not.toContain('0.0.0.0/0');
    });
  });

  it('puts the pods on the host network with the ports of the values', () => {
    const objs = template(['-f', join(chart, 'ci', 'host-network-values.yaml')]);
    const config = YAML.parse(
      named(objs, 'ConfigMap', 'relay-petrel-config').data?.['petrel.yaml'] ?? '',
    );
    expect(config.ingress.listeners.map((l: { port: number }) => l.port)).toEqual([12525, 15870]);
    expect(config.routing.grpc.port).toBe(15051);
    expect(config.admin.port).toBe(15052);
    expect(config.ingress.resolve.address).toBe('127.0.0.1:15051');
    const metrics: Record<string, number> = { ingress: 19464, routing: 19465, egress: 19466 };
    for (const d of byKind(objs, 'Deployment')) {
      const pod = d.spec.template.spec;
      expect(pod.hostNetwork).toBe(true);
      expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
      const [c] = pod.containers;
      const component = d.metadata.name.replace('relay-petrel-', '');
      const port = (name: string) =>
        c.ports.find((p: { name: string }) => p.name === name)?.containerPort;
      expect(port('metrics')).toBe(metrics[component]);
      expect(c.env).toContainEqual({
        name: 'PETREL_METRICS__PORT',
        value: String(metrics[component]),
      });
      expect(c.readinessProbe.httpGet.port).toBe('metrics');
    }
  });

  it('rolls a component only when a key it reads and cannot reload changes', () => {
    const checksums = (...set: string[]) =>
      Object.fromEntries(
        byKind(template(set.flatMap((s) => ['--set', s])), 'Deployment').map((d) => [
          d.metadata.name.replace('relay-petrel-', ''),
          d.spec.template.metadata.annotations['checksum/config'],
        ]),
      );
    const base = checksums();
    const rolled = (...set: string[]) => {
      const after = checksums(...set);
      return Object.keys(base)
        .filter((c) => after[c] !== base[c])
        .sort();
    };
    expect(Object.keys(base).sort()).toEqual(['egress', 'ingress', 'routing']);
    // Reloaded in place by the services that read them: no roll.
    expect(rolled('config.routing.transports.example\\.com=smtp:[mx.example.net]')).toEqual([]);
    expect(rolled('config.ingress.relayDomains={example.com}')).toEqual([]);
    expect(rolled('config.ingress.trustedNetworks={10.0.0.0/8}')).toEqual([]);
    // Read, and not reloaded: the readers roll.
    expect(rolled('config.ingress.timeouts.command=7m')).toEqual(['ingress']);
    expect(rolled('config.egress.retry.lifetime=3d')).toEqual(['egress', 'routing']);
    expect(rolled('config.ingress.hostname=mx.example.com')).toEqual([
      'egress',
      'ingress',
      'routing',
    ]);
    expect(rolled('config.log.level=debug')).toEqual(['egress']); // egress reloads nothing
    expect(rolled('redis.externalUrl=redis://other:6379')).toEqual([
      'egress',
      'ingress',
      'routing',
    ]);
  });

  it("lets egress pods reach SMTP, DNS and the release's Redis only", () => {
    const egressRules = (...args: string[]) =>
      named(template(args), 'NetworkPolicy', 'relay-petrel-egress').spec.egress as {
        to?: { podSelector?: { matchLabels: Record<string, string> } }[];
        ports: { port: number | string }[];
      }[];
    const ports = (rules: ReturnType<typeof egressRules>) =>
      rules.flatMap((r) => r.ports.map((p) => p.port));
    const internal = egressRules();
    expect(ports(internal).sort()).toEqual([25, 465, 53, 53, 587, 6379].sort());
    const redisRule = internal.find((r) => r.ports.some((p) => p.port === 6379))!;
    expect(redisRule.to?.[0]?.podSelector?.matchLabels).toMatchObject({
      'app.kubernetes.io/instance': 'relay',
      'app.kubernetes.io/component': 'redis',
    });
    const external = egressRules(
      '--set',
      'redis.externalUrl=rediss://u:p@redis.example.net:6380/0',
    );
    expect(ports(external)).toContain(6380);
    expect(ports(external)).not.toContain(6379);
  });

  it('takes the Redis URL from a Secret, out of the ConfigMap, and renders no in-chart Redis', () => {
    const objs = template(['--set', 'redis.existingSecret=petrel-redis']);
    const config = YAML.parse(
      named(objs, 'ConfigMap', 'relay-petrel-config').data?.['petrel.yaml'] ?? '',
    );
    expect(config.redis.url).toBeNull();
    for (const d of byKind(objs, 'Deployment'))
      expect(d.spec.template.spec.containers[0].env).toContainEqual({
        name: 'PETREL_REDIS__URL',
        valueFrom: { secretKeyRef: { name: 'petrel-redis', key: 'url' } },
      });
    expect(byKind(objs, 'StatefulSet')).toEqual([]);
    expect(
      templateError([
        '--set',
        'redis.existingSecret=petrel-redis',
        '--set',
        'redis.externalUrl=redis://r:6379',
      ]),
    ).toMatch(/give the URL in one place/);
  });

  it('lets egress pods reach every sentinel of a Sentinel URL, and the primary', () => {
    const objs = template(['-f', join(chart, 'ci', 'sentinel-values.yaml')]);
    const egress = named(objs, 'NetworkPolicy', 'relay-petrel-egress').spec.egress as {
      ports: { port: number }[];
    }[];
    expect(egress.flatMap((r) => r.ports.map((p) => p.port))).toEqual(
      expect.arrayContaining([6379, 26379]),
    );
    expect(byKind(objs, 'StatefulSet')).toEqual([]);
  });

  it('gives a Redis Cluster URL and the shards to every service, and lets egress reach the seed nodes', () => {
    const objs = template(['-f', join(chart, 'ci', 'cluster-values.yaml')]);
    const egress = named(objs, 'NetworkPolicy', 'relay-petrel-egress').spec.egress as {
      ports: { port: number }[];
    }[];
    expect(egress.flatMap((r) => r.ports.map((p) => p.port))).toEqual(
      expect.arrayContaining([6379, 6380]),
    );
    const config = YAML.parse(
      named(objs, 'ConfigMap', 'relay-petrel-config').data?.['petrel.yaml'] ?? '',
    );
    expect(config.redis).toMatchObject({
      url: 'redis+cluster://:cluster-password@redis-cluster-0.redis:6379,redis-cluster-1.redis:6380',
      shards: 3,
    });
    expect(byKind(objs, 'StatefulSet')).toEqual([]);
  });

  it('is not an open relay by default', () => {
    const config = YAML.parse(
      named(template(), 'ConfigMap', 'relay-petrel-config').data?.['petrel.yaml'] ?? '',
    );
    expect(config.ingress.trustedNetworks).toEqual(['127.0.0.0/8', '::1/128']);
    expect(config.ingress.relayDomains).toEqual([]);
    expect(config.admin.host).toBe('127.0.0.1');
  });

  it('renders the in-chart Redis durable: AOF always, noeviction, a PVC', () => {
    const objs = template(['-f', join(chart, 'ci', 'replica-values.yaml')]);
    const conf = named(objs, 'ConfigMap', 'relay-petrel-redis').data?.['redis.conf'] ?? '';
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^appendfsync always$/m);
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    const sts = named(objs, 'StatefulSet', 'relay-petrel-redis');
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
  });

  it('refuses Redis settings that could lose accepted mail', () => {
    expect(templateError(['--set', 'redis.internal.maxmemoryPolicy=allkeys-lru'])).toMatch(
      /noeviction/,
    );
    expect(templateError(['--set', 'redis.internal.persistence.enabled=false'])).toMatch(
      /persistence/,
    );
    expect(templateError(['--set', 'redis.internal.appendfsync=everysec'])).toMatch(
      /appendfsync always/,
    );
    expect(
      templateError([
        '--set',
        'redis.durability=replicas',
        '--set',
        'redis.replicas=2',
        '--set',
        'redis.internal.replicas=1',
      ]),
    ).toMatch(/replicas/);
  });

  it('refuses PROXY protocol without the load balancers allowed to send it', () => {
    expect(templateError(['--set', 'ingress.service.proxyProtocol=true'])).toMatch(/loadBalancers/);
  });

  it('refuses values outside the schema', () => {
    expect(templateError(['--set', 'redis.durability=sometimes'])).toMatch(/durability/);
    expect(templateError(['--set', 'ingress.service.type=ClusterIP'])).toMatch(/type/);
    expect(templateError(['--set', 'nosuchkey=1'])).toMatch(/nosuchkey|additional/i);
    expect(templateError(['--set', 'redis.externalUrl=http://x'])).toMatch(/externalUrl/);
    expect(templateError(['--set', 'config.redis.url=redis://x'])).toMatch(/config/);
    expect(templateError(['--set', 'terminationGracePeriodSeconds=10'])).toMatch(/drainTimeout/);
  });

  it('carries the dashboards and rules of deploy/ unchanged', () => {
    for (const f of [
      'petrel-ingress.json',
      'petrel-routing.json',
      'petrel-egress.json',
      'petrel-overview.json',
    ])
      expect(readFileSync(join(chart, 'files', f), 'utf8'), f).toBe(
        readFileSync(join(chart, '..', '..', 'deploy', 'grafana', f), 'utf8'),
      );
    expect(readFileSync(join(chart, 'files', 'petrel-rules.yml'), 'utf8')).toBe(
      readFileSync(join(chart, '..', '..', 'deploy', 'prometheus', 'petrel-rules.yml'), 'utf8'),
    );
    const objs = template(['-f', join(chart, 'ci', 'monitoring-values.yaml')]);
    const dashboards = byKind(objs, 'ConfigMap').filter(
      (c) => c.metadata.labels?.grafana_dashboard === '1',
    );
    expect(dashboards).toHaveLength(4);
    expect(byKind(objs, 'PrometheusRule')[0]!.spec.groups.length).toBeGreaterThan(0);
  });

  it('has a README whose values table is up to date', () => {
    const r = run(process.execPath, [join(chart, '..', 'scripts', 'chart-readme.mjs'), '--check']);
    expect(r.status, r.stderr).toBe(0);
  });
});
