// What the podman-run specs share (image.spec.ts, kube-play.spec.ts): the
// image's name, why a spec is skipped, and podman as a function.
// They run only with PETREL_IMAGE_TESTS=1, as root with podman: .ci/run's
// image step (deploy/image/run-tests.sh), which builds the image first.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ROOT = join(import.meta.dirname, '..', '..');
export const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
export const IMAGE = process.env['PETREL_IMAGE'] ?? `localhost/petrel:${VERSION}`;

/** Why the podman specs cannot run here, or undefined when they can. */
export function podmanSkipReason(): string | undefined {
  if (process.env['PETREL_IMAGE_TESTS'] !== '1')
    return 'set PETREL_IMAGE_TESTS=1 to run (deploy/image/run-tests.sh; .ci/run runs it as its own step)';
  if (process.getuid?.() !== 0) return 'needs root (rootful podman)';
  if (spawnSync('podman', ['--version']).status !== 0)
    return 'podman is missing (apt-get install -y podman runc debootstrap catatonit)';
  return undefined;
}

/** Runs podman; its standard output. Rejects on a non-zero exit. */
export async function podman(...args: string[]): Promise<string> {
  const { stdout } = await run('podman', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}
