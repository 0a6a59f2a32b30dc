import { describe, expect, it } from 'vitest';
import { validate } from './validate.js';

describe('validate', () => {
  it('refuses an object the API schema refuses', async () => {
    await expect(
      validate({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'x' },
        spec: { replicas: 'two' },
      }),
    ).rejects.toThrow();
    await expect(
      validate({
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: 'x' },
        spec: {},
      }),
    ).rejects.toThrow();
  });
});
