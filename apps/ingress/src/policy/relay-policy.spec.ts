import { DEFAULT_LIMITS, parsePath, type Path, type PathOptions } from '@petrel/smtp';
import { describe, expect, it } from 'vitest';
import { NetworkList } from './networks.js';
import {
  decideRelay,
  RelayDomains,
  type RelayContext,
  type RelayDecision,
} from './relay-policy.js';

const FORWARD: PathOptions = { kind: 'forward', utf8Allowed: true, limits: DEFAULT_LIMITS };

function path(text: string): Path {
  const r = parsePath(text, FORWARD);
  if (!r.ok) throw new Error(`${text}: ${r.error}`);
  return r.path;
}

type Reason = RelayDecision['reason'];
const ALLOWING: ReadonlySet<Reason> = new Set([
  'relay-domain',
  'trusted-network',
  'authenticated',
  'postmaster',
]);

const TRUSTED = NetworkList.parse(['127.0.0.0/8', '::1']);
const RELAY = RelayDomains.parse(['relay.test', '[192.0.2.55]', '[IPv6:2001:db8::55]']);
const RELAY_AND_SUBDOMAINS = RelayDomains.parse(['relay.test', '.relay.test']);
const SUBDOMAINS_ONLY = RelayDomains.parse(['.relay.test']);

const CLIENTS = {
  stranger: { clientAddress: '203.0.113.9', authenticated: false },
  trusted: { clientAddress: '127.0.0.1', authenticated: false },
  authenticated: { clientAddress: '203.0.113.9', authenticated: true },
} as const;

// The relay-test addresses every operator knows, each judged for the three
// clients: a stranger, a client in a trusted network, a stranger who
// authenticated. Relay domains: relay.test, [192.0.2.55], [IPv6:2001:db8::55].
// [forward-path, stranger, trusted, authenticated]
const RELAY_TESTS: readonly (readonly [string, Reason, Reason, Reason])[] = [
  // Our own domain, however spelled.
  ['<user@relay.test>', 'relay-domain', 'relay-domain', 'relay-domain'],
  ['<user@RELAY.TEST>', 'relay-domain', 'relay-domain', 'relay-domain'],
  ['<User.Name+tag@Relay.Test>', 'relay-domain', 'relay-domain', 'relay-domain'],
  ['<"user"@relay.test>', 'relay-domain', 'relay-domain', 'relay-domain'],
  ['<"user name"@relay.test>', 'relay-domain', 'relay-domain', 'relay-domain'],
  ['<üser@relay.test>', 'relay-domain', 'relay-domain', 'relay-domain'],
  ['<postmaster@relay.test>', 'relay-domain', 'relay-domain', 'relay-domain'],
  // A plain foreign destination.
  ['<user@victim.test>', 'not-permitted', 'trusted-network', 'authenticated'],
  ['<postmaster@victim.test>', 'not-permitted', 'trusted-network', 'authenticated'],
  ['<user@test>', 'not-permitted', 'trusted-network', 'authenticated'],
  // The percent hack, plain and quoted.
  ['<user%victim.test@relay.test>', 'sender-routing', 'trusted-network', 'authenticated'],
  ['<"user%victim.test"@relay.test>', 'sender-routing', 'trusted-network', 'authenticated'],
  ['<"user\\%victim.test"@relay.test>', 'sender-routing', 'trusted-network', 'authenticated'],
  [
    '<user%victim.test%relay.test@relay.test>',
    'sender-routing',
    'trusted-network',
    'authenticated',
  ],
  ['<user%relay.test@victim.test>', 'not-permitted', 'trusted-network', 'authenticated'],
  ['<user%victim.test@[192.0.2.55]>', 'sender-routing', 'trusted-network', 'authenticated'],
  // A second '@', possible only inside quotes.
  ['<"user@victim.test"@relay.test>', 'sender-routing', 'trusted-network', 'authenticated'],
  ['<"user\\@victim.test"@relay.test>', 'sender-routing', 'trusted-network', 'authenticated'],
  ['<"@victim.test:user"@relay.test>', 'sender-routing', 'trusted-network', 'authenticated'],
  // UUCP bang paths, plain and quoted.
  ['<victim.test!user@relay.test>', 'sender-routing', 'trusted-network', 'authenticated'],
  ['<"victim.test!user"@relay.test>', 'sender-routing', 'trusted-network', 'authenticated'],
  [
    '<relay.test!victim.test!user@relay.test>',
    'sender-routing',
    'trusted-network',
    'authenticated',
  ],
  // RFC 821 source routes: the route is stripped, the final domain judged.
  ['<@relay.test:user@victim.test>', 'not-permitted', 'trusted-network', 'authenticated'],
  ['<@relay.test,@x.test:user@victim.test>', 'not-permitted', 'trusted-network', 'authenticated'],
  ['<@RELAY.TEST:user@victim.test>', 'not-permitted', 'trusted-network', 'authenticated'],
  ['<@victim.test:user@relay.test>', 'relay-domain', 'relay-domain', 'relay-domain'],
  [
    '<@relay.test:user%victim.test@relay.test>',
    'sender-routing',
    'trusted-network',
    'authenticated',
  ],
  // Address literals: relay domains only when listed.
  ['<user@[192.0.2.1]>', 'address-literal', 'trusted-network', 'authenticated'],
  ['<user@[IPv6:2001:db8::1]>', 'address-literal', 'trusted-network', 'authenticated'],
  ['<user@[127.0.0.1]>', 'address-literal', 'trusted-network', 'authenticated'],
  ['<user@[IPv6:::ffff:192.0.2.55]>', 'address-literal', 'trusted-network', 'authenticated'],
  ['<postmaster@[192.0.2.1]>', 'address-literal', 'trusted-network', 'authenticated'],
  ['<user@[192.0.2.55]>', 'relay-domain', 'relay-domain', 'relay-domain'],
  ['<user@[IPv6:2001:DB8:0:0:0:0:0:55]>', 'relay-domain', 'relay-domain', 'relay-domain'],
  ['<user@[ipv6:2001:db8::55]>', 'relay-domain', 'relay-domain', 'relay-domain'],
  // A relay domain as a label prefix or suffix of another domain.
  ['<user@relay.test.victim.test>', 'not-permitted', 'trusted-network', 'authenticated'],
  ['<user@victimrelay.test>', 'not-permitted', 'trusted-network', 'authenticated'],
  ['<user@victim-relay.test>', 'not-permitted', 'trusted-network', 'authenticated'],
  ['<user@relay.testx>', 'not-permitted', 'trusted-network', 'authenticated'],
  ['<user@relay.tes>', 'not-permitted', 'trusted-network', 'authenticated'],
  ['<user@elay.test>', 'not-permitted', 'trusted-network', 'authenticated'],
  // A subdomain is not the domain unless ".relay.test" is configured (below).
  ['<user@sub.relay.test>', 'not-permitted', 'trusted-network', 'authenticated'],
  // RFC 5321 §4.5.1: <postmaster> without a domain is always accepted.
  ['<postmaster>', 'postmaster', 'postmaster', 'postmaster'],
  ['<Postmaster>', 'postmaster', 'postmaster', 'postmaster'],
  ['<POSTMASTER>', 'postmaster', 'postmaster', 'postmaster'],
];

function decide(text: string, client: keyof typeof CLIENTS, relayDomains = RELAY): RelayDecision {
  const ctx: RelayContext = { ...CLIENTS[client], trustedNetworks: TRUSTED, relayDomains };
  return decideRelay(path(text), ctx);
}

function expected(reason: Reason): RelayDecision {
  return { allowed: ALLOWING.has(reason), reason } as RelayDecision;
}

describe('decideRelay: the relay-test addresses', () => {
  it.each(RELAY_TESTS)(
    '%s: stranger %s, trusted %s, authenticated %s',
    (text, stranger, trusted, auth) => {
      expect(decide(text, 'stranger')).toEqual(expected(stranger));
      expect(decide(text, 'trusted')).toEqual(expected(trusted));
      expect(decide(text, 'authenticated')).toEqual(expected(auth));
    },
  );
});

describe('decideRelay: subdomains', () => {
  // [forward-path, with "relay.test" and ".relay.test", with ".relay.test" only] for a stranger
  it.each([
    ['<user@relay.test>', 'relay-domain', 'not-permitted'],
    ['<user@sub.relay.test>', 'relay-domain', 'relay-domain'],
    ['<user@SUB.Relay.Test>', 'relay-domain', 'relay-domain'],
    ['<user@a.b.relay.test>', 'relay-domain', 'relay-domain'],
    ['<user%victim.test@sub.relay.test>', 'sender-routing', 'sender-routing'],
    ['<user@sub.relay.test.victim.test>', 'not-permitted', 'not-permitted'],
    ['<user@subrelay.test>', 'not-permitted', 'not-permitted'],
    ['<user@relay-sub.test>', 'not-permitted', 'not-permitted'],
    ['<user@victim.test>', 'not-permitted', 'not-permitted'],
    ['<user@bücher.relay.test>', 'not-permitted', 'not-permitted'], // U-labels never match
  ] as const)('%s: %s, %s', (text, both, subOnly) => {
    expect(decide(text, 'stranger', RELAY_AND_SUBDOMAINS)).toEqual(expected(both));
    expect(decide(text, 'stranger', SUBDOMAINS_ONLY)).toEqual(expected(subOnly));
  });
});

describe('decideRelay: what the parser refuses never reaches policy', () => {
  it.each([
    '<user@victim.test@relay.test>',
    '<user@relay.test.>',
    '<user@relay..test>',
    '<user@.relay.test>',
    '<user@192.0.2.1>',
    '<relay.test:user@victim.test>',
    '<@relay.test:@x.test:user@victim.test>',
    '<user@[192.0.2.1]@relay.test>',
    '<user@[IPv6:2001:db8::1%eth0]>',
    '<user@[relay.test]>',
    '<"user"@victim.test"@relay.test>',
    '<user@relay.test >',
    '<user@relay.test\r\n>',
    '<postmaster@>',
    '<>',
  ])('%s', (text) => {
    expect(parsePath(text, FORWARD).ok).toBe(false);
  });
});

describe('decideRelay: clients', () => {
  const ctx = (clientAddress: string, authenticated = false): RelayContext => ({
    clientAddress,
    authenticated,
    trustedNetworks: TRUSTED,
    relayDomains: RELAY,
  });
  const foreign = path('<user@victim.test>');

  it.each([
    ['127.0.0.1', 'trusted-network'],
    ['127.255.255.254', 'trusted-network'],
    ['::ffff:127.0.0.1', 'trusted-network'],
    ['::1', 'trusted-network'],
    ['128.0.0.1', 'not-permitted'],
    ['::2', 'not-permitted'],
    ['::ffff:203.0.113.9', 'not-permitted'],
    ['', 'not-permitted'],
    ['/run/petrel.sock', 'not-permitted'],
  ] as const)('%s: %s', (address, reason) => {
    expect(decideRelay(foreign, ctx(address))).toEqual(expected(reason));
  });

  it('an empty trusted list and no authentication open nothing', () => {
    const closed: RelayContext = { ...ctx('127.0.0.1'), trustedNetworks: NetworkList.parse([]) };
    expect(decideRelay(foreign, closed)).toEqual(expected('not-permitted'));
    expect(decideRelay(path('<user@relay.test>'), closed)).toEqual(expected('relay-domain'));
  });

  it('a trusted client that also authenticated is reported as trusted', () => {
    expect(decideRelay(foreign, ctx('127.0.0.1', true))).toEqual(expected('trusted-network'));
  });

  it('the null path is no forward-path', () => {
    const nullPath: Path = { route: [], mailbox: null, raw: '' };
    expect(decideRelay(nullPath, ctx('127.0.0.1', true))).toEqual(expected('not-permitted'));
  });
});

describe('RelayDomains.matches', () => {
  const domains = RelayDomains.parse([
    'relay.test',
    '.sub.test',
    '[192.0.2.55]',
    '[IPv6:2001:db8::55]',
    'XN--BCHER-KVA.example',
  ]);
  it.each([
    ['relay.test', true],
    ['RELAY.TEST', true],
    ['relay.test.', false], // the parser refuses trailing dots; defensive all the same
    ['relay.test..', false],
    ['.relay.test', false],
    ['x.relay.test', false],
    ['relay..test', false],
    ['', false],
    ['sub.test', false],
    ['a.sub.test', true],
    ['a.sub.test.', false],
    ['a..sub.test', false],
    ['.sub.test', false],
    ['..sub.test', false],
    ['-.sub.test', false],
    ['a.b.sub.test', true],
    ['[192.0.2.55]', true],
    ['[192.0.2.56]', false],
    ['[ipv6:2001:db8::55]', true],
    ['[IPv6:2001:DB8:0::55]', true],
    ['[IPv6:2001:db8::56]', false],
    ['[192.0.2.55', false],
    ['xn--bcher-kva.example', true],
    ['bücher.example', false],
  ] as const)('%s: %s', (domain, result) => {
    expect(domains.matches(domain)).toBe(result);
  });

  it('lists its entries in canonical form', () => {
    expect(domains.entries).toEqual([
      'relay.test',
      '.sub.test',
      '[192.0.2.55]',
      '[ipv6:2001:db8::55]',
      'xn--bcher-kva.example',
    ]);
  });
});

describe('RelayDomains.parse refuses, naming the entry', () => {
  it.each([
    ['', /not a domain/],
    ['.', /not a domain/],
    ['..relay.test', /not a domain/],
    ['relay.test.', /trailing dot/],
    ['relay..test', /not a domain/],
    ['-relay.test', /not a domain/],
    ['relay-.test', /not a domain/],
    ['*.relay.test', /not a domain/],
    ['relay.test ', /not a domain/],
    ['user@relay.test', /not a domain/],
    ['192.0.2.1', /\[192\.0\.2\.1\]/],
    ['relay.123', /not a domain/],
    ['[192.0.2.1', /address literal/],
    ['[192.0.2.256]', /address literal/],
    ['[2001:db8::1]', /address literal/],
    ['[IPv6:2001:db8::1%eth0]', /address literal/],
    ['bücher.example', /xn--/],
    [`${'a'.repeat(64)}.test`, /not a domain/],
  ])('%j', (entry, message) => {
    expect(() => RelayDomains.parse(['relay.test', entry])).toThrow(message);
    expect(() => RelayDomains.parse([entry])).toThrow(JSON.stringify(entry));
  });
});
