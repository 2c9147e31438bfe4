# A production-style config: a pid file, a state file and a control app, which are Puma's, not the app's.
app_data = ENV.fetch("APP_DATA", "/tmp")
bind "tcp://127.0.0.1:0"
workers 2
preload_app!
pidfile File.join(app_data, "puma.pid")
state_path File.join(app_data, "puma.state")
activate_control_app "unix://#{File.join(app_data, 'pumactl.sock')}", { no_token: true }

on_worker_boot do
  $audit = File.open(File.join(app_data, "audit.log"), "a")
end
