import fs from 'node:fs';
import path from 'node:path';
import { readCloudsFile } from './clouds';

/** A value of a clouds.yaml entry. */
export type CloudValue = string | number | boolean | null | CloudValue[] | CloudEntry;
export type CloudEntry = { [key: string]: CloudValue };

/** The clouds.yaml the app owns, in its data folder: clouds added in the app, with their secrets. */
export function appCloudsPath(dataDir: string): string {
  return path.join(dataDir, 'clouds.yaml');
}

/** The app's clouds by name; none while the file does not exist. */
export function readAppClouds(file: string): Record<string, unknown> {
  return fs.existsSync(file) ? readCloudsFile(file) : {};
}

/**
 * Replaces the app's clouds.yaml. The file holds passwords and application credential secrets,
 * so it is created 0600 (never readable by others, not even for a moment: the temporary file is
 * opened with that mode, then renamed over the old one) and fsynced before the rename, so a crash
 * leaves the old file or the new one, never half of one.
 */
export function writeAppClouds(file: string, clouds: Record<string, CloudEntry>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const text = renderCloudsYaml(clouds);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  // An older file (or one a user copied in) may have had a wider mode; the rename kept the new one's.
  fs.chmodSync(file, 0o600);
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const YAML_WORDS = /^(null|true|false|yes|no|on|off|y|n)$/i;

/**
 * Block YAML whose scalars are JSON-quoted: JSON strings are valid YAML double-quoted scalars,
 * so any value (quotes, `#`, colons, non-ASCII) reads back exactly, by our loader and by
 * openstacksdk alike.
 */
export function renderCloudsYaml(clouds: Record<string, CloudEntry>): string {
  const lines = ['# Clouds added in Karbor Desktop. It holds their secrets: keep it private (mode 0600).', 'clouds:'];
  if (Object.keys(clouds).length === 0) return `${lines[0]}\nclouds: {}\n`;
  const key = (k: string): string => (PLAIN_KEY.test(k) && !YAML_WORDS.test(k) ? k : JSON.stringify(k));
  const emit = (entry: CloudEntry, indent: string): void => {
    for (const [k, v] of Object.entries(entry)) {
      // Sequences are written in flow style (JSON), which YAML reads as they are.
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        lines.push(`${indent}${key(k)}:`);
        emit(v, `${indent}  `);
      } else lines.push(`${indent}${key(k)}: ${JSON.stringify(v)}`);
    }
  };
  emit(clouds, '  ');
  return `${lines.join('\n')}\n`;
}
