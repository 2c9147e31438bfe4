import { basename } from 'node:path';
import type { Proc } from '../model/task.js';

export function describeProcess(proc: Proc): string {
  return proc.program ? `pid ${proc.pid} (${basename(proc.program)})` : `pid ${proc.pid}`;
}
