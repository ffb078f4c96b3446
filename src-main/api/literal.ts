import { Invalid } from '../engine/errors';

/**
 * Parses a query parameter that holds a dict: JSON, or the Python literal the Karbor client
 * sends (`str(dict)`: single quotes, True/False/None).
 */
export function parseDictParam(text: string, field: string): Record<string, unknown> {
  const trimmed = text.trim();
  if (!trimmed) return {};
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    value = new PyLiteral(trimmed, field).parse();
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Invalid(`${field} must be a dict`);
  return value as Record<string, unknown>;
}

class PyLiteral {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly field: string,
  ) {}

  parse(): unknown {
    const v = this.value();
    this.ws();
    if (this.i !== this.s.length) this.fail('unexpected trailing text');
    return v;
  }

  private fail(why: string): never {
    throw new Invalid(`${this.field} is not a valid dict literal (${why} at position ${this.i})`);
  }

  private ws(): void {
    while (/\s/.test(this.s[this.i] ?? '')) this.i++;
  }

  private value(): unknown {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.dict();
    if (c === '[' || c === '(') return this.list(c === '[' ? ']' : ')');
    if (c === "'" || c === '"') return this.str();
    const m = /^(True|False|None|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(this.s.slice(this.i));
    if (!m) this.fail('unexpected character');
    this.i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    return Number(m[0]);
  }

  private str(): string {
    const q = this.s[this.i++];
    let out = '';
    while (this.i < this.s.length && this.s[this.i] !== q) {
      let ch = this.s[this.i++] as string;
      if (ch === '\\') {
        const e = this.s[this.i++] ?? '';
        ch = ({ n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' } as Record<string, string>)[e] ?? `\\${e}`;
      }
      out += ch;
    }
    if (this.s[this.i] !== q) this.fail('unterminated string');
    this.i++;
    return out;
  }

  private list(close: string): unknown[] {
    this.i++;
    const out: unknown[] = [];
    for (;;) {
      this.ws();
      if (this.s[this.i] === close) {
        this.i++;
        return out;
      }
      out.push(this.value());
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== close) this.fail(`expected ',' or '${close}'`);
    }
  }

  private dict(): Record<string, unknown> {
    this.i++;
    const out: Record<string, unknown> = {};
    for (;;) {
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return out;
      }
      const k = this.value();
      if (typeof k !== 'string' && typeof k !== 'number') this.fail('dict keys must be strings');
      this.ws();
      if (this.s[this.i++] !== ':') this.fail("expected ':'");
      out[String(k)] = this.value();
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== '}') this.fail("expected ',' or '}'");
    }
  }
}
