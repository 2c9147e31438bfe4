import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { PreforkCheckError } from '../errors.js';
import { PACKAGE_ROOT } from '../package-root.js';

/** Where `npm run build` puts the native tracer for this machine's architecture. */
export function nativeTracerPath(arch: string = process.arch): string {
  return join(PACKAGE_ROOT, 'dist', 'native', `prefork-tracer-linux-${arch}`);
}

/** The native tracer's path, or an error that says to use strace. */
export function findNativeTracer(): string {
  const path = nativeTracerPath();
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    throw new PreforkCheckError(
      'TRACER_NOT_FOUND',
      `prefork-check's own tracer is not built for linux-${process.arch} (no executable ${path}). Use \`--tracer strace\`, or build the package with a C compiler installed (\`npm run build\`).`,
    );
  }
}
