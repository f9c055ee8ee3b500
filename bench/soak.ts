import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  connectBody,
  ctx,
  fmt,
  post,
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
  const deadline = Date.now() + SOAK_SECONDS * 1000;
  const samples: { t: number; rss: number }[] = [];
  const started = Date.now();
  const sampler = setInterval(
    () => samples.push({ t: (Date.now() - started) / 1000, rss: rssMiB(pid) }),
    2000,
  );
  let hooksSent = 0;
  let errors = 0;
  const send = async (method: string, body: unknown) => {
    hooksSent++;
    const status = await post(base, method, body).catch(() => 0);
    if (status !== 200) errors++;
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
      `Memory is flat when the last third's mean RSS is within 10 % of the middle third's (the first third is warm-up): ${Math.abs(growth) <= 10 ? 'flat' : 'NOT flat'}. Errors: ${errors === 0 ? 'none' : errors}.`,
    ],
  );
}

/** The soak, on the local runtime and a fresh DynamoDB Local. */
export function soakRun() {
  return withFreshDynamo((endpoint) => withRuntime(endpoint, (base, pid) => soak(base, pid)));
}
