import { createHash, type Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { JsonObject } from '../../engine/db/schema/common';
import type { ProtectionPlugin, ResourceData } from '../../engine/providers/types';
import { GLANCE_READONLY } from './client/glance';
import { asText, IMAGE_TYPE, type OpenStackConnections } from './connections';
import { restoreConnection } from './restore-target';

const str = { type: 'string' };

function need(data: ResourceData | undefined): ResourceData {
  if (!data) throw new Error('this provider has no bank to store image data in');
  return data;
}

/** Hashes what flows through it (MD5 = Glance's `checksum`, plus its `os_hash_algo`). */
function hasher(algo: string, onChunk?: (n: number) => void): { stream: Transform; md5: Hash; multihash?: Hash } {
  const md5 = createHash('md5');
  const multihash = algo && algo !== 'md5' ? createHash(algo) : undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _e, cb) {
      md5.update(chunk);
      multihash?.update(chunk);
      onChunk?.(chunk.length);
      cb(null, chunk);
    },
  });
  return { stream, md5, multihash };
}

/**
 * `OS::Glance::Image`: the image's data is streamed from Glance into the bank's deduplicated
 * store (an unchanged image costs no new chunks) and checked against Glance's checksum on the
 * way; restore uploads a new image with the saved formats and properties (into the restore
 * target's project when the restore names one) and checks that Glance computed the same checksum.
 */
export function imageProtection(conns: OpenStackConnections): ProtectionPlugin {
  return {
    name: 'os-glance-image',
    supportedTypes: [IMAGE_TYPE],
    schemas: () => ({
      options: { title: 'Image options', type: 'object', properties: {}, additionalProperties: false },
      savedInfo: {
        title: 'Image saved info',
        type: 'object',
        properties: {
          image_id: str,
          name: str,
          disk_format: str,
          container_format: str,
          size: { type: 'integer' },
          checksum: str,
          os_hash_algo: str,
          os_hash_value: str,
          min_disk: { type: 'integer' },
          min_ram: { type: 'integer' },
          properties: { type: 'object' },
        },
      },
      restore: {
        title: 'Image restore',
        type: 'object',
        properties: { restore_name: { ...str, title: 'Name of the new image', description: 'The original name when empty.' } },
        additionalProperties: false,
      },
    }),
    protect: {
      async main(ctx) {
        const data = need(ctx.data);
        const os = conns.forResource(ctx.providerId, ctx.resource);
        const img = await os.glance.get(ctx.resource.id);
        if (!img) throw new Error(`glance: image ${ctx.resource.id} does not exist`);
        if (img.status !== 'active') throw new Error(`glance: image ${img.id} is '${img.status}', not active`);
        ctx.progress({ totalBytes: img.size ?? undefined, totalItems: 1 });
        let seen = 0;
        const h = hasher(img.os_hash_algo ?? '', (n) => {
          seen += n;
          ctx.progress({ bytes: n });
        });
        const body = await os.glance.download(img.id, ctx.signal);
        body.on('error', (err) => h.stream.destroy(err));
        const stored = await data.put('image', body.pipe(h.stream));
        const md5 = h.md5.digest('hex');
        if (img.checksum && md5 !== img.checksum) {
          throw new Error(`glance: image ${img.id} data does not match its checksum (got ${md5}, Glance says ${img.checksum})`);
        }
        if (img.size != null && seen !== img.size) throw new Error(`glance: image ${img.id} gave ${seen} bytes, Glance says ${img.size}`);
        const properties: JsonObject = {};
        for (const [k, v] of Object.entries(img)) {
          if (
            !GLANCE_READONLY.has(k) &&
            !['name', 'disk_format', 'container_format', 'min_disk', 'min_ram', 'visibility', 'protected', 'tags'].includes(k)
          )
            if (typeof v === 'string') properties[k] = v;
        }
        ctx.progress({ items: 1 });
        return {
          image_id: img.id,
          name: img.name ?? '',
          disk_format: img.disk_format ?? '',
          container_format: img.container_format ?? '',
          size: stored.size,
          checksum: md5,
          os_hash_algo: img.os_hash_algo ?? '',
          os_hash_value: h.multihash ? h.multihash.digest('hex') : '',
          min_disk: img.min_disk ?? 0,
          min_ram: img.min_ram ?? 0,
          tags: img.tags ?? [],
          properties,
        };
      },
    },
    async restore(ctx) {
      const data = need(ctx.data);
      const s = ctx.savedInfo;
      const os = await restoreConnection(conns, ctx);
      const name =
        typeof ctx.parameters.restore_name === 'string' && ctx.parameters.restore_name ? ctx.parameters.restore_name : asText(s.name);
      const fields: Record<string, unknown> = {
        ...(s.properties as JsonObject | undefined),
        name,
        disk_format: s.disk_format || undefined,
        container_format: s.container_format || undefined,
        min_disk: s.min_disk,
        min_ram: s.min_ram,
        tags: s.tags,
      };
      const img = await os.glance.create(fields);
      try {
        await os.glance.upload(img.id, await data.get('image'), ctx.signal);
        const done = await os.glance.waitActive(img.id, ctx.signal);
        if (s.checksum && done.checksum !== s.checksum) {
          throw new Error(
            `glance: restored image ${img.id} has checksum ${done.checksum ?? 'none'}, the saved image had ${asText(s.checksum)}`,
          );
        }
        if (s.os_hash_value && done.os_hash_algo === s.os_hash_algo && done.os_hash_value !== s.os_hash_value) {
          throw new Error(`glance: restored image ${img.id} has a different ${asText(s.os_hash_algo)} than the saved image`);
        }
        ctx.progress({ items: 1, bytes: Number(s.size ?? 0) });
        return { newId: img.id };
      } catch (err) {
        await os.glance.delete(img.id).catch(() => undefined);
        throw err;
      }
    },
    async verify(ctx) {
      await need(ctx.data).verify('image');
    },
  };
}
