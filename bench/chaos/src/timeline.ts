// The chaos run over time: every `everyMs` (default 1 s), from the start of
// the load to the end of the drain, how many messages had been given a 250,
// how many distinct messages the next hops had received, how many jobs were
// still to do in the queues (BullMQ: waiting, active, delayed, prioritized,
// waiting-children over transactions, deliveries and held), and how many
// attempts had been refused. For the long run's plot
// (bench/chaos/scripts/plot_timeline.py), with the faults' moments from the report.
//
// While Redis is down (a restart fault) the queue cannot be read: the sample
// carries the last depth read, and says so (queueRead false).
//
// Does not: judge anything, or keep deliveries (the ledger does).

import type { Ledger } from './ledger.js';
import { queueState } from './queue-state.js';

export interface Sample {
  /** ms since the load started. */
  readonly t: number;
  readonly accepted: number;
  readonly delivered: number;
  readonly queued: number;
  readonly queueRead: boolean;
  readonly refused: number;
}

export interface TimelineSource {
  readonly ledger: Ledger;
  /** Distinct messages the next hops received so far. */
  deliveredCount(): number;
  readonly redisUrl: string;
  readonly prefix: string;
}

export interface Timeline {
  /** Stops sampling (after one last sample); the samples so far. */
  stop(): Promise<Sample[]>;
}

export function startTimeline(source: TimelineSource, started: number, everyMs = 1_000): Timeline {
  const samples: Sample[] = [];
  let queued = 0;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  const sample = async (): Promise<void> => {
    const t = Date.now() - started;
    let accepted = 0;
    let refused = 0;
    for (const m of source.ledger.messages) {
      if (m.accepted.length > 0) accepted++;
      refused += m.refused.length;
    }
    const delivered = source.deliveredCount();
    let queueRead = false;
    try {
      const state = await Promise.race([
        queueState(source.redisUrl, source.prefix),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('timeout')), everyMs).unref(),
        ),
      ]);
      queued = state.pending;
      queueRead = true;
    } catch {
      // Redis restarting: the last depth stands.
    }
    samples.push({ t, accepted, delivered, queued, queueRead, refused });
  };

  const timer = setInterval(() => {
    if (!stopped) running = running.then(sample);
  }, everyMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      await sample();
      return samples;
    },
  };
}

/** The samples as TSV, a header line first. */
export function timelineTsv(samples: readonly Sample[]): string {
  const lines = ['t_s\taccepted\tdelivered\tqueued\tqueue_read\trefused'];
  for (const s of samples)
    lines.push(
      [
        (s.t / 1000).toFixed(1),
        s.accepted,
        s.delivered,
        s.queued,
        s.queueRead ? 1 : 0,
        s.refused,
      ].join('\t'),
    );
  return `${lines.join('\n')}\n`;
}
