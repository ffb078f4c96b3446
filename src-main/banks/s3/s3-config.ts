import type { BankConfig } from '../../engine/providers/types';
import { ConfigReader } from '../remote/bank-config';
import { S3Bank } from './s3-bank';

/**
 * An S3 bank from a provider's `bank: {type: 's3', …}`. Keys: `accessKeyId` + `secretAccessKey`
 * (or `secretAccessKeyEnv`, a variable's name); without them the AWS SDK's default chain
 * (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, profiles, instance roles) applies.
 */
export function s3BankFromConfig(config: BankConfig, env: NodeJS.ProcessEnv = process.env): S3Bank {
  const c = new ConfigReader(config, 's3', env);
  const accessKeyId = c.string('accessKeyId');
  const secretAccessKey = c.secret('secretAccessKey');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    c.required(accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey');
  }
  return new S3Bank({
    bucket: c.required('bucket'),
    prefix: c.string('prefix'),
    endpoint: c.string('endpoint'),
    region: c.string('region'),
    forcePathStyle: c.boolean('forcePathStyle'),
    credentials: accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey } : undefined,
    partSizeBytes: c.number('partSizeBytes'),
    leaseSettleMs: c.number('leaseSettleMs'),
    timeoutMs: c.number('timeoutMs'),
  });
}
