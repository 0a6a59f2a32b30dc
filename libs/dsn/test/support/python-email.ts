// Parses a message with Python 3's email package (policy=email.policy.default),
// a second, independent MIME parser for the DSN tests. Each top-level part is
// reported with its content type, parameters, header fields and defects; a
// delivery-status part as its field groups, a message part as the header
// fields and body of the message inside, a text part as its decoded text.
//
// Python parses message/global-delivery-status (RFC 6533) like any message/*
// type: the first group as the header of an inner message, the rest as its
// body. The script then parses that body again as message/delivery-status, so
// both forms come out as field groups.
//
// Test support only: it spawns python3 (node:child_process), which the shipped
// library never does.

import { spawnSync } from 'node:child_process';

export type Fields = [name: string, value: string][];

export interface PythonPart {
  readonly contentType: string;
  readonly params: Record<string, string>;
  readonly fields: Fields;
  readonly defects: string[];
  /** text/*: the decoded text. */
  readonly text?: string;
  /** message/delivery-status and message/global-delivery-status: the field groups. */
  readonly groups?: Fields[];
  /** message/rfc822, message/global, message/global-headers: the message inside. */
  readonly inner?: { readonly fields: Fields; readonly body: string; readonly defects: string[] };
}

export interface PythonMessage {
  readonly contentType: string;
  readonly params: Record<string, string>;
  readonly fields: Fields;
  readonly defects: string[];
  readonly parts: PythonPart[];
}

const SCRIPT = String.raw`
import email, email.policy, json, sys

policy = email.policy.default

def fields(m):
    return [[k, str(v)] for k, v in m.items()]

def defects(m):
    return [type(d).__name__ for d in m.defects]

def params(m):
    ct = m['content-type']
    return dict(ct.params) if ct is not None else {}

def groups_of(part):
    ct = part.get_content_type()
    if ct == 'message/delivery-status':
        return [fields(g) for g in part.get_payload()]
    inner = part.get_payload()[0]
    rest = inner.get_payload(decode=True)  # the raw octets: no CTE in an inner group
    again = email.message_from_bytes(
        b'Content-Type: message/delivery-status\r\n\r\n' + rest, policy=policy)
    return [fields(inner)] + [fields(g) for g in again.get_payload()]

def body_of(m):
    payload = m.get_payload(decode=True)
    return payload.decode('utf-8', 'replace') if payload is not None else ''

msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy)
out = {'contentType': msg.get_content_type(), 'params': params(msg),
       'fields': fields(msg), 'defects': defects(msg), 'parts': []}
for part in msg.iter_parts():
    ct = part.get_content_type()
    p = {'contentType': ct, 'params': params(part), 'fields': fields(part),
         'defects': defects(part)}
    if ct in ('message/delivery-status', 'message/global-delivery-status'):
        p['groups'] = groups_of(part)
    elif part.get_content_maintype() == 'message':
        inner = part.get_payload()[0]
        p['inner'] = {'fields': fields(inner), 'body': body_of(inner),
                      'defects': defects(inner)}
    else:
        p['text'] = part.get_content()
    out['parts'].append(p)
sys.stdout.buffer.write(json.dumps(out, ensure_ascii=False).encode('utf-8'))
`;

export function parseWithPython(bytes: Uint8Array): PythonMessage {
  const run = spawnSync('python3', ['-c', SCRIPT], { input: bytes, maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr.toString('utf8')}`);
  return JSON.parse(run.stdout.toString('utf8')) as PythonMessage;
}

/** The value of the first field with this name (case-insensitive), or undefined. */
export function field(fields: Fields, name: string): string | undefined {
  const lower = name.toLowerCase();
  return fields.find(([k]) => k.toLowerCase() === lower)?.[1];
}
