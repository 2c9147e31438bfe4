# A Rack app under unicorn with preload_app: it opens its audit log and a notification pipe while
# loading. The master loads this once and forks the workers, which all share both.
AUDIT = File.open(File.join(ENV.fetch("APP_DATA", "/tmp"), "audit.log"), "a") # leak
NOTIFY_READER, NOTIFY_WRITER = IO.pipe # leak: a pipe unicorn did not make is not unicorn's

run lambda { |_env|
  AUDIT.puts("request")
  [200, { "content-type" => "text/plain" }, ["ok"]]
}
