import { makingFrames } from '../attribution/describe-origin.js';
import type { PresetName } from '../presets/presets.js';
import type { FdRecord, Hint, StackFrame } from '../report/types.js';
import { LIBRARY_HINTS, SERVER_HINTS, kindHint, type LibraryHint } from './hint-table.js';

const isRuby = (file: string) => file.endsWith('.rb') || file.endsWith('.ru');

/** Whether a library frame belongs to the hint's library: its language, and the module or one inside it. */
function inLibrary(frame: StackFrame, hint: LibraryHint): boolean {
  return (
    frame.library &&
    isRuby(frame.file) === (hint.ruby ?? false) &&
    hint.modules.some(
      (name) => frame.module === name || frame.module.startsWith(`${name}.`) || frame.module.startsWith(`${name}/`),
    )
  );
}

/** Whether a native call (sqlite3, a gem's C code) that made the fd is the hint's library. */
function madeInCall(record: FdRecord, hint: LibraryHint): boolean {
  const origin = record.origin;
  return (
    origin?.call !== undefined && isRuby(origin.file) === (hint.ruby ?? false) && hint.modules.includes(origin.call)
  );
}

/**
 * The fix for one leak, most specific first: the library that made it (from the library frames of
 * its creating stack, or the native call it was made in), then its kind; with the server's own hook added when the preset is known,
 * and, when the check follows the first worker (`workerFollowed`), that closing the fd in that hook passes too.
 * Never a library's advice for an fd no frame of that library made.
 */
export function hintFor(record: FdRecord, preset: PresetName | undefined, workerFollowed = false): Hint {
  const makers = makingFrames(record.stack);
  const library = LIBRARY_HINTS.find(
    (hint) =>
      (hint.kinds === undefined || hint.kinds.includes(record.kind)) &&
      (makers.some((frame) => inLibrary(frame, hint)) || madeInCall(record, hint)),
  );
  const { id, text, see } = library ?? kindHint(record.kind, record.socket);
  const server = preset === undefined ? undefined : SERVER_HINTS[preset];
  const link = see ?? server?.see;
  const closing =
    workerFollowed && server?.hook ? ` Closing the inherited copy in ${server.hook} also passes this check.` : '';
  return { id, text: server ? `${text} ${server.text}${closing}` : text, ...(link !== undefined ? { see: link } : {}) };
}
