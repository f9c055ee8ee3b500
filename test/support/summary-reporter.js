/**
 * Prints the run's totals as one plain closing line, `jest: N passed, N failed, N skipped`, the form
 * CI reads in any language (Jest's own summary is not one of the formats CI recognises). Written at
 * exit so that it is the last line of the run, after Jest's summary.
 *
 * It also ends a run that does not end. On this machine's core count Jest runs the test files in its
 * own process, so a handle a test file leaves open (a server not closed, a socket, a timer, a child
 * process) keeps Jest alive after its summary, and CI waits for it until its own limit. If the process
 * is still alive `EXIT_GRACE_MS` after the run completed (global teardown included), this names what
 * keeps it alive, so that the leak can be found and fixed, and exits with the run's own result.
 */
const EXIT_GRACE_MS = 30_000;

/** What keeps the process alive, one line each: sockets by their ports, child processes by command. */
function openHandles() {
  const lines = [];
  for (const handle of process._getActiveHandles?.() ?? []) {
    const kind = handle?.constructor?.name ?? typeof handle;
    if (handle === process.stdout || handle === process.stderr || handle === process.stdin) continue;
    if (kind === 'Socket' || kind === 'TLSSocket') {
      lines.push(
        `${kind} ${handle.localAddress}:${handle.localPort} -> ${handle.remoteAddress}:${handle.remotePort}`,
      );
    } else if (kind === 'Server') {
      const address = handle.address?.();
      lines.push(`Server listening on ${typeof address === 'object' && address ? address.port : address}`);
    } else if (kind === 'ChildProcess') {
      lines.push(`ChildProcess ${handle.pid} ${(handle.spawnargs ?? []).join(' ')}`);
    } else {
      lines.push(kind);
    }
  }
  const resources = process.getActiveResourcesInfo?.() ?? [];
  const counts = {};
  for (const resource of resources) counts[resource] = (counts[resource] ?? 0) + 1;
  lines.push(`active resources: ${JSON.stringify(counts)}`);
  return lines;
}

export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `jest: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`;
    process.once('exit', () => process.stdout.write(`\n${line}`));
    const code = failed + results.numFailedTestSuites === 0 ? 0 : 1;
    setTimeout(() => {
      process.stderr.write(
        `\n[jest] still running ${EXIT_GRACE_MS / 1000} s after the run completed: a test file left these open ` +
          `(a defect to fix in that file); exiting with the run's result (${code}).\n  ${openHandles().join('\n  ')}\n`,
      );
      process.exit(code);
    }, EXIT_GRACE_MS).unref();
  }
}
