import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import {
  connectBody,
  ctx,
  fmt,
  postWithAnswer,
  progress,
  SOAK_SECONDS,
  streamBody,
  table,
  withFreshDynamo,
  withRuntime,
} from './support.ts';

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function soak(base: string, pid: number) {
  progress(`soak: ${SOAK_SECONDS} s of mixed hooks from 40 simulated WCS sessions...`);
  const loadBefore = loadavg()[0] ?? 0;
  const deadline = Date.now() + SOAK_SECONDS * 1000;
  const samples: { t: number; rss: number }[] = [];
  const started = Date.now();
  const sampler = setInterval(
    () => samples.push({ t: (Date.now() - started) / 1000, rss: rssMiB(pid) }),
    2000,
  );
  let hooksSent = 0;
  let errors = 0;
  /** Each kind of error: the hook, its status (0: no answer) and the error the body names. */
  const kinds = new Map<string, number>();
  const send = async (method: string, body: unknown) => {
    hooksSent++;
    const answer = await postWithAnswer(base, method, body).catch((error: Error) => ({
      status: 0,
      text: error.message,
    }));
    if (answer.status === 200) return;
    errors++;
    const named =
      [/"error":"([^"]{0,40})/, /"message":"([^"]{0,120})/]
        .map((pattern) => pattern.exec(answer.text)?.[1])
        .filter(Boolean)
        .join(': ') || answer.text.slice(0, 120);
    const kind = `${method} ${answer.status} ${named}`;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  };
  const client = async () => {
    while (Date.now() < deadline) {
      const session = connectBody();
      await send('connect', session);
      await send('ConnectionStatusEvent', { ...session, status: 'ESTABLISHED' });
      const publish = streamBody(session.sessionId, 'PENDING');
      await send('publishStream', publish);
      await send('StreamStatusEvent', { ...publish, status: 'PUBLISHING' });
      for (let i = 0; i < 3; i++) await send('StreamKeepAliveEvent', { ...publish, status: 'PUBLISHING' });
      await send('OnDataEvent', { ...ctx(session.sessionId), operationId: randomUUID(), payload: { n: 1 } });
      await send('CallStatusEvent', { ...ctx(session.sessionId), callId: randomUUID(), status: 'RING' });
      await send('StreamStatusEvent', {
        ...publish,
        status: 'UNPUBLISHED',
        info: 'Stopped by publisher stop',
      });
      await send('ConnectionStatusEvent', { ...ctx(session.sessionId), status: 'DISCONNECTED' });
    }
  };
  await Promise.all(Array.from({ length: 40 }, client));
  const loadAfter = loadavg()[0] ?? 0;
  const failModeRefusals = () =>
    [...kinds]
      .filter(([kind]) => / 403 Forbidden: (admission unavailable|session failed)/.test(kind))
      .reduce((sum, [, n]) => sum + n, 0);
  clearInterval(sampler);
  const third = Math.max(1, Math.floor(samples.length / 3));
  const mean = (xs: { rss: number }[]) => xs.reduce((a, s) => a + s.rss, 0) / Math.max(1, xs.length);
  const middle = mean(samples.slice(third, 2 * third));
  const last = mean(samples.slice(-third));
  const growth = ((last - middle) / middle) * 100;
  table(
    'Soak (local runtime)',
    [
      'duration (s)',
      'hooks',
      'hooks/s',
      'errors (non-200)',
      'RSS first (MiB)',
      'RSS middle third (MiB)',
      'RSS last third (MiB)',
      'growth last vs middle',
    ],
    [
      [
        SOAK_SECONDS,
        hooksSent,
        fmt(hooksSent / SOAK_SECONDS),
        errors,
        fmt(samples[0]?.rss ?? 0),
        fmt(middle),
        fmt(last),
        `${fmt(growth)} %`,
      ],
    ],
    [
      `Load average (1 min) at the start and the end: ${fmt(loadBefore, 2)}, ${fmt(loadAfter, 2)} (on ${availableParallelism()} cores).`,
      `Memory is flat when the last third's mean RSS is within 10 % of the middle third's (the first third is warm-up): ${Math.abs(growth) <= 10 ? 'flat' : 'NOT flat'}. Mean RSS in each sixth of the run (MiB): ${sixths(
        samples,
      )
        .map((rss) => fmt(rss))
        .join(
          ', ',
        )}. Errors: ${errors === 0 ? 'none' : `${errors}: ${[...kinds].map(([kind, n]) => `${kind} (${n})`).join('; ')}`}.`,
      ...(failModeRefusals() > 0
        ? [
            `Of them, ${failModeRefusals()} are refusals by a hook's fail mode, as designed: "admission unavailable (deadline)" is a decision that missed its budget (\`DECISION_BUDGET_MS\`) because the machine had no CPU left for it, "(breaker)" the decisions refused at once for \`SPILL_BREAKER_MS\` after such a miss, "session failed" the later hooks of a session so refused. Any other error is a defect.`,
          ]
        : []),
    ],
  );
}

/** The mean RSS of each sixth of the run: the curve, to tell a plateau from a climb. */
function sixths(samples: readonly { rss: number }[]): number[] {
  const size = Math.max(1, Math.floor(samples.length / 6));
  return Array.from({ length: 6 }, (_, i) => samples.slice(i * size, (i + 1) * size))
    .filter((part) => part.length > 0)
    .map((part) => part.reduce((sum, s) => sum + s.rss, 0) / part.length);
}

/** The soak, on the local runtime and a fresh DynamoDB Local. */
export function soakRun() {
  return withFreshDynamo((endpoint) => withRuntime(endpoint, (base, pid) => soak(base, pid)));
}
