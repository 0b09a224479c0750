/**
 * Proxies for tests: an HTTP proxy that tunnels CONNECT requests, as corporate proxies do, and a
 * SOCKS5 proxy (no authentication), each recording every tunnel's target. Host names they are
 * asked for resolve to 127.0.0.1, so a test can name a cluster by a host that only the proxy
 * knows (a name this machine cannot resolve itself).
 */
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';

export interface ConnectProxy {
  url: string;
  /** `host:port` of every tunnel asked for, in order. */
  tunnels: string[];
  stop(): Promise<void>;
}

export async function startConnectProxy(): Promise<ConnectProxy> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(405).end('CONNECT only\n'));
  server.on('connect', (req, client: Socket) => {
    const target = req.url ?? '';
    tunnels.push(target);
    const port = Number(target.slice(target.lastIndexOf(':') + 1));
    splice(client, port, sockets, () => client.write('HTTP/1.1 200 Connection Established\r\n\r\n'));
  });
  return listening(server, 'http', tunnels, sockets);
}

/** The proxy of `server`, once it listens on a free port of 127.0.0.1. */
async function listening(server: Server | ReturnType<typeof createTcpServer>, scheme: string, tunnels: string[], sockets: Set<Socket>): Promise<ConnectProxy> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    stop: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Joins `client` to 127.0.0.1:`port`, calling `ready` once connected; both end together. */
function splice(client: Socket, port: number, sockets: Set<Socket>, ready: () => void): void {
  const upstream = connect(port, '127.0.0.1', () => {
    ready();
    upstream.pipe(client);
    client.pipe(upstream);
  });
  for (const socket of [client, upstream]) {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => (socket === upstream ? client : upstream).destroy());
  }
}

/** A SOCKS5 proxy (RFC 1928, CONNECT only, no authentication). */
export async function startSocksProxy(): Promise<ConnectProxy> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    let buffered = Buffer.alloc(0);
    let greeted = false;
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!greeted) {
        if (buffered.length < 2 || buffered.length < 2 + buffered[1]) return;
        buffered = buffered.subarray(2 + buffered[1]);
        greeted = true;
        client.write(Buffer.from([5, 0]));
      }
      // VER CMD RSV ATYP ADDR PORT; ATYP 1: IPv4, 3: a name with its length first, 4: IPv6.
      if (buffered.length < 5) return;
      const type = buffered[3];
      const addressLength = type === 1 ? 4 : type === 4 ? 16 : 1 + buffered[4];
      if (buffered.length < 4 + addressLength + 2) return;
      const address = type === 3 ? buffered.subarray(5, 5 + buffered[4]).toString() : [...buffered.subarray(4, 4 + addressLength)].join(type === 1 ? '.' : ':');
      const port = buffered.readUInt16BE(4 + addressLength);
      client.off('data', onData);
      tunnels.push(`${address}:${port}`);
      splice(client, port, sockets, () => client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0])));
    };
    client.on('data', onData);
    client.on('error', () => client.destroy());
  });
  return listening(server, 'socks5', tunnels, sockets);
}
