import { readdirSync, readFileSync } from 'node:fs';

/** Live processes whose environment holds `NAME=value`: what a check started and must not leave behind. */
export function processesWithEnv(name: string, value: string): number[] {
  const wanted = `${name}=${value}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (/\) Z /.test(stat)) continue; // a zombie is dead, only not yet reaped
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(wanted)) pids.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

/** Waits up to `ms` for `done` to say so, looking every `every` ms; whether it did. */
export async function waitFor(done: () => boolean, ms = 15_000, every = 50): Promise<boolean> {
  for (const deadline = Date.now() + ms; !done(); await new Promise((resolve) => setTimeout(resolve, every)))
    if (Date.now() > deadline) return false;
  return true;
}

/** Waits up to `ms` for `check` to return an empty list, then returns what it last said. */
export async function settle(check: () => number[], ms = 2000): Promise<number[]> {
  let left: number[] = [];
  await waitFor(() => (left = check()).length === 0, ms);
  return left;
}

/** Our environment without this Vitest's own variables, which would make a child Vitest think it is a worker. */
export function childVitestEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'NODE_OPTIONS'),
  );
}

/** A process's program as started, or '' once it is gone. */
export function argv0(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0]!;
  } catch {
    return '';
  }
}
