import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';

/** Whether a syslog client can reach /dev/log: it answers, we may make it (root, none there), or neither. */
const PROBE = `
import os, socket
try:
    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).connect("/dev/log")
    print("answers")
except OSError:
    print("absent" if not os.path.lexists("/dev/log") and os.access("/dev", os.W_OK) else "unusable")
`;

/** Listens at /dev/log, draining every message, until its stdin closes (our process's end included); then removes it. */
const LISTEN = `
import os, socket, sys, threading
log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
log.bind("/dev/log")
try:
    threading.Thread(target=lambda: [log.recv(65536) for _ in iter(int, 1)], daemon=True).start()
    print("listening", flush=True)
    sys.stdin.read()
finally:
    os.unlink("/dev/log")
`;

const state = spawnSync('python3', ['-c', PROBE], { encoding: 'utf8' }).stdout.trim();

/** Whether the system logger's socket can be had for a test: a real one, or one made for it (CI runs as root, without one). */
export const devLogUsable = state === 'answers' || state === 'absent';

/** Runs `body` while /dev/log answers: the system's own, or one listening for the test's duration. */
export async function withDevLog<T>(body: () => Promise<T>): Promise<T> {
  if (state === 'answers') return body();
  const listener = spawn('python3', ['-c', LISTEN], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(listener.stdout, 'data')) as [Buffer];
    if (line.toString().trim() !== 'listening') throw new Error('no listener at /dev/log');
    return await body();
  } finally {
    listener.stdin.end();
    if (listener.exitCode === null) await once(listener, 'exit');
  }
}
