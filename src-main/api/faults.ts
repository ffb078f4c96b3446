/** Karbor's fault names by HTTP status (webob-style bodies: `{"<name>": {code, message}}`). */
const FAULT_NAMES: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  424: 'failedDependency',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

export interface FaultBody {
  [name: string]: { code: number; message: string };
}

export function faultBody(status: number, message: string): FaultBody {
  const name = FAULT_NAMES[status] ?? (status >= 500 ? 'computeFault' : 'badRequest');
  return { [name]: { code: status, message } };
}
