import { BankError } from '../errors';

/**
 * Reads a remote bank's settings from a provider's `bank` config, where secrets may be given
 * inline (`password`) or, better, by the name of an environment variable (`passwordEnv`) so the
 * provider file holds no secret.
 */
export class ConfigReader {
  constructor(
    private readonly config: Record<string, unknown>,
    private readonly what: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  private invalid(message: string): BankError {
    return new BankError(`${this.what} bank config: ${message}`, { code: 'BANK_INVALID_CONFIG', status: 400 });
  }

  string(name: string): string | undefined {
    const v = this.config[name];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw this.invalid(`'${name}' must be a string`);
    return v;
  }

  required(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw this.invalid(`'${name}' is required`);
    return v;
  }

  /** A secret: `<name>` inline, else the environment variable named by `<name>Env`. */
  secret(name: string): string | undefined {
    const inline = this.string(name);
    if (inline !== undefined) return inline;
    const envName = this.string(`${name}Env`);
    if (envName === undefined) return undefined;
    const v = this.env[envName];
    if (!v) throw this.invalid(`environment variable ${envName} (from '${name}Env') is not set`);
    return v;
  }

  /** A string setting restricted to `allowed`. */
  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const v = this.string(name);
    if (v !== undefined && !(allowed as readonly string[]).includes(v)) {
      throw this.invalid(`'${name}' must be one of ${allowed.join(', ')}, not '${v}'`);
    }
    return v as T | undefined;
  }

  number(name: string): number | undefined {
    const v = this.config[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw this.invalid(`'${name}' must be a positive number`);
    return v;
  }

  boolean(name: string): boolean | undefined {
    const v = this.config[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw this.invalid(`'${name}' must be true or false`);
    return v;
  }
}
