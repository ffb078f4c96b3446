import { describe, expect, it } from 'vitest';
import { parseDictParam } from '../../src-main/api/literal';
import { Invalid } from '../../src-main/engine/errors';

describe('dict query parameters', () => {
  it('reads the Python literal the Karbor client sends', () => {
    expect(parseDictParam("{'path': '/tmp/a b', 'deep': True, 'n': 3, 'x': None}", 'parameters')).toEqual({
      path: '/tmp/a b',
      deep: true,
      n: 3,
      x: null,
    });
    expect(parseDictParam('{"path": "/x"}', 'parameters')).toEqual({ path: '/x' });
    expect(parseDictParam("{'q': 'it\\'s'}", 'parameters')).toEqual({ q: "it's" });
  });
  it('rejects what is not a dict with a message naming the parameter', () => {
    expect(() => parseDictParam("{'path': ", 'parameters')).toThrow(Invalid);
    expect(() => parseDictParam('[1, 2]', 'parameters')).toThrow(/parameters must be a dict/);
    expect(() => parseDictParam('{path: 1}', 'parameters')).toThrow(/parameters/);
  });
});
