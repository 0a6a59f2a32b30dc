// `relayctl status` and `relayctl resolve`. Pure.

import type { RedisStatus, ResolveResponse, StatusResponse } from '@petrel/proto';
import { formatAge, relativeTime, secondsSince } from './duration.js';
import { formatBytes, formatCount, formatReply } from './format-common.js';
import { renderFields, renderTable } from './table.js';

/** RELAY → relay, TRANSPORT_MAP → transport-map. */
export function enumName(value: string): string {
  return value.toLowerCase().replace(/_/g, '-');
}

export function formatResolve(response: ResolveResponse): string {
  const fields: [string, string][] = [
    ['domain', response.domain || '-'],
    ['decision', enumName(response.decision)],
    [
      'source',
      `${enumName(response.source)}${response.transport === '' ? '' : ` (transport map key ${response.transport})`}`,
    ],
  ];
  if (response.hops.length > 0)
    fields.push([
      'next hops',
      response.hops
        .map(
          (hop) =>
            `${hop.host}:${hop.port}${response.source === 'MX' ? ` (preference ${hop.preference})` : ''}`,
        )
        .join(', '),
    ]);
  if (response.reply !== null) fields.push(['reply', formatReply(response.reply)]);
  if (response.members.length > 0) fields.push(['members', response.members.join(', ')]);
  if (response.tls !== '') fields.push(['tls', response.tls]);
  if (response.auth !== '') fields.push(['auth', response.auth]);
  fields.push(['cached', response.cached ? 'yes (DNS answered from the cache)' : 'no']);
  return `${renderFields(fields, 0).join('\n')}\n`;
}

function redisLines(redis: RedisStatus, nowMs: number): string[] {
  const memory =
    redis.maxmemory > 0
      ? `${formatBytes(redis.usedMemory)} used of ${formatBytes(redis.maxmemory)} (${Math.round((100 * redis.usedMemory) / redis.maxmemory)}%)`
      : `${formatBytes(redis.usedMemory)} used, no maxmemory`;
  const schedule = redis.save === '' ? 'no snapshot schedule' : `save ${redis.save}`;
  const rdb =
    redis.rdbLastSaveAt === ''
      ? `${schedule}, never saved`
      : `${schedule}, last save ${redis.rdbLastSaveAt} (${formatAge(secondsSince(redis.rdbLastSaveAt, nowMs))} ago)`;
  return renderFields([
    [
      'version',
      `${redis.version}, ${redis.role}${redis.role === 'master' ? `, ${redis.connectedReplicas} replica${redis.connectedReplicas === 1 ? '' : 's'}` : ''}`,
    ],
    ['memory', `${memory}, maxmemory-policy ${redis.maxmemoryPolicy || '-'}`],
    [
      'aof',
      redis.aofEnabled
        ? `on, appendfsync ${redis.appendfsync || '-'}, last write ${redis.aofLastWriteStatus || '-'}`
        : 'off',
    ],
    ['rdb', `${rdb}, last bgsave ${redis.rdbLastBgsaveStatus || '-'}`],
  ]);
}

export function formatStatus(status: StatusResponse, nowMs: number): string {
  const lines: string[] = ['SERVICES'];
  if (status.services.length === 0) lines.push('  none has reported itself');
  else
    lines.push(
      ...renderTable(
        [
          { header: 'SERVICE' },
          { header: 'INSTANCE' },
          { header: 'VERSION' },
          { header: 'HEALTH' },
          { header: 'STATE' },
          { header: 'SEEN', align: 'right' },
          { header: 'STARTED', align: 'right' },
        ],
        [...status.services]
          .sort(
            (a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance),
          )
          .map((s) => [
            s.service,
            s.instance,
            s.version || '-',
            s.health,
            s.state || '-',
            relativeTime(s.seenAt, nowMs),
            relativeTime(s.startedAt, nowMs),
          ]),
        { indent: 2 },
      ),
    );
  lines.push(
    '',
    'QUEUES',
    ...renderTable(
      [
        { header: 'QUEUE' },
        { header: 'WAITING', align: 'right' },
        { header: 'ACTIVE', align: 'right' },
        { header: 'DELAYED', align: 'right' },
        { header: 'FAILED', align: 'right' },
        { header: 'WORKERS', align: 'right' },
      ],
      status.queues.map((q) => [
        q.queue,
        String(q.waiting),
        String(q.active),
        String(q.delayed),
        String(q.failed),
        String(q.workers),
      ]),
      { indent: 2 },
    ),
  );
  if (status.redis !== null) lines.push('', 'REDIS', ...redisLines(status.redis, nowMs));
  if (status.counters.length > 0)
    lines.push(
      '',
      'COUNTERS (since the queue was created)',
      `  ${status.counters.map((c) => `${c.name} ${formatCount(c.value)}`).join('   ')}`,
    );
  return `${lines.join('\n')}\n`;
}
