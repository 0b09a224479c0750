/**
 * A local HTTP receiver standing in for a notification webhook (ntfy, Slack, Discord): it keeps
 * the raw body of every POST and answers with `status` (200 unless a test changes it).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running receiver. */
export interface Receiver {
  /** `http://127.0.0.1:<port>/hooks/path-secret`: a path that must never show in bm's output. */
  url: string;
  /** Raw bodies received, in order. */
  bodies: string[];
  /** The status the next answers carry. */
  status: number;
  close(): void;
}

/** Starts a receiver on a free local port. */
export async function startReceiver(): Promise<Receiver> {
  const bodies: string[] = [];
  const receiver: Receiver = { url: '', bodies, status: 200, close: () => server.close() };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(receiver.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/path-secret`;
  return receiver;
}
