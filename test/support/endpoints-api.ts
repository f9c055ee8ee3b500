/** The endpoints' operator API (`/api/endpoints`) of a running server, with its `API_TOKEN`. */

export interface ApiAnswer {
  readonly status: number;
  readonly body: Record<string, unknown> & unknown[];
}

/** A caller of `<baseUrl()>/api/endpoints<path>`: JSON in and out, the bearer token set. */
export function endpointsApi(baseUrl: () => string, apiToken: string) {
  return async (method: string, path: string, body?: unknown): Promise<ApiAnswer> => {
    const response = await fetch(`${baseUrl()}/api/endpoints${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiToken}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as ApiAnswer['body'] };
  };
}
