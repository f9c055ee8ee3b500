/**
 * The Lambda function of a registry entry in a synthesized template: its logical id begins with the
 * construct that holds it (`Hooks`, `Sender`, ...) and the entry's name without dashes.
 */
const PARENTS = ['Hooks', 'Sender', 'Spill', 'Monitoring', 'Realtime', 'NodePoller', 'Endpoints', 'Usage'];

/** The logical id of function `name` among `resources` (a template's `Resources`). */
export function functionIdIn(resources: Record<string, { Type: string }>, name: string): string {
  const plain = name.replace(/-/g, '');
  const found = Object.entries(resources).find(
    ([id, r]) => r.Type === 'AWS::Lambda::Function' && PARENTS.some((p) => id.startsWith(`${p}${plain}`)),
  );
  if (!found) throw new Error(`no function ${name}`);
  return found[0];
}
