/** The API Gateway (HTTP API, payload 2.0) event of a hook, as `cpu.ts`'s handlers are called with it. */
export function hookEvent(method: string, body: unknown) {
  const text = JSON.stringify(body);
  return {
    version: '2.0',
    routeKey: `POST /hooks/${method}`,
    rawPath: `/hooks/${method}`,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) },
    pathParameters: { method },
    requestContext: {
      accountId: 'bench',
      apiId: 'bench',
      domainName: 'bench',
      domainPrefix: 'bench',
      http: {
        method: 'POST',
        path: `/hooks/${method}`,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'WCS',
      },
      requestId: 'bench',
      routeKey: `POST /hooks/${method}`,
      stage: '$default',
      time: new Date(0).toUTCString(),
      timeEpoch: 0,
    },
    body: text,
    isBase64Encoded: false,
  };
}
