import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dockerAnswers } from './redis-container.js';

describe('dockerAnswers', () => {
  let server: Server | null = null;
  let dir: string | null = null;
  afterEach(async () => {
    if (server !== null) await new Promise((resolve) => server!.close(resolve));
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
    server = null;
    dir = null;
  });

  it('fails fast and silently when nothing answers', async () => {
    const started = Date.now();
    expect(await dockerAnswers({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' })).toBe(false);
    expect(await dockerAnswers({ DOCKER_HOST: 'tcp://127.0.0.1:1' })).toBe(false);
    expect(await dockerAnswers({ DOCKER_HOST: 'ssh://nobody@nowhere' })).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('gives up on an endpoint that accepts but never answers, within its timeout', async () => {
    server = createServer(() => undefined);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const started = Date.now();
    expect(await dockerAnswers({ DOCKER_HOST: `tcp://127.0.0.1:${port}` }, 200)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
    server.closeAllConnections();
  });

  it('says yes when something answers /_ping on the Docker socket', async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-docker-'));
    const socketPath = join(dir, 'docker.sock');
    const paths: string[] = [];
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.end('OK');
    });
    await new Promise<void>((resolve) => server!.listen(socketPath, resolve));
    expect(await dockerAnswers({ DOCKER_HOST: `unix://${socketPath}` })).toBe(true);
    expect(paths).toEqual(['/_ping']);
  });
});
