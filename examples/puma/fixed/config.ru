# The same app, fixed: each worker opens the audit log after the fork (see puma.rb).
$audit = nil

run lambda { |_env|
  $audit.puts("request")
  [200, { "content-type" => "text/plain" }, ["ok"]]
}
