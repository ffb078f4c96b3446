import type { Readable } from 'node:stream';
import { jsonCall, type Session } from './keystone';

export interface SwiftObjectInfo {
  name: string;
  bytes: number;
  hash: string;
  last_modified: string;
  content_type?: string;
}

const enc = (s: string): string => s.split('/').map(encodeURIComponent).join('/');

/**
 * Swift object storage (the `object-store` endpoint is the account URL): containers and objects,
 * enough for a bank. Reads and deletes are retried on 5xx; uploads of buffers too (PUT is
 * idempotent), streamed uploads are sent once.
 */
export class SwiftClient {
  constructor(private readonly session: Session) {}

  private call(c: Parameters<Session['request']>[2]): ReturnType<Session['request']> {
    return this.session.request('swift', 'object-store', c);
  }

  /** Creates the container if it does not exist (PUT is idempotent). */
  async ensureContainer(container: string, headers?: Record<string, string>): Promise<void> {
    await this.call({ method: 'PUT', path: `/${enc(container)}`, headers });
  }

  async deleteContainer(container: string): Promise<void> {
    await this.call({ method: 'DELETE', path: `/${enc(container)}`, ok: (s) => (s >= 200 && s < 300) || s === 404 });
  }

  /** Stores an object; returns its ETag (MD5 of the content). */
  async putObject(
    container: string,
    name: string,
    data: Buffer | Readable,
    opts: { contentType?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<string> {
    const res = await this.call({
      method: 'PUT',
      path: `/${enc(container)}/${enc(name)}`,
      displayPath: `/${container}/${name}`,
      body: data,
      headers: { 'Content-Type': opts.contentType ?? 'application/octet-stream', ...opts.headers },
      signal: opts.signal,
    });
    return (res.headers.get('etag') ?? '').replace(/"/g, '');
  }

  /** The object's content as a stream; undefined when it does not exist. */
  async getObject(container: string, name: string, opts: { signal?: AbortSignal } = {}): Promise<Readable | undefined> {
    const res = await this.call({
      method: 'GET',
      path: `/${enc(container)}/${enc(name)}`,
      displayPath: `/${container}/${name}`,
      stream: true,
      ok: (s) => s === 200 || s === 404,
      signal: opts.signal,
    });
    if (res.status === 404) return undefined;
    return res.body;
  }

  /** The object's headers (size, etag, metadata); undefined when it does not exist. */
  async headObject(container: string, name: string): Promise<Headers | undefined> {
    const res = await this.call({
      method: 'HEAD',
      path: `/${enc(container)}/${enc(name)}`,
      displayPath: `/${container}/${name}`,
      ok: (s) => (s >= 200 && s < 300) || s === 404,
    });
    return res.status === 404 ? undefined : res.headers;
  }

  /** Deletes an object; true when it existed. */
  async deleteObject(container: string, name: string): Promise<boolean> {
    const res = await this.call({
      method: 'DELETE',
      path: `/${enc(container)}/${enc(name)}`,
      displayPath: `/${container}/${name}`,
      ok: (s) => (s >= 200 && s < 300) || s === 404,
    });
    return res.status !== 404;
  }

  /** Every object under `prefix` (pages through Swift's 10,000-name limit). */
  async listObjects(container: string, opts: { prefix?: string; delimiter?: string; limit?: number } = {}): Promise<SwiftObjectInfo[]> {
    const out: SwiftObjectInfo[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await jsonCall<(SwiftObjectInfo & { subdir?: string })[]>(this.session, 'swift', 'object-store', {
        method: 'GET',
        path: `/${enc(container)}`,
        query: { format: 'json', prefix: opts.prefix, delimiter: opts.delimiter, marker, limit: opts.limit },
        ok: (s) => s === 200 || s === 204,
      });
      if (!Array.isArray(page) || !page.length) return out;
      for (const o of page) out.push(o.subdir ? { name: o.subdir, bytes: 0, hash: '', last_modified: '' } : o);
      if (opts.limit && out.length >= opts.limit) return out;
      marker = (page[page.length - 1] as { name?: string; subdir?: string }).name ?? page[page.length - 1]?.subdir;
    }
  }
}
