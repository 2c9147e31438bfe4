# A production-style config: its own log files and pid file, which are unicorn's, not the app's.
app_data = ENV.fetch("APP_DATA", "/tmp")
listen "127.0.0.1:0"
worker_processes 2
preload_app true
pid File.join(app_data, "unicorn.pid")
stderr_path File.join(app_data, "unicorn.stderr.log")
stdout_path File.join(app_data, "unicorn.stdout.log")

after_fork do |_server, _worker|
  $audit = File.open(File.join(app_data, "audit.log"), "a")
end
