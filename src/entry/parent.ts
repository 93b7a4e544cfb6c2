/**
 * Notices when the process that started this one has gone. `npx duo-secops daemon` runs the daemon
 * under npm, which runs it under a shell: a SIGTERM to npx stops npm but not always its grandchild,
 * which would then run on, orphaned. Node has no event for it, so the parent pid is checked on a timer
 * (a few times a minute; the check is one system call).
 */
export interface ParentWatch {
  dispose(): void;
}

const CHECK_EVERY_MS = 2_000;

export function watchParent(onGone: () => void, opts: { everyMs?: number; ppid?: () => number } = {}): ParentWatch {
  const ppid = opts.ppid ?? (() => process.ppid);
  const original = ppid();
  // Started by init (a container's entry point, systemd) there is no parent to lose.
  if (original <= 1) return { dispose: () => {} };
  const timer = setInterval(() => {
    if (ppid() !== original) {
      clearInterval(timer);
      onGone();
    }
  }, opts.everyMs ?? CHECK_EVERY_MS);
  timer.unref();
  return { dispose: () => clearInterval(timer) };
}
