/**
 * The request log the control port serves, so tests can assert exactly what kubectl (or a
 * plain request) sent (method, path with query, content type, Accept, User-Agent, status).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { asStr } from './util.ts';

/** One API request as `GET /requests` reports it. */
export interface LoggedRequest {
  seq: number;
  time: string;
  method: string;
  /** Path plus query string, as sent. */
  path: string;
  contentType?: string;
  accept?: string;
  userAgent?: string;
  /** The request body for text content types (truncated at 64 KiB); protobuf bodies are omitted. */
  body?: string;
  /** The credential the request carried (never its value): a bearer token or a verified client certificate. */
  auth?: 'bearer' | 'client-cert';
  /** HTTP status, or 'reset' / 'hang' when a fault swallowed the request; absent while in flight. */
  status?: number | 'reset' | 'hang';
}

const LIMIT = 10_000;

/** A bounded in-memory log of API requests. */
export class RequestLog {
  private seq = 0;
  private entries: { entry: LoggedRequest; res: ServerResponse }[] = [];

  /** Records a request as it arrives; the returned entry can be annotated later. */
  add(req: IncomingMessage, res: ServerResponse, url: URL): LoggedRequest {
    const entry: LoggedRequest = {
      seq: ++this.seq,
      time: new Date().toISOString(),
      method: req.method ?? 'GET',
      path: `${url.pathname}${url.search}`,
      contentType: asStr(req.headers['content-type']),
      accept: asStr(req.headers.accept),
      userAgent: asStr(req.headers['user-agent']),
    };
    this.entries.push({ entry, res });
    if (this.entries.length > LIMIT) this.entries = this.entries.slice(-LIMIT);
    return entry;
  }

  /** Every entry, with the status filled in from the response once its headers went out. */
  list(): LoggedRequest[] {
    return this.entries.map(({ entry, res }) => ({ ...entry, status: entry.status ?? (res.headersSent ? res.statusCode : undefined) }));
  }

  /** Forgets every entry. */
  clear(): void {
    this.entries = [];
  }
}
