// The cluster's fault log: every kill, exit, restart, drain and Redis restart,
// with the time it happened, in order, for a benchmark or a test to line up
// against what the clients saw.
//
// Does not: write the log anywhere (the cluster keeps it in memory; the CLI
// prints each event as it is recorded).

export type ClusterEventKind =
  | 'kill' // a signal sent by kill()
  | 'exit' // a process exited (after kill() or on its own)
  | 'restart' // the supervisor started it again
  | 'ready' // a restarted process answers /readyz 200
  | 'drain' // SIGTERM by drain(); no restart until resume()
  | 'drained' // the drained process exited
  | 'resume' // started again after drain()
  | 'redis-kill'
  | 'redis-restart';

export interface ClusterEvent {
  /** Milliseconds since the epoch. */
  readonly at: number;
  /** The same instant, ISO 8601. */
  readonly time: string;
  readonly kind: ClusterEventKind;
  /** 'ingress[0]', 'routing[0]', 'egress[1]', 'redis'. */
  readonly target: string;
  readonly pid?: number;
  readonly signal?: string | null;
  readonly code?: number | null;
}

export type EventSink = (event: ClusterEvent) => void;

/** An event stamped now. */
export function stamp(fields: Omit<ClusterEvent, 'at' | 'time'>): ClusterEvent {
  const at = Date.now();
  return { at, time: new Date(at).toISOString(), ...fields };
}
