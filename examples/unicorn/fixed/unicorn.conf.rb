listen "127.0.0.1:0"
worker_processes 2
preload_app true

after_fork do |_server, _worker|
  $audit = File.open(File.join(ENV.fetch("APP_DATA", "/tmp"), "audit.log"), "a")
end
