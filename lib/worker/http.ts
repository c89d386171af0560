/**
 * A tiny HTTP client for the ECS agent and IMDS: one connection a request (no keep-alive), so
 * nothing stays open after the worker stops.
 */
import * as http from 'node:http';
import * as https from 'node:https';

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

export function httpRequest(url: string, init: {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs?: number;
} = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const lib = target.protocol === 'https:' ? https : http;
    const body = init.body;
    const req = lib.request(target, {
      method: init.method ?? 'GET',
      agent: false,
      headers: {
        ...(init.headers ?? {}),
        ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}),
      },
      signal: AbortSignal.timeout(init.timeoutMs ?? 2000),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Joins a base URL and a path without doubling or dropping the slash. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
