// `npm start` until the ingress service lands: the protocol core on
// 127.0.0.1:2525 (PETREL_LISTEN=host:port to change), speaking full SMTP.
// Nothing can be stored yet, so every message is answered 451 4.3.0 at the end
// of DATA, as a relay must when its storage is unavailable: never a 250 that
// was not stored.
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { reply, ServerSession } from '@petrel/smtp';

const [host, port] = (process.env.PETREL_LISTEN ?? '127.0.0.1:2525').split(':');
const noQueue = reply(
  'localError',
  'Requested action aborted: no queue yet (ingress is not built), try again later',
);

const server = createServer((socket) => {
  const session = new ServerSession({ hostname: hostname() });
  const handle = (outputs) => {
    let text = '';
    for (const o of outputs) {
      if (o.kind === 'reply') text += o.text;
      else if (o.kind === 'question')
        return (
          write(text),
          handle(
            session.answer(
              o.question.kind === 'store' ? { kind: 'defer', reply: noQueue } : { kind: 'accept' },
            ),
          )
        );
      else if (o.kind === 'close') return void socket.end(text);
    }
    write(text);
  };
  const write = (text) => text !== '' && socket.write(text);
  socket.on('data', (chunk) => handle(session.receive(chunk)));
  socket.on('error', () => socket.destroy());
  handle(session.greet());
});
server.listen(Number(port), host, () => {
  console.log(
    `petrel: SMTP protocol core listening on ${host}:${port} (no queue yet: DATA is answered 451)`,
  );
});
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => server.close(() => process.exit(0)));
