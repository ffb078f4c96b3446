import { describe, expect, it } from 'vitest';
import { S3Bank } from '../../src-main/banks/s3/s3-bank';
import { s3BankFromConfig } from '../../src-main/banks/s3/s3-config';
import { SwiftBank } from '../../src-main/banks/swift/swift-bank';
import { swiftBankFromConfig } from '../../src-main/banks/swift/swift-config';
import { BUILTIN_BANKS } from '../../src-main/engine/protection/builtin-banks';

const openrc = {
  OS_AUTH_URL: 'http://127.0.0.1:5000/v3',
  OS_USERNAME: 'admin',
  OS_PASSWORD: 'secret',
  OS_PROJECT_NAME: 'admin',
};

describe('remote bank configs', () => {
  it('registers swift and s3 next to local', () => {
    expect(Object.keys(BUILTIN_BANKS).sort()).toEqual(['local', 's3', 'swift']);
    expect(BUILTIN_BANKS.s3!({ type: 's3', bucket: 'karbor-bank' }, '/tmp')).toBeInstanceOf(S3Bank);
  });

  it('swift: the Keystone login comes from the config, or else from a cloud (OS_* variables, clouds.yaml)', () => {
    const bank = swiftBankFromConfig({ type: 'swift', container: 'karbor', prefix: 'engine-1/' }, openrc);
    expect(bank).toBeInstanceOf(SwiftBank);
    expect(bank.container).toBe('karbor');
    const own = {
      type: 'swift',
      container: 'k',
      authUrl: 'http://127.0.0.1:5000/v3',
      username: 'u',
      projectName: 'p',
      passwordEnv: 'KARBOR_PW',
    };
    expect(swiftBankFromConfig(own, { KARBOR_PW: 'pw' })).toBeInstanceOf(SwiftBank);
    // a config with its own authUrl does not borrow OS_PASSWORD
    expect(() => swiftBankFromConfig({ ...own, passwordEnv: undefined }, openrc)).toThrow(/'password' is required/);
    expect(() => swiftBankFromConfig(own, {})).toThrow(/KARBOR_PW .* is not set/);
  });

  it('swift: refuses incomplete or invalid configs with BANK_INVALID_CONFIG', () => {
    const explicit = { type: 'swift', container: 'k', authUrl: 'http://127.0.0.1:5000/v3', username: 'u', password: 'p', projectName: 'p' };
    for (const [config, message] of [
      [{ type: 'swift' }, /'container' is required/],
      [{ type: 'swift', container: 'a/b' }, /invalid Swift container name/],
      [{ type: 'swift', container: 'k', prefix: '../x' }, /invalid bank prefix/],
      [{ ...explicit, interface: 'private' }, /'interface' must be one of/],
      [{ type: 'swift', container: 'k', cloud: 'nope' }, /cloud 'nope' not found/],
      [{ type: 'swift', container: 'k', leaseSettleMs: -1 }, /positive number/],
    ] as const) {
      expect(() => swiftBankFromConfig(config, openrc)).toThrow(message);
      expect(() => swiftBankFromConfig(config, openrc)).toThrow(expect.objectContaining({ code: 'BANK_INVALID_CONFIG' }) as Error);
    }
  });

  it('s3: keys are both given or both left to the SDK; the bucket name is checked', () => {
    expect(
      s3BankFromConfig(
        { type: 's3', bucket: 'b-1', endpoint: 'http://127.0.0.1:8080', accessKeyId: 'a', secretAccessKeyEnv: 'S' },
        { S: 'x' },
      ),
    ).toBeInstanceOf(S3Bank);
    expect(() => s3BankFromConfig({ type: 's3', bucket: 'b-1', accessKeyId: 'a' }, {})).toThrow(/'secretAccessKey' is required/);
    expect(() => s3BankFromConfig({ type: 's3', bucket: 'Bad_Bucket' }, {})).toThrow(/invalid S3 bucket name/);
    expect(() => s3BankFromConfig({ type: 's3' }, {})).toThrow(/'bucket' is required/);
  });
});
