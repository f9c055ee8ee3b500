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
