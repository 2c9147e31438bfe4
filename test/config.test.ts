import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { nativeTracerPath } from '../src/launch/native-tracer.js';
import { project } from './helpers/project.js';
import { ROOT, fixture, runCli, scratch } from './helpers/run-cli.js';

/** Each tracer, where prefork-check's own is built (always in CI). */
const eachTracer = test.skipIf(!existsSync(nativeTracerPath()) && !process.env.CI).each(['native', 'strace']);

/** The app's lines, ending at its marker and gone at once, checked by `tracer` with these allow rules. */
function checkAppThatExits(tracer: string, lines: string[], allow: unknown[]) {
  const dir = project({
    'app.py': [...lines, "print('READY', flush=True)", 'os._exit(0)'].join('\n'),
    'prefork-check.config.json': { entry: 'app.py', forkMarker: 'READY', allow },
  });
  return runCli(['--tracer', tracer], { cwd: dir }).then((run) => ({ ...run, dir }));
}

describe('allow rules', () => {
  test('every form excuses its fd, each reports its count, and a rule that matched nothing is listed', async () => {
    const dir = project({
      'prefork-check.config.json': {
        entry: fixture('rules'),
        forkMarker: 'READY',
        allow: [
          { path: '${SCRATCH}/exact.txt', reason: 'replaced below' },
          '**/*.log',
          { under: '${SCRATCH}/spool' },
          { kind: 'eventfd' },
          { socket: { family: 'tcp', address: '127.0.0.1' } },
          { createdIn: 'open_cache' },
          { path: '/var/run/never-there.pid' },
        ],
      },
    });
    // The scratch dir differs per run: put it into the config now that it is known.
    const { readFileSync, writeFileSync } = await import('node:fs');
    const configFile = join(dir, 'prefork-check.config.json');
    const run = await runCli([], {
      cwd: dir,
      before: (scratch) =>
        writeFileSync(configFile, readFileSync(configFile, 'utf8').replaceAll('${SCRATCH}', scratch)),
    });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const allowedBy = Object.fromEntries(
      run.report!.leaks.map((leak) => [leak.target.replace(run.scratch, '$S'), leak.allowedBy]),
    );
    expect(allowedBy).toEqual({
      '$S/exact.txt': `path ${run.scratch}/exact.txt`,
      '$S/app.log': 'glob **/*.log',
      '$S/spool/job.txt': `under ${run.scratch}/spool`,
      'anon_inode:[eventfd]': 'kind eventfd',
      [run.report!.leaks.find((leak) => leak.kind === 'socket')!.target]: 'socket tcp 127.0.0.1',
      '$S/cache.bin': 'createdIn open_cache',
    });
    expect(run.report!.rules.map((rule) => rule.allowed)).toEqual([1, 1, 1, 1, 1, 1, 0]);
    expect(run.stdout).toMatch(/allow rule matched nothing: path \/var\/run\/never-there\.pid/);
  });

  test('a socket rule on a unix path matches the socket bound there, not the one connected to it', async () => {
    const dir = project({
      'prefork-check.config.json': {
        entry: fixture('unix'),
        forkMarker: 'READY',
        allow: [{ socket: { family: 'unix', address: '${SCRATCH}/app.sock' } }],
      },
    });
    const { readFileSync, writeFileSync } = await import('node:fs');
    const configFile = join(dir, 'prefork-check.config.json');
    const run = await runCli([], {
      cwd: dir,
      before: (scratch) =>
        writeFileSync(configFile, readFileSync(configFile, 'utf8').replaceAll('${SCRATCH}', scratch)),
    });
    const allowed = Object.fromEntries(
      run.report!.leaks.map((leak) => [leak.target.replace(run.scratch, '$S'), leak.allowed]),
    );
    expect(allowed).toEqual({
      'unix $S/app.sock': true,
      'unix -> $S/app.sock': false,
      'unix $S/log.sock': false,
      'unix -> $S/log.sock': false,
    });
    expect(run.exitCode).toBe(1);
  });

  // A client's local port is picked by the OS; strace sees it only if the fd is used again or the
  // app still runs when the table is described (this one is gone at once): it is not matched.
  eachTracer(
    'a socket rule matches a listener by its address, never a connected socket by the local end the OS picked (%s)',
    async (tracer) => {
      const run = await checkAppThatExits(
        tracer,
        [
          'import os, socket',
          'listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen()',
          'client = socket.create_connection(listener.getsockname())',
          'udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.connect(("127.0.0.1", 9))',
        ],
        [{ socket: { address: '127.0.0.1' } }],
      );
      expect(run.exitCode, run.stdout + run.stderr).toBe(1);
      expect(run.report!.leaks.map((leak) => [leak.socket?.peer === undefined, leak.allowed])).toEqual([
        [true, true],
        [false, false],
        [false, false],
      ]);
    },
  );

  // Whether a target ends with " (deleted)" is timing to strace (it shows only once the fd is used
  // again, or while the app still runs); prefork-check's own tracer reads it from the kernel.
  eachTracer(
    'path rules and globs excuse a file renamed or unlinked before the fork point, by the path it was opened at (%s)',
    async (tracer) => {
      const run = await checkAppThatExits(
        tracer,
        [
          'import os',
          "fds = [os.open(name, os.O_CREAT | os.O_WRONLY) for name in ('a.tmp', 'b.tmp', 'c.tmp')]",
          "for name in ('a.tmp', 'b.tmp', 'c.tmp'): os.unlink(name)",
          "log = open('opened.log', 'w'); os.rename('opened.log', 'renamed.log')",
        ],
        [{ path: 'a.tmp' }, '**/b.tmp', { glob: '/**/c.tmp' }, { path: 'opened.log' }],
      );
      const dir = run.dir;
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      const native = tracer === 'native';
      // strace: with or without " (deleted)", by timing; the excuse is the same either way.
      const target = (leak: { target: string }) => (native ? leak.target : leak.target.replace(/ \(deleted\)$/, ''));
      const said = run.report!.leaks.map((leak) => [target(leak).replace(dir, '$D'), leak.allowedBy]);
      const shown = native ? ' (deleted)' : '';
      expect(said).toEqual([
        [`$D/a.tmp${shown}`, `path a.tmp`],
        [`$D/b.tmp${shown}`, 'glob **/b.tmp'],
        [`$D/c.tmp${shown}`, 'glob /**/c.tmp'],
        [native ? '$D/renamed.log' : '$D/opened.log', 'path opened.log'],
      ]);
      if (native) expect(run.report!.leaks[3]!.openedAs).toBe(join(dir, 'opened.log'));
    },
  );

  test.each([['.'], ['/']])(
    'a path rule (under %s) excuses files only, never a pipe, eventfd, epoll, memfd or socket',
    async (under) => {
      const dir = project({
        'prefork-check.config.json': {
          entry: fixture('pathless'),
          forkMarker: 'READY',
          allow: [{ under }, { glob: '/**' }],
        },
      });
      // The app runs in the scratch dir, so `under .` covers the file it opens there.
      const run = await runCli([], { cwd: dir, env: { FIXTURE_SCRATCH: dir } });
      expect(run.exitCode, run.stdout + run.stderr).toBe(1);
      const counted = run.report!.leaks.filter((leak) => !leak.allowed).map((leak) => leak.kind);
      expect(counted.sort()).toEqual(['epoll', 'eventfd', 'memfd', 'pipe', 'pipe', 'socket']);
      const allowed = run.report!.leaks.filter((leak) => leak.allowed);
      expect(allowed.map((leak) => [leak.kind, leak.target.replace(dir, '$D')])).toEqual([['file', '$D/data.txt']]);
    },
  );

  test('--allow adds a glob to the config’s rules', async () => {
    const run = await runCli(['--entry', fixture('leaky'), '--fork-marker', 'READY', '--allow', '**/app.log']);
    expect(run.exitCode).toBe(0);
    expect(run.report!.leaks[0]!.allowedBy).toBe('glob **/app.log');
    expect(run.report!.leaks[0]!.excuse).toEqual({ type: 'rule', label: 'glob **/app.log' });
  });
});

describe('the config file', () => {
  test('runs its checks with plain `prefork-check`, in parallel, each its own report', async () => {
    const dir = project({
      'prefork-check.config.json': {
        forkMarker: 'READY',
        concurrency: 2,
        checks: [
          { name: 'web', entry: fixture('leaky') },
          { name: 'worker', entry: fixture('clean') },
        ],
      },
    });
    const run = await runCli([], { cwd: dir });
    expect(run.exitCode).toBe(1);
    expect(run.result!.checks.map((check) => [check.name, check.status])).toEqual([
      ['web', 'fail'],
      ['worker', 'pass'],
    ]);
    expect(run.stdout).toMatch(/FAIL {2}2 checks: 1 passed, 1 failed \(web\)/);
  });

  test('a config saved with a byte-order mark is read, and its errors still name their line', async () => {
    const config =
      '{\n  "command": ["bash", "-c", "exec 7</etc/hostname; echo READY; sleep 30"],\n  "forkMarker": "READY"\n}\n';
    const good = await runCli([], { cwd: project({ 'prefork-check.config.json': `\ufeff${config}` }) });
    expect(good.exitCode, good.stderr).toBe(1);
    expect(good.report!.leaks.map((leak) => leak.target)).toEqual(['/etc/hostname']);
    const typo = config.replace('"forkMarker"', '"forkMarkr"');
    const bad = await runCli([], { cwd: project({ 'prefork-check.config.json': `\ufeff${typo}` }) });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/forkMarkr.*\(line 3\)/);
  });

  test('-q names each check on its verdict line; a fork point on the command line replaces the config’s', async () => {
    const dir = project({
      'prefork-check.config.json': {
        forkMarker: 'NEVER',
        timeout: 20,
        checks: [
          {
            name: 'web',
            command: [
              'python3',
              '-c',
              'import os, time\nf = open("/etc/hostname")\nos.fork() or os._exit(0)\ntime.sleep(30)',
            ],
          },
          { name: 'worker', command: ['python3', '-c', 'import os, time\nos.fork() or os._exit(0)\ntime.sleep(30)'] },
        ],
      },
    });
    const run = await runCli(['-q', '--fork-at-first-fork'], { cwd: dir });
    expect(run.result!.checks.map((check) => [check.name, check.forkPoint.mode, check.status])).toEqual([
      ['web', 'first-fork', 'fail'],
      ['worker', 'first-fork', 'pass'],
    ]);
    expect(run.stdout).toMatch(/^FAIL {2}web: 1 fd open at the fork point \(1 file\)$/m);
    expect(run.stdout).toMatch(/^PASS {2}worker: nothing open at the fork point beyond stdio$/m);
  });

  test('or a "prefork-check" field in package.json', async () => {
    const dir = project({
      'package.json': { name: 'svc', 'prefork-check': { entry: fixture('clean'), forkMarker: 'READY' } },
    });
    const run = await runCli([], { cwd: dir });
    expect(run.exitCode).toBe(0);
    expect(run.report!.name).toBe(fixture('clean'));
  });

  test('unknown keys and wrong types: exit 2, every problem with its path and line', async () => {
    const dir = project({
      'prefork-check.config.json':
        '{\n  "entry": "app.py",\n  "forkMarkr": "READY",\n  "timeout": "30",\n  "allow": [{ "kind": "eventfd2" }, { "reason": "no match given" }],\n  "checks": [{ "timout": 5, "traceOut": "t.log" }]\n}\n',
    });
    const run = await runCli([], { cwd: dir });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/The config in .*prefork-check\.config\.json is not valid:/);
    expect(run.stderr).toMatch(/forkMarkr: unknown key, did you mean "forkMarker"\? \(known: .*\) \(line 3\)/);
    expect(run.stderr).toMatch(/checks\[0\]\.timout: unknown key, did you mean "timeout"\? .*\(line 6\)/);
    // A flag's or the API's only, not a config's: this machine's strace, a run's own debugging.
    expect(run.stderr).toMatch(/checks\[0\]\.traceOut: unknown key/);
    expect(run.stderr).toMatch(/timeout: expected a number from 0\.001 to 2147483, got the text "30" \(line 4\)/);
    expect(run.stderr).toMatch(/allow\[0\]\.kind: expected one of file, .*got the text "eventfd2" \(line 5\)/);
    expect(run.stderr).toMatch(/allow\[1\]: a rule needs at least one of path, glob/);
    expect(run.report).toBeUndefined();
  });

  test('found from a subdirectory, up to the package root; "$schema" is accepted', async () => {
    const dir = project({
      'package.json': { name: 'app', private: true },
      'prefork-check.config.json': {
        $schema: './node_modules/prefork-check/prefork-check.schema.json',
        entry: fixture('clean'),
        forkMarker: 'READY',
      },
      'src/deep/.keep': '',
    });
    const run = await runCli([], { cwd: join(dir, 'src', 'deep') });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.report!.name).toBe(fixture('clean'));
    // Not past the package root: a project inside another has no config of its own.
    const inner = join(dir, 'src', 'inner');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(inner);
    writeFileSync(join(inner, 'package.json'), '{"name": "inner"}');
    const none = await runCli([], { cwd: inner });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/Nothing to check/);
  });

  test('a config that is not JSON, and a --config that is not there', async () => {
    const dir = project({ 'prefork-check.config.json': '{ "entry": "app.py", }' });
    const broken = await runCli([], { cwd: dir });
    expect(broken.exitCode).toBe(2);
    expect(broken.stderr).toMatch(/The config .* is not valid JSON at line 1, column 22/);
    const missing = await runCli(['--config', 'ci/prefork.json'], { cwd: ROOT });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/The config file ci\/prefork\.json does not exist/);
  });
});

describe('--shard and merge-reports', () => {
  test('shards split the checks without overlap, and their reports merge into the whole run', async () => {
    const checks = ['a', 'b', 'c'].map((name) => ({ name, entry: fixture(name === 'b' ? 'leaky' : 'clean') }));
    const dir = project({ 'prefork-check.config.json': { forkMarker: 'READY', checks } });
    const first = await runCli(['--shard', '1/2', '--json', join(dir, 'one.json')], { cwd: dir, json: false });
    const second = await runCli(['--shard', '2/2', '--json', join(dir, 'two.json')], { cwd: dir, json: false });
    expect([first.exitCode, second.exitCode]).toEqual([1, 0]);
    const merged = await runCli(['merge-reports', 'one.json', 'two.json'], { cwd: dir });
    expect(merged.exitCode).toBe(1);
    expect(merged.result!.checks.map((check) => check.name)).toEqual(['a', 'b', 'c']);
    const again = await runCli(['merge-reports', 'o*.json', 'two.json', join(dir, 'one.json')], { cwd: dir });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/The check "a" is in more than one report/);
  });
});

describe('which config applies, and which is refused', () => {
  const allowAll = { allow: ['**'], forkMarker: 'READY' };

  test('without a project marker above, a config in a parent directory is not used: only the current one', async () => {
    // Scratch dirs sit in the temp dir, which no project marker is above.
    const dir = project({ 'prefork-check.config.json': allowAll, 'sub/.keep': '' });
    const run = await runCli(['--entry', fixture('leaky'), '--fork-marker', 'READY'], { cwd: join(dir, 'sub') });
    expect(run.exitCode, run.stdout).toBe(1);
    expect(run.stdout).not.toMatch(/^config:/m);
  });

  test.each(['pyproject.toml', 'setup.cfg', 'setup.py', 'Gemfile', 'package.json', '.git/HEAD'])(
    'a Python or Ruby project (%s) is a root: its config applies from a subdirectory, and is named',
    async (marker) => {
      const dir = project({
        'prefork-check.config.json': allowAll,
        [marker]: marker === 'package.json' ? '{}' : '',
        'sub/.keep': '',
      });
      const run = await runCli(['--entry', fixture('leaky')], { cwd: join(dir, 'sub') });
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain(`config: ${join(dir, 'prefork-check.config.json')} (gives `);
      expect(run.result!.config!.settings.sort()).toEqual(['allow (line 2)', 'forkMarker (line 5)']);
      expect(run.result!.config!.file).toBe(join(dir, 'prefork-check.config.json'));
    },
  );

  test.each([
    ['another user owns it', (file: string) => chownSync(file, 65534, 65534), /belongs to another user \(uid 65534\)/],
    ['others can write to it', (file: string) => chmodSync(file, 0o666), /others can write to it/],
  ])('a config found by looking is refused when %s', async (_, spoil, message) => {
    const dir = project({ 'prefork-check.config.json': allowAll, 'pyproject.toml': '' });
    spoil(join(dir, 'prefork-check.config.json'));
    const run = await runCli(['--entry', fixture('leaky')], { cwd: dir });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain(join(dir, 'prefork-check.config.json'));
  });

  test.each([
    ['a fifo', (file: string) => execFileSync('mkfifo', [file]), /it is a fifo, not a regular file/],
    ['/dev/zero', () => undefined, /it is a device, not a regular file/],
    ['a directory', (file: string) => mkdirSync(file), /it is a directory, not a regular file/],
    [
      'over 4 MB',
      (file: string) => writeFileSync(file, `{"name": "${'x'.repeat(5 * 1024 * 1024)}"}`),
      /it is 6 MB, more than the 4 MB/,
    ],
  ])('--config naming %s: exit 2 at once, nothing read from it', async (what, make, message) => {
    const dir = scratch();
    const file = what === '/dev/zero' ? '/dev/zero' : join(dir, 'config.json');
    make(file);
    const run = await runCli(['--config', file, '--entry', fixture('clean'), '--fork-marker', 'READY'], { cwd: dir });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  test('a fifo as --baseline: exit 2 at once', async () => {
    const dir = scratch();
    execFileSync('mkfifo', [join(dir, 'baseline.json')]);
    const run = await runCli([
      '--baseline',
      join(dir, 'baseline.json'),
      '--entry',
      fixture('clean'),
      '--fork-marker',
      'READY',
    ]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/the baseline .* it is a fifo/);
  });

  test('a key given twice in a config or a baseline is an error with its line, not the last one silently winning', async () => {
    const dir = project({
      'prefork-check.config.json': '{\n  "forkMarker": "READY",\n  "allow": ["**"],\n  "allow": []\n}\n',
    });
    const run = await runCli(['--entry', fixture('leaky')], { cwd: dir });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/gives the key "allow" twice in one object \(again at line 4\)/);
    const baseline = project({
      'b.json':
        '{"version": 1, "entries": [{"check": "a", "check": "b", "kind": "file", "target": "x", "site": [], "count": 1, "note": ""}]}',
    });
    const broken = await runCli([
      '--baseline',
      join(baseline, 'b.json'),
      '--entry',
      fixture('clean'),
      '--fork-marker',
      'READY',
    ]);
    expect(broken.exitCode).toBe(2);
    expect(broken.stderr).toMatch(/gives the key "check" twice/);
  });
});

describe('--check', () => {
  test('runs only the config’s checks of those names; an unknown name lists the ones there are', async () => {
    const dir = project({
      'prefork-check.config.json': {
        forkMarker: 'READY',
        checks: [
          { name: 'web', entry: fixture('leaky') },
          { name: 'worker', entry: fixture('clean') },
        ],
      },
    });
    const one = await runCli(['--check', 'worker'], { cwd: dir });
    expect(one.exitCode, one.stdout).toBe(0);
    expect(one.result!.checks.map((check) => check.name)).toEqual(['worker']);
    const unknown = await runCli(['--check', 'api'], { cwd: dir });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toBe('prefork-check: The config has no check named "api"; its checks: "web", "worker".');
  });
});
