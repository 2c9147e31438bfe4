import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';

/** One GET; resolves with the status, rejects on a connection error or after `timeoutMs`. */
export function get(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Runs the driver command once through bash; resolves with its exit status. */
export function drive(command: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', command], { timeout: timeoutMs }, (error) => {
      const code = error ? (error as { code?: unknown }).code : 0;
      resolve(typeof code === 'number' ? code : 1);
    });
  });
}

/** Whether something listens on the port now. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
