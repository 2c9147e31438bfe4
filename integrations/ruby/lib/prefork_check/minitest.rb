# frozen_string_literal: true

require 'minitest'
require 'prefork_check'

module PreforkCheck
  # assert_fork_clean(["ruby", "app.rb"], fork_marker: "READY")
  module Assertions
    # Fails with the console report when `command` holds anything beyond stdio at its fork point;
    # returns the check's JSON object.
    def assert_fork_clean(command, **options)
      result = PreforkCheck.check(command, **options)
      assert !result.leaked?, "expected #{command.join(' ')} to hold nothing beyond stdio when it forks:\n#{result.report}"
      result.check
    end
  end
end

Minitest::Test.include(PreforkCheck::Assertions)
