import fs from 'node:fs';
import os from 'node:os';
import {
  CloudConfigError,
  cloudFromEntry,
  cloudsYamlPaths,
  fromEnv,
  Http,
  loadCloud,
  OpenStackError,
  readCloudsFile,
  Session,
  type CloudConfig,
  type TokenInfo,
} from '../../plugins/openstack/client';
import { readAppClouds, writeAppClouds, type CloudEntry } from '../../plugins/openstack/client/app-clouds';
import type { OpenStackConnections } from '../../plugins/openstack/connections';
import type { EngineContext } from '../context';
import { plans } from '../db/schema';
import { Conflict, Forbidden, InUse, Invalid, NotFound, UpstreamError } from '../errors';
import { cloudEntryFromInput } from './input';
import { brokenCloudView, cloudView, testResult, type CloudList, type CloudTestResult, type CloudView } from './views';

export interface CloudServiceOptions {
  /** The clouds.yaml the app owns (`appCloudsPath(dataDir)`). */
  appFile: string;
  /** Sessions the OpenStack plugins keep; a cloud added again or removed is dropped from them. */
  connections: OpenStackConnections;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * The OpenStack clouds the engine knows: the clouds.yaml found on the search path, the `OS_*`
 * variables and the clouds added in the app, which live in a clouds.yaml of the data folder
 * (0600) that the OpenStack plugins read too. Secrets go into that file and nowhere else: no
 * answer of this service carries them and nothing here logs them.
 */
export class CloudService {
  private readonly env: NodeJS.ProcessEnv;
  private readonly cwd: string;
  private readonly home: string;

  constructor(
    private readonly ctx: EngineContext,
    private readonly opts: CloudServiceOptions,
  ) {
    this.env = opts.env ?? process.env;
    this.cwd = opts.cwd ?? process.cwd();
    this.home = opts.home ?? os.homedir();
  }

  list(): CloudList {
    const { appFile } = this.opts;
    const problems: string[] = [];
    const views = new Map<string, CloudView>();
    const add = (name: string, origin: CloudView['origin'], source: string, load: () => CloudConfig): void => {
      if (views.has(name)) return;
      const o = { name, origin, source, isDefault: false, removable: origin === 'app' };
      try {
        views.set(name, cloudView(o, load()));
      } catch (err) {
        views.set(name, brokenCloudView(o, messageOf(err)));
      }
    };
    let app: Record<string, unknown> = {};
    try {
      app = readAppClouds(appFile);
    } catch (err) {
      problems.push(messageOf(err));
    }
    for (const [name, entry] of Object.entries(app)) add(name, 'app', appFile, () => cloudFromEntry(name, appFile, asEntry(entry)));
    const searchPaths = cloudsYamlPaths(this.env, this.cwd, this.home);
    const file = searchPaths.find((f) => fs.existsSync(f));
    let fileNames: string[] = [];
    if (file) {
      try {
        fileNames = Object.keys(readCloudsFile(file));
      } catch (err) {
        problems.push(messageOf(err));
      }
      const { env, cwd, home } = this;
      for (const name of fileNames) add(name, 'file', file, () => loadCloud({ cloud: name, env, cwd, home }));
    }
    if (this.env.OS_AUTH_URL) add('envvars', 'environment', 'OS_* variables', () => fromEnv(this.env));
    // The same order loadCloud follows when no cloud is named.
    const byDefault = this.env.OS_CLOUD || (this.env.OS_AUTH_URL ? 'envvars' : fileNames.length === 1 ? fileNames[0] : undefined);
    const def = byDefault ? views.get(byDefault) : undefined;
    if (def) def.isDefault = true;
    return { clouds: [...views.values()], appFile, searchPaths, problems };
  }

  /** Adds a cloud from the form; refuses a name the engine already knows. */
  add(input: unknown): CloudView {
    const { name, entry } = cloudEntryFromInput(input);
    const { appFile } = this.opts;
    const known = this.list().clouds.find((c) => c.name === name);
    if (known) throw new Conflict(`A cloud named '${name}' already exists (${known.source}); choose another name`, 'CLOUD_EXISTS');
    let cloud: CloudConfig;
    try {
      cloud = cloudFromEntry(name, appFile, entry);
    } catch (err) {
      throw err instanceof CloudConfigError ? new Invalid(err.message, 'CLOUD_INVALID') : err;
    }
    const clouds = this.appEntries();
    clouds[name] = entry;
    writeAppClouds(appFile, clouds);
    this.opts.connections.forget(name);
    this.ctx.log.info('OpenStack cloud added', { cloud: name, file: appFile });
    return cloudView({ name, origin: 'app', source: appFile, isDefault: false, removable: true }, cloud);
  }

  /**
   * Logs in to the cloud's Keystone with a fresh session (not the plugins' cached one, so the
   * settings as they are now are what is tested) and reports the scope and catalog. A failure is
   * an error naming Keystone and its address; the token is revoked afterwards.
   */
  async test(name: string): Promise<CloudTestResult> {
    const cloud = this.resolve(name);
    // One retry and a short timeout: a person is waiting for the answer.
    const session = new Session(cloud, { http: new Http({ retries: 1, timeoutMs: 20_000 }) });
    let info: TokenInfo;
    try {
      info = await session.tokenInfo();
    } catch (err) {
      throw keystoneFailure(name, session.identityUrl, err);
    }
    await session.revoke().catch(() => undefined);
    return testResult(name, session.identityUrl, cloud, info);
  }

  /** Removes a cloud added in the app, unless a plan or provider still names it. */
  remove(name: string): void {
    if (typeof name !== 'string' || !name) throw new Invalid('Name the cloud to remove', 'CLOUD_INVALID');
    const clouds = this.appEntries();
    if (!Object.hasOwn(clouds, name)) {
      const known = this.list().clouds.find((c) => c.name === name);
      if (known)
        throw new Forbidden(`Cloud '${name}' comes from ${known.source}, not from the app: change it there`, 'CLOUD_NOT_REMOVABLE');
      throw new NotFound(`No cloud named '${name}'`, 'CLOUD_NOT_FOUND');
    }
    const plan = this.ctx.db
      .select({ id: plans.id, name: plans.name, resources: plans.resources })
      .from(plans)
      .all()
      .find((p) => p.resources.some((r) => r.extra_info?.cloud === name));
    if (plan)
      throw new InUse(
        `Cloud '${name}' is used by plan '${plan.name}' (${plan.id}); delete the plan or its resources of this cloud first`,
        'CLOUD_IN_USE',
      );
    const provider = this.ctx.providers.list().find((p) => p.definition.config?.cloud === name);
    if (provider) throw new InUse(`Cloud '${name}' is used by provider '${provider.definition.name}' (config.cloud)`, 'CLOUD_IN_USE');
    delete clouds[name];
    writeAppClouds(this.opts.appFile, clouds);
    this.opts.connections.forget(name);
    this.ctx.log.info('OpenStack cloud removed', { cloud: name });
  }

  private appEntries(): Record<string, CloudEntry> {
    try {
      return Object.fromEntries(Object.entries(readAppClouds(this.opts.appFile)).map(([k, v]) => [k, asEntry(v)]));
    } catch (err) {
      throw new Invalid(`The app's clouds file cannot be read: ${messageOf(err)}`, 'CLOUD_FILE_INVALID');
    }
  }

  private resolve(name: unknown): CloudConfig {
    if (typeof name !== 'string' || !name) throw new Invalid('Name the cloud to test', 'CLOUD_INVALID');
    const known = this.list().clouds.find((c) => c.name === name);
    if (!known) throw new NotFound(`No cloud named '${name}'`, 'CLOUD_NOT_FOUND');
    if (known.problem) throw new Invalid(known.problem, 'CLOUD_INVALID');
    const { env, cwd, home } = this;
    try {
      return loadCloud({ cloud: name, env, cwd, home, appFile: this.opts.appFile });
    } catch (err) {
      throw err instanceof CloudConfigError ? new Invalid(err.message, 'CLOUD_INVALID') : err;
    }
  }
}

function asEntry(v: unknown): CloudEntry {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as CloudEntry) : {};
}

/** A failed login in words that name Keystone; the client's messages never carry credentials. */
function keystoneFailure(name: string, keystone: string, err: unknown): unknown {
  if (!(err instanceof OpenStackError)) return err;
  if (err.status === 401)
    return new UpstreamError(
      `Keystone at ${keystone} refused the login of cloud '${name}' (401${err.detail ? `: ${err.detail}` : ''}); check the user, password or credential, and the project and domains`,
      'KEYSTONE_AUTH_FAILED',
    );
  if (err.status === undefined)
    return new UpstreamError(`Keystone at ${keystone} did not answer for cloud '${name}': ${err.detail}`, 'KEYSTONE_UNREACHABLE');
  return new UpstreamError(`Keystone at ${keystone} failed the login of cloud '${name}': ${err.message}`, 'KEYSTONE_FAILED');
}
