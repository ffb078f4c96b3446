import { eq } from 'drizzle-orm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { formatTimestamp, type Clock } from '../clock';
import type { Caller } from '../context';
import type { Db } from '../db/open';
import { apiTokens, settings } from '../db/schema';
import { Invalid } from '../errors';

export type Role = 'member' | 'admin';
export const ROLES: readonly Role[] = ['member', 'admin'];
export const TOKEN_FILE = 'api-token';
/** Every token this engine issues starts so; such a token is never sent to a Keystone. */
export const LOCAL_TOKEN_PREFIX = 'kbd_';

const hash = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Keystone-style project id: 32 lowercase hex digits. */
export function newProjectId(): string {
  return randomUUID().replace(/-/g, '');
}

/**
 * API tokens. Only hashes are stored; the token text goes to a file readable by its owner only,
 * so a script on this machine running as the same user can call the API.
 */
export class TokenService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly dataDir: string,
  ) {}

  /** The project this installation works in (created on first start). */
  localProjectId(): string {
    const row = this.db.select().from(settings).where(eq(settings.key, 'local_project_id')).get();
    if (row) return row.value;
    const id = newProjectId();
    this.db.insert(settings).values({ key: 'local_project_id', value: id }).run();
    return id;
  }

  /** Creates a token; returns its text (shown once). */
  create(projectId: string, role: Role, name?: string): string {
    if (!ROLES.includes(role)) throw new Invalid(`role must be one of ${ROLES.join(', ')}`);
    if (!/^[0-9a-zA-Z_-]{1,64}$/.test(projectId)) throw new Invalid(`project id '${projectId}' is not valid`);
    const token = `${LOCAL_TOKEN_PREFIX}${randomBytes(24).toString('base64url')}`;
    this.db
      .insert(apiTokens)
      .values({
        id: randomUUID(),
        tokenHash: hash(token),
        projectId,
        role,
        name: name ?? null,
        createdAt: formatTimestamp(this.clock.now()),
      })
      .run();
    return token;
  }

  /** Ensures `<dataDir>/api-token` holds a valid admin token of the local project. */
  ensureTokenFile(): { file: string; projectId: string; token: string } {
    const file = path.join(this.dataDir, TOKEN_FILE);
    const projectId = this.localProjectId();
    if (fs.existsSync(file)) {
      const token = fs.readFileSync(file, 'utf8').trim();
      const caller = this.lookup(token);
      if (caller && caller.projectId === projectId) {
        fs.chmodSync(file, 0o600);
        return { file, projectId, token };
      }
    }
    const token = this.create(projectId, 'admin', 'api-token file');
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
    fs.renameSync(tmp, file);
    return { file, projectId, token };
  }

  lookup(token: string): Caller | undefined {
    if (!token) return undefined;
    const row = this.db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.tokenHash, hash(token)))
      .get();
    return row ? { projectId: row.projectId, isAdmin: row.role === 'admin' } : undefined;
  }

  revoke(token: string): boolean {
    return (
      this.db
        .delete(apiTokens)
        .where(eq(apiTokens.tokenHash, hash(token)))
        .run().changes > 0
    );
  }
}
