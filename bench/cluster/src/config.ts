// The Petrel configuration a local cluster runs with: one file shared by every
// process (what a ConfigMap is in the chart), and the few variables that
// differ per process (ports, the ingress hostname). The test domains d1.test
// … dN.test each go to their own sink, through a transport map entry naming
// the sink's loopback address and port; routing's resolvers are the
// cluster's own DNS server only, so that no query leaves the machine.
//
// Does not: validate the configuration (the services do, and exit 78 naming
// the key), or write the file (cluster.ts does).

export type Durability = 'none' | 'fsync' | 'replicas';

/** A JSON-like configuration object, as in the YAML file. */
export type ConfigObject = { [key: string]: unknown };

/** The sink a test domain is delivered to. */
export interface SinkRoute {
  readonly domain: string;
  readonly host: string;
  readonly port: number;
}

export interface SharedConfigInput {
  readonly redisUrl: string;
  readonly dnsAddress: string;
  readonly routes: readonly SinkRoute[];
  readonly durability: Durability;
  /** Merged in last (objects key by key, anything else replaced). */
  readonly extra?: ConfigObject;
}

/** The test domain of sink k (1-based): d1.test, d2.test, … */
export function testDomain(k: number): string {
  return `d${k}.test`;
}

/** The loopback address of sink k (1-based): 127.0.1.1, 127.0.1.2, … */
export function sinkAddress(k: number): string {
  if (!Number.isInteger(k) || k < 1 || k > 254) throw new RangeError(`sink ${k}: 1 to 254 sinks`);
  return `127.0.1.${k}`;
}

/** The ingress hostname of process i (0-based), as it appears in Received: headers. */
export function ingressHostname(index: number): string {
  return `ingress-${index}.cluster.test`;
}

function isObject(value: unknown): value is ConfigObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `extra` over `base`: nested objects are merged key by key, lists and scalars replaced. */
export function mergeConfig(base: ConfigObject, extra: ConfigObject): ConfigObject {
  const merged: ConfigObject = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = merged[key];
    merged[key] = isObject(current) && isObject(value) ? mergeConfig(current, value) : value;
  }
  return merged;
}

function transports(routes: readonly SinkRoute[]): Record<string, string> {
  return Object.fromEntries(
    routes.map((route) => [route.domain, `smtp:[${route.host}]:${route.port}`]),
  );
}

/** The file every process reads (PETREL_CONFIG). */
export function sharedConfig(input: SharedConfigInput): ConfigObject {
  const base: ConfigObject = {
    redis: {
      url: input.redisUrl,
      durability: input.durability,
      ...(input.durability === 'replicas' ? { replicas: 1 } : {}),
    },
    ingress: {
      relayDomains: input.routes.map((route) => route.domain),
      loadBalancers: ['127.0.0.1/32'],
    },
    routing: {
      transports: transports(input.routes),
      dns: { servers: [input.dnsAddress], timeout: '1s' },
    },
    egress: { tls: 'none' },
    log: { level: 'info' },
  };
  return mergeConfig(base, input.extra ?? {});
}

/** The listeners of one ingress process: the PROXY one HAProxy sends to, and a direct one. */
export function ingressListeners(proxyPort: number, directPort: number): string {
  return (
    `[{host: 127.0.0.1, port: ${proxyPort}, proxyProtocol: true}, ` +
    `{host: 127.0.0.1, port: ${directPort}}]`
  );
}
