import { describe, expect, it } from 'vitest';
import { isServiceLink } from './service-links.js';

describe('isServiceLink', () => {
  it.each([
    ['PETREL_INGRESS_SERVICE_HOST', '10.96.0.12'],
    ['PETREL_INGRESS_SERVICE_PORT', '25'],
    ['PETREL_INGRESS_SERVICE_PORT_SMTP', '25'],
    ['PETREL_INGRESS_SERVICE_PORT_SUBMISSION', '587'],
    ['PETREL_INGRESS_PORT', 'tcp://10.96.0.12:25'],
    ['PETREL_INGRESS_PORT_25_TCP', 'tcp://10.96.0.12:25'],
    ['PETREL_INGRESS_PORT_25_TCP_ADDR', '10.96.0.12'],
    ['PETREL_INGRESS_PORT_25_TCP_PORT', '25'],
    ['PETREL_INGRESS_PORT_25_TCP_PROTO', 'tcp'],
    ['PETREL_REDIS_PORT', 'tcp://[fd00::12]:6379'],
    ['PETREL_SERVICE_HOST', 'fd00::12'],
  ])('ignores %s=%s', (name, value) => {
    expect(isServiceLink(name, value)).toBe(true);
  });

  it.each([
    ['PETREL_METRICS_PORT', '9464'],
    ['PETREL_METRICS__PORT', '9464'],
    ['PETREL_INGRESS__SERVICE_HOST', '10.96.0.12'],
    ['PETREL_INGRESS_SERVICE_HOST', 'relay.example.net'],
    ['PETREL_INGRESS_SERVICE_PORT', 'smtp'],
    ['PETREL_INGRESS_PORT', 'tcp://relay.example.net:25'],
    ['PETREL_INGRESS_PORT_25_HTTP', 'tcp://10.96.0.12:25'],
    ['PETREL_INGRESS_PORT_25_TCP_PROTO', 'http'],
    ['PETREL_REDIS_URL', 'redis://10.96.0.12:6379'],
  ])('keeps %s=%s as ours', (name, value) => {
    expect(isServiceLink(name, value)).toBe(false);
  });
});
