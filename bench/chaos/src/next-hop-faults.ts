// Next-hop faults for a chaos run, on the test's own sinks:
//   - cutOff: packets to the sink's address and port are dropped (an
//     iptables rule in the OUTPUT chain, tagged with this process's id), so
//     new connections hang and open ones stall, as when a host is cut off
//     the network; the rule goes when the time is up, and every rule this
//     process left is removed at exit. Root only.
//   - tempfail: the sink answers 451 to every RCPT for a while.
//
// Does not: touch any address but the sink's own (127.0.0.0/8), or any rule
// it did not add.

import { execFileSync } from 'node:child_process';
import type { TestSink } from '@petrel/testing';

const TAG = `petrel-chaos-${process.pid}`;
const added = new Set<string>();
let exitHooked = false;

function rule(sink: TestSink): string[] {
  return [
    'OUTPUT',
    '-p',
    'tcp',
    '-d',
    sink.host,
    '--dport',
    String(sink.port),
    '-j',
    'DROP',
    '-m',
    'comment',
    '--comment',
    TAG,
  ];
}

function removeAll(): void {
  for (const key of added) {
    try {
      execFileSync('iptables', ['-D', ...key.split(' ')], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  added.clear();
}

/** Whether this process can drop packets (root, with iptables). */
export function canCutOff(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('iptables', ['-L', 'OUTPUT', '-n'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function cutOff(sink: TestSink, ms: number): Promise<void> {
  if (!sink.host.startsWith('127.'))
    throw new Error(`cutOff: ${sink.host} is not a loopback address`);
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', removeAll);
  }
  const args = rule(sink);
  execFileSync('iptables', ['-I', ...args]);
  added.add(args.join(' '));
  try {
    await new Promise((r) => setTimeout(r, ms));
  } finally {
    execFileSync('iptables', ['-D', ...args]);
    added.delete(args.join(' '));
  }
}

export async function tempfail(sink: TestSink, ms: number): Promise<void> {
  sink.setFaults([{ stage: 'rcpt', action: { reply: 451, text: '4.3.2 chaos: try again later' } }]);
  try {
    await new Promise((r) => setTimeout(r, ms));
  } finally {
    sink.setFaults([]);
  }
}
