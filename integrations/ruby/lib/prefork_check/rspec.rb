# frozen_string_literal: true

require 'prefork_check'

# expect(["bundle", "exec", "puma", "-C", "config/puma.rb"]).to fork_clean(fork_at_first_fork: true)
RSpec::Matchers.define :fork_clean do |**options|
  match do |command|
    @result = PreforkCheck.check(command, **options)
    !@result.leaked?
  end

  failure_message do |command|
    "expected #{command.join(' ')} to hold nothing beyond stdio when it forks:\n#{@result.report}"
  end

  failure_message_when_negated do |command|
    "expected #{command.join(' ')} to leak an fd at its fork point, but it held nothing beyond stdio"
  end
end
