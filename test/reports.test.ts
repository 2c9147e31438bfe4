import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { foldStack } from '../src/reporters/console.js';
import { normalizeContext, normalizePath } from '../src/baseline/normalize.js';
import { project } from './helpers/project.js';
import { ROOT, fixture, runCli, scratch } from './helpers/run-cli.js';

const xpath = async (file: string, expression: string) =>
  (await execa('xmllint', ['--xpath', expression, file])).stdout.trim();

/** A check of one line of Python run to READY (FIXTURE_SCRATCH is its scratch), with its JUnit report. */
async function checkWithJunit(code: string) {
  const junit = join(scratch(), 'junit.xml');
  const run = await runCli(['--junit', junit, '--fork-marker', 'READY', '--', 'python3', '-c', code]);
  return { run, junit };
}

describe('JUnit XML', () => {
  test("a path with XML's own characters (]]>, &, quotes, <) is written as it is, in a document the schema accepts", async () => {
    const name = 'a]]>b&c"d<e\'f.log';
    const { run, junit } = await checkWithJunit(
      `import os, time; f = open(os.path.join(os.environ['FIXTURE_SCRATCH'], ${JSON.stringify(name)}), 'w'); print('READY', flush=True); time.sleep(30)`,
    );
    expect(run.exitCode, run.stderr).toBe(1);
    await execa('xmllint', ['--noout', '--schema', join(ROOT, 'test/schemas/junit.xsd'), junit]);
    expect(await xpath(junit, 'string(//failure/@message)')).toContain(`${run.scratch}/${name}`);
    expect(await xpath(junit, 'string(//failure)')).toContain(`fd 3 file ${run.scratch}/${name}`);
  });

  test('one line’s files that need different fixes are testcases with names of their own', async () => {
    const { run, junit } = await checkWithJunit(
      `import os, sqlite3, time; d = os.environ['FIXTURE_SCRATCH']; both = (sqlite3.connect(os.path.join(d, 'app.db')), open(os.path.join(d, 'app.log'), 'w')); print('READY', flush=True); time.sleep(30)`,
    );
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.report!.leaks.map((leak) => leak.hint?.id).sort()).toEqual(['file-at-load', 'sqlite3-connection']);
    expect(await xpath(junit, 'count(//testcase)')).toBe('2');
    const names = [
      await xpath(junit, 'string((//testcase)[1]/@name)'),
      await xpath(junit, 'string((//testcase)[2]/@name)'),
    ];
    expect(names.sort()).toEqual([
      'no file left open by <string>:1 (fix: file-at-load)',
      'no file left open by <string>:1 (fix: sqlite3-connection)',
    ]);
  });

  test('a testsuite per check, a failing testcase per leak site with its stack, a passing one when clean; valid against the schema CI tools read', async () => {
    const dir = project({
      'prefork-check.config.json': {
        forkMarker: 'READY',
        checks: [
          { name: 'web', command: [fixture('pkgapp', 'serve')] },
          { name: 'worker', entry: fixture('clean') },
        ],
      },
    });
    const junit = join(dir, 'junit.xml');
    const run = await runCli(['--junit', junit], { cwd: dir });
    expect(run.exitCode).toBe(1);
    await execa('xmllint', ['--noout', '--schema', join(ROOT, 'test/schemas/junit.xsd'), junit]);
    expect(await xpath(junit, 'string(/testsuites/@failures)')).toBe('1');
    expect(await xpath(junit, 'count(//testsuite)')).toBe('2');
    const failure = '//testsuite[@name="web"]/testcase';
    expect(await xpath(junit, `string(${failure}/@name)`)).toBe(
      `no file left open by ${join(ROOT, 'fixtures/pkgapp/storage.py')}:4`,
    );
    expect(await xpath(junit, `string(${failure}/failure/@type)`)).toBe('LeakedFd');
    // Where annotation actions point: the file and line that made it.
    expect(await xpath(junit, `string(${failure}/@file)`)).toBe(join(ROOT, 'fixtures/pkgapp/storage.py'));
    expect(await xpath(junit, `string(${failure}/@line)`)).toBe('4');
    expect(Number(await xpath(junit, 'string(//testsuite[@name="worker"]/testcase/@time)'))).toBeGreaterThan(0);
    expect(await xpath(junit, `string(${failure}/failure)`)).toMatch(
      /fd 3 file .*journal\.log[^]*stack:\n .*storage\.py:4 in <module>\n .*service\.py:2 in <module>/,
    );
    expect(await xpath(junit, 'string(//testsuite[@name="worker"]/testcase/@name)')).toBe(
      'nothing open at the fork point beyond stdio',
    );
    expect(await xpath(junit, 'count(//testsuite[@name="worker"]/testcase/failure)')).toBe('0');
  });

  test('a check that could not be done is an error testcase', async () => {
    const dir = scratch();
    const run = await runCli([
      '--junit',
      join(dir, 'junit.xml'),
      '--fork-marker',
      'READY',
      '--',
      'python3',
      '-c',
      'pass',
    ]);
    expect(run.exitCode).toBe(2);
    expect(await xpath(join(dir, 'junit.xml'), 'string(//testcase/error/@type)')).toBe('APP_EXITED_BEFORE_FORK_POINT');
  });
});

describe('GitHub Actions', () => {
  test('::error annotations at the creating line, and a Markdown summary of the step', async () => {
    const summary = join(scratch(), 'summary.md');
    const run = await runCli(['--entry', fixture('log-twice'), '--fork-marker', 'READY'], {
      env: { GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: ROOT, GITHUB_STEP_SUMMARY: summary },
    });
    expect(run.exitCode).toBe(1);
    const annotations = run.stdout.split('\n').filter((line) => line.startsWith('::'));
    expect(annotations).toEqual([
      expect.stringMatching(
        /^::error file=fixtures\/log-twice\/app\.py,line=10,title=prefork-check%3A file left open at the fork point::fd 3 \(file .*app\.log\) still open when .* forks its workers/,
      ),
      expect.stringMatching(/^::error file=fixtures\/log-twice\/app\.py,line=11,title=.*::fd 4 /),
    ]);
    const markdown = readFileSync(summary, 'utf8');
    expect(markdown).toMatch(/^## prefork-check$/m);
    expect(markdown).toMatch(
      /^\| 3 \| file \| <code>.*app\\\.log<\/code> \| <code>fixtures\\\/log\\-twice\\\/app\\\.py\\:10<\/code> in <code>\\<module\\><\/code> \| \*\*leak\*\* \| A log file opened while the app loaded by a logging FileHandler .* \|$/m,
    );
  });
});

describe('the console', () => {
  test('one line leaking 50 sockets is one block with its count', async () => {
    const run = await runCli(['--entry', fixture('many-sockets'), '--fork-marker', 'READY']);
    expect(run.exitCode).toBe(1);
    expect(run.report!.leaks).toHaveLength(51);
    expect(run.stdout.match(/^ {2}fds? /gm)).toHaveLength(2);
    expect(run.stdout).toMatch(
      /^ {2}fds 4, 5, 6, 7, 8, … \(x50\) socket +tcp 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ and 49 other targets$/m,
    );
  });

  test('the same file open twice (two handlers on one log) is flagged', async () => {
    const run = await runCli(['--entry', fixture('log-twice'), '--fork-marker', 'READY']);
    expect(run.report!.leaks.map((leak) => leak.sameTargetAs)).toEqual([[4], [3]]);
    expect(run.stdout).toMatch(/duplicate fds 3, 4 are open on the same file/);
  });
});

describe('baseline keys', () => {
  test('paths in the project, in temp dirs and in /proc lose what changes between runs', () => {
    const context = { ...normalizeContext('/srv/app'), tempDirs: ['/tmp'] };
    expect(normalizePath('/srv/app/var/app.log', context)).toBe('<project>/var/app.log');
    expect(normalizePath('/tmp/pytest-of-root/pytest-12/app.log', context)).toBe('<tmp>/*/*/app.log');
    expect(normalizePath('/tmp/tmpa1b2c3d4', context)).toBe('<tmp>/*');
    expect(normalizePath('/tmp/app.sock', context)).toBe('<tmp>/app.sock');
    expect(normalizePath('/proc/4242/status', context)).toBe('/proc/*/status');
    expect(normalizePath('/var/log/app.log', context)).toBe('/var/log/app.log');
    // O_TMPFILE: the kernel names the file by its inode, new each run.
    expect(normalizePath('/srv/app/var/#2147358', context)).toBe('<project>/var/#*');
    expect(normalizePath('/var/spool/#12', context)).toBe('/var/spool/#*');
    expect(normalizePath('/var/spool/#12.txt', context)).toBe('/var/spool/#12.txt');
  });
});

describe('folded stacks', () => {
  const frame = (file: string, module: string, library: boolean) => ({ file, line: 1, function: 'f', module, library });
  test('every run of library frames is one line naming its packages, one frame or many, wherever the interpreter lives', () => {
    const stack = [
      frame('/root/.pyenv/versions/3.11.7/lib/python3.11/socket.py', 'socket', true),
      frame('app/db.py', 'app.db', false),
      frame('/usr/lib/python3/dist-packages/sqlalchemy/engine/default.py', 'sqlalchemy.engine.default', true),
      frame('/usr/lib/python3/dist-packages/sqlalchemy/engine/create.py', 'sqlalchemy.engine.create', true),
      frame('/usr/lib/python3/dist-packages/sqlalchemy/pool/base.py', 'sqlalchemy.pool.base', true),
      frame('config.ru', 'config', false),
      frame('/var/lib/gems/3.1.0/gems/rack-2.2.4/lib/rack/builder.rb', 'rack/builder', true),
    ];
    expect(foldStack(stack)).toEqual([
      '… 1 library frame (socket)',
      'app/db.py:1 in f',
      '… 3 library frames (sqlalchemy)',
      'config.ru:1 in f',
      '… 1 library frame (rack)',
    ]);
  });
});
