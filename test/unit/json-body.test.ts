import { describe, expect, it } from '@jest/globals';
import { jsonBody, nestingDepth } from '../../shared/http/middleware/json-body.ts';

describe('nestingDepth', () => {
  it('counts arrays and objects, not brackets inside strings', () => {
    expect(nestingDepth('{"a":[1,{"b":2}]}')).toBe(3);
    expect(nestingDepth('{"a":"[[[{{{"}')).toBe(1);
    expect(nestingDepth('{"a":"\\"[[["}')).toBe(1);
    expect(nestingDepth('42')).toBe(0);
  });

  it('stops counting once past the limit', () => {
    expect(nestingDepth('['.repeat(1_000_000), 100)).toBe(101);
  });
});

describe('the JSON body step', () => {
  const parse = async (body: string, contentType = 'application/json') => {
    const request = {
      event: {
        headers: { 'content-type': contentType },
        body,
        isBase64Encoded: false,
        requestContext: { http: { method: 'POST' } },
      },
    };
    await jsonBody().before?.(request as never);
    return request.event.body as unknown;
  };

  it('parses a body as it is', async () => {
    expect(await parse('{"sessionId":"s","custom":{"a":[1,"x"]}}')).toEqual({
      sessionId: 's',
      custom: { a: [1, 'x'] },
    });
    expect(
      await parse('{"note":"proto and constructor are plain words"}', 'application/json; charset=utf-8'),
    ).toEqual({
      note: 'proto and constructor are plain words',
    });
  });

  it.each([
    ['__proto__', '{"a":{"__proto__":{"x":1}}}'],
    ['__proto__ written with escapes', '{"a":{"\\u005f_proto__":{"x":1}}}'],
    ['constructor with a prototype', '{"constructor":{"prototype":{"x":1}}}'],
    ['constructor written with escapes', '{"c\\u006fnstructor":{"prototype":{"x":1}}}'],
  ])('refuses a body with a forbidden key: %s', async (_, body) => {
    await expect(parse(body)).rejects.toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/Forbidden key/),
    });
  });

  it('refuses what is not JSON, and another content type', async () => {
    await expect(parse('{"a":')).rejects.toMatchObject({ statusCode: 400, code: 'MalformedJson' });
    await expect(parse('{"a":1}', 'text/plain')).rejects.toMatchObject({ statusCode: 415 });
  });

  it("tests the content type as middy's parser does, on the fast path too", async () => {
    for (const type of ['application/json', 'application/vnd.api+json; charset=utf-8', 'APPLICATION/JSON'])
      expect(await parse('{"a":1}', type)).toEqual({ a: 1 });
    for (const type of ['application/jsonx', 'text/json', ''])
      await expect(parse('{"a":1}', type)).rejects.toMatchObject({ statusCode: 415 });
  });
});
