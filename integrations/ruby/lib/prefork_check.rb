# frozen_string_literal: true

require 'json'
require 'open3'
require 'shellwords'
require 'tmpdir'

# The prefork-check fork check from Ruby: runs the prefork-check CLI on a command and returns that
# check's JSON object. Leaks are for the caller (the RSpec matcher, the Minitest assertion) to
# judge; a check that could not be done raises PreforkCheck::Error.
module PreforkCheck
  # The check could not be done (exit 2): no strace, ptrace denied, the app never reached its fork
  # point, a bad option. Never a pass or a skip.
  class Error < StandardError; end

  # A check's JSON object and the CLI's console report.
  Result = Struct.new(:check, :report) do
    def leaked?
      check['status'] == 'fail'
    end
  end

  RULE = " end of the app's output "

  # The command that runs the CLI: $PREFORK_CHECK (a command line), `prefork-check` on PATH,
  # node_modules/.bin/prefork-check from `root` upwards, `npx --no prefork-check`.
  def self.cli(root = Dir.pwd)
    override = ENV['PREFORK_CHECK']
    return Shellwords.split(override) if override && !override.empty?

    on_path = which('prefork-check')
    return [on_path] if on_path

    dir = File.expand_path(root)
    loop do
      local = File.join(dir, 'node_modules', '.bin', 'prefork-check')
      return [local] if File.executable?(local)
      break if File.dirname(dir) == dir

      dir = File.dirname(dir)
    end
    npx = which('npx')
    return [npx, '--no', 'prefork-check'] if npx && system(npx, '--no', 'prefork-check', '--version', out: File::NULL, err: File::NULL)

    raise Error, 'prefork-check was not found. Set PREFORK_CHECK to the command that runs it, put ' \
                 '`prefork-check` on PATH, install it in node_modules (npm install --save-dev prefork-check), ' \
                 'or make it reachable with `npx --no prefork-check`.'
  end

  def self.which(name)
    ENV.fetch('PATH', '').split(File::PATH_SEPARATOR).map { |dir| File.join(dir, name) }
       .find { |path| File.file?(path) && File.executable?(path) }
  end

  # The CLI's long flags from snake_case options: true is the flag alone, an array repeats it.
  def self.flags(options)
    options.flat_map do |name, value|
      flag = "--#{name.to_s.tr('_', '-')}"
      case value
      when nil, false then []
      when true then [flag]
      when Array then value.flat_map { |item| [flag, item.to_s] }
      else [flag, value.to_s]
      end
    end
  end

  # Runs one check of `command` (an array). Returns a Result; raises Error when it could not be done.
  def self.check(command, cwd: Dir.pwd, **options)
    Dir.mktmpdir('prefork-check-ruby-') do |scratch|
      json = File.join(scratch, 'report.json')
      argv = [*cli(cwd), '--json', json, *flags(options), '--', *command]
      stdout, stderr, status = Open3.capture3({ 'NO_COLOR' => '1' }, *argv, chdir: cwd, stdin_data: '')
      result = File.exist?(json) ? JSON.parse(File.read(json)) : nil
      checks = result && result['checks']
      if status.exitstatus == 2 || checks.nil? || checks.empty?
        said = stderr.lines.find { |line| line.start_with?('prefork-check: ') }
        error = checks&.find { |item| item['error'] }
        message = said&.delete_prefix('prefork-check: ')&.strip || error&.dig('error', 'message') ||
                  "prefork-check exited with status #{status.exitstatus}"
        raise Error, message
      end
      Result.new(checks.first, report_of(stdout))
    end
  end

  # The check's JSON object, as a Hash.
  def self.run(command, **options)
    check(command, **options).check
  end

  # The CLI's report from its stdout: what follows the app's output, when there was any.
  def self.report_of(stdout)
    lines = stdout.lines
    at = lines.index { |line| line.include?(RULE) }
    (at ? lines[(at + 1)..] : lines).join.strip
  end
end
