import { OpenStackError } from './errors';
import { jsonCall, type Session, type SessionCall } from './keystone';
import { negotiateMicroversion } from './microversion';
import { waitForStatus } from './wait';

export interface NovaServer {
  id: string;
  name: string;
  status: string;
  tenant_id?: string;
  /** Before 2.47 `{id}`; from 2.47 the embedded flavor (`original_name`, `vcpus`, `ram`, `disk`, `extra_specs`). */
  flavor: { id?: string; original_name?: string; vcpus?: number; ram?: number; disk?: number; extra_specs?: Record<string, string> };
  /** `""` when booted from a volume. */
  image: { id: string } | '' | null;
  key_name?: string | null;
  metadata?: Record<string, string>;
  security_groups?: { name: string }[];
  addresses?: Record<string, { addr: string; version: number; 'OS-EXT-IPS:type'?: string }[]>;
  'OS-EXT-AZ:availability_zone'?: string;
  'os-extended-volumes:volumes_attached'?: { id: string; delete_on_termination?: boolean }[];
  fault?: { message?: string };
  [k: string]: unknown;
}

export interface NovaFlavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
}

export interface NovaVolumeAttachment {
  id: string;
  volumeId: string;
  serverId: string;
  device: string | null;
  tag?: string | null;
  delete_on_termination?: boolean;
}

export interface NovaInterface {
  net_id: string;
  port_id: string;
  fixed_ips?: { ip_address: string; subnet_id: string }[];
  mac_addr?: string;
}

/**
 * Nova v2.1 with microversion negotiation (2.37 at least, for `networks: "none"` boots; up to
 * 2.79, which adds `delete_on_termination` to volume attachments): servers, flavors, volume
 * attachments, boot.
 */
export class NovaClient {
  private version?: Promise<string>;

  constructor(private readonly session: Session) {}

  microversion(): Promise<string> {
    this.version ??= negotiateMicroversion(this.session, 'nova', 'compute', '2.1', '2.37', '2.79').catch((err: unknown) => {
      this.version = undefined;
      throw err;
    });
    return this.version;
  }

  private async json<T>(c: SessionCall): Promise<T> {
    const mv = await this.microversion();
    return jsonCall<T>(this.session, 'nova', 'compute', {
      ...c,
      headers: { ...c.headers, 'OpenStack-API-Version': `compute ${mv}`, 'X-OpenStack-Nova-API-Version': mv },
    });
  }

  async listServers(filters: Record<string, string> = {}): Promise<NovaServer[]> {
    const out: NovaServer[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await this.json<{ servers: NovaServer[]; servers_links?: unknown[] }>({
        method: 'GET',
        path: '/servers/detail',
        query: { limit: 200, ...filters, marker },
      });
      out.push(...page.servers);
      if (!page.servers_links?.length || !page.servers.length) return out;
      marker = page.servers[page.servers.length - 1]?.id;
    }
  }

  async getServer(id: string): Promise<NovaServer | undefined> {
    try {
      return (await this.json<{ server: NovaServer }>({ method: 'GET', path: `/servers/${id}` })).server;
    } catch (err) {
      if (err instanceof OpenStackError && err.notFound) return undefined;
      throw err;
    }
  }

  /** Boots a server (`body` is Nova's `server` object). Not retried: a second POST boots a second server. */
  async createServer(body: Record<string, unknown>): Promise<{ id: string }> {
    return (await this.json<{ server: { id: string } }>({ method: 'POST', path: '/servers', json: { server: body } })).server;
  }

  async deleteServer(id: string): Promise<void> {
    await this.json({ method: 'DELETE', path: `/servers/${id}`, ok: (s) => (s >= 200 && s < 300) || s === 404 });
  }

  waitServer(id: string, ready: string[], signal?: AbortSignal, timeoutMs = 600_000): Promise<NovaServer | undefined> {
    return waitForStatus(
      async () => {
        const s = await this.getServer(id);
        if (s?.status === 'ERROR' && s.fault?.message) return { ...s, fail_reason: s.fault.message };
        return s;
      },
      { what: `nova server ${id}`, ready, failed: ['ERROR'], timeoutMs, signal },
    );
  }

  async listFlavors(): Promise<NovaFlavor[]> {
    return (await this.json<{ flavors: NovaFlavor[] }>({ method: 'GET', path: '/flavors/detail', query: { is_public: 'None' } })).flavors;
  }

  async getFlavor(id: string): Promise<NovaFlavor | undefined> {
    try {
      return (await this.json<{ flavor: NovaFlavor }>({ method: 'GET', path: `/flavors/${id}` })).flavor;
    } catch (err) {
      if (err instanceof OpenStackError && err.notFound) return undefined;
      throw err;
    }
  }

  async listVolumeAttachments(serverId: string): Promise<NovaVolumeAttachment[]> {
    return (
      await this.json<{ volumeAttachments: NovaVolumeAttachment[] }>({ method: 'GET', path: `/servers/${serverId}/os-volume_attachments` })
    ).volumeAttachments;
  }

  async attachVolume(serverId: string, volumeId: string, device?: string | null): Promise<NovaVolumeAttachment> {
    const body: Record<string, unknown> = { volumeId };
    if (device) body.device = device;
    const res = await this.json<{ volumeAttachment: NovaVolumeAttachment }>({
      method: 'POST',
      path: `/servers/${serverId}/os-volume_attachments`,
      json: { volumeAttachment: body },
    });
    return res.volumeAttachment;
  }

  async detachVolume(serverId: string, volumeId: string): Promise<void> {
    await this.json({
      method: 'DELETE',
      path: `/servers/${serverId}/os-volume_attachments/${volumeId}`,
      ok: (s) => (s >= 200 && s < 300) || s === 404,
    });
  }

  async listInterfaces(serverId: string): Promise<NovaInterface[]> {
    return (await this.json<{ interfaceAttachments: NovaInterface[] }>({ method: 'GET', path: `/servers/${serverId}/os-interface` }))
      .interfaceAttachments;
  }

  async getKeypair(name: string): Promise<{ name: string; public_key: string; type?: string } | undefined> {
    try {
      return (
        await this.json<{ keypair: { name: string; public_key: string; type?: string } }>({
          method: 'GET',
          path: `/os-keypairs/${encodeURIComponent(name)}`,
        })
      ).keypair;
    } catch (err) {
      if (err instanceof OpenStackError && err.notFound) return undefined;
      throw err;
    }
  }
}
