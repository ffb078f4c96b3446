/**
 * The part of YAML that `clouds.yaml` / `secure.yaml` files use: block mappings and sequences,
 * plain and quoted scalars, flow collections (`[a, b]`, `{k: v}`), comments. Anchors, tags and
 * block scalars are refused with the line number, so a file we would misread never yields a
 * half-right cloud.
 */
export class YamlError extends Error {
  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'YamlError';
  }
}

interface Line {
  indent: number;
  text: string;
  no: number;
}

export function parseYaml(source: string): unknown {
  const lines: Line[] = [];
  source.split(/\r?\n/).forEach((raw, i) => {
    if (/^(---|\.\.\.)\s*$/.test(raw)) return;
    if (raw.includes('\t') && /^\s*\t/.test(raw)) throw new YamlError('tabs are not allowed for indentation', i + 1);
    const text = stripComment(raw).trimEnd();
    if (!text.trim()) return;
    lines.push({ indent: text.length - text.trimStart().length, text: text.trimStart(), no: i + 1 });
  });
  if (!lines.length) return null;
  const p = { lines, i: 0 };
  const v = parseBlock(p, lines[0]?.indent ?? 0);
  const rest = p.lines[p.i];
  if (rest) throw new YamlError('unexpected indentation', rest.no);
  return v;
}

type P = { lines: Line[]; i: number };

function parseBlock(p: P, indent: number): unknown {
  const line = p.lines[p.i];
  if (!line) return null;
  return isItem(line.text) ? parseSequence(p, line.indent) : parseMapping(p, indent);
}

const isItem = (t: string): boolean => t === '-' || t.startsWith('- ');

function parseSequence(p: P, indent: number): unknown[] {
  const out: unknown[] = [];
  for (let line = p.lines[p.i]; line && line.indent === indent && isItem(line.text); line = p.lines[p.i]) {
    const rest = line.text.slice(1).trimStart();
    if (!rest) {
      p.i++;
      const next = p.lines[p.i];
      out.push(next && next.indent > indent ? parseBlock(p, next.indent) : null);
    } else if (isItem(rest) || splitKey(rest, line.no)) {
      // `- key: value` opens a mapping (or `- - x` a sequence) at the column after the dash
      p.lines[p.i] = { indent: indent + (line.text.length - rest.length), text: rest, no: line.no };
      out.push(parseBlock(p, indent + (line.text.length - rest.length)));
    } else {
      p.i++;
      out.push(scalar(rest, line.no));
    }
  }
  return out;
}

function parseMapping(p: P, indent: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let line = p.lines[p.i]; line && line.indent === indent && !isItem(line.text); line = p.lines[p.i]) {
    const kv = splitKey(line.text, line.no);
    if (!kv) throw new YamlError(`expected 'key: value', got '${line.text}'`, line.no);
    p.i++;
    const [key, rest] = kv;
    if (rest) out[key] = scalar(rest, line.no);
    else {
      const next = p.lines[p.i];
      if (next && next.indent > indent) out[key] = parseBlock(p, next.indent);
      else if (next && next.indent === indent && isItem(next.text)) out[key] = parseSequence(p, indent);
      else out[key] = null;
    }
  }
  const line = p.lines[p.i];
  if (line && line.indent > indent) throw new YamlError('unexpected indentation', line.no);
  return out;
}

/** `key: rest` outside quotes and brackets, or undefined when the text is not a mapping entry. */
function splitKey(text: string, no: number): [string, string] | undefined {
  let quote = '';
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = '';
      else if (ch === '\\' && quote === '"') i++;
      continue;
    }
    if ((ch === '"' || ch === "'") && i === 0) quote = ch;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') depth--;
    else if (ch === ':' && depth === 0 && (i + 1 === text.length || text[i + 1] === ' ')) {
      const rawKey = text.slice(0, i).trim();
      const key = scalar(rawKey, no);
      const name = key === null ? '' : typeof key === 'string' ? key : JSON.stringify(key);
      return [name, text.slice(i + 1).trim()];
    }
  }
  return undefined;
}

function stripComment(raw: string): string {
  let quote = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (quote) {
      if (ch === "'" && quote === "'" && raw[i + 1] === "'") i++;
      else if (ch === quote) quote = '';
      else if (ch === '\\' && quote === '"') i++;
    } else if (ch === '"' || ch === "'") {
      const prev = raw.slice(0, i).trimEnd();
      if (!prev || /[:\-[{,]$/.test(prev)) quote = ch;
    } else if (ch === '#' && (i === 0 || raw[i - 1] === ' ')) return raw.slice(0, i);
  }
  return raw;
}

function scalar(text: string, no: number): unknown {
  const t = text.trim();
  if (t.startsWith('&') || t.startsWith('*') || t.startsWith('!')) throw new YamlError('anchors, aliases and tags are not supported', no);
  if (t === '|' || t === '>' || /^[|>][-+0-9]*$/.test(t)) throw new YamlError('block scalars are not supported', no);
  if (t.startsWith('[') || t.startsWith('{')) {
    const f = { s: t, i: 0, no };
    const v = flow(f);
    if (f.s.slice(f.i).trim()) throw new YamlError(`unexpected '${f.s.slice(f.i).trim()}' after a flow collection`, no);
    return v;
  }
  if (t.startsWith('"')) {
    if (!t.endsWith('"') || t.length < 2) throw new YamlError('unterminated string', no);
    return JSON.parse(t.replace(/\\'/g, "'")) as string;
  }
  if (t.startsWith("'")) {
    if (!t.endsWith("'") || t.length < 2) throw new YamlError('unterminated string', no);
    return t.slice(1, -1).replace(/''/g, "'");
  }
  if (/^(null|Null|NULL|~)?$/.test(t)) return null;
  if (/^(true|True|TRUE)$/.test(t)) return true;
  if (/^(false|False|FALSE)$/.test(t)) return false;
  if (/^[-+]?(0|[1-9][0-9]*)$/.test(t)) return Number(t);
  if (/^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/.test(t)) return Number(t);
  return t;
}

type F = { s: string; i: number; no: number };

function flow(f: F): unknown {
  skip(f);
  const open = f.s[f.i];
  if (open !== '[' && open !== '{') return flowScalar(f);
  f.i++;
  const close = open === '[' ? ']' : '}';
  const list: unknown[] = [];
  const map: Record<string, unknown> = {};
  for (;;) {
    skip(f);
    if (f.s[f.i] === close) {
      f.i++;
      return open === '[' ? list : map;
    }
    if (f.i >= f.s.length) throw new YamlError(`missing '${close}'`, f.no);
    if (open === '[') list.push(flow(f));
    else {
      const key = flowScalar(f, true);
      skip(f);
      if (f.s[f.i] !== ':') throw new YamlError(`expected ':' in a flow mapping`, f.no);
      f.i++;
      map[typeof key === 'string' ? key : JSON.stringify(key)] = flow(f);
    }
    skip(f);
    if (f.s[f.i] === ',') f.i++;
  }
}

function flowScalar(f: F, isKey = false): unknown {
  skip(f);
  const start = f.i;
  const q = f.s[f.i];
  if (q === '"' || q === "'") {
    for (f.i++; f.i < f.s.length && f.s[f.i] !== q; f.i++) if (q === '"' && f.s[f.i] === '\\') f.i++;
    f.i++;
    return scalar(f.s.slice(start, f.i), f.no);
  }
  const stop = isKey ? /[:,\]}]/ : /[,\]}]/;
  while (f.i < f.s.length && !stop.test(f.s[f.i] ?? '')) f.i++;
  return scalar(f.s.slice(start, f.i), f.no);
}

function skip(f: F): void {
  while (f.s[f.i] === ' ') f.i++;
}
