/** How the fork point is declared. */
export type ForkPointSpec =
  | { mode: 'marker'; marker: string }
  /**
   * `spawns`: a child that goes on to exec counts too (supervisord's programs). `serverFork`: a
   * server's own worker fork, `module:function` on the forking Python stack, or `native` (made by
   * no Python call); other forks (the app's own helper processes) are passed over.
   */
  | { mode: 'first-fork'; spawns?: boolean; serverFork?: string }
  | { mode: 'exit' };

/** A first fork's worker is followed to its ready point; a spawned program's fds are its own business. */
export function followsWorker(spec: ForkPointSpec): boolean {
  return spec.mode === 'first-fork' && spec.spawns !== true;
}
