# A Rack app under Puma in cluster mode with preload_app!: it opens its audit log while loading.
# The master loads this once and forks the workers, which all share the handle.
AUDIT = File.open(File.join(ENV.fetch("APP_DATA", "/tmp"), "audit.log"), "a") # leak

run lambda { |_env|
  AUDIT.puts("request")
  [200, { "content-type" => "text/plain" }, ["ok"]]
}
