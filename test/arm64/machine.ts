import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT, runFiles, scratch, type CliRun } from '../helpers/run-cli.js';

/** Where test/arm64/image.sh puts the machine. */
const IMAGE = process.env.ARM64_IMAGE ?? join(ROOT, 'node_modules/.cache/prefork-check-arm64');
export const hasImage = () => existsSync(join(IMAGE, 'initrd.gz')) && existsSync(join(IMAGE, 'vmlinuz'));

/** A prefork-check CLI run on the arm64 machine, in a scratch dir; the apps are in /opt/check's `fixtures/` and `native/`. */
export interface PlannedCheck {
  id: string;
  args: string[];
}

/** What one planned check left, as runCli gives it on this machine. */
export interface GuestCheck extends CliRun {
  /** The run's scratch dir on the arm64 machine: the fixtures' files are there. */
  scratch: string;
  /** Where that dir's files were brought back to, here. */
  files: string;
}

const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;

/**
 * Boots the arm64 machine under qemu (emulated: no arm64 hardware needed), runs each check in
 * turn there, and returns what each left. The plan goes in as a second initramfs, which the kernel
 * unpacks over the image's.
 */
export async function checkOnArm64(plan: PlannedCheck[], timeoutMs: number): Promise<Map<string, GuestCheck>> {
  const dir = scratch();
  const planRoot = join(dir, 'plan');
  mkdirSync(planRoot);
  writeFileSync(
    join(planRoot, 'plan.sh'),
    plan.map(({ id, args }) => `check ${[id, ...args].map(quote).join(' ')}\n`).join(''),
  );
  const planCpio = execFileSync('sh', ['-c', 'echo plan.sh | cpio -o -H newc --quiet | gzip'], { cwd: planRoot });
  const initrd = join(dir, 'initrd.gz');
  writeFileSync(initrd, Buffer.concat([readFileSync(join(IMAGE, 'initrd.gz')), planCpio]));
  const machine = await execa(
    'qemu-system-aarch64',
    [
      '-M',
      'virt',
      '-cpu',
      'max',
      '-smp',
      '2',
      '-m',
      '3072',
      '-nographic',
      // No network device: nothing in the machine needs one, and qemu's default NIC needs a ROM
      // (efi-virtio.rom) that Debian installs only with qemu's recommended packages.
      '-nic',
      'none',
      '-no-reboot',
      '-kernel',
      join(IMAGE, 'vmlinuz'),
    ].concat(['-initrd', initrd, '-append', 'console=ttyAMA0 quiet loglevel=1 rdinit=/init panic=-1']),
    { reject: false, timeout: timeoutMs, stdin: 'ignore' },
  );
  const console = machine.stdout.replaceAll('\r', '');
  const encoded = /^=== runs\n([\s\S]*?)^=== end$/m.exec(console)?.[1];
  if (!encoded)
    throw new Error(
      `the arm64 machine wrote no results (qemu exit ${machine.exitCode}):\n${console.slice(-4000)}\n${machine.stderr}`,
    );
  const runs = join(dir, 'out');
  mkdirSync(runs);
  // Only base64 lines: a kernel message could come in between.
  const archive = Buffer.from(
    encoded
      .split('\n')
      .filter((line) => /^[A-Za-z0-9+/=]+$/.test(line))
      .join(''),
    'base64',
  );
  execFileSync('tar', ['xzf', '-', '-C', runs], { input: archive });
  const checks = new Map<string, GuestCheck>();
  for (const id of readdirSync(join(runs, 'runs'))) {
    const files = join(runs, 'runs', id);
    const read = (name: string) => (existsSync(join(files, name)) ? readFileSync(join(files, name), 'utf8') : '');
    checks.set(id, {
      exitCode: Number(read('status') || -1),
      stdout: read('stdout'),
      stderr: read('stderr'),
      ...runFiles(files),
      scratch: `/tmp/runs/${id}`,
      files,
    });
  }
  return checks;
}
