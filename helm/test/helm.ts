import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const chart = join(root, 'helm', 'petrel');

/** Rendered for this Kubernetes release (a Helm built from source defaults to v1.20). */
export const KUBE_VERSION = '1.34.0';

function findHelm(name: string): string | undefined {
  const candidates = [join(homedir(), 'go', 'bin', name)];
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim();
    candidates.push(join(gopath, 'bin', name));
  } catch {
    // no go on PATH
  }
  for (const c of candidates) if (existsSync(c)) return c;
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return which.stdout.trim() || undefined;
}

/** Helm 4 (scripts/ensure-tools.sh installs it), and Helm 3 when a `helm3` binary is there. */
export const helm = findHelm('helm');
export const helm3 = findHelm('helm3');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  data?: Record<string, string>;
}

export const valueFiles = readdirSync(join(chart, 'ci'))
  .filter((f) => f.endsWith('-values.yaml'))
  .sort();

export function run(
  bin: string,
  args: string[],
): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', cwd: root });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function template(args: string[] = [], bin = helm!): K8sObject[] {
  const r = run(bin, [
    'template',
    'relay',
    chart,
    '--namespace',
    'mail',
    '--kube-version',
    KUBE_VERSION,
    ...args,
  ]);
  if (r.status !== 0) throw new Error(r.stderr);
  return YAML.parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o != null);
}

export function templateError(args: string[]): string {
  const r = run(helm!, ['template', 'relay', chart, '--kube-version', KUBE_VERSION, ...args]);
  if (r.status === 0) throw new Error(`rendered, but should have been refused: ${args.join(' ')}`);
  return r.stderr;
}
