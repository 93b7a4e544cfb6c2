/**
 * Test-only crash points. `DUO_SECOPS_FAILPOINT=<name>:<n>` kills the process with SIGKILL the n-th
 * time the named point is reached (`*` matches any point), so crash tests can stop a run between any two
 * steps of the protocol. Unset (always, in production) it costs one branch.
 */
export type FailpointName =
  | 'window.opened'
  | 'page.fetched'
  | 'object.writing'
  | 'object.written'
  | 'checkpoint.committing'
  | 'checkpoint.committed';

export type Failpoint = (name: FailpointName) => void;

export const noFailpoint: Failpoint = () => {};

/** The failpoint the `failpoint` setting (DUO_SECOPS_FAILPOINT) names, or none. */
export function failpointFromSetting(spec: string | undefined): Failpoint {
  if (!spec) return noFailpoint;
  const m = /^([a-z.*]+):(\d+)$/.exec(spec.trim());
  if (!m) throw new Error(`DUO_SECOPS_FAILPOINT must look like <point>:<n>, got ${spec}`);
  const target = m[1];
  const n = Number(m[2]);
  let hits = 0;
  return (name) => {
    if (target !== '*' && target !== name) return;
    hits += 1;
    if (hits === n) process.kill(process.pid, 'SIGKILL');
  };
}
