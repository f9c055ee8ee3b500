/**
 * Renders `docs/hooks.md` from the hook registry, so the documented list of hooks is the list the
 * server and the stack serve. `npm run docs` writes it; a test fails when it is out of date.
 */
import { answersOf, HANDLERS, HOOKS, type HookDefinition, type HookType } from '#shared/kernel/registry.ts';

const TYPE_TITLES: Record<HookType, string> = {
  connect: 'Type 1: connect',
  direct: 'Type 2: direct invocations (the client action waits for the answer)',
  event: 'Type 3: events (notifications; cannot be refused)',
  incoming: 'Type 4: incoming invocations',
};

/** How a hook is answered: it decides (with its fail mode, `restOnError: FAIL`) or records (spilled when it must be). */
function answersText(hook: HookDefinition): string {
  const answers = answersOf(hook);
  const sdp = hook.carriesSdp ? '; SDP excluded' : '';
  return answers === 'records' ? `records (spills)${sdp}` : `decides, fails ${answers.decides}${sdp}`;
}

/**
 * A first contact: the four hooks a newcomer tries first, with the smallest bodies wcs-hooks takes,
 * as curl sends them to `npm start` (run, as written, by test/integration/docs-commands.test.ts).
 */
const TRY_IT = [
  '## Try it',
  '',
  'With `npm start` running (the `open` default policy admits any app without a token), these are the',
  "smallest bodies each hook takes; WCS sends many more fields (the reference's examples), and a body",
  'without `nodeId`, `appKey` or `sessionId` is answered 400 naming what is missing. Every hook is a',
  '`POST` with `content-type: application/json` (anything else is answered 415):',
  '',
  '```sh',
  'curl -s localhost:3000/hooks/connect -H "content-type: application/json" \\',
  '  -d \'{"nodeId":"node1@127.0.0.1","appKey":"defaultApp","sessionId":"s-1","login":"alice"}\'',
  'curl -s localhost:3000/hooks/publishStream -H "content-type: application/json" \\',
  '  -d \'{"nodeId":"node1@127.0.0.1","appKey":"defaultApp","sessionId":"s-1","mediaSessionId":"m-1","name":"cam1","published":true}\'',
  'curl -s localhost:3000/hooks/StreamStatusEvent -H "content-type: application/json" \\',
  '  -d \'{"nodeId":"node1@127.0.0.1","appKey":"defaultApp","sessionId":"s-1","mediaSessionId":"m-1","name":"cam1","published":true,"status":"PUBLISHING"}\'',
  'curl -s localhost:3000/hooks/OnDataEvent -H "content-type: application/json" \\',
  '  -d \'{"nodeId":"node1@127.0.0.1","appKey":"defaultApp","sessionId":"s-1","operationId":"op-1","payload":{"text":"hi"}}\'',
  '```',
  '',
  '`connect` is answered with the body and the `restClientConfig` that WCS applies to the session (which',
  'hooks it calls, and `restOnError: FAIL` where a 403 must refuse); the others with the body (a refusal',
  'is a 403 with the reason). Started with `API_TOKEN` set, the operator API then lists `cam1` as live:',
  '',
  '```sh',
  'curl -s localhost:3000/api/stream/list -H "authorization: Bearer $API_TOKEN" \\',
  '  -H "content-type: application/json" -d \'{"name":"cam1"}\'',
  '```',
  '',
];

/** The Markdown of `docs/hooks.md`. */
export function renderHooksDoc(): string {
  const lines = [
    '# Hooks',
    '',
    '<!-- Generated from shared/kernel/registry.ts by `npm run docs`; do not edit by hand. -->',
    '',
    'Every REST hook method WCS can call, as `POST <app REST URL>/<method>`, and the function that answers it.',
    'A method not listed here is answered by `echo` too, as long as its name is an identifier, so a hook added',
    'by a later WCS release is answered (mirrored) and recorded rather than refused.',
    '',
    'A hook **decides** (admits, or refuses with 403) within the decision budget, and by its fail mode when it',
    'cannot (`open` admits, `closed` refuses; `DECISION_FAIL_MODES` overrides); the `connect` answer sets',
    '`restOnError: FAIL` for it, or WCS would ignore the 403. A hook **records** what happened: when it cannot',
    'be written in time it is spilled and replayed later. "SDP excluded": the `connect` answer asks WCS to leave',
    'the SDP out of its body (unless `STORE_SDP=true`).',
    '',
    ...TRY_IT,
  ];
  for (const type of Object.keys(TYPE_TITLES) as HookType[]) {
    lines.push(
      `## ${TYPE_TITLES[type]}`,
      '',
      '| method | handler | answers | what it does |',
      '|---|---|---|---|',
    );
    for (const hook of HOOKS.filter((h) => h.type === type)) {
      lines.push(
        `| \`${hook.method}\` | \`${hook.handler}\` | ${answersText(hook)} | ${HANDLERS[hook.handler].description} |`,
      );
    }
    lines.push('');
  }
  lines.push(
    '## Handlers and the tables they write',
    '',
    '| handler | tables |',
    '|---|---|',
    ...Object.entries(HANDLERS).map(
      ([name, h]) =>
        `| \`functions/${name}.ts\` | ${Object.entries(h.tables)
          .map(([t, a]) => `${t} (${a})`)
          .join(', ')} |`,
    ),
    '',
  );
  return lines.join('\n');
}
