import { describe, expect, test } from 'vitest';
import { detectPreset } from '../src/presets/presets.js';

describe('a preset is detected from the command, through the wrappers people start servers with', () => {
  test.each([
    [['gunicorn', '--preload', 'app:app'], 'gunicorn'],
    [['/usr/bin/python3', '-m', 'celery', '-A', 'tasks', 'worker'], 'celery'],
    [['env', 'APP_ENV=prod', 'PORT=8000', 'gunicorn', 'app:app'], 'gunicorn'],
    [['env', '-i', 'PATH=/usr/bin', 'uwsgi', '--ini', 'app.ini'], 'uwsgi'],
    [['bundle', 'exec', 'puma', '-C', 'puma.rb'], 'puma'],
    [['poetry', 'run', 'celery', '-A', 'tasks', 'worker'], 'celery'],
    [['nohup', 'nice', '-n', '5', 'unicorn', '-c', 'unicorn.conf.rb'], 'unicorn'],
    [['timeout', '--signal=TERM', '60', 'supervisord', '-n'], 'supervisor'],
    [['bash', '-c', 'cd /srv/app && exec gunicorn --preload app:app'], 'gunicorn'],
    [['sh', '-c', 'set -e; APP_ENV=prod exec "uwsgi" --ini app.ini'], 'uwsgi'],
    [['env', 'A=1', 'sh', '-c', 'bundle exec puma'], 'puma'],
  ])('%j → %s', (command, preset) => {
    expect(detectPreset(command)?.name).toBe(preset);
  });

  test.each([
    [['python3', 'app.py']],
    [['bash', '-c', 'echo gunicorn is not started here']],
    [['env', 'GUNICORN_CMD_ARGS=--preload', 'python3', 'serve.py']],
    [['bundle', 'install']],
  ])('%j → none', (command) => {
    expect(detectPreset(command)).toBeUndefined();
  });
});
