import { Invalid, UpstreamError } from '../../engine/errors';
import type { ProtectablePlugin } from '../../engine/protectables/types';
import { CloudConfigError, OpenStackError } from './client';

/**
 * An OpenStack client failure as a typed engine error, so the API and the UI show its message
 * (which names the service and the call and never carries credentials) instead of hiding it as
 * an internal error: a bad clouds.yaml entry is the user's input, a failed call the cloud's.
 */
export function asEngineError(err: unknown): unknown {
  if (err instanceof CloudConfigError) return new Invalid(err.message, 'CLOUD_INVALID');
  if (err instanceof OpenStackError) {
    return new UpstreamError(
      err.message,
      err.status === 401 ? 'CLOUD_AUTH_FAILED' : err.status === undefined ? 'CLOUD_UNREACHABLE' : 'CLOUD_CALL_FAILED',
    );
  }
  return err;
}

const translated =
  <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
  async (...a: A): Promise<R> => {
    try {
      return await fn(...a);
    } catch (err) {
      throw asEngineError(err);
    }
  };

/** A protectable whose listing and lookups report client failures as engine errors. */
export function withEngineErrors(p: ProtectablePlugin): ProtectablePlugin {
  return {
    type: p.type,
    dependentTypes: p.dependentTypes,
    listInstances: translated(p.listInstances.bind(p)),
    showInstance: translated(p.showInstance.bind(p)),
    dependents: translated(p.dependents.bind(p)),
  };
}
