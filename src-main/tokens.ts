import { parseCommonArgs } from './cli-args';
import { createEngine } from './engine';
import { ROLES, type Role } from './engine/auth/tokens';

const USAGE = `usage: node out/main/tokens.js [--data-dir DIR] <command>
  create [--role member|admin] [--project ID] [--name TEXT]   print a new API token
  show                                                      print the local project id and token file
  revoke --token TOKEN                                      revoke a token`;

/** Manages API tokens of a data folder (works while the app runs: SQLite WAL allows it). */
async function main(): Promise<void> {
  const args = parseCommonArgs(process.argv.slice(2), {
    role: { type: 'string' },
    project: { type: 'string' },
    name: { type: 'string' },
    token: { type: 'string' },
  });
  const [command] = args.rest;
  const engine = createEngine({ dataDir: args.dataDir, scheduler: false, attach: true });
  try {
    if (command === 'create') {
      const role = (args.values.role as string | undefined) ?? 'member';
      if (!ROLES.includes(role as Role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
      const project = (args.values.project as string | undefined) ?? engine.tokens.localProjectId();
      const token = engine.tokens.create(project, role as Role, args.values.name as string | undefined);
      process.stdout.write(`${token}\n`);
      process.stderr.write(`project ${project}, role ${role}\n`);
    } else if (command === 'show') {
      const t = engine.tokens.ensureTokenFile();
      process.stdout.write(`project_id ${t.projectId}\ntoken_file ${t.file}\n`);
    } else if (command === 'revoke') {
      const token = args.values.token as string | undefined;
      if (!token) throw new Error('revoke needs --token');
      process.stdout.write(engine.tokens.revoke(token) ? 'revoked\n' : 'no such token\n');
    } else {
      process.stderr.write(`${USAGE}\n`);
      process.exitCode = 2;
    }
  } finally {
    await engine.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`tokens: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
