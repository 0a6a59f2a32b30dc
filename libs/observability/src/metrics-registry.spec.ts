import { Counter, register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createRegistry } from './metrics-registry.js';

describe('createRegistry', () => {
  it('collects Node’s default metrics with the petrel_ prefix', async () => {
    const text = await createRegistry().metrics();
    expect(text).toContain('# TYPE petrel_process_cpu_user_seconds_total counter');
    expect(text).toContain('petrel_nodejs_eventloop_lag_seconds');
    expect(text).toContain('petrel_process_resident_memory_bytes');
    expect(text).not.toMatch(/^(?!#)(?!petrel_)\S+/m);
  });

  it('is empty without default metrics', async () => {
    expect(await createRegistry({ collectDefaults: false }).metrics()).toBe('\n');
  });

  it('is a fresh registry each time, apart from the global one', async () => {
    const a = createRegistry({ collectDefaults: false });
    const b = createRegistry({ collectDefaults: false });
    const counter = new Counter({ name: 'petrel_test_total', help: 'test', registers: [a] });
    counter.inc(3);
    expect(await a.metrics()).toContain('petrel_test_total 3');
    expect(await b.metrics()).not.toContain('petrel_test_total');
    expect(globalRegistry.getSingleMetric('petrel_test_total')).toBeUndefined();
  });

  it('can be created twice with default metrics (two services in one process)', async () => {
    const first = createRegistry();
    const second = createRegistry();
    expect(await second.metrics()).toContain('petrel_process_cpu_user_seconds_total');
    expect(await first.metrics()).toContain('petrel_process_cpu_user_seconds_total');
  });
});
