import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { declaredOrigins, reportedOrigins } from '../helpers/origins.js';
import { CLI, ROOT, fixture, runCli, scratch } from '../helpers/run-cli.js';
import { rubyHas } from '../helpers/installed.js';

// Debian's ruby-rspec and ruby-minitest; the gem from its source, on the load path.
const GEM = join(ROOT, 'integrations/ruby/lib');
const has = (program: string, args: string[]) => spawnSync(program, args, { stdio: 'ignore' }).status === 0;
const hasRspec = has('rspec', ['--version']);
const hasMinitest = rubyHas('minitest');

const leaky = fixture('ruby', 'app.rb');
const clean = join(ROOT, 'fixtures/clean/app.py');

async function run(program: string, args: string[], files: Record<string, string>, cli = `node ${CLI}`) {
  const dir = scratch();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return execa(program, args, {
    cwd: dir,
    reject: false,
    env: { PREFORK_CHECK: cli, FIXTURE_SCRATCH: dir, RUBYLIB: GEM },
  });
}

describe.runIf(hasRspec)('RSpec: expect(command).to fork_clean', () => {
  test('a leak fails with the console report; clean passes; an app that never forks raises PreforkCheck::Error', async () => {
    const spec = `require 'prefork_check/rspec'
RSpec.describe 'fork' do
  it('leaky') { expect(['ruby', ${JSON.stringify(leaky)}]).to fork_clean(fork_marker: 'READY') }
  it('clean') { expect(['python3', ${JSON.stringify(clean)}]).to fork_clean(fork_marker: 'READY') }
  it('never ready') { expect(['ruby', '-e', '1']).to fork_clean(fork_marker: 'READY') }
  it('returns the check') { expect(PreforkCheck.run(['python3', ${JSON.stringify(clean)}], fork_marker: 'READY')['status']).to eq('pass') }
end
`;
    const result = await run('rspec', ['--no-color', 'fork_spec.rb'], { 'fork_spec.rb': spec });
    expect(result.exitCode, result.stdout).toBe(1);
    expect(result.stdout).toMatch(/4 examples, 2 failures/);
    expect(result.stdout).toMatch(/to hold nothing beyond stdio when it forks:\n/);
    expect(result.stdout).toMatch(/fd 5 +file +\S*app\.log/);
    expect(result.stdout).toMatch(/origin +\S*fixtures\/ruby\/app\.rb:5 in <main>/);
    expect(result.stdout).toMatch(/fix +/);
    expect(result.stdout).toMatch(/PreforkCheck::Error:\s+The app \(.*\) exited with status 0 before the fork point/);
  });
});

describe.runIf(hasMinitest)('Minitest: assert_fork_clean', () => {
  test('a leak fails with the console report; clean passes; an app that never forks is an error', async () => {
    const tests = `require 'minitest/autorun'
require 'prefork_check/minitest'
class ForkTest < Minitest::Test
  def test_leaky = assert_fork_clean(['ruby', ${JSON.stringify(leaky)}], fork_marker: 'READY')
  def test_clean = assert_fork_clean(['python3', ${JSON.stringify(clean)}], fork_marker: 'READY')
  def test_never_ready = assert_fork_clean(['ruby', '-e', '1'], fork_marker: 'READY')
end
`;
    const result = await run('ruby', ['fork_test.rb'], { 'fork_test.rb': tests });
    expect(result.exitCode, result.stdout).toBe(1);
    expect(result.stdout).toMatch(/3 runs, \d+ assertions, 1 failures, 1 errors, 0 skips/);
    expect(result.stdout).toMatch(/fd 5 +file +\S*app\.log/);
    expect(result.stdout).toMatch(/PreforkCheck::Error: The app \(.*\) exited with status 0 before the fork point/);
  });

  test('no CLI to be found: the error names the four ways it is looked for', async () => {
    const tests = `require 'minitest/autorun'
require 'prefork_check/minitest'
class ForkTest < Minitest::Test
  def test_it = assert_fork_clean(['true'])
end
`;
    const dir = scratch();
    writeFileSync(join(dir, 'fork_test.rb'), tests);
    // Ruby by its path, and nothing on PATH: no prefork-check, no npx.
    const ruby = spawnSync('sh', ['-c', 'command -v ruby'], { encoding: 'utf8' }).stdout.trim();
    const result = await execa(ruby, ['fork_test.rb'], {
      cwd: dir,
      reject: false,
      env: { PREFORK_CHECK: '', RUBYLIB: GEM, PATH: '/nonexistent' },
      extendEnv: false,
    });
    expect(result.stdout).toMatch(/PreforkCheck::Error: prefork-check was not found\. Set PREFORK_CHECK/);
  });
});

describe('the gem beside the attribution bootstrap', () => {
  test('an app that loads the gem itself is still attributed line by line: the two do not clash', async () => {
    const check = await runCli(['--fork-marker', 'READY', '--', 'ruby', '-I', GEM, '-r', 'prefork_check', leaky]);
    expect(check.exitCode, check.stdout + check.stderr).toBe(1);
    expect(reportedOrigins(check.report!)).toEqual(declaredOrigins(leaky));
  });
});
