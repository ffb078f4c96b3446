import fs from 'node:fs';
import path from 'node:path';
import { parseCommonArgs } from './cli-args';
import { connect, registerEndpoint, unregisterEndpoint } from './plugins/openstack/client';
import { LISTEN_HOST } from './server';

const USAGE = `usage: node out/main/register-endpoint.js --cloud NAME [options]
  Registers this API as the 'data-protect' service in the cloud's catalog (needs an admin user),
  so that 'karbor' with Keystone auth finds it; run the API with --keystone-auth NAME.
  --url URL             default: the running API's address (<data dir>/api-endpoint, or --port)
                        with the project left to Keystone: http://127.0.0.1:8799/v1/%(project_id)s
  --region R            default: the cloud's region_name, else RegionOne (created when missing)
  --service-name NAME   default: karbor
  --interface LIST      default: public,internal,admin
  --remove              delete the service's endpoints in the region (and the service when none is left)`;

/** The API's URL for the catalog: the running instance's, with its project id replaced by Keystone's placeholder. */
function defaultUrl(dataDir: string, port: string | undefined, commonPort: number): string {
  const file = path.join(dataDir, 'api-endpoint');
  if (port === undefined && fs.existsSync(file)) {
    const endpoint = fs.readFileSync(file, 'utf8').trim();
    return endpoint.replace(/\/v1\/[^/]+$/, '/v1/%(project_id)s');
  }
  return `http://${LISTEN_HOST}:${commonPort}/v1/%(project_id)s`;
}

async function main(): Promise<void> {
  const args = parseCommonArgs(process.argv.slice(2), {
    cloud: { type: 'string' },
    url: { type: 'string' },
    region: { type: 'string' },
    'service-name': { type: 'string' },
    interface: { type: 'string' },
    remove: { type: 'boolean' },
  });
  const v = args.values as Record<string, string | undefined> & { remove?: boolean };
  if (!v.cloud || args.rest.length) {
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const os = connect({ cloud: v.cloud });
  const region = v.region ?? os.cloud.region_name ?? 'RegionOne';
  const serviceName = v['service-name'];
  if (v.remove) {
    const changes = await unregisterEndpoint(os.session, { region, serviceName });
    process.stdout.write(changes.length ? `${changes.join('\n')}\n` : 'nothing registered\n');
    return;
  }
  const url = v.url ?? defaultUrl(args.dataDir, v.port, args.port);
  const interfaces = v.interface?.split(',').map((i) => i.trim());
  const done = await registerEndpoint(os.session, { url, region, serviceName, interfaces });
  process.stdout.write(`${done.changes.length ? done.changes.join('\n') : 'already registered'}\n`);
  process.stdout.write(`data-protect service ${done.serviceId} in region ${region}: ${url}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`register-endpoint: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
