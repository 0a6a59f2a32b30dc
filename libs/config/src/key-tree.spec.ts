import { describe, expect, it } from 'vitest';
import { fileSchema } from './file-schema.js';
import { envVariable, formatKeyPath, keyPaths, keyTree, nodeAt } from './key-tree.js';

const tree = keyTree(fileSchema);

describe('keyTree', () => {
  it('reads the sections, lists, maps and values off the schema', () => {
    expect(nodeAt(tree, ['redis'])?.kind).toBe('section');
    expect(nodeAt(tree, ['redis', 'durabilityTimeout'])?.kind).toBe('value');
    expect(nodeAt(tree, ['ingress', 'listeners'])?.kind).toBe('list');
    expect(nodeAt(tree, ['ingress', 'listeners', 3, 'port'])?.kind).toBe('value');
    expect(nodeAt(tree, ['ingress', 'tls', 'cert'])?.kind).toBe('value');
    expect(nodeAt(tree, ['ingress', 'timeouts', 'command'])?.kind).toBe('value');
    expect(nodeAt(tree, ['routing', 'lists'])?.kind).toBe('map');
    expect(nodeAt(tree, ['routing', 'transports'])?.kind).toBe('map');
    expect(nodeAt(tree, ['egress', 'retry', 'schedule'])?.kind).toBe('list');
  });

  it('knows no more than the schema', () => {
    expect(nodeAt(tree, ['redis', 'durabilityTimeoutMs'])).toBeNull();
    expect(nodeAt(tree, ['ingress', 'listeners', 'port'])).toBeNull();
    expect(nodeAt(tree, ['redis', 'url', 'host'])).toBeNull();
  });

  it('lists every key path in schema order', () => {
    const paths = [...keyPaths(tree)].map(({ path }) => path.join('.'));
    expect(paths.slice(0, 7)).toEqual([
      'redis',
      'redis.url',
      'redis.durability',
      'redis.replicas',
      'redis.durabilityTimeout',
      'redis.commandTimeout',
      'redis.prefix',
    ]);
    expect(paths).toContain('ingress.limits.authFailuresPerClientPerHour');
    expect(paths).toContain('log.level');
  });
});

describe('formatKeyPath', () => {
  it.each([
    [[], '(top level)'],
    [['ingress', 'listeners', 0, 'port'], 'ingress.listeners[0].port'],
    [['routing', 'transports', 'example.test'], 'routing.transports["example.test"]'],
  ])('%j → %s', (path, text) => {
    expect(formatKeyPath(path)).toBe(text);
  });
});

describe('envVariable', () => {
  it.each([
    [['redis', 'url'], 'PETREL_REDIS__URL'],
    [['ingress', 'maxMessageSize'], 'PETREL_INGRESS__MAX_MESSAGE_SIZE'],
    [
      ['ingress', 'limits', 'messagesPerClientPerMinute'],
      'PETREL_INGRESS__LIMITS__MESSAGES_PER_CLIENT_PER_MINUTE',
    ],
    [['ingress', 'tls', 'cert'], 'PETREL_INGRESS__TLS__CERT'],
    [['log'], 'PETREL_LOG'],
  ])('%j → %s', (path, name) => {
    expect(envVariable(path)).toBe(name);
  });
});
