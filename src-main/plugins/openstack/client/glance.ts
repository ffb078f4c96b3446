import type { Readable } from 'node:stream';
import { OpenStackError } from './errors';
import { jsonCall, type Session } from './keystone';
import { waitForStatus } from './wait';

export interface GlanceImage {
  id: string;
  name: string | null;
  status: string;
  owner?: string;
  visibility?: string;
  disk_format?: string | null;
  container_format?: string | null;
  size?: number | null;
  checksum?: string | null;
  os_hash_algo?: string | null;
  os_hash_value?: string | null;
  min_disk?: number;
  min_ram?: number;
  protected?: boolean;
  tags?: string[];
  [property: string]: unknown;
}

/** Image fields Glance manages itself; everything else on an image is a user property. */
export const GLANCE_READONLY = new Set([
  'id',
  'status',
  'owner',
  'size',
  'virtual_size',
  'checksum',
  'os_hash_algo',
  'os_hash_value',
  'created_at',
  'updated_at',
  'file',
  'schema',
  'self',
  'direct_url',
  'locations',
  'stores',
  'os_glance_failed_import',
  'os_glance_importing_to_stores',
  'os_glance_import_task',
]);

/** Glance v2: images, their data as streams. */
export class GlanceClient {
  constructor(private readonly session: Session) {}

  private json<T>(c: Parameters<Session['request']>[2]): Promise<T> {
    return jsonCall<T>(this.session, 'glance', 'image', c);
  }

  /** Every image the token may see matching `filters` (Glance's `owner`, `visibility`, `status`, …); pages through `next`. */
  async list(filters: Record<string, string> = {}): Promise<GlanceImage[]> {
    const out: GlanceImage[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await this.json<{ images: GlanceImage[]; next?: string }>({
        method: 'GET',
        path: '/v2/images',
        query: { limit: 200, ...filters, marker },
      });
      out.push(...page.images);
      if (!page.next || !page.images.length) return out;
      marker = page.images[page.images.length - 1]?.id;
    }
  }

  /** The image, or undefined when it does not exist. */
  async get(id: string): Promise<GlanceImage | undefined> {
    try {
      return await this.json<GlanceImage>({ method: 'GET', path: `/v2/images/${id}` });
    } catch (err) {
      if (err instanceof OpenStackError && err.notFound) return undefined;
      throw err;
    }
  }

  /** Creates an image record (status `queued`); data comes with `upload`. */
  async create(fields: Record<string, unknown>): Promise<GlanceImage> {
    return this.json<GlanceImage>({ method: 'POST', path: '/v2/images', json: fields });
  }

  /** Streams data into a queued image. */
  async upload(id: string, data: Readable | Buffer, signal?: AbortSignal): Promise<void> {
    await this.session.request('glance', 'image', {
      method: 'PUT',
      path: `/v2/images/${id}/file`,
      body: data,
      headers: { 'Content-Type': 'application/octet-stream' },
      timeoutMs: 600_000,
      signal,
    });
  }

  /** The image's data as a stream (fails naming the call if the connection drops midway). */
  async download(id: string, signal?: AbortSignal): Promise<Readable> {
    const res = await this.session.request('glance', 'image', { method: 'GET', path: `/v2/images/${id}/file`, stream: true, signal });
    if (res.status === 204 || !res.body)
      throw new OpenStackError('glance', 'GET', `/v2/images/${id}/file`, res.status, 'the image has no data');
    return res.body;
  }

  async delete(id: string): Promise<void> {
    await this.session.request('glance', 'image', {
      method: 'DELETE',
      path: `/v2/images/${id}`,
      ok: (s) => (s >= 200 && s < 300) || s === 404,
    });
  }

  async waitActive(id: string, signal?: AbortSignal, timeoutMs = 600_000): Promise<GlanceImage> {
    const img = await waitForStatus(() => this.get(id), {
      what: `glance image ${id}`,
      ready: ['active'],
      failed: ['killed', 'deleted', 'pending_delete', 'deactivated'],
      timeoutMs,
      signal,
    });
    return img as GlanceImage;
  }
}
